"""Benchmark: `round publish` of a reviewed micro round of N pairs, on SQLite and PostgreSQL (a throwaway database).

The round is built directly through the repository (people with their availability, enrollments, a round in review
and its proposed pairs), then published through the use-case layer (`bot.actions.rounds.publish_round`), the call
the CLI and the admin page make. The bare baseline, timed in the same run: one SQLAlchemy Core executemany of as
many scheduled-action rows and planned-session rows as the publish wrote, into same-shaped tables.

Usage: PYTHONPATH=. python bench/publish.py [--quick] [PAIRS ...]     (default 750 10000; --quick: 750)
Env: BENCH_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test) names the server whose
throwaway database is used; BENCH_SKIP_POSTGRES=1 runs SQLite only.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._rows import Row, emit  # noqa: E402
from bot.actions import rounds  # noqa: E402
from bot.actions.access import Actor  # noqa: E402
from bot.actions.scope import unit_of_work  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import db, repo  # noqa: E402
from storage.models import Enrollment, Pairing, PlannedSession, ScheduledAction  # noqa: E402

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)  # a Monday, school hours on the US west coast
ZONES = ("America/Los_Angeles", "America/Chicago", "America/New_York")
SLOTS = ("Tue 15:00-16:00", "Wed 15:30-16:30", "Thu 07:15-08:00", "Mon 12:00-12:45", "Fri 15:00-16:00")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GOALS = {750: 2.0, 10_000: 15.0}


def build_round(engine: sa.Engine, pairs: int, *, now: datetime = NOW, program: str = "Bench", left_term: frozenset[int] = frozenset()) -> int:
    """A program, an open term of 2 x `pairs` opted-in people and a 2-session micro round in review with `pairs` pairs.

    Person 2k mentors person 2k+1; the people numbered in `left_term` are paired but no longer enrolled."""
    with unit_of_work(engine) as session:
        the_program = repo.get_or_create_program(session, name=program, timezone="America/Los_Angeles", now=now)
        term = repo.create_term(session, program_id=the_program.id, name="Spring", opt_in_by=None, now=now)
        people = [
            {
                "email": f"teacher{i}@district.example", "name": f"Teacher {i}", "role": "mentor" if i % 2 == 0 else "mentee",
                "site": "Lincoln Elementary", "timezone": ZONES[(i // 2) % len(ZONES)], "capacity": 1, "created_at": now, "updated_at": now,
            }
            for i in range(2 * pairs)
        ]  # fmt: skip
        ids = repo.insert_people(session, rows=people)
        by_index = [ids[f"teacher{i}@district.example"] for i in range(2 * pairs)]
        repo.insert_profile_answers(
            session,
            rows=[
                {"person_id": by_index[i], "question": "availability", "value": [SLOTS[(i // 2) % len(SLOTS)]], "source": "roster", "updated_at": now}
                for i in range(2 * pairs)
            ],
        )  # fmt: skip
        session.execute(
            sa.insert(Enrollment.__table__),
            [
                {"term_id": term.id, "person_id": by_index[i], "role": "mentor" if i % 2 == 0 else "mentee", "capacity": 1, "status": "opted_in",
                 "approval": "not_required", "updated_at": now}
                for i in range(2 * pairs) if i not in left_term
            ],
        )  # fmt: skip
        round_ = repo.create_round(
            session, term_id=term.id, now=now,
            fields={"kind": "micro", "topic": "classroom management", "sessions": 2, "start_on": date(2026, 11, 30), "end_on": date(2027, 1, 29)},
        )  # fmt: skip
        round_.status = "review"
        session.execute(
            sa.insert(Pairing.__table__),
            [
                {"round_id": round_.id, "mentor_id": by_index[2 * k], "mentee_id": by_index[2 * k + 1], "rotation": 0, "score": 80.0,
                 "breakdown": {}, "reasons": ["shares a free slot"], "status": "proposed", "created_at": now}
                for k in range(pairs)
            ],
        )  # fmt: skip
        return round_.id


def publish(engine: sa.Engine, round_id: int) -> tuple[float, int, int]:
    """Seconds for `round publish` through the use-case layer, its scheduled actions and planned sessions."""
    settings = Settings(_env_file=None, database_url=str(engine.url), program_name="Bench")
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        outcome = rounds.publish_round(session, actor=Actor.operator(), now=NOW, settings=settings, round_id=round_id)
    seconds = time.perf_counter() - started
    with unit_of_work(engine) as session:
        sessions = session.execute(sa.select(sa.func.count()).select_from(PlannedSession)).scalar_one()
        actions = session.execute(sa.select(sa.func.count()).select_from(ScheduledAction)).scalar_one()
    assert actions == outcome.actions, (actions, outcome.actions)
    return seconds, actions, sessions


def bare_baseline(engine: sa.Engine, actions: int, sessions: int) -> float:
    """Seconds for one Core executemany of `actions` scheduled-action rows and one of `sessions` session rows."""
    meta = sa.MetaData()
    bare_actions = sa.Table(
        "bare_scheduled_action", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("idempotency_key", sa.String(255), unique=True),
        sa.Column("kind", sa.String(64)), sa.Column("due_at", sa.DateTime(timezone=True)), sa.Column("status", sa.String(16)),
        sa.Column("round_id", sa.Integer), sa.Column("payload", sa.JSON),
    )  # fmt: skip
    bare_sessions = sa.Table(
        "bare_planned_session", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("pairing_id", sa.Integer),
        sa.Column("number", sa.Integer), sa.Column("starts_at", sa.DateTime(timezone=True)), sa.Column("ends_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16)), sa.UniqueConstraint("pairing_id", "number"),
    )  # fmt: skip
    meta.drop_all(engine)
    meta.create_all(engine)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            sa.insert(bare_sessions),
            [{"pairing_id": i // 2, "number": i % 2 + 1, "starts_at": NOW, "ends_at": NOW, "status": "proposed"} for i in range(sessions)],
        )  # fmt: skip
        connection.execute(
            sa.insert(bare_actions),
            [
                {"idempotency_key": f"session.reminder:{i}:1:day:mentor", "kind": "session.reminder", "due_at": NOW, "status": "pending", "round_id": 1,
                 "payload": {"pairing_id": i, "number": 1, "before": "day", "role": "mentor", "quiet_tz": "America/Chicago"}}
                for i in range(actions)
            ],
        )  # fmt: skip
    seconds = time.perf_counter() - started
    meta.drop_all(engine)
    return seconds


def one_backend(url: str, pairs: int, repeat: int) -> tuple[float, float, int, int]:
    """Medians of `repeat` alternating runs of publish (each on a fresh round) and the bare baseline."""
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    ours, bare = [], []
    for _ in range(repeat):
        round_id = build_round(engine, pairs) if not ours else _fresh_round(engine, pairs)
        seconds, actions, sessions = publish(engine, round_id)
        ours.append(seconds)
        bare.append(bare_baseline(engine, actions, sessions))
    engine.dispose()
    return statistics.median(ours), statistics.median(bare), actions, sessions


def _fresh_round(engine: sa.Engine, pairs: int) -> int:
    """Empty the tables the fixture and the publish wrote, and build the round again."""
    with engine.begin() as connection:
        for table in ("scheduled_action", "planned_session", "pairing", "round", "enrollment", "profile_answer", "term", "person", "program"):
            connection.execute(sa.text(f"DELETE FROM {table}"))
    return build_round(engine, pairs)


def postgres_database() -> tuple[str, sa.Engine] | None:
    """A throwaway database on the bench PostgreSQL, or None when it cannot be reached."""
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"bench_publish_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        print(f"[bench] PostgreSQL at {POSTGRES_URL} not reachable ({exc.orig}); SQLite only", file=sys.stderr)
        admin.dispose()
        return None
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False), admin


def drop_database(admin: sa.Engine, url: str) -> None:
    """Drop the throwaway database."""
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def report(pairs: int, backend: str, ours: float, bare: float, actions: int) -> None:
    """One row of the bench table."""
    goal = GOALS.get(pairs)
    emit(
        Row(
            path="round publish", case=f"{pairs:,} pairs, {backend}", figure=ours, unit="s", baseline=bare,
            baseline_name="Core executemany of the same scheduled-action and session rows",
            goal=f"under {goal:g} s" if goal else "-", met=goal is not None and ours < goal, note=f"{actions:,} scheduled actions",
        )
    )  # fmt: skip


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    sizes = [int(arg) for arg in argv if arg.isdigit()] or ([750] if quick else [750, 10_000])
    for pairs in sizes:
        repeat = 3 if pairs <= 2000 else 1
        with tempfile.TemporaryDirectory() as folder:
            ours, bare, actions, _sessions = one_backend(f"sqlite:///{folder}/bench.db", pairs, repeat)
        report(pairs, "SQLite", ours, bare, actions)
        if os.environ.get("BENCH_SKIP_POSTGRES"):
            continue
        made = postgres_database()
        if made is None:
            continue
        url, admin = made
        try:
            ours, bare, actions, _sessions = one_backend(url, pairs, repeat)
        finally:
            drop_database(admin, url)
        report(pairs, "PostgreSQL", ours, bare, actions)


if __name__ == "__main__":
    main(sys.argv[1:])
