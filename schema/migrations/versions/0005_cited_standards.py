"""cited standards: the standards each measure's text cites, normalised (issue 27)

Revision ID: 0005_cited_standards
Revises: 0004
Create Date: 2026-12-07 16:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_cited_standards'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cited_standards',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('measure_id', sa.String(length=64), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=120), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('body', sa.String(length=24), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('part', sa.String(length=40), nullable=True),
        sa.Column('year', sa.Integer(), nullable=True),
        sa.Column('amendment', sa.String(length=80), nullable=True),
        sa.Column('adopted_by', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['measure_id'], ['measures.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('measure_id', 'code', name='uq_cited_standards'),
    )
    with op.batch_alter_table('cited_standards', schema=None) as batch_op:
        batch_op.create_index('ix_cited_standards_key', ['key'], unique=False)
    # Measures tagged before this revision get theirs from `tbt-alert classify --standards`
    # (text only, seconds), not from re-running the classifier over every measure.


def downgrade() -> None:
    with op.batch_alter_table('cited_standards', schema=None) as batch_op:
        batch_op.drop_index('ix_cited_standards_key')
    op.drop_table('cited_standards')
