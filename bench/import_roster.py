"""Benchmark: roster import of synthetic rosters (first import and re-import) on SQLite and PostgreSQL, beside the bare
baseline timed in the same run.

The bare baseline is csv.reader plus one SQLAlchemy Core executemany of the person rows and one of their answers into
same-shaped tables (first load; then the same rows as updates by key). Every import, mentorbot's and the baseline's,
runs in a child process of its own, so its peak memory (peak RSS) is its own; the two alternate, and the figures are
medians of the repeats. The database already holds one program with a pool filter, so each import also refreshes a pool.

PostgreSQL runs on a fresh throwaway database (made and dropped here) at BENCH_POSTGRES_URL, TEST_POSTGRES_URL or
postgresql+psycopg://postgres@127.0.0.1:5432/test's server; it is skipped when that server is not reachable.

Usage: PYTHONPATH=. python bench/import_roster.py [--quick] [--sizes 10000 50000] [--repeat N]
  --quick: 10,000 rows only (SQLite, and PostgreSQL if reachable); without it 10,000 and 50,000 rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._rows import Row, emit

SITES = ["Lincoln Elementary", "Garfield High", "Madison K-8", "Roosevelt Middle", "Harbor Elementary"]
BANDS = ["K-2", "3-5", "6-8", "9-12"]
SUBJECTS = ["math", "science", "ELA", "SPED", "arts", "PE", "social studies", "ELD"]
TOPICS = ["classroom management", "SEL", "assessment", "co-teaching", "lesson planning", "differentiation"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]
PATH = "roster import"
GOAL = "within 3x of bare"
BASELINE_NAME = "csv + Core executemany"
MEMORY_GOAL_MB = 500
# One program with a pool filter, so each import also re-resolves a pool, as it does in a district with programs.
PROGRAMS = """\
- name: Secondary Induction
  pool: {grade_bands: [6-8, 9-12], roles: [mentor, mentee]}
"""
NOW = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def synthetic_roster(path: Path, rows: int, seed: int = 7) -> None:
    """Write a roster shaped like the shared example, one third mentors."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "role", "site", "grade_bands", "subjects", "strengths", "needs", "availability", "capacity"])
        for i in range(rows):
            mentor = i % 3 == 0
            hour = rng.choice([7, 12, 15, 16])
            writer.writerow([
                f"teacher{i}@district.example", f"Teacher {i}", "mentor" if mentor else "mentee", rng.choice(SITES),
                rng.choice(BANDS), ";".join(rng.sample(SUBJECTS, 2)),
                ";".join(rng.sample(TOPICS, 3)) if mentor else "", "" if mentor else ";".join(rng.sample(TOPICS, 2)),
                f"{rng.choice(DAYS)} {hour:02d}:00-{hour + 1:02d}:00", rng.randint(1, 3) if mentor else "",
            ])  # fmt: skip


ANSWER_COLUMNS = ("grade_bands", "subjects", "strengths", "needs", "availability")


def _bare_tables() -> tuple[sa.MetaData, sa.Table, sa.Table]:
    meta = sa.MetaData()
    people = sa.Table(
        "bare_person", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.String(320), unique=True),
        sa.Column("name", sa.String(200)), sa.Column("role", sa.String(16)), sa.Column("site", sa.String(200)),
        sa.Column("capacity", sa.Integer),
    )  # fmt: skip
    answers = sa.Table(
        "bare_answer", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("person_id", sa.Integer),
        sa.Column("question", sa.String(100)), sa.Column("value", sa.JSON),
    )  # fmt: skip
    return meta, people, answers


def bare_load(roster: Path, url: str, *, again: bool) -> float:
    """Seconds for csv.reader + one executemany of people and one of answers (`again`: the same rows as updates)."""
    engine = sa.create_engine(url)
    meta, people, answers = _bare_tables()
    if not again:
        meta.drop_all(engine)
        meta.create_all(engine)
    started = time.perf_counter()
    with roster.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        records = [dict(zip(header, record)) for record in reader]
    with engine.begin() as connection:
        person_rows = [
            {"email": r["email"], "name": r["name"], "role": r["role"], "site": r["site"], "capacity": int(r["capacity"] or 0)}
            for r in records
        ]  # fmt: skip
        if not again:
            ids = dict(connection.execute(sa.insert(people).returning(people.c.email, people.c.id), person_rows).all())
            connection.execute(
                sa.insert(answers),
                [{"person_id": ids[r["email"]], "question": q, "value": r[q].split(";")} for r in records for q in ANSWER_COLUMNS],
            )  # fmt: skip
        else:
            ids = dict(connection.execute(sa.select(people.c.email, people.c.id)).all())
            connection.execute(
                sa.update(people).where(people.c.email == sa.bindparam("e")).values(
                    name=sa.bindparam("name"), role=sa.bindparam("role"), site=sa.bindparam("site"), capacity=sa.bindparam("capacity"),
                ),
                [{**row, "e": row["email"]} for row in person_rows],
            )  # fmt: skip
            answer_ids = {(p, q): i for i, p, q in connection.execute(sa.select(answers.c.id, answers.c.person_id, answers.c.question))}
            connection.execute(
                sa.update(answers).where(answers.c.id == sa.bindparam("i")).values(value=sa.bindparam("v")),
                [{"i": answer_ids[ids[r["email"]], q], "v": r[q].split(";")} for r in records for q in ANSWER_COLUMNS],
            )  # fmt: skip
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def mentorbot_load(roster: Path, url: str, *, rows: int) -> float:
    """Seconds for mentorbot's import of the roster (the CLI's `import roster`, without its output)."""
    from bot.importer import import_roster
    from storage import db

    engine = db.create_db_engine(url)
    started = time.perf_counter()
    report = import_roster(engine, roster, program_name="Bench", default_timezone="America/Chicago", now=NOW)
    seconds = time.perf_counter() - started
    assert report.imported == rows and not report.errors, report.errors[:3]
    engine.dispose()
    return seconds


def prepare_database(url: str) -> None:
    """Migrate a fresh database and define one program with a pool filter."""
    from bot.programs.store import apply_specs
    from bot.programs.yamlfile import parse_programs
    from storage import db

    engine = db.create_db_engine(url)
    db.upgrade(engine)
    apply_specs(engine, parse_programs(PROGRAMS), now=NOW)
    engine.dispose()


def _child(argv: list[str]) -> None:
    """Run one import in this process and print its seconds and this process's peak RSS as JSON."""
    which, url, roster, phase, rows = argv
    # The modules an import uses are loaded before the clock starts, for both sides alike.
    import bot.importer  # noqa: F401
    import storage.db  # noqa: F401

    if which == "bare":
        seconds = bare_load(Path(roster), url, again=phase == "again")
    else:
        seconds = mentorbot_load(Path(roster), url, rows=int(rows))
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_rss_mb()}))


def _peak_rss_mb() -> float:
    """This process's peak resident memory since it started (VmHWM; getrusage's also counts the forking parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _run_child(which: str, url: str, roster: Path, phase: str, rows: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, url, str(roster), phase, str(rows)],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def postgres_server_url() -> str | None:
    """The PostgreSQL server to make throwaway databases on, if one answers."""
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3}, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
        return url
    except (sa.exc.SQLAlchemyError, ImportError, OSError) as exc:  # no PostgreSQL for this run
        print(f"PostgreSQL not reachable at {url} ({type(exc).__name__}); SQLite only", file=sys.stderr)
        return None


class Databases:
    """Fresh databases for one run: SQLite files in a folder, throwaway PostgreSQL databases dropped at the end."""

    def __init__(self, folder: Path, postgres: str | None) -> None:
        self.folder, self.postgres, self.made = folder, postgres, []
        self.admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool) if postgres else None
        self.templates: dict[str, str] = {}  # backend -> a prepared database that fresh ones copy

    def _url(self, backend: str, name: str) -> str:
        if backend == "SQLite":
            return f"sqlite:///{self.folder / name}.db"
        return sa.make_url(self.postgres).set(database=name).render_as_string(hide_password=False)

    def fresh(self, backend: str, *, prepared: bool = False) -> str:
        """The URL of a new database on `backend`: empty, or `prepared` (migrated, with a program; copied from a
        template made once, so the repeats don't pay for the migrations)."""
        template = self.templates.get(backend) if prepared else None
        if prepared and template is None:
            template = self.templates[backend] = self._create(backend, f"bench_import_template_{uuid.uuid4().hex[:8]}")
            prepare_database(self._url(backend, template))
        return self._url(backend, self._create(backend, f"bench_import_{uuid.uuid4().hex[:12]}", template))

    def _create(self, backend: str, name: str, template: str | None = None) -> str:
        """Make the database `name` (a copy of `template`, when given); returns its name."""
        if backend == "SQLite":
            if template is not None:
                shutil.copyfile(self.folder / f"{template}.db", self.folder / f"{name}.db")
            return name
        assert self.admin is not None
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        self.made.append(name)
        return name

    def drop_all(self) -> None:
        """Drop every PostgreSQL database made here."""
        if self.admin is None:
            return
        with self.admin.connect() as connection:
            for name in self.made:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def measure(rows: int, backend: str, databases: Databases, roster: Path, repeat: int) -> dict[str, dict[str, list[float]]]:
    """Alternating runs of mentorbot's and the bare import (first, then again), each on fresh databases."""
    runs: dict[str, dict[str, list[float]]] = {
        f"{who} {phase}": {"seconds": [], "peak_mb": []} for who in ("mentorbot", "bare") for phase in ("first", "again")
    }
    for _ in range(repeat):
        mine, bare = databases.fresh(backend, prepared=True), databases.fresh(backend)
        for phase in ("first", "again"):
            for who, url in (("mentorbot", mine), ("bare", bare)):
                result = _run_child(who, url, roster, phase, rows)
                for key in ("seconds", "peak_mb"):
                    runs[f"{who} {phase}"][key].append(result[key])
    return runs


def report(rows: int, backend: str, runs: dict[str, dict[str, list[float]]]) -> None:
    """One table row per figure: first import and re-import against bare, and peak memory at 50,000 rows and above."""
    median = {name: {key: statistics.median(values) for key, values in run.items()} for name, run in runs.items()}
    for phase, label in (("first", "first import"), ("again", "re-import")):
        mine, bare = median[f"mentorbot {phase}"], median[f"bare {phase}"]
        ratio = mine["seconds"] / bare["seconds"]
        emit(Row(
            path=PATH, case=f"{rows:,} rows, {backend}, {label}", figure=round(mine["seconds"], 3), unit="s",
            baseline=round(bare["seconds"], 3), baseline_name=BASELINE_NAME, goal=GOAL, met=ratio <= 3,
            note=f"peak {mine['peak_mb']:.0f} MB (bare {bare['peak_mb']:.0f} MB); median of {len(runs[f'bare {phase}']['seconds'])}",
        ))  # fmt: skip
    if rows >= 50_000:
        peak = max(median["mentorbot first"]["peak_mb"], median["mentorbot again"]["peak_mb"])
        bare_peak = max(median["bare first"]["peak_mb"], median["bare again"]["peak_mb"])
        emit(Row(
            path=PATH, case=f"{rows:,} rows, {backend}, peak memory", figure=round(peak), unit="MB", baseline=round(bare_peak),
            baseline_name=BASELINE_NAME, goal=f"under {MEMORY_GOAL_MB} MB", met=peak < MEMORY_GOAL_MB,
            note="peak RSS of the importing process, the larger of first import and re-import",
        ))  # fmt: skip


def main(argv: list[str]) -> None:
    """Time every size on every reachable backend and emit the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows only")
    parser.add_argument("--sizes", type=int, nargs="+")
    parser.add_argument("--repeat", type=int, help="runs per figure (default 3 with --quick, else 2)")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([10_000] if args.quick else [10_000, 50_000])
    repeat = args.repeat or (3 if args.quick else 2)
    postgres = postgres_server_url()
    backends = ["SQLite", *(["PostgreSQL"] if postgres else [])]
    with tempfile.TemporaryDirectory() as folder:
        databases = Databases(Path(folder), postgres)
        try:
            for rows in sizes:
                roster = Path(folder) / f"roster-{rows}.csv"
                synthetic_roster(roster, rows)
                for backend in backends:
                    report(rows, backend, measure(rows, backend, databases, roster, repeat))
        finally:
            databases.drop_all()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
    else:
        main(sys.argv[1:])
