"""The Slack handler against a bare Bolt app: the same signed mixed traffic, one worker, PostgreSQL, one run.

The baseline is a bare `slack_bolt` AsyncApp mounted in FastAPI under uvicorn (one worker, its own process) that
acknowledges every request type the mix sends and does nothing else. A short step search finds the highest rate it
holds at ack p99 < 100 ms. Then `mentorbot serve` (1 worker, PostgreSQL, the Slack stand-in in its own process):
- the ack path at half the bare rate (replies allowed to queue in the inbox; 20 s, 10 s with --quick), stepping
  down by a quarter until it holds;
- 100 requests a second sustained (60 s; 10 s with --quick): ack p99, and how long after the last request the last
  reply went out (the inbox handled everything it kept, every command answered);
and the server's CPU per request. Rows go through `bench._rows.emit`.

    PYTHONPATH=. .venv/bin/python bench/slack_handler.py [--quick] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench._rows import Row, emit  # noqa: E402
from bench.reliability._slack_traffic import (  # noqa: E402
    SIGNING_SECRET,
    LoadResult,
    StandInProcess,
    free_port,
    mixed_requests,
    prepare_database,
    process_tree_cpu_seconds,
    run_load,
    start_server,
    teachers,
)

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
P99_GOAL_MS = 100.0
SUSTAINED_RATE = 100
DRAIN_GOAL_SECONDS = 5.0
BARE_STEPS = (50, 100, 200, 300, 400, 500, 600, 800)
PATH = "Slack handler"
CASE_ACK = "ack path, 1 worker, PostgreSQL"
BARE_NAME = "bare Bolt AsyncApp in FastAPI/uvicorn"


# --- the bare baseline, in its own process ------------------------------------------------------------


def bare_app():  # noqa: ANN201 (FastAPI is imported here: the parent process never needs it)
    """A bare Bolt app in FastAPI that acknowledges every request type the mix sends, and nothing more."""
    import re

    from fastapi import FastAPI, Request
    from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult

    from bot.slack import blocks as bk

    async def authorize(**_given: object) -> AuthorizeResult:  # one workspace, known token: no auth.test call
        return AuthorizeResult(enterprise_id=None, team_id="T0STANDIN", bot_token="xoxb-bare", bot_user_id="UBOTSTAND", bot_id="BBARE")

    bolt = AsyncApp(signing_secret=SIGNING_SECRET, authorize=authorize)
    done = {"type": "modal", "title": {"type": "plain_text", "text": "Done"}, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Thanks"}}]}

    @bolt.event("message")
    async def _message(ack):  # noqa: ANN001, ANN202
        await ack()

    @bolt.action(re.compile(".*"))
    async def _action(ack):  # noqa: ANN001, ANN202
        await ack()

    @bolt.view(bk.FLOW_CALLBACK)
    async def _submit(ack):  # noqa: ANN001, ANN202
        await ack(response_action="update", view=done)

    @bolt.command("/mentoring")
    async def _command(ack):  # noqa: ANN001, ANN202
        await ack()

    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI()

    async def _events(request):  # noqa: ANN001, ANN202
        return await handler.handle(request)

    _events.__annotations__["request"] = Request  # a real class, not the string `from __future__` would leave
    api.post("/slack/events")(_events)

    @api.get("/health")
    async def _health() -> dict[str, bool]:
        return {"ok": True}

    return api


def _serve_bare(port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


class BareServer:
    """The bare Bolt app under uvicorn in a child process."""

    def __init__(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--bare-server", str(port)], env=env)
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the bare Bolt app did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


# --- runs -----------------------------------------------------------------------------------------------


def _held(result: LoadResult) -> bool:
    return not result.errors and result.percentile(99) < P99_GOAL_MS


def _load(url: str, rate: int, seconds: float, people, context: str, standin_url: str, *, seed: int) -> LoadResult:  # noqa: ANN001
    requests = mixed_requests(int(rate * seconds), people, context, standin_url, seed=seed)
    return asyncio.run(run_load([url], requests, rate=rate))


def _say(label: str, rate: int, result: LoadResult) -> None:
    s = result.summary()
    print(f"  {label} {rate}/s: p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, errors {s['errors']}, late sends {s['late_sends']}, p99 by kind {s['p99_by_kind_ms']}", flush=True)


def bare_rate(bare: BareServer, step_seconds: float, people, context: str, standin_url: str) -> tuple[int, dict[int, LoadResult], dict[int, float]]:  # noqa: ANN001
    """The highest step rate the bare app holds at p99 < 100 ms (steps go up until one fails), every step's result,
    and its CPU milliseconds per request at each step."""
    held, seen, cpu = 0, {}, {}
    _load(bare.url, 50, 2, people, context, standin_url, seed=1)  # warm-up: Bolt's lazy set-up, connections
    for rate in BARE_STEPS:
        before = process_tree_cpu_seconds(bare.process.pid)["web"]
        result = _load(bare.url, rate, step_seconds, people, context, standin_url, seed=rate)
        cpu[rate] = (process_tree_cpu_seconds(bare.process.pid)["web"] - before) * 1000 / len(result.outcomes)
        _say("bare", rate, result)
        print(f"    bare CPU {cpu[rate]:.2f} ms/request", flush=True)
        seen[rate] = result
        if not _held(result):
            break
        held = rate
    return held, seen, cpu


def wait_drained(database_url: str, standin: StandInProcess, commands: int, *, since: float, timeout: float) -> float:
    """Seconds from `since` (the last request's send time) until the inbox is handled and every command answered."""
    from bot.slack import inbox
    from storage import db

    engine = db.create_db_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = inbox.counts(engine)
            if not counts.get("new") and not counts.get("taken") and standin.peek()["responses"] >= commands:
                return time.monotonic() - since
            time.sleep(0.1)
        return float("inf")
    finally:
        engine.dispose()


def mentorbot_runs(database_url: str, folder: Path, *, ack_rate: int, ack_seconds: float, sustained_seconds: float, drain_timeout: float) -> dict:
    """The ack-path run (stepping down from `ack_rate` until it holds) and the sustained 100/s run, on one server."""
    people = teachers()
    prepared = prepare_database(database_url, folder, people)
    context = prepared["opt_in_context"]
    figures: dict = {}
    with StandInProcess(people) as standin:
        server = start_server(database_url, standin, folder, "serve", HTTP_WORKERS="1")
        commands_so_far = 0
        try:
            warm = mixed_requests(100, people, context, standin.url, seed=2)
            asyncio.run(run_load([server.url], warm, rate=50))
            commands_so_far += sum(q.kind == "command" for q in warm)
            wait_drained(database_url, standin, commands_so_far, since=time.monotonic(), timeout=drain_timeout)

            # The ack path: replies may queue; the inbox drains between steps so each step starts alike.
            rate = ack_rate
            while True:
                requests = mixed_requests(int(rate * ack_seconds), people, context, standin.url, seed=rate)
                before = process_tree_cpu_seconds(server.process.pid)
                result = asyncio.run(run_load([server.url], requests, rate=rate))
                after = process_tree_cpu_seconds(server.process.pid)
                figures["ack_web_cpu_ms"] = (after["web"] - before["web"]) * 1000 / len(requests)
                _say("mentorbot ack path", rate, result)
                print(f"    web worker CPU {figures['ack_web_cpu_ms']:.2f} ms/request (the handler's replies queue meanwhile)", flush=True)
                commands_so_far += sum(q.kind == "command" for q in requests)
                wait_drained(database_url, standin, commands_so_far, since=time.monotonic(), timeout=drain_timeout)
                if _held(result) or rate <= 10:
                    figures["ack_rate"] = rate if _held(result) else 0
                    figures["ack_p99"] = result.percentile(99)
                    break
                rate = int(rate * 0.75)

            # 100/s sustained: ack p99, and the last reply after the last request.
            requests = mixed_requests(int(SUSTAINED_RATE * sustained_seconds), people, context, standin.url, seed=100)
            cpu_before = process_tree_cpu_seconds(server.process.pid)
            started = time.monotonic()
            result = asyncio.run(run_load([server.url], requests, rate=SUSTAINED_RATE))
            last_sent = started + (len(requests) - 1) / SUSTAINED_RATE
            commands_so_far += sum(q.kind == "command" for q in requests)
            drain = wait_drained(database_url, standin, commands_so_far, since=last_sent, timeout=drain_timeout)
            cpu_after = process_tree_cpu_seconds(server.process.pid)
            _say("mentorbot sustained", SUSTAINED_RATE, result)
            figures["sustained"] = result
            figures["drain_s"] = drain
            figures["cpu_ms"] = {part: round((cpu_after[part] - cpu_before[part]) * 1000 / len(requests), 2) for part in ("web", "handler")}
            print(f"  drained {drain:.1f} s after the last request; server CPU per request {figures['cpu_ms']} ms", flush=True)
        finally:
            server.stop()
    return figures


def main() -> int:
    """Run the baseline and mentorbot, emit the three rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s steps and a 10 s sustained run (under ~3 minutes)")
    parser.add_argument("--database-url", default=POSTGRES, help="PostgreSQL server (a fresh schema is made and dropped)")
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)  # the baseline's own process
    args = parser.parse_args()
    if args.bare_server:
        _serve_bare(args.bare_server)
        return 0
    step_seconds = 5.0 if args.quick else 10.0
    ack_seconds = 10.0 if args.quick else 20.0  # each step of the ack path; the sustained run is the long one
    sustained_seconds = 10.0 if args.quick else 60.0

    people = teachers()
    bare = BareServer()
    try:
        held, seen, bare_cpu = bare_rate(bare, step_seconds, people, "opt_in:0", "http://127.0.0.1:9")
    finally:
        bare.stop()
    print(f"bare Bolt holds {held}/s at p99 < {P99_GOAL_MS:.0f} ms", flush=True)

    admin = sa.create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    schema = f"slackbench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'create schema "{schema}"'))
    try:
        with tempfile.TemporaryDirectory(prefix="mentorbot-slackbench-") as folder:
            url = f"{args.database_url}?options=-csearch_path%3D{schema}"
            figures = mentorbot_runs(url, Path(folder), ack_rate=max(10, held // 2), ack_seconds=ack_seconds, sustained_seconds=sustained_seconds, drain_timeout=120)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'drop schema "{schema}" cascade'))
        admin.dispose()

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    ack_rate = figures["ack_rate"]
    emit(Row(
        path=PATH, case=CASE_ACK, figure=ack_rate, unit="req/s", baseline=held, baseline_name=BARE_NAME,
        goal="at least half of bare", met=held > 0 and ack_rate >= held / 2,
        note=(
            f"mentorbot p99 {figures['ack_p99']:.0f} ms over {ack_seconds:.0f} s; bare p99 {seen[held].percentile(99) if held else float('nan'):.0f} ms "
            f"over {step_seconds:.0f} s steps ({seen[held].late_sends if held else 0} late sends); CPU per ack: web worker "
            f"{figures['ack_web_cpu_ms']:.1f} ms, bare {bare_cpu.get(held, float('nan')):.1f} ms; load {load}"
        ),
    ))  # fmt: skip
    sustained: LoadResult = figures["sustained"]
    p99 = sustained.percentile(99)
    cpu = figures["cpu_ms"]
    emit(Row(
        path=PATH, case=f"{SUSTAINED_RATE} req/s for {sustained_seconds:.0f} s, ack p99", figure=round(p99, 1), unit="ms",
        goal="under 100 ms", met=p99 < P99_GOAL_MS and not sustained.errors,
        note=f"{len(sustained.errors)} errors; server CPU {cpu['web'] + cpu['handler']:.1f} ms/request (web {cpu['web']}, handler {cpu['handler']})",
    ))  # fmt: skip
    drain = figures["drain_s"]
    emit(Row(
        path=PATH, case=f"{SUSTAINED_RATE} req/s for {sustained_seconds:.0f} s, last reply after last request", figure=round(drain, 1), unit="s",
        goal=f"within {DRAIN_GOAL_SECONDS:.0f} s", met=drain <= DRAIN_GOAL_SECONDS,
    ))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
