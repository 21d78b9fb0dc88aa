"""Two `mentorbot serve` processes on one PostgreSQL under Slack load, with scheduled actions falling due meanwhile.

The load is split across both processes. Throughout, the scheduler lock is watched twice over: each
process's /health, and PostgreSQL's own lock table. Afterwards every scheduled action must have been done
once, and every outbox message posted to Slack once (the stand-in counts posts per outbox key).
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from bench.reliability._slack_traffic import PROGRAM, StandInProcess, launch_server, mixed_requests, prepare_database, run_load, teachers, wait_until_healthy
from bot.notify import invite_to_term
from bot.rounds.leader import Leadership
from storage import db, repo
from storage.db import session_scope
from storage.models import OutboxMessage, ScheduledAction


class LeaderWatch(threading.Thread):
    """Samples, every 0.1 s, which processes say they lead and how many hold the scheduler's advisory lock."""

    def __init__(self, servers, engine, key: int) -> None:
        super().__init__(daemon=True)
        self.servers, self.engine, self.key = servers, engine, key
        self.samples: list[tuple[int, int]] = []  # (processes saying they lead, holders of the lock in PostgreSQL)
        self.stopping = threading.Event()

    def run(self) -> None:
        query = sa.text(
            "select count(*) from pg_locks where locktype = 'advisory' and granted and ((classid::bigint << 32) | objid::bigint) = :key"
        )
        while not self.stopping.is_set():
            leaders = sum(bool((server.health() or {}).get("scheduler", {}).get("leader")) for server in self.servers)
            with self.engine.connect() as connection:
                holders = connection.execute(query, {"key": self.key & 0xFFFFFFFFFFFFFFFF}).scalar_one()
            self.samples.append((leaders, holders))
            self.stopping.wait(0.1)


def test_two_servers_under_load_keep_one_leader_and_do_each_action_once(postgres_url: str, tmp_path: Path, scale, record_figure) -> None:
    rate, seconds = scale.pick(30, 40), scale.pick(3, 60)
    people = teachers(scale.pick(20, 60))  # each reminder DMs everyone unanswered, paced as Slack asks: fewer people, a shorter wait
    prepared = prepare_database(postgres_url, tmp_path, people)
    engine = db.create_db_engine(postgres_url)
    now = datetime.now(timezone.utc)
    invite_to_term(engine, term_id=prepared["term_id"], now=now)
    actions = scale.pick(4, 30)
    with session_scope(engine) as session:
        program = repo.get_program(session, name=PROGRAM)
        program.settings = {**(program.settings or {}), "allow_weekends": True, "quiet_hours": ["00:00", "00:00"]}  # send at once
        for attempt in range(actions):  # reminders falling due all through the load, the first few already due
            repo.schedule_action(
                session, idempotency_key=f"term.remind:{prepared['term_id']}:{attempt + 2}", kind="term.remind",
                due_at=now + timedelta(seconds=seconds * attempt / actions - 2), payload={"term_id": prepared["term_id"], "attempt": attempt + 2},
            )  # fmt: skip
    key = Leadership(engine).key
    with StandInProcess(people) as standin:
        # Both start at once, as two instances of a deployment do.
        servers = [launch_server(postgres_url, standin, tmp_path, name, SWEEP_SECONDS="1", LEADER_SECONDS="1") for name in ("first", "second")]
        try:
            for server in servers:
                wait_until_healthy(server)
        except BaseException:
            for server in servers:
                server.stop()
            raise
        watch = LeaderWatch(servers, engine, key)
        watch.start()
        try:
            requests = mixed_requests(rate * seconds, people, prepared["opt_in_context"], standin.url)
            result = asyncio.run(run_load([s.url for s in servers], requests, rate=rate))

            def settled() -> bool:
                with session_scope(engine) as session:
                    open_actions = session.exec(select(ScheduledAction.id).where(ScheduledAction.status.in_(("pending", "running")))).first()
                    unsent = session.exec(select(OutboxMessage.id).where(OutboxMessage.status != "sent")).first()
                return open_actions is None and unsent is None

            deadline = time.monotonic() + 120
            while not settled() and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            watch.stopping.set()
            watch.join()
            for server in servers:
                server.stop()
        report = standin.stop()
    with session_scope(engine) as session:
        reminders = session.exec(select(ScheduledAction).where(ScheduledAction.kind == "term.remind")).all()
        outbox = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "slack")).all()
    engine.dispose()

    assert not result.errors, result.errors[:5]
    assert all(a.status == "done" for a in reminders), [(a.idempotency_key, a.status) for a in reminders if a.status != "done"]
    assert len(reminders) == actions
    assert outbox and all(m.status == "sent" for m in outbox)
    posted = report["posted_keys"]
    assert sorted(posted) == sorted(m.idempotency_key for m in outbox)  # every outbox message reached Slack...
    assert max(posted.values()) == 1  # ...once
    assert max(report["reply_keys"].values(), default=1) == 1  # and each reply to a kept request was posted once
    both = [s for s in watch.samples if s[0] > 1 or s[1] > 1]
    assert not both, both[:5]  # never two leaders, by either account
    assert sum(1 for leaders, holders in watch.samples if leaders == 1 and holders == 1) >= 0.9 * len(watch.samples)
    summary = result.summary()
    record_figure(
        "Two instances on one PostgreSQL", tried=f"two mentorbot serve processes sharing {rate}/s of signed Slack traffic for {seconds} s, {actions} reminder actions due meanwhile",
        count=len(requests), held="one leader at every sample, each action done once, each outbox message posted once, no request error",
        leader_samples=len(watch.samples), samples_with_two_leaders=len(both), actions_done=len(reminders), outbox_posted=len(posted),
        p50_ms=summary["p50_ms"], p99_ms=summary["p99_ms"], errors=len(result.errors),
    )  # fmt: skip
