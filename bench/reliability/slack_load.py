"""Slack load benchmark: 200 signed requests a second for 60 seconds against `mentorbot serve` on PostgreSQL.

Open-loop (each request leaves on its schedule, answered or not) and timed from send to response, over a mix
of DMs, button clicks, modal submissions and `/mentoring` commands. The Slack stand-in runs in its own
process. Prints p50/p99 ack latency and the error count and records them for docs/RELIABILITY.md, with the
server's CPU per request and how long after the last request the inbox had handled everything it kept.

    .venv/bin/python bench/reliability/slack_load.py [--rate 200] [--seconds 60] [--workers 1] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.reliability._figures import record  # noqa: E402
from bench.reliability._slack_traffic import (  # noqa: E402
    StandInProcess,
    mixed_requests,
    prepare_database,
    process_tree_cpu_seconds,
    run_load,
    start_server,
    teachers,
)

DRAIN_TIMEOUT_SECONDS = 900
DM_ANSWERS = ("*I'm mentorbot", "Where you stand")  # what the benchmark's DMs ("help", "hi", "status") are answered with

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
    parser.add_argument("--drain-timeout", type=float, default=DRAIN_TIMEOUT_SECONDS, help="how long to wait for the inbox to be handled after the load")
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
                    cpu_before = process_tree_cpu_seconds(server.process.pid)
                    result = asyncio.run(run_load([server.url], requests, rate=args.rate))
                    cpu_during = process_tree_cpu_seconds(server.process.pid)
                    drain = wait_for_inbox(url, timeout=args.drain_timeout)
                    # What reached "Slack" once everything kept was handled: an answer per DM and per command.
                    seen = standin.wait_until(lambda r: r["responses"] >= sum(q.kind == "command" for q in requests), timeout=30)
                    drain["dms_answered"] = sum(count for text, count in seen["texts"].items() if text.startswith(DM_ANSWERS))
                    drain["dms_sent"] = sum(1 for q in requests if q.kind == "dm")
                    drain["commands_answered"], drain["commands_sent"] = seen["responses"], sum(1 for q in requests if q.kind == "command")
                    cpu_after = process_tree_cpu_seconds(server.process.pid)
                finally:
                    server.stop()
                    log_tail = server.log.read_text(errors="replace")[-3000:]
        finally:
            if not args.sqlite:
                with admin.connect() as connection:
                    connection.execute(sa.text(f'drop schema "{schema}" cascade'))
            admin.dispose()
    summary = result.summary()
    per_request = {
        f"{part}_{when}": round((used[part] - cpu_before[part]) * 1000 / max(1, len(result.outcomes)), 2)
        for when, used in (("during_load", cpu_during), ("in_all", cpu_after)) for part in ("web", "handler")
    }  # fmt: skip
    summary["server_cpu_ms_per_request"] = per_request
    summary["inbox"] = drain
    load = os.getloadavg()
    summary["workers"], summary["load_average"] = args.workers, [round(value, 2) for value in load]
    print(json.dumps(summary, indent=2))
    for failure in result.errors[:5]:
        print("failed:", failure)
    if result.errors:
        print("the end of the server's log:\n" + log_tail)
    verdict = "p99 under 100 ms goal" if summary["p99_ms"] < P99_GOAL_MS else f"p99 over the {P99_GOAL_MS} ms goal"
    record(
        "Slack load", tried=f"{args.rate}/s for {args.seconds} s against mentorbot serve ({args.workers} worker{'s' if args.workers != 1 else ''}) on {backend}: DMs, clicks, submissions, commands, all signed",
        count=len(result.outcomes), held=f"{len(result.errors)} errors, every response 200 and acked" if not result.errors else f"{len(result.errors)} errors",
        backend=backend, p50_ms=summary["p50_ms"], p99_ms=summary["p99_ms"], max_ms=summary["max_ms"], goal=verdict,
        rate_achieved=summary["rate_achieved"], workers=args.workers, load_average=summary["load_average"], p99_by_kind_ms=summary["p99_by_kind_ms"],
        server_cpu_ms_per_request=per_request, inbox=drain,
    )  # fmt: skip
    return 0


def wait_for_inbox(database_url: str, *, timeout: float) -> dict[str, object]:
    """Wait until every request the server kept has been handled; how long that took after the last ack, and the counts."""
    from bot.slack import inbox
    from storage import db

    engine = db.create_db_engine(database_url)
    started = time.monotonic()
    try:
        while True:
            counts = inbox.counts(engine)
            if not counts.get("new") and not counts.get("taken") or time.monotonic() - started > timeout:
                return {"handled_within_s": round(time.monotonic() - started, 1), **counts}
            time.sleep(0.5)
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
