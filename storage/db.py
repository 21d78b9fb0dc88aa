"""Engine, sessions and migrations."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def insert_if_new(connection: sa.Connection, table: sa.Table, values: dict, *, unique: str) -> int | None:
    """INSERT .. ON CONFLICT (unique) DO NOTHING, on PostgreSQL or SQLite: the new row's id, or None when the key was there."""
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    row = connection.execute(dialect_insert(table).values(**values).on_conflict_do_nothing(index_elements=[unique]).returning(table.c.id)).first()
    return None if row is None else row[0]


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """Make an engine for `url`, creating the SQLite folder and turning on SQLite foreign keys."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"check_same_thread": False, "timeout": 30} if url.startswith("sqlite") else {}
    engine = sa.create_engine(url, echo=echo, connect_args=connect_args, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to `engine`, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision of the migrations (read once: the scripts do not change while mentorbot runs)."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (head by default)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return  # already there; one query instead of loading every migration script again
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema down to `revision`."""
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def in_transaction(function: Callable[..., T]) -> Callable[..., T]:
    """The engine form of a function that takes a session: `f(engine, ...)` runs `f_in(session, ...)` in its own transaction.

    Every operation is written once, against a session (the caller's unit of work); this makes the one-call form
    for scripts, the demo and tests without a second copy of the body.
    """

    @functools.wraps(function)
    def in_own_transaction(engine: Engine, /, *args: Any, **kwargs: Any) -> T:
        with session_scope(engine) as session:
            return function(session, *args, **kwargs)

    return in_own_transaction
