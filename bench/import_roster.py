"""Benchmark: roster import of synthetic rosters (first import and re-import), on SQLite or DATABASE_URL.

Each size also times the bare baseline in the same run: csv.reader plus one SQLAlchemy Core executemany of the
person rows and one of their answers into same-shaped tables (first load, then the same rows as updates by key),
and prints mentorbot's time over the baseline's.

Usage: PYTHONPATH=. python bench/import_roster.py [ROWS ...]     (default 1000 10000)
"""

from __future__ import annotations

import csv
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from bot.importer import import_roster
from storage import db

SITES = ["Lincoln Elementary", "Garfield High", "Madison K-8", "Roosevelt Middle", "Harbor Elementary"]
BANDS = ["K-2", "3-5", "6-8", "9-12"]
SUBJECTS = ["math", "science", "ELA", "SPED", "arts", "PE", "social studies", "ELD"]
TOPICS = ["classroom management", "SEL", "assessment", "co-teaching", "lesson planning", "differentiation"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]


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


def bare_baseline(roster: Path, url: str) -> tuple[float, float]:
    """Seconds for csv.reader + one executemany of people and one of answers (first load, then as updates)."""
    engine = sa.create_engine(url)
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
    meta.drop_all(engine)
    meta.create_all(engine)
    timings = []
    for again in (False, True):
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
        timings.append(time.perf_counter() - started)
    meta.drop_all(engine)
    engine.dispose()
    return timings[0], timings[1]


def main(sizes: list[int]) -> None:
    print(f"{'rows':>8} {'first import s':>15} {'re-import s':>12} {'rows/s':>8} {'bare first s':>13} {'bare again s':>13} {'ratio first':>12} {'ratio again':>12}")
    for rows in sizes:
        with tempfile.TemporaryDirectory() as folder:
            roster = Path(folder) / "roster.csv"
            synthetic_roster(roster, rows)
            url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
            engine = db.create_db_engine(url)
            db.upgrade(engine)
            now = datetime.now(timezone.utc)
            timings = []
            for _ in range(2):
                started = time.perf_counter()
                report = import_roster(engine, roster, program_name="Bench", default_timezone="America/Chicago", now=now)
                timings.append(time.perf_counter() - started)
                assert report.imported == rows, report.errors[:3]
            engine.dispose()
            bare = bare_baseline(roster, url)
            print(
                f"{rows:>8} {timings[0]:>15.2f} {timings[1]:>12.2f} {rows / timings[0]:>8.0f} {bare[0]:>13.2f} {bare[1]:>13.2f}"
                f" {timings[0] / bare[0]:>11.1f}x {timings[1] / bare[1]:>11.1f}x"
            )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1000, 10000])
