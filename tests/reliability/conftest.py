"""The reliability suite's scale: a quick pass in the default test run, the full counts under `./dev reliability`.

Each test takes its counts from the `scale` fixture, so the same test proves the guarantee in CI
(quick) and produces the figures in docs/RELIABILITY.md (full). Full runs append one JSON line per
figure to `.mentorbot/reliability/figures.jsonl` through `record_figure`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

FULL = os.environ.get("MENTORBOT_RELIABILITY") == "full"
FIGURES = Path(__file__).resolve().parents[2] / ".mentorbot" / "reliability" / "figures.jsonl"


@dataclass(frozen=True)
class Scale:
    """How hard the reliability tests push; `full` is what the figures in docs/RELIABILITY.md come from."""

    full: bool

    def pick(self, quick: int, full: int) -> int:
        """The quick count in the default run, the full count under `./dev reliability`."""
        return full if self.full else quick


hypothesis_settings.register_profile("reliability-quick", max_examples=50, deadline=None)
hypothesis_settings.register_profile("reliability-full", max_examples=10_000, deadline=None)


@pytest.fixture
def scale() -> Scale:
    """The reliability scale of this run."""
    return Scale(full=FULL)


@pytest.fixture
def fuzz_profile() -> str:
    """The hypothesis profile name for fuzzing at this scale (50 examples quick, 10,000 full)."""
    return "reliability-full" if FULL else "reliability-quick"


@pytest.fixture
def record_figure(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Record a measured figure (row, what was tried, how many, what held) for docs/RELIABILITY.md."""

    def record(row: str, *, tried: str, count: int | str, held: str, **figures: object) -> None:
        entry = {"row": row, "tried": tried, "count": count, "held": held, "figures": figures,
                 "test": request.node.nodeid, "full": FULL, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        print(f"[figure] {row}: {count} x {tried} -> {held} {figures}")
        if FULL:
            FIGURES.parent.mkdir(parents=True, exist_ok=True)
            with FIGURES.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry, default=str) + "\n")

    return record
