"""Slack traffic against real `mentorbot serve` processes: the load benchmark and the reliability tests share it.

Three parts, each a real process or real HTTP:
- the Slack stand-in runs in its own process (so its work does not slow the load generator's clock) and, when
  stopped, reports what the app asked of it: calls per method, DMs per user, and posts per outbox key;
- `mentorbot serve` runs as a subprocess pointed at the stand-in through settings (SLACK_API_URL);
- the load generator is open-loop: it sends each request on its schedule whether or not earlier ones were
  answered, signs each one like Slack at the moment it is sent, and times it from send to response.

The traffic is a mix of what people do in Slack: direct messages (message events), button clicks (block_actions),
modal submissions (view_submission) and `/mentoring` commands.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

SIGNING_SECRET = "reliability-signing-secret-0123456789"
PROGRAM = "Load Program"
MENTORBOT = str(Path(sys.executable).parent / "mentorbot")
PROJECT = Path(__file__).resolve().parents[2]  # this checkout: the server runs its code, not whatever is installed
KINDS = ("dm", "click", "submit", "command")
DEFAULT_MIX = {"dm": 0.4, "click": 0.25, "submit": 0.15, "command": 0.2}
DM_WORDS = ("help", "status", "hi")
COMMAND_TEXTS = ("me", "help")


# --- the people ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Teacher:
    """A roster row with a Slack ID."""

    slack_id: str
    name: str
    email: str
    role: str


def teachers(count: int = 60) -> list[Teacher]:
    """A synthetic roster: a third mentors, the rest mentees, every one on Slack."""
    return [
        Teacher(f"ULOAD{n:05d}", f"Teacher {n:03d}", f"teacher{n:03d}@load.example", "mentor" if n % 3 == 0 else "mentee")
        for n in range(count)
    ]


def prepare_database(database_url: str, folder: Path, people: Sequence[Teacher]) -> dict[str, Any]:
    """Migrate, import the roster, open a term; returns the term id and the opt-in dialog's context key."""
    from bot import dialogs
    from bot.importer import import_roster
    from bot.rounds import service
    from storage import db

    engine = db.create_db_engine(database_url)
    try:
        db.upgrade(engine)
        roster = folder / "load-roster.csv"
        rows = ["email,name,role,slack_user_id,site,grade_bands,subjects,capacity,timezone"]
        rows += [f"{t.email},{t.name},{t.role},{t.slack_id},Lincoln,6-8,math,{2 if t.role == 'mentor' else ''},UTC" for t in people]
        roster.write_text("\n".join(rows) + "\n", encoding="utf-8")
        now = datetime.now(timezone.utc)
        import_roster(engine, roster, program_name=PROGRAM, default_timezone="UTC", now=now)
        term = service.open_term(engine, program_name=PROGRAM, timezone="UTC", name="Load Term", opt_in_by=None, now=now)
        return {"term_id": term.id, "opt_in_context": dialogs.context_key(flow="opt_in", term_id=term.id)}
    finally:
        engine.dispose()


# --- the stand-in in its own process ----------------------------------------------------------------


def _report(standin: Any) -> dict[str, Any]:
    keys: Counter[str] = Counter()
    replies: Counter[str] = Counter()
    texts: Counter[str] = Counter()
    for messages in standin.messages.values():
        for message in messages:
            key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key")
            if key and key.startswith("reply:"):  # a kept request's own reply ("reply:<request>:<n>"), not an outbox message
                replies[key] += 1
            elif key:
                keys[key] += 1
            texts[(message.get("text") or "")[:40]] += 1
    return {
        "calls": dict(Counter(f"{c.method}:{'ok' if c.ok else c.error}" for c in standin.calls)),
        "dms": {channel[1:]: len(messages) for channel, messages in standin.messages.items()},
        "posted_keys": dict(keys),
        "reply_keys": dict(replies),
        "texts": dict(texts),
        "responses": len(standin.responses),
        "homes": len(standin.homes),
    }


def _standin_main(conn: Any, people: list[tuple[str, str, str]]) -> None:
    asyncio.run(_standin_serve(conn, people))


async def _standin_serve(conn: Any, people: list[tuple[str, str, str]]) -> None:
    from bot.doubles.slack import SlackStandIn

    standin = SlackStandIn()
    await standin.start()
    for slack_id, name, email in people:
        standin.add_user(slack_id, name, email=email)
    conn.send({"url": standin.url, "api_url": standin.api_url, "bot_token": standin.bot_token})
    loop = asyncio.get_running_loop()
    while True:
        order = await loop.run_in_executor(None, conn.recv)  # "report" or "stop"
        conn.send(_report(standin))
        if order == "stop":
            break
    await standin.stop()


class StandInProcess:
    """The Slack stand-in in a child process; `stop()` returns its report of what the app asked of it."""

    def __init__(self, people: Sequence[Teacher]) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_standin_main, args=(child, [(t.slack_id, t.name, t.email) for t in people]), daemon=True)
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the Slack stand-in did not start")
        info = self._conn.recv()
        self.url, self.api_url, self.bot_token = info["url"], info["api_url"], info["bot_token"]
        self.report: dict[str, Any] | None = None

    def peek(self) -> dict[str, Any]:
        """What the stand-in has seen so far."""
        self._conn.send("report")
        if not self._conn.poll(60):
            raise RuntimeError("the Slack stand-in did not report")
        return self._conn.recv()

    def wait_until(self, check: Any, *, timeout: float = 30.0) -> dict[str, Any]:
        """Poll the stand-in's report until `check(report)` holds; returns the last report either way."""
        deadline = time.monotonic() + timeout
        report = self.peek()
        while not check(report) and time.monotonic() < deadline:
            time.sleep(0.25)
            report = self.peek()
        return report

    def stop(self) -> dict[str, Any]:
        """Stop the stand-in and return what it saw."""
        if self.report is None:
            self._conn.send("stop")
            if not self._conn.poll(60):
                raise RuntimeError("the Slack stand-in did not report")
            self.report = self._conn.recv()
            self._process.join(10)
        return self.report

    def __enter__(self) -> StandInProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            if self._process.is_alive():
                self._process.kill()


# --- mentorbot serve ---------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


HANDLER_COMM = "mentorbot-slack"  # the Slack handler process's name (bot.slack.handler.PROCESS_NAME)


def process_tree(pid: int) -> dict[int, tuple[str, float, int]]:
    """A process and every process below it: pid -> (name, CPU seconds used so far, nice value), read from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    seen: dict[int, tuple[str, float, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdecimal():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue  # it ended meanwhile
        fields = tail.split()
        parents[int(entry.name)] = int(fields[1])
        seen[int(entry.name)] = (head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / ticks, int(fields[16]))
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, its_parent in parents.items() if its_parent == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    return {member: seen[member] for member in tree if member in seen}


def process_tree_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds used so far below `pid`: by the Slack handler process(es), and by the rest (the web workers)."""
    split = {"web": 0.0, "handler": 0.0}
    for name, seconds, _nice in process_tree(pid).values():
        split["handler" if name == HANDLER_COMM else "web"] += seconds
    return split


@dataclass
class Server:
    """One `mentorbot serve` subprocess."""

    process: subprocess.Popen
    url: str
    log: Path

    def health(self) -> dict[str, Any] | None:
        """GET /health, or None while it does not answer."""
        import httpx

        try:
            return httpx.get(f"{self.url}/health", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return None

    def stop(self) -> None:
        """SIGTERM, then wait; kill if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(database_url: str, standin: StandInProcess, folder: Path, name: str, **env_extra: str) -> Server:
    """Start `mentorbot serve` on a free loopback port with Slack pointed at the stand-in; waits until healthy."""
    return wait_until_healthy(launch_server(database_url, standin, folder, name, **env_extra))


def launch_server(database_url: str, standin: StandInProcess, folder: Path, name: str, **env_extra: str) -> Server:
    """Start `mentorbot serve` as `start_server` does, without waiting for it (to start several at once)."""
    port = free_port()
    data_dir = folder / name
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "SMTP_", "IMAP_", "DATABASE_URL", "MAILGUN_", "SENDGRID_"))
    }
    env.update({
        "DATABASE_URL": database_url, "DATA_DIR": str(data_dir), "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port),
        "PROGRAM_NAME": PROGRAM, "SLACK_BOT_TOKEN": standin.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": standin.api_url, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "WARNING",
        "OUTBOX_SECONDS": "0.5", **env_extra,
    })  # fmt: skip
    # The server's working folder is its data folder, so a relative PYTHONPATH (".") would point there instead.
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT), *(part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part and part != ".")])
    log = data_dir / "serve.log"
    process = subprocess.Popen([MENTORBOT, "serve"], env=env, cwd=data_dir, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return Server(process, f"http://127.0.0.1:{port}", log)


def wait_until_healthy(server: Server) -> Server:
    """Wait until a launched server answers /health; stop it and raise if it exits or never does."""
    process, log = server.process, server.log
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mentorbot serve exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        if server.health():
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"mentorbot serve did not become healthy: {log.read_text(errors='replace')[-2000:]}")


# --- requests shaped and signed like Slack's ----------------------------------------------------------


def sign(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 request signature headers for `body`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class SlackRequest:
    """One request Slack would send: its kind, body and content type (signed when sent)."""

    kind: str
    body: bytes
    content_type: str
    user: str


def _team() -> dict[str, str]:
    return {"id": "T0STANDIN", "domain": "standin"}


def _user(teacher: Teacher) -> dict[str, str]:
    return {"id": teacher.slack_id, "username": teacher.name.lower().replace(" ", ""), "name": teacher.name, "team_id": "T0STANDIN"}


def dm_request(teacher: Teacher, text: str, *, event_id: str | None = None) -> SlackRequest:
    """A direct message to the bot, as an Events API event_callback."""
    ts = f"{time.time():.6f}"
    event = {"type": "message", "channel": f"D{teacher.slack_id}", "user": teacher.slack_id, "text": text, "ts": ts, "event_ts": ts, "channel_type": "im", "client_msg_id": str(uuid.uuid4())}
    body = {
        "token": "legacy", "team_id": "T0STANDIN", "api_app_id": "ASTANDIN", "event": event, "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}", "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": "T0STANDIN", "user_id": "UBOTSTAND", "is_bot": True, "is_enterprise_install": False}],
    }  # fmt: skip
    return SlackRequest("dm", json.dumps(body).encode(), "application/json", teacher.slack_id)


def click_request(teacher: Teacher, opt_in_context: str, *, action_ts: str | None = None) -> SlackRequest:
    """A click on the teacher's own role button on the Home tab (answers the opt-in's first question)."""
    from bot.slack import blocks as bk

    payload = {
        "type": "block_actions", "user": _user(teacher), "api_app_id": "ASTANDIN", "token": "legacy",
        "trigger_id": f"{random.randrange(10**9)}.{int(time.time())}.{uuid.uuid4().hex[:12]}", "team": _team(),
        "container": {"type": "view", "view_id": f"VHOME{teacher.slack_id}"}, "state": {"values": {}},
        "actions": [{
            "action_id": f"answer:{teacher.role}", "block_id": bk.ask_block_id("opt_in", opt_in_context, "role"),
            "text": {"type": "plain_text", "text": teacher.role.title()}, "value": teacher.role, "type": "button",
            "action_ts": action_ts or f"{time.time():.6f}{random.randrange(1000):03d}",
        }],
    }  # fmt: skip
    return SlackRequest("click", urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded", teacher.slack_id)


def submit_request(teacher: Teacher, opt_in_context: str) -> SlackRequest:
    """The opt-in modal submitted: role (and, for a mentor, two mentees)."""
    from bot.slack import blocks as bk

    page = bk.Page("opt_in", opt_in_context, ("role", "capacity") if teacher.role == "mentor" else ("role",), (), 1, 1, True)
    values: dict[str, Any] = {bk.block_id_for("role"): {"role": {"type": "radio_buttons", "selected_option": {"text": {"type": "plain_text", "text": teacher.role.title()}, "value": teacher.role}}}}
    if teacher.role == "mentor":
        values[bk.block_id_for("capacity")] = {"capacity": {"type": "number_input", "value": "2"}}
    view = {
        "id": f"VMODAL{uuid.uuid4().hex[:8].upper()}", "type": "modal", "callback_id": bk.FLOW_CALLBACK, "private_metadata": page.metadata(),
        "title": {"type": "plain_text", "text": "Opt in"}, "blocks": [], "state": {"values": values}, "hash": uuid.uuid4().hex,
    }  # fmt: skip
    payload = {"type": "view_submission", "team": _team(), "user": _user(teacher), "api_app_id": "ASTANDIN", "token": "legacy",
               "trigger_id": f"{random.randrange(10**9)}.{int(time.time())}.{uuid.uuid4().hex[:12]}", "view": view, "response_urls": []}
    return SlackRequest("submit", urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded", teacher.slack_id)


def command_request(teacher: Teacher, text: str, standin_url: str, *, trigger_id: str | None = None) -> SlackRequest:
    """`/mentoring text`, with a response_url on the stand-in."""
    form = {
        "token": "legacy", "team_id": "T0STANDIN", "team_domain": "standin", "channel_id": f"D{teacher.slack_id}", "channel_name": "directmessage",
        "user_id": teacher.slack_id, "user_name": teacher.name, "command": "/mentoring", "text": text, "api_app_id": "ASTANDIN",
        "is_enterprise_install": "false", "response_url": f"{standin_url}/response/{uuid.uuid4().hex}",
        "trigger_id": trigger_id or f"{random.randrange(10**9)}.{int(time.time())}.{uuid.uuid4().hex[:12]}",
    }  # fmt: skip
    return SlackRequest("command", urlencode(form).encode(), "application/x-www-form-urlencoded", teacher.slack_id)


def mixed_requests(count: int, people: Sequence[Teacher], opt_in_context: str, standin_url: str, *, mix: Mapping[str, float] = DEFAULT_MIX, seed: int = 7) -> list[SlackRequest]:
    """`count` requests in the given proportions; clicks and submissions come from mentees (one page, no modal to open)."""
    rng = random.Random(seed)
    mentees = [t for t in people if t.role == "mentee"]
    kinds = rng.choices(list(mix), weights=list(mix.values()), k=count)
    made = []
    for kind in kinds:
        if kind == "dm":
            made.append(dm_request(rng.choice(people), rng.choice(DM_WORDS)))
        elif kind == "click":
            made.append(click_request(rng.choice(mentees), opt_in_context))
        elif kind == "submit":
            made.append(submit_request(rng.choice(people), opt_in_context))
        else:
            made.append(command_request(rng.choice(people), rng.choice(COMMAND_TEXTS), standin_url))
    return made


# --- the open-loop load generator ---------------------------------------------------------------------


@dataclass
class Outcome:
    """One request's fate."""

    kind: str
    status: int  # 0 when no HTTP answer came
    seconds: float
    acked: bool
    error: str = ""


@dataclass
class LoadResult:
    """Everything the load generator saw."""

    outcomes: list[Outcome] = field(default_factory=list)
    wall_seconds: float = 0.0
    late_sends: int = 0  # requests sent more than 50 ms after their slot (the generator itself fell behind)

    def latencies_ms(self, kind: str | None = None) -> list[float]:
        return sorted(o.seconds * 1000 for o in self.outcomes if kind in (None, o.kind))

    def percentile(self, p: float, kind: str | None = None) -> float:
        """The p-th percentile ack latency in ms (nearest rank)."""
        values = self.latencies_ms(kind)
        if not values:
            return float("nan")
        rank = max(1, min(len(values), int(round(p / 100 * len(values) + 0.5))))
        return values[rank - 1]

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != 200 or not o.acked]

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(o.kind for o in self.outcomes))

    def summary(self) -> dict[str, Any]:
        return {
            "requests": len(self.outcomes), "errors": len(self.errors), "p50_ms": round(self.percentile(50), 1),
            "p99_ms": round(self.percentile(99), 1), "max_ms": round(self.percentile(100), 1), "rate_achieved": round(len(self.outcomes) / self.wall_seconds, 1) if self.wall_seconds else 0,
            "late_sends": self.late_sends, "by_kind": self.by_kind(),
            "p99_by_kind_ms": {kind: round(self.percentile(99, kind), 1) for kind in KINDS if any(o.kind == kind for o in self.outcomes)},
        }  # fmt: skip


def _acked(request: SlackRequest, status: int, body: bytes) -> bool:
    if status != 200:
        return False
    if request.kind == "submit":  # a submission's answer is its result: the next page, the done view or inline errors
        try:
            return json.loads(body or b"{}").get("response_action") in ("update", "errors", "clear")
        except ValueError:
            return False
    return True


async def send_one(session: aiohttp.ClientSession, url: str, request: SlackRequest, headers: Mapping[str, str] | None = None, *, signed: bool = True) -> Outcome:
    """Send one request (signed now, unless told otherwise) and time it from send to the full response."""
    sent = {"Content-Type": request.content_type, **(sign(request.body) if signed else {}), **(headers or {})}
    started = time.perf_counter()
    try:
        async with session.post(f"{url}/slack/events", data=request.body, headers=sent) as response:
            body = await response.read()
            seconds = time.perf_counter() - started
            return Outcome(request.kind, response.status, seconds, _acked(request, response.status, body), "" if response.status == 200 else body[:200].decode(errors="replace"))
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return Outcome(request.kind, 0, time.perf_counter() - started, False, f"{type(exc).__name__}: {exc}")


async def run_load(urls: Sequence[str], requests: Sequence[SlackRequest], *, rate: float, timeout: float = 30.0) -> LoadResult:
    """Send `requests` at `rate` per second, open-loop, round-robin over `urls`; wait for every answer."""
    result = LoadResult()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        tasks = []
        start = time.perf_counter()
        for index, request in enumerate(requests):
            slot = start + index / rate
            delay = slot - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.05:
                result.late_sends += 1
            tasks.append(asyncio.create_task(send_one(session, urls[index % len(urls)], request)))
        result.outcomes = list(await asyncio.gather(*tasks))
        result.wall_seconds = time.perf_counter() - start
    return result
