"""Two `mentorbot serve` processes on one PostgreSQL: one scheduler leader, each action once, and a takeover."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlmodel import select

from bot.importer import import_roster
from bot.notify import invite_to_term
from bot.rounds import service
from storage import db, repo
from storage.db import session_scope
from storage.models import OutboxMessage, ScheduledAction
from tests.conftest import SHARED_ROSTER

MENTORBOT = str(Path(sys.executable).parent / "mentorbot")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(tmp_path: Path, name: str, database_url: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / name),
        "HTTP_PORT": str(port),
        "SWEEP_SECONDS": "1",
        "LEADER_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([MENTORBOT, "serve"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return process, f"http://127.0.0.1:{port}"


def _health(base: str) -> dict | None:
    try:
        return httpx.get(f"{base}/health", timeout=2).json()
    except httpx.HTTPError:
        return None


def _wait(predicate, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_two_servers_share_the_work_once_and_a_standby_takes_over(postgres_url: str, tmp_path: Path) -> None:
    engine = db.create_db_engine(postgres_url)
    db.upgrade(engine)
    now = datetime.now(timezone.utc)
    import_roster(engine, SHARED_ROSTER, program_name="District Mentoring", default_timezone="America/Los_Angeles", now=now)
    term = service.open_term(engine, program_name="District Mentoring", timezone="UTC", name="Spring 2027", opt_in_by=None, now=now)
    invite_to_term(engine, term_id=term.id, now=now)
    with session_scope(engine) as session:
        program = repo.get_program(session, name="District Mentoring")
        program.settings = {"allow_weekends": True, "quiet_hours": ["00:00", "00:00"]}  # no quiet time: send right away
        for attempt in range(2, 12):
            repo.schedule_action(
                session, idempotency_key=f"term.remind:{term.id}:{attempt}", kind="term.remind",
                due_at=now - timedelta(minutes=attempt), payload={"term_id": term.id, "attempt": attempt},
            )  # fmt: skip

    first, first_url = _serve(tmp_path, "first", postgres_url)
    second, second_url = _serve(tmp_path, "second", postgres_url)
    try:
        # Starting is not what is tested: two servers, each with its Slack handler process, can take a while on a busy machine.
        _wait(lambda: _health(first_url) and _health(second_url), seconds=90)

        def all_done() -> bool:
            with session_scope(engine) as session:
                return all(a.status == "done" for a in session.exec(select(ScheduledAction)))

        _wait(all_done)
        leaders = [bool(_health(url)["scheduler"]["leader"]) for url in (first_url, second_url)]
        assert sorted(leaders) == [False, True]
        with session_scope(engine) as session:
            reminders = list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "prompt.opt_in")))
        keys = [m.idempotency_key for m in reminders]
        assert len(keys) == len(set(keys))  # none twice
        # The invitation plus ten reminders each. No Slack here: a Slack one moved to email is one message, its copy.
        assert len({key.rsplit(":", 1)[0] for key in keys}) == 70 * 11
        copies = {m.idempotency_key for m in reminders if m.channel == "email"}
        assert all(m.idempotency_key.rsplit(":", 1)[0] + ":email" in copies for m in reminders if m.status == "moved")

        # The leader dies without warning; the standby must take the schedule over.
        leader, standby_url = (first, second_url) if leaders[0] else (second, first_url)
        os.kill(leader.pid, signal.SIGKILL)
        leader.wait()
        _wait(lambda: (_health(standby_url) or {}).get("scheduler", {}).get("leader"), seconds=20)
        with session_scope(engine) as session:
            repo.schedule_action(
                session, idempotency_key=f"term.remind:{term.id}:99", kind="term.remind",
                due_at=datetime.now(timezone.utc), payload={"term_id": term.id, "attempt": 99},
            )  # fmt: skip
        _wait(all_done)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=20)
        engine.dispose()
