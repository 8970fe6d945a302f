"""vector text digest: a re-tag reuses the stored sentence vector of an unchanged text (issue 25)

``measure_vectors.text_digest`` names the exact text embedded (with the runtime and token limit
that shape its vector). Rows written before have none and are embedded again once, at their next
tagging; from then on vectors are stored as float32 (schema/vectors.py).

Revision ID: 0008_vector_text_digest
Revises: 0007_tag_versions
Create Date: 2026-12-07 22:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_vector_text_digest'
down_revision = '0007_tag_versions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('measure_vectors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_digest', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('measure_vectors', schema=None) as batch_op:
        batch_op.drop_column('text_digest')
