"""One row of `python -m bench`'s table: mentorbot's figure beside the bare baseline measured in the same run.

Each bench script calls `emit(Row(...))` for every figure it wants in the table. Run alone, the row is printed;
run by `python -m bench`, it is also appended as JSON to the file named by `BENCH_ROWS`, which `bench/__main__.py`
reads back to print one table (and, with `--write-docs`, to refresh the table in docs/performance.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Row:
    """A measured path: mentorbot's figure, the baseline's in the same run, and the goal it is held to."""

    path: str  # what was measured, e.g. "roster import"
    case: str  # the size and backend, e.g. "10,000 rows, SQLite, first import"
    figure: float  # mentorbot's figure, in `unit`
    unit: str  # "s", "ms", "req/s", "msg/s", "MB"
    goal: str  # the goal in words, e.g. "within 3x of bare" or "under 2 s"
    met: bool  # whether this run met the goal
    baseline: float | None = None  # the bare baseline's figure in the same unit, when there is one
    baseline_name: str = ""  # what the baseline is, e.g. "csv + Core executemany"
    note: str = ""  # anything a reader needs, e.g. "peak 412 MB"

    @property
    def ratio(self) -> float | None:
        """mentorbot's figure over the baseline's (for rates, below 1 means slower)."""
        if self.baseline in (None, 0):
            return None
        return self.figure / self.baseline


def emit(row: Row) -> None:
    """Print the row and, under `python -m bench`, hand it to the table."""
    ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
    baseline = f"{row.baseline:,.3g} {row.unit} ({row.baseline_name})" if row.baseline is not None else "-"
    print(f"[bench] {row.path} | {row.case} | {row.figure:,.3g} {row.unit} | {baseline} | {ratio} | {row.goal}: {'met' if row.met else 'missed'} {row.note}".rstrip())
    target = os.environ.get("BENCH_ROWS")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(row)) + "\n")
