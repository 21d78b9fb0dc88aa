"""Benchmark: approving every waiting mentor of a term at once (`term approve --all`), and one site's, on SQLite or
DATABASE_URL. The roster is synthetic: one third mentors, a principal per site, site names typed as people type them.

Usage: python bench/approvals.py [ROWS ...]     (default 2000)
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.actions import terms  # noqa: E402
from bot.actions.access import Actor  # noqa: E402
from bot.actions.scope import unit_of_work  # noqa: E402
from bot.importer import import_roster  # noqa: E402
from bot.settings import Settings  # noqa: E402
from sqlmodel import func, select  # noqa: E402
from storage import db  # noqa: E402
from storage.models import Enrollment, OutboxMessage  # noqa: E402

SITES = ["Lincoln Elementary", "Garfield High", "Madison K-8", "Roosevelt Middle", "Harbor Elementary", "Cesar Chavez High"]
MESSY = [str.upper, str.lower, lambda s: f"  {s} ", lambda s: s.replace(" ", "  "), lambda s: s]
NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)


def roster_with_principals(path: Path, rows: int, seed: int = 11) -> None:
    """Write a roster of `rows` people, one third mentors, each with their site's principal; site names spelled loosely."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "role", "site", "grade_bands", "subjects", "strengths", "needs", "availability", "capacity", "principal_email"])
        for i in range(rows):
            mentor = i % 3 == 0
            site = rng.choice(SITES)
            principal = f"principal.{site.split()[0].lower()}@district.example"
            writer.writerow([
                f"teacher{i}@district.example", f"Teacher {i}", "mentor" if mentor else "mentee", rng.choice(MESSY)(site), "6-8", "math",
                "SEL" if mentor else "", "" if mentor else "SEL", "Tue 15:00-16:00", rng.randint(1, 3) if mentor else "", principal,
            ])  # fmt: skip


def run(rows: int) -> tuple[int, float, int, float]:
    """Import, open a term that needs approval, approve one site's mentors, then everyone else; return counts and seconds."""
    with tempfile.TemporaryDirectory() as folder:
        roster = Path(folder) / "roster.csv"
        roster_with_principals(roster, rows)
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
        engine = db.create_db_engine(url)
        db.upgrade(engine)
        settings = Settings(_env_file=None, data_dir=Path(folder) / "data", database_url=url, program_name="Bench", require_principal_approval=True)
        import_roster(engine, roster, program_name="Bench", default_timezone="America/Chicago", now=NOW)
        operator = Actor.operator()
        with unit_of_work(engine) as session:
            terms.open_term(session, actor=operator, now=NOW, settings=settings, name="Spring 2027", enroll_roster=True)
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            site = terms.approve_all(session, actor=operator, now=NOW, settings=settings, site="lincoln elementary")
        site_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            rest = terms.approve_all(session, actor=operator, now=NOW, settings=settings)
        all_seconds = time.perf_counter() - started
        with unit_of_work(engine) as session:
            waiting = session.exec(select(func.count()).select_from(Enrollment).where(Enrollment.approval == "pending")).one()
            told = session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.purpose == "approval.decided")).one()
        assert waiting == 0 and told == len(site.decisions) + len(rest.decisions), (waiting, told)
        if not os.environ.get("DATABASE_URL"):
            engine.dispose()
        return len(site.decisions), site_seconds, len(rest.decisions), all_seconds


def main(sizes: list[int]) -> None:
    print(f"{'rows':>6} {'one site':>9} {'s':>6} {'the rest':>9} {'s':>6}")
    for rows in sizes:
        site_count, site_seconds, rest_count, rest_seconds = run(rows)
        print(f"{rows:>6} {site_count:>9} {site_seconds:>6.2f} {rest_count:>9} {rest_seconds:>6.2f}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [2000])
