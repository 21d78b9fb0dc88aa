"""slack_delivery.replies_sent: how many replies a kept request's handler has sent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('slack_delivery') as batch:
        batch.add_column(sa.Column('replies_sent', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('slack_delivery') as batch:
        batch.drop_column('replies_sent')
