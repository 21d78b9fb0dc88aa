"""person.slack_failing_at, person.slack_failure: a Slack account that refused the bot for good, and why

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('slack_failing_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('slack_failure', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.drop_column('slack_failure')
        batch.drop_column('slack_failing_at')
