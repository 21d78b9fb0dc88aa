"""Shared by the reliability benchmarks: append a measured figure where `./dev reliability` collects them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

FIGURES = Path(__file__).resolve().parents[2] / ".mentorbot" / "reliability" / "figures.jsonl"


def record(row: str, *, tried: str, count: int | str, held: str, **figures: object) -> None:
    """Print a figure and append it to the run's figures file (one JSON line)."""
    entry = {"row": row, "tried": tried, "count": count, "held": held, "figures": figures,
             "test": Path(__file__).name, "full": True, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    print(f"[figure] {row}: {count} x {tried} -> {held} {figures}")
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry, default=str) + "\n")
