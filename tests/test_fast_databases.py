"""The per-test databases are copies of one migrated template: prove a copy is what the migrations make, and private."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url
from sqlmodel import select

from storage import db, repo
from storage.models import Person
from tests.conftest import PostgresDatabases

BACKENDS = ["sqlite", "postgres"]


def _schema(url: str) -> dict:
    """Everything `sa.inspect` reports about the default schema, in a comparable form, and the Alembic revision."""
    engine = db.create_db_engine(url)
    try:
        inspector = sa.inspect(engine)
        tables = {}
        for table in sorted(inspector.get_table_names()):
            tables[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement")) for c in inspector.get_columns(table)],
                "primary_key": inspector.get_pk_constraint(table),
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)),
                "unique": sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
                "foreign_keys": sorted((f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]), str(f.get("options"))) for f in inspector.get_foreign_keys(table)),
                "checks": sorted((c["name"] or "", c["sqltext"]) for c in inspector.get_check_constraints(table)),
            }
        return {"tables": tables, "revision": db.current_revision(engine)}
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_copy_is_exactly_what_the_migrations_make(backend: str, request: pytest.FixtureRequest) -> None:
    copy_url = request.getfixturevalue(f"{backend}_url")
    migrated_url = request.getfixturevalue(f"empty_{backend}_url")
    engine = db.create_db_engine(migrated_url)
    db.upgrade(engine)
    engine.dispose()

    copy, migrated = _schema(copy_url), _schema(migrated_url)
    assert copy["revision"] == migrated["revision"] == db.head_revision()
    assert {"person", "outbox_message", "alembic_version"} <= set(copy["tables"])
    assert copy["tables"].keys() == migrated["tables"].keys()
    for table in migrated["tables"]:
        assert copy["tables"][table] == migrated["tables"][table], table


def _add_teacher(url: str, email: str, now: datetime) -> None:
    engine = db.create_db_engine(url)
    try:
        with db.session_scope(engine) as session:
            repo.upsert_person(session, existing=None, fields={"email": email, "name": "Rosa Delgado", "role": "mentor"}, now=now)
    finally:
        engine.dispose()


def _emails(url: str) -> set[str]:
    engine = db.create_db_engine(url)
    try:
        with db.session_scope(engine) as session:
            return {person.email for person in session.exec(select(Person))}
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_copies_share_nothing(backend: str, migrated_database: Callable[[str], str], now: datetime) -> None:
    first = migrated_database(backend)
    _add_teacher(first, "rosa.delgado@lincoln-ms.example", now)
    second = migrated_database(backend)  # made after the write: the template itself must not have changed
    _add_teacher(second, "sam.okafor@lincoln-ms.example", now)

    assert first != second
    assert _emails(first) == {"rosa.delgado@lincoln-ms.example"}
    assert _emails(second) == {"sam.okafor@lincoln-ms.example"}
    assert _emails(migrated_database(backend)) == set()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrading_a_copy_is_a_no_op_that_loads_no_migration(backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.create_db_engine(request.getfixturevalue(f"{backend}_url"))
    empty = db.create_db_engine(request.getfixturevalue(f"empty_{backend}_url"))
    calls: list[str] = []
    monkeypatch.setattr(command, "upgrade", lambda config, revision: calls.append(revision))
    try:
        db.upgrade(engine)
        assert calls == []
        assert db.current_revision(engine) == db.head_revision()
        db.upgrade(empty)  # an empty database still goes through Alembic
        assert calls == ["head"]
    finally:
        engine.dispose()
        empty.dispose()


def _person_id(url: str, email: str) -> int:
    engine = db.create_db_engine(url)
    try:
        with db.session_scope(engine) as session:
            return session.exec(select(Person.id).where(Person.email == email)).one()
    finally:
        engine.dispose()


def test_a_recycled_postgres_database_is_like_new(postgres_databases: PostgresDatabases, migrated_postgres_template: str, now: datetime) -> None:
    url = postgres_databases.take()
    for email in ("rosa.delgado@lincoln-ms.example", "sam.okafor@lincoln-ms.example"):
        _add_teacher(url, email, now)
    still_connected = sa.create_engine(url).connect()  # a test that forgot to close, holding a lock
    still_connected.execute(sa.text("lock table person in access exclusive mode"))
    postgres_databases.give_back(url)
    with pytest.raises(sa.exc.OperationalError):  # ended, as dropping the database would have ended it
        still_connected.execute(sa.text("select 1"))
    still_connected.close()

    again = postgres_databases.take()
    try:
        assert again == url  # reused, not copied again
        assert _emails(again) == set()
        _add_teacher(again, "lee.park@garfield-es.example", now)
        assert _person_id(again, "lee.park@garfield-es.example") == 1  # sequences start over, as in a new database
        assert _schema(again) == _schema(url.replace(make_url(url).database, migrated_postgres_template))
    finally:
        postgres_databases.give_back(again)


def test_a_database_whose_schema_changed_is_dropped_not_reused(postgres_databases: PostgresDatabases, postgres_admin: sa.Engine) -> None:
    url = postgres_databases.take()
    engine = db.create_db_engine(url)
    db.downgrade(engine, "0006")
    engine.dispose()
    postgres_databases.give_back(url)

    with postgres_admin.connect() as connection:
        exists = connection.execute(sa.text("select count(*) from pg_database where datname = :name"), {"name": make_url(url).database}).scalar_one()
    assert exists == 0
    fresh = postgres_databases.take()
    try:
        assert fresh != url
        assert _schema(fresh)["revision"] == db.head_revision()
    finally:
        postgres_databases.give_back(fresh)
