"""Reading a roster parses each distinct cell text once: every row must still get exactly the rows, errors and warnings
it gets when it is read alone."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

from bot.roster import read_roster

HEADER = ["email", "name", "role", "grade_bands", "subjects", "availability", "timezone", "capacity", "principal_email", "site"]
# Cells repeated down the file, good and bad mixed, so a remembered outcome is met again by later rows.
MESSY = [
    ["mentor", "6-8", "math;ELA", "Mon 15:00-16:00;Tue 3pm-4pm", "PST", "2", "p@d.example", "North"],
    ["Mentor", "13;K-2", "math", "Tue 3pm-4pm", "Mars/Olympus", "lots", "not an email", "North"],
    ["captain", "6-8", "math;ELA", "Mon 15:00-16:00;Tue 3pm-4pm", "PST", "2", "p@d.example", "South"],
    ["mentee", "13", "", "Tue 3pm-4pm", "America/Chicago", "", "", ""],
    ["both", "K-2, 3-5", "science", "Wed 09:00-10:00;Wed 09:00-10:00", "", "99", "p@d.example", "North"],
]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_every_row_reads_as_it_would_alone(tmp_path: Path):
    rows = [[f"t{i}@d.example", f"Teacher {i}", *MESSY[i % len(MESSY)]] for i in range(4 * len(MESSY))]
    whole = read_roster(_write(tmp_path / "all.csv", rows), default_timezone="America/Denver")
    assert whole.warnings and whole.errors  # the file is messy enough to test something
    alone_rows, alone_errors, alone_warnings = [], [], []
    for index, row in enumerate(rows):
        line = index + 2  # the header is line 1
        alone = read_roster(_write(tmp_path / f"row{index}.csv", [row]), default_timezone="America/Denver")
        alone_rows += [replace(r, line=line) for r in alone.rows]
        alone_errors += [replace(e, line=line) for e in alone.errors]
        alone_warnings += [replace(w, line=line) for w in alone.warnings]
    assert whole.rows == alone_rows
    assert whole.errors == alone_errors
    assert whole.warnings == alone_warnings
