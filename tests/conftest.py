"""Shared fixtures: a loopback-only network guard, a fixed clock, and fresh databases on SQLite and PostgreSQL.

Each run migrates one template database per backend; every test then gets a database equal to a fresh copy of it (a
file copy on SQLite; on PostgreSQL a copied database, wiped and reused after each test), which is far cheaper than
running the migrations again.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from storage import db

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SHARED_ROSTER = Path(__file__).resolve().parents[1] / "bot" / "demo_data" / "roster.csv"
DATA = Path(__file__).parent / "data"

_real_connect = socket.socket.connect


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths are local by definition
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> object:
    if not _is_loopback(address):
        raise AssertionError(f"test tried to reach {address!r}, off loopback")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that opens a connection to an address off loopback."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture
def now() -> datetime:
    """A fixed moment: Monday 2026-11-23 17:00 UTC."""
    return datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)


def _postgres_schema_url(schema: str) -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def _postgres_database_url(database: str) -> str:
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the test PostgreSQL; the run fails loudly when PostgreSQL cannot be reached."""
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc.orig}); `./dev test` starts it, "
            "or set TEST_POSTGRES_URL",
            pytrace=False,
        )
    yield engine
    engine.dispose()


def _migrate(url: str) -> None:
    engine = db.create_db_engine(url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per run; tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "mentorbot.db"
    _migrate(f"sqlite:///{path.as_posix()}")
    # Closing the last connection checkpointed the WAL into the file, so the file alone is the whole database.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def migrated_postgres_template(postgres_admin: Engine) -> Iterator[str]:
    """The name of a PostgreSQL database migrated to head once per run; the databases tests get are copies of it."""
    name = f"mb_template_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(sa.text(f'create database "{name}"'))
    _migrate(_postgres_database_url(name))  # nothing may stay connected to a template, or copying it fails
    yield name
    with postgres_admin.connect() as connection:
        connection.execute(sa.text(f'drop database if exists "{name}" with (force)'))


# Everything about a database's schema that a test could change: tables, columns, defaults, constraints, indexes,
# sequences, views, functions, triggers, types, schemas, and the Alembic revision. Equal fingerprints, same schema.
_SCHEMA_FINGERPRINT = sa.text(
    """
    select md5(string_agg(part, '|' order by part)) from (
      select 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
             || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') as part
        from pg_class c
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
       where c.relnamespace = 'public'::regnamespace
      union all select 'relation ' || relname || ' ' || relkind::text from pg_class where relnamespace = 'public'::regnamespace
      union all select 'constraint ' || conrelid::regclass::text || '.' || conname || ' ' || pg_get_constraintdef(oid)
        from pg_constraint where connamespace = 'public'::regnamespace
      union all select 'index ' || pg_get_indexdef(indexrelid) from pg_index i join pg_class c on c.oid = i.indexrelid
       where c.relnamespace = 'public'::regnamespace
      union all select 'trigger ' || tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid
       where c.relnamespace = 'public'::regnamespace and not t.tgisinternal
      union all select 'function ' || oid::regprocedure::text from pg_proc where pronamespace = 'public'::regnamespace
      union all select 'type ' || typname from pg_type where typnamespace = 'public'::regnamespace
      union all select 'schema ' || nspname from pg_namespace
      union all select 'revision ' || version_num from alembic_version
    ) as parts
    """
)


class PostgresDatabases:
    """Fresh migrated PostgreSQL databases for tests, recycled: a returned database is wiped back to the template.

    Copying a database (`CREATE DATABASE .. TEMPLATE`) is cheap, but dropping one forces a checkpoint of the whole
    server, and building a schema costs as much as migrating it. Deleting every row, restarting the sequences and
    vacuuming the emptied tables takes ~0.03 s and leaves a database indistinguishable from a new copy; a database
    whose schema a test changed (its fingerprint differs from the template's) is dropped instead of reused.
    """

    def __init__(self, admin: Engine, template: str) -> None:
        self._admin, self._template, self._free = admin, template, []
        self._connections: dict[str, sa.Connection] = {}  # one per database made, kept open: connecting costs more than wiping
        engine = sa.create_engine(_postgres_database_url(template), poolclass=sa.pool.NullPool)
        try:
            metadata = sa.MetaData()
            metadata.reflect(engine)
            with engine.connect() as connection:
                self._fingerprint = connection.execute(_SCHEMA_FINGERPRINT).scalar_one()
        finally:
            engine.dispose()
        children_first = [table.name for table in reversed(metadata.sorted_tables) if table.name != "alembic_version"]
        self._wipe = "; ".join(
            ["select pg_terminate_backend(pid, 10000) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"]
            + ["set lock_timeout = '10s'", "begin"]
            + [f'delete from "{table}"' for table in children_first]
            # setval, unlike ALTER SEQUENCE .. RESTART, writes no new file; `false` makes the next value the start again
            + ["select setval(quote_ident(sequencename), start_value, false) from pg_sequences where schemaname = 'public' and last_value is not null"]
            + ["commit"]
        )
        self._vacuum = "vacuum " + ", ".join(f'"{table}"' for table in children_first)

    def take(self) -> str:
        """A URL to a database no one else is using, equal to a fresh copy of the migrated template."""
        if self._free:
            return _postgres_database_url(self._free.pop())
        name = f"mb_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as connection:
            connection.execute(sa.text(f'create database "{name}" template "{self._template}"'))
        url = _postgres_database_url(name)
        self._connections[name] = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT").connect()
        return url

    def give_back(self, url: str) -> None:
        """Wipe the database at `url` for the next test, or drop it when its schema no longer matches the template."""
        name = make_url(url).database
        connection = self._connections[name]
        try:
            # It ends what the test (or a process it started) left connected, which could hold locks, as dropping would.
            connection.exec_driver_sql(self._wipe)
            connection.exec_driver_sql(self._vacuum)  # empty pages go, so rows land where a new database puts them
            reusable = connection.execute(_SCHEMA_FINGERPRINT).scalar_one() == self._fingerprint
        except sa.exc.DBAPIError:
            reusable = False
        if reusable:
            self._free.append(name)
        else:
            self._drop(name)

    def _drop(self, name: str) -> None:
        connection = self._connections.pop(name)
        connection.close()
        connection.engine.dispose()
        with self._admin.connect() as admin:
            admin.execute(sa.text(f'drop database "{name}" with (force)'))

    def close(self) -> None:
        """Drop every database made."""
        for name in list(self._connections):
            self._drop(name)


@pytest.fixture(scope="session")
def postgres_databases(postgres_admin: Engine, migrated_postgres_template: str) -> Iterator[PostgresDatabases]:
    """The run's supply of fresh migrated PostgreSQL databases."""
    databases = PostgresDatabases(postgres_admin, migrated_postgres_template)
    yield databases
    databases.close()


@pytest.fixture
def empty_postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A URL to a fresh, empty PostgreSQL schema, dropped after the test: for tests of the migrations themselves."""
    schema = f"mb_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(sa.text(f'create schema "{schema}"'))
    yield _postgres_schema_url(schema)
    with postgres_admin.connect() as connection:
        connection.execute(sa.text(f'drop schema "{schema}" cascade'))


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """A URL to a fresh, empty SQLite file: for tests of the migrations themselves."""
    return f"sqlite:///{(tmp_path / 'empty.db').as_posix()}"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each backend, for tests that run the migrations themselves."""
    return request.getfixturevalue(f"empty_{request.param}_url")


@pytest.fixture
def migrated_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes fresh databases migrated to head, on "sqlite" or "postgres", as many as a test asks for."""
    taken: list[tuple[PostgresDatabases, str]] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            path = tmp_path / "mentorbot.db"
            if path.exists():
                path = tmp_path / f"mentorbot-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
            return f"sqlite:///{path.as_posix()}"
        databases = request.getfixturevalue("postgres_databases")
        taken.append((databases, databases.take()))
        return taken[-1][1]

    yield make
    for databases, url in taken:
        databases.give_back(url)


@pytest.fixture
def postgres_url(migrated_database: Callable[[str], str]) -> str:
    """A URL to a fresh PostgreSQL database already migrated to head (a copy of the run's template)."""
    return migrated_database("postgres")


@pytest.fixture
def sqlite_url(migrated_database: Callable[[str], str]) -> str:
    """A URL to a fresh SQLite file already migrated to head (a copy of the run's template)."""
    return migrated_database("sqlite")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each storage test runs once on SQLite and once on PostgreSQL, on a fresh database migrated to head."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh database of each backend."""
    engine = db.create_db_engine(database_url)
    yield engine
    engine.dispose()
