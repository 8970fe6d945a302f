"""measure vectors: each measure's sentence vector, for the search index's dense retrieval (issue 21)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 11:15:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'measure_vectors',
        sa.Column('measure_id', sa.String(length=64), nullable=False),
        sa.Column('encoder_version', sa.String(length=64), nullable=False),
        sa.Column('dims', sa.Integer(), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['measure_id'], ['measures.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('measure_id'),
    )


def downgrade() -> None:
    op.drop_table('measure_vectors')
