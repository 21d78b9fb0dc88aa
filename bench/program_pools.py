"""Benchmark: resolving program pools from a synthetic roster (apply of three programs, then a roster re-import
that re-resolves them), on SQLite or DATABASE_URL.

Usage: python bench/program_pools.py [ROWS ...]     (default 1000 10000)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.import_roster import synthetic_roster  # noqa: E402
from bot.importer import import_roster  # noqa: E402
from bot.programs.pools import refresh_all_pools  # noqa: E402
from bot.programs.store import apply_specs  # noqa: E402
from bot.programs.yamlfile import parse_programs  # noqa: E402
from storage import db  # noqa: E402
from storage.db import session_scope  # noqa: E402

PROGRAMS = """\
- name: Everyone
- name: Elementary SEL
  pool: {sites: [Lincoln Elementary, Harbor Elementary], subjects: [math, science]}
- name: Secondary Induction
  pool: {grade_bands: [6-8, 9-12], roles: [mentor, mentee]}
"""


def run(rows: int) -> None:
    """Time apply (three programs) and a re-import that re-resolves every pool."""
    now = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        roster = Path(folder) / "roster.csv"
        synthetic_roster(roster, rows)
        engine = db.create_db_engine(os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db")
        db.upgrade(engine)
        import_roster(engine, roster, program_name="Everyone", default_timezone="America/Los_Angeles", now=now)
        started = time.perf_counter()
        changes = apply_specs(engine, parse_programs(PROGRAMS), now=now)
        applied = time.perf_counter() - started
        started = time.perf_counter()
        import_roster(engine, roster, program_name="Everyone", default_timezone="America/Los_Angeles", now=now)
        reimported = time.perf_counter() - started
        started = time.perf_counter()
        with session_scope(engine) as session:
            refresh_all_pools(session)
        refreshed = time.perf_counter() - started
        sizes = ", ".join(f"{c.name} {c.pool_size}" for c in changes)
        print(
            f"{rows:>7} people: apply 3 programs {applied:6.2f} s; re-import (with pool refresh) {reimported:6.2f} s; "
            f"pool refresh alone {refreshed:6.2f} s ({sizes})"
        )
        engine.dispose()


if __name__ == "__main__":
    for count in [int(arg) for arg in sys.argv[1:]] or [1000, 10000]:
        run(count)
