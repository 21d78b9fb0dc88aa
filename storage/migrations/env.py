"""Alembic environment: runs against the engine the caller put in `config.attributes`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata

# Replicas starting together on PostgreSQL each run the migrations: this lock, held until the migrating transaction
# ends, lets one migrate while the others wait and then find the schema at head (its key differs from the leader's).
MIGRATION_LOCK_KEY = 0x6D62_6D67  # "mbmg"


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine")
    if engine is None:
        raise RuntimeError("mentorbot runs migrations with an engine; use `mentorbot db upgrade`")
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("select pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
