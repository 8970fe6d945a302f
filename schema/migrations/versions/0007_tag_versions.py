"""tag versions: a new classifier version tags beside the served one; readers keep the served one
until the switch (issue 26)

``measures.served_version`` is the version whose tags and HS suggestions readers use; existing
measures are served the version that tagged them (or, when waiting for a re-tag, the version their
machine tags carry). The unique constraints of sector tags and suggestions take the version in, and
``sector_tags.added_at`` marks a sector a switch added to a measure already mailed.

Revision ID: 0007_tag_versions
Revises: 0006_subscriber_token_secret
Create Date: 2026-12-07 19:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_tag_versions'
down_revision = '0006_subscriber_token_secret'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('served_version', sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE measures SET served_version = COALESCE(tagged_version, "
        "(SELECT MIN(t.classifier_version) FROM sector_tags t "
        "WHERE t.measure_id = measures.id AND t.method <> 'manual'))"
    )
    with op.batch_alter_table('sector_tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('added_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('uq_sector_tags', type_='unique')
        batch_op.create_unique_constraint(
            'uq_sector_tags', ['measure_id', 'sector', 'method', 'classifier_version']
        )
    with op.batch_alter_table('hs_suggestions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_hs_suggestions', type_='unique')
        batch_op.create_unique_constraint('uq_hs_suggestions', ['measure_id', 'code', 'classifier_version'])


def downgrade() -> None:
    # Only the served version's rows fit the narrower constraints again.
    op.execute(
        "DELETE FROM sector_tags WHERE method <> 'manual' AND classifier_version <> "
        "COALESCE((SELECT m.served_version FROM measures m WHERE m.id = sector_tags.measure_id), '')"
    )
    op.execute(
        "DELETE FROM hs_suggestions WHERE classifier_version <> "
        "COALESCE((SELECT m.served_version FROM measures m WHERE m.id = hs_suggestions.measure_id), '')"
    )
    with op.batch_alter_table('hs_suggestions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_hs_suggestions', type_='unique')
        batch_op.create_unique_constraint('uq_hs_suggestions', ['measure_id', 'code'])
    with op.batch_alter_table('sector_tags', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sector_tags', type_='unique')
        batch_op.create_unique_constraint('uq_sector_tags', ['measure_id', 'sector', 'method'])
        batch_op.drop_column('added_at')
    if op.get_bind().dialect.name == 'sqlite':
        # Not a batch copy: recreating `measures` would drop it, and with foreign keys on, that
        # cascades to every tag, revision and bulletin item. SQLite >= 3.35 drops a column in place.
        op.execute('ALTER TABLE measures DROP COLUMN served_version')
    else:
        op.drop_column('measures', 'served_version')
