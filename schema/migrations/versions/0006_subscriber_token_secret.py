"""subscriber token secret: a per-subscriber secret mixed into the key of its link tokens, so
revoking one subscriber's links, or a reused SQLite id, touches no other subscriber (review M6)

Existing subscribers keep NULL: their outstanding links (unsubscribe links live a year) stay valid,
signed with the global key, until their links are revoked; every new subscriber gets a secret.

Revision ID: 0006_subscriber_token_secret
Revises: 0005_cited_standards
Create Date: 2026-12-07 16:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_subscriber_token_secret'
down_revision = '0005_cited_standards'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_secret', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_column('token_secret')
