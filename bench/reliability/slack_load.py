"""Slack load benchmark: 200 signed requests a second for 60 seconds against `mentorbot serve` on PostgreSQL.

Open-loop (each request leaves on its schedule, answered or not) and timed from send to response, over a mix
of DMs, button clicks, modal submissions and `/mentoring` commands. The Slack stand-in runs in its own
process. Prints p50/p99 ack latency and the error count and records them for docs/RELIABILITY.md.

    .venv/bin/python bench/reliability/slack_load.py [--rate 200] [--seconds 60] [--workers 1] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.reliability._figures import record  # noqa: E402
from bench.reliability._slack_traffic import StandInProcess, mixed_requests, prepare_database, run_load, start_server, teachers  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
P99_GOAL_MS = 100


def main() -> int:
    """Run the load, print the figures and record them (errors are figures too: `./dev reliability` goes on to the rest)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200, help="requests per second")
    parser.add_argument("--seconds", type=int, default=60, help="how long to send")
    parser.add_argument("--database-url", default=POSTGRES, help="PostgreSQL server (a fresh schema is made and dropped)")
    parser.add_argument("--sqlite", action="store_true", help="run on a SQLite file instead (for comparison)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of mentorbot serve (HTTP_WORKERS)")
    args = parser.parse_args()

    admin = sa.create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    schema = f"load_{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory(prefix="mentorbot-load-") as folder:
        if args.sqlite:
            url, backend = f"sqlite:///{folder}/load.db", "SQLite"
        else:
            with admin.connect() as connection:
                connection.execute(sa.text(f'create schema "{schema}"'))
            url, backend = f"{args.database_url}?options=-csearch_path%3D{schema}", "PostgreSQL"
        try:
            people = teachers()
            prepared = prepare_database(url, Path(folder), people)
            with StandInProcess(people) as standin:
                server = start_server(url, standin, Path(folder), "serve", HTTP_WORKERS=str(args.workers))
                try:
                    requests = mixed_requests(args.rate * args.seconds, people, prepared["opt_in_context"], standin.url)
                    print(f"sending {len(requests)} requests at {args.rate}/s to {server.url} ({backend})", flush=True)
                    result = asyncio.run(run_load([server.url], requests, rate=args.rate))
                finally:
                    server.stop()
        finally:
            if not args.sqlite:
                with admin.connect() as connection:
                    connection.execute(sa.text(f'drop schema "{schema}" cascade'))
            admin.dispose()
    summary = result.summary()
    load = os.getloadavg()
    summary["workers"], summary["load_average"] = args.workers, [round(value, 2) for value in load]
    print(json.dumps(summary, indent=2))
    for failure in result.errors[:5]:
        print("failed:", failure)
    verdict = "p99 under 100 ms goal" if summary["p99_ms"] < P99_GOAL_MS else f"p99 over the {P99_GOAL_MS} ms goal"
    record(
        "Slack load", tried=f"{args.rate}/s for {args.seconds} s against mentorbot serve ({args.workers} worker{'s' if args.workers != 1 else ''}) on {backend}: DMs, clicks, submissions, commands, all signed",
        count=len(result.outcomes), held=f"{len(result.errors)} errors, every response 200 and acked" if not result.errors else f"{len(result.errors)} errors",
        backend=backend, p50_ms=summary["p50_ms"], p99_ms=summary["p99_ms"], max_ms=summary["max_ms"], goal=verdict,
        rate_achieved=summary["rate_achieved"], workers=args.workers, load_average=summary["load_average"], p99_by_kind_ms=summary["p99_by_kind_ms"],
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
