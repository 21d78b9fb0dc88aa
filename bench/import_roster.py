"""Benchmark: roster import of synthetic rosters (first import and re-import), on SQLite or DATABASE_URL.

Usage: python bench/import_roster.py [ROWS ...]     (default 1000 10000)
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


def main(sizes: list[int]) -> None:
    print(f"{'rows':>8} {'first import s':>15} {'re-import s':>12} {'rows/s':>8}")
    for rows in sizes:
        with tempfile.TemporaryDirectory() as folder:
            roster = Path(folder) / "roster.csv"
            synthetic_roster(roster, rows)
            engine = db.create_db_engine(os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db")
            db.upgrade(engine)
            now = datetime.now(timezone.utc)
            timings = []
            for _ in range(2):
                started = time.perf_counter()
                report = import_roster(engine, roster, program_name="Bench", default_timezone="America/Chicago", now=now)
                timings.append(time.perf_counter() - started)
                assert report.imported == rows, report.errors[:3]
            engine.dispose()
            print(f"{rows:>8} {timings[0]:>15.2f} {timings[1]:>12.2f} {rows / timings[0]:>8.0f}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1000, 10000])
