"""Print the figures of the last `./dev reliability` run as the markdown table of docs/RELIABILITY.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

FIGURES = Path(__file__).resolve().parents[2] / ".mentorbot" / "reliability" / "figures.jsonl"


def main() -> int:
    """Print one table row per recorded figure, in the order they were measured."""
    if not FIGURES.exists():
        print(f"no figures recorded yet ({FIGURES}); run ./dev reliability", file=sys.stderr)
        return 1
    print("| row | what was tried | how many | what held | figures |")
    print("|---|---|---|---|---|")
    for line in FIGURES.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        figures = ", ".join(f"{key} {value}" for key, value in entry["figures"].items())
        print(f"| {entry['row']} | {entry['tried']} | {entry['count']} | {entry['held']} | {figures} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
