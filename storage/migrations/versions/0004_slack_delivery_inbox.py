"""slack_delivery: the durable inbox between a Slack ack and its effect

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('slack_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('slack_user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('taken_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('delivery_key', name='uq_slack_delivery_key')
    )
    op.create_index('ix_slack_delivery_status_received', 'slack_delivery', ['status', 'received_at'], unique=False)
    op.create_index(op.f('ix_slack_delivery_slack_user_id'), 'slack_delivery', ['slack_user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_slack_delivery_slack_user_id'), table_name='slack_delivery')
    op.drop_index('ix_slack_delivery_status_received', table_name='slack_delivery')
    op.drop_table('slack_delivery')
