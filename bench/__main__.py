"""`python -m bench` (or `./dev bench`): every bulk path beside its bare baseline, in one table.

Each suite is a script in `bench/` run in its own process (so its memory and imports are its own) with
`BENCH_ROWS` naming a file it appends its rows to (`bench/_rows.py`). The table prints mentorbot's figure, the
bare baseline measured in the same run, the ratio and the goal. `--quick` runs the smaller sizes (a few
minutes in all); `--write-docs` puts the table into docs/performance.md between its markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "performance.md"
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"

# (name, script, extra arguments for a full run): the order of the table.
SUITES: list[tuple[str, str, list[str]]] = [
    ("matching", "match_bench.py", []),
    ("roster import", "import_roster.py", []),
    ("email outbox", "outbox_smtp.py", []),
    ("round publish", "publish.py", []),
    ("Slack handler", "slack_handler.py", []),
    ("admin pages", "admin_pages.py", []),
]


def run_suite(script: Path, *, quick: bool, extra: list[str], rows_file: Path) -> tuple[int, float]:
    """Run one bench script, its output passed through to stderr; return its exit code and seconds."""
    env = {**os.environ, "BENCH_ROWS": str(rows_file), "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    command = [sys.executable, str(script), *(["--quick"] if quick else extra)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=sys.stderr, stderr=sys.stderr, check=False)
    return done.returncode, time.perf_counter() - started


def figure(value: float | None, unit: str) -> str:
    """A figure with its unit, to three significant digits."""
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}"


def table(rows: list[dict], failures: list[str]) -> str:
    """The markdown table of the rows, then a line per suite that did not finish."""
    lines = ["| path | case | mentorbot | bare baseline (same run) | ratio | goal | met |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        baseline = row.get("baseline")
        ratio = f"{row['figure'] / baseline:.2f}x" if baseline else "-"
        base = f"{figure(baseline, row['unit'])} ({row['baseline_name']})" if baseline is not None else "-"
        case = row["case"] + (f"; {row['note']}" if row.get("note") else "")
        lines.append(f"| {row['path']} | {case} | {figure(row['figure'], row['unit'])} | {base} | {ratio} | {row['goal']} | {'yes' if row['met'] else 'no'} |")
    lines += [f"\n{failure}" for failure in failures]
    return "\n".join(lines)


def suite_order(path: str) -> int:
    """Where a row's path comes in the table: its suite's place (a suite's paths start with its name)."""
    return next((n for n, (name, _, _) in enumerate(SUITES) if path.startswith(name)), len(SUITES))


def write_docs(rows: list[dict], failures: list[str], *, quick: bool) -> None:
    """Put the table into docs/performance.md between its markers; the rows of paths not run this time are kept."""
    page = DOCS.read_text(encoding="utf-8")
    head, rest = page.split(START, 1)
    kept_table, tail = rest.split(END, 1)
    ran = {row["path"] for row in rows}
    kept = [line for line in kept_table.splitlines() if line.startswith("| ") and not line.startswith("| path |") and line.split("|")[1].strip() not in ran]
    lines = sorted(kept + table(rows, []).splitlines()[2:], key=lambda line: suite_order(line.split("|")[1].strip()))
    sizes = "`--quick` sizes" if quick else "full sizes"
    stamp = f"Measured by `python -m bench` ({sizes}) on {os.cpu_count()} cores, Python {platform.python_version()}."
    body = "\n".join([*table([], []).splitlines()[:2], *lines, *[f"\n{failure}" for failure in failures]])
    DOCS.write_text(f"{head}{START}\n{stamp}\n\n{body}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the suites asked for, print one table, exit 1 if a suite failed to finish."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smaller sizes: a few minutes in all")
    parser.add_argument("--only", nargs="*", default=[], help="suite names or script names to run (default: all)")
    parser.add_argument("--script", action="append", default=[], help="run this bench script too (any path)")
    parser.add_argument("--write-docs", action="store_true", help="put the table into docs/performance.md")
    args = parser.parse_args(argv)

    wanted = [(name, ROOT / "bench" / script, extra) for name, script, extra in SUITES
              if not args.only or name in args.only or script in args.only or script.removesuffix(".py") in args.only]  # fmt: skip
    wanted += [(Path(script).stem, Path(script).resolve(), []) for script in args.script]
    failures = []
    with tempfile.TemporaryDirectory(prefix="mentorbot-bench-") as folder:
        rows_file = Path(folder) / "rows.jsonl"
        rows_file.touch()
        for name, script, extra in wanted:
            print(f"== {name}: {script.name}{' --quick' if args.quick else ''}", file=sys.stderr, flush=True)
            code, seconds = run_suite(script, quick=args.quick, extra=extra, rows_file=rows_file)
            if code != 0:
                failures.append(f"{name} ({script.name}) stopped with exit code {code} after {seconds:.0f} s; its rows are missing or partial.")
        rows = [json.loads(line) for line in rows_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    text = table(rows, failures)
    print(text)
    if args.write_docs:
        write_docs(rows, failures, quick=args.quick)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
