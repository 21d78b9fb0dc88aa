"""person.email_failing_at, person.email_failure: an address that bounced for good, and why

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('email_failing_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('email_failure', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.drop_column('email_failure')
        batch.drop_column('email_failing_at')
