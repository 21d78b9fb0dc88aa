"""Benchmark: pairing notices through the email outbox to a real SMTP server, beside bare aiosmtplib in the same run.

Setup (not timed): a roster of N people (half mentors, email only) is imported, a one-session round matched and
published, and the schedule swept, so the outbox holds N pairing notices enqueued exactly as a publish enqueues them.

Timed, alternating, a few times per backend:
- mentorbot: `bot.outbox.drain` with the server's senders (`EmailSender`), the path `mentorbot serve` runs, until
  nothing is due; before each run the same rows are put back to `pending` and the renderings mentorbot keeps between
  messages are forgotten (`forget_renderings`), so every run renders the round's notices afresh;
- bare: aiosmtplib sending the same bytes (each notice rendered once by mentorbot's sender before timing) over the same number
  of connections (SMTP_MAX_CONNECTIONS), one sendmail after another per connection.

The SMTP server (aiosmtpd) runs in a child process, so it doesn't share the event loop or the GIL with either side;
it writes each message's Message-ID to a file, and every run is checked for exactly one copy of each message.

Usage: PYTHONPATH=. python bench/outbox_smtp.py [--quick] [--runs N] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosmtplib
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._rows import Row, emit  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PUBLISHED = datetime(2027, 2, 1, 9, 0, tzinfo=ZoneInfo("America/Los_Angeles")).astimezone(timezone.utc)
HEADER = "email,name,role,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity"
ZONES = ("America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York")
TOPICS = ("SEL", "assessment", "classroom management", "co-teaching")
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


# --- the SMTP server, in a child process -----------------------------------------------------------


class _IdWriter:
    """Accepts every message and appends its Message-ID to a file before answering 250 (so the client's 250 means
    the id is on disk)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        found = MESSAGE_ID.search(envelope.original_content or envelope.content)
        os.write(self.fd, (found.group(1) if found else b"<none>") + b"\n")
        return "250 OK queued"


def _serve(ids_path: str, port_queue) -> None:
    from bot.email.sink import start_smtp_server

    async def main() -> None:
        server, port = await start_smtp_server(_IdWriter(ids_path), "127.0.0.1", 0)
        port_queue.put(port)
        await asyncio.Event().wait()

    asyncio.run(main())


class SmtpChild:
    """An aiosmtpd server in a child process that logs Message-IDs to a file the parent reads and truncates."""

    def __init__(self, folder: Path) -> None:
        self.ids = folder / "received.txt"
        self.ids.touch()
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        self.process = context.Process(target=_serve, args=(str(self.ids), queue), daemon=True)
        self.process.start()
        self.port = queue.get(timeout=60)

    def reset(self) -> None:
        os.truncate(self.ids, 0)

    def received(self) -> Counter[str]:
        return Counter(line for line in self.ids.read_text().splitlines() if line)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


# --- setup: a published round's pairing notices ----------------------------------------------------


def _roster(people: int) -> str:
    rows = []
    for n in range(people):
        mentor = n % 2 == 0
        topic = TOPICS[(n // 2) % len(TOPICS)]
        zone = ZONES[(n // 2) % len(ZONES)]
        rows.append(
            f"p{n}@d.example,Person {n},{'mentor' if mentor else 'mentee'},Site {n % 5},6-8,math,"
            f"{topic if mentor else ''},{'' if mentor else topic},Tue 15:00-16:30,{zone},{1 if mentor else ''}"
        )
    return "\n".join([HEADER, *rows]) + "\n"


def published_round(engine: sa.Engine, folder: Path, people: int) -> int:
    """Import, match and publish a round of `people`, then sweep: the outbox holds their pairing notices."""
    from bot.importer import import_roster
    from bot.rounds import schedule, service

    roster = folder / "roster.csv"
    roster.write_text(_roster(people), encoding="utf-8")
    report = import_roster(engine, roster, program_name="Bench Program", default_timezone="America/Los_Angeles", now=PUBLISHED)
    assert report.imported == people and not report.errors, report.errors[:3]
    service.open_term(engine, program_name="Bench Program", timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=PUBLISHED)
    service.enroll_from_roster(engine, program_name="Bench Program", term_name=None, require_approval=False, now=PUBLISHED)
    round_ = service.create_round(
        engine, program_name="Bench Program", term_name=None, now=PUBLISHED,
        request=service.RoundRequest(sessions=1, start_on=date(2027, 2, 8), end_on=date(2027, 3, 12)),
    )  # fmt: skip
    service.move_round(engine, round_id=round_.id, target="collecting", now=PUBLISHED)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=PUBLISHED)
    config = schedule.ScheduleConfig(session_minutes=30)
    schedule.publish_round(engine, round_id=round_.id, now=PUBLISHED, config=config)
    while schedule.run_due_actions(engine, now=PUBLISHED, config=config):
        pass
    return round_.id


def reset_outbox(engine: sa.Engine, now: datetime) -> int:
    """Every email notice back to `pending`, as just enqueued; returns how many."""
    from storage.models import OutboxMessage

    with engine.begin() as connection:
        result = connection.execute(
            sa.update(OutboxMessage).where(OutboxMessage.channel == "email").values(
                status="pending", attempts=0, next_attempt_at=now, sent_at=None, provider_id=None, last_error=None
            )
        )  # fmt: skip
        return result.rowcount


def outbox_counts(engine: sa.Engine) -> Counter[str]:
    from storage.models import OutboxMessage

    with engine.connect() as connection:
        return Counter(dict(connection.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all()))


def settings_for(url: str, folder: Path, port: int):
    from bot.settings import Settings

    return Settings(
        _env_file=None, data_dir=folder, database_url=url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        mail_from="mentoring@district.example", reply_domain="reply.district.example", email_token_secret="k" * 32,
    )  # fmt: skip


def rendered_bytes(engine: sa.Engine, settings, now: datetime) -> list[tuple[str, bytes]]:
    """(recipient, wire bytes) of every email notice, rendered by mentorbot's email sender: what the bare baseline sends."""
    from bot.email.sender import EmailSender
    from sqlmodel import select
    from storage.db import session_scope
    from storage.models import OutboxMessage

    with session_scope(engine) as session:
        messages = list(session.exec(select(OutboxMessage).where(OutboxMessage.channel == "email").order_by(OutboxMessage.id)))
        for message in messages:
            session.expunge(message)
    sender = EmailSender(settings, engine=engine)
    out = []
    for start in range(0, len(messages), 100):
        for message, rendered in zip(messages[start : start + 100], sender._render_batch(messages[start : start + 100], now).values()):
            assert not isinstance(rendered, BaseException), rendered
            out.append((message.recipient, rendered[0]))
    return out


def forget_renderings() -> None:
    """Empty the renderings mentorbot keeps between messages, so each timed run renders a round's notices afresh
    (as one publish does); compiled templates stay, as in a running server."""
    from bot.email import render
    from bot.guides import render as guides

    for kept in (guides._kept_email_parts, guides._shared_document, guides._wrap, render._kept_invite):
        kept.cache_clear()


# --- the two timed sides -----------------------------------------------------------------------------


async def bare_send(port: int, mails: list[tuple[str, bytes]], connections: int) -> float:
    """Seconds for aiosmtplib to send `mails` over `connections` connections, one transaction after another on each."""
    started = time.perf_counter()
    shares = [mails[n::connections] for n in range(connections)]

    async def one(share: list[tuple[str, bytes]]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, use_tls=False, timeout=30)
        await client.connect()
        for recipient, data in share:
            await client.sendmail("mentoring@district.example", [recipient], data)
        await client.quit()

    await asyncio.gather(*(one(share) for share in shares))
    return time.perf_counter() - started


async def mentorbot_send(engine: sa.Engine, settings, now: datetime) -> float:
    """Seconds for mentorbot's outbox worker to deliver everything due, as `serve` runs it."""
    from bot.channels import default_senders
    from bot import outbox

    senders = default_senders(settings)
    started = time.perf_counter()
    try:
        await outbox.drain(engine, senders, clock=lambda: now, fallbacks=outbox.FALLBACKS)
    finally:
        for sender in senders.values():
            await sender.close()
    return time.perf_counter() - started


def check_once(received: Counter[str], expected: int, label: str) -> None:
    doubled = [mid for mid, count in received.items() if count > 1]
    assert len(received) == expected and not doubled, f"{label}: {len(received)} distinct of {expected}, {len(doubled)} doubled"


# --- one backend ---------------------------------------------------------------------------------------


def make_database(backend: str, folder: Path) -> tuple[str, callable]:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", lambda: None
    name = f"bench_outbox_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def run_backend(backend: str, people: int, runs: int, smtp: SmtpChild, folder: Path) -> dict:
    from storage import db

    url, drop = make_database(backend, folder)
    engine = db.create_db_engine(url)
    try:
        db.upgrade(engine)
        started = time.perf_counter()
        published_round(engine, folder, people)
        setup = time.perf_counter() - started
        settings = settings_for(url, folder, smtp.port)
        now = PUBLISHED
        total = reset_outbox(engine, now)
        mails = rendered_bytes(engine, settings, now)
        connections = settings.smtp_max_connections
        print(f"[{backend}] {total} email notices enqueued by a real publish in {setup:.1f} s; {connections} SMTP connections", flush=True)
        bare_times, bot_times = [], []
        for run in range(runs):
            smtp.reset()
            bare_times.append(asyncio.run(bare_send(smtp.port, mails, connections)))
            check_once(smtp.received(), total, "bare")
            reset_outbox(engine, now)
            smtp.reset()
            forget_renderings()
            bot_times.append(asyncio.run(mentorbot_send(engine, settings, now)))
            check_once(smtp.received(), total, "mentorbot")
            counts = outbox_counts(engine)
            assert counts.get("sent", 0) >= total and not counts.get("pending") and not counts.get("sending"), counts
            print(f"[{backend}] run {run + 1}: bare {bare_times[-1]:.2f} s, mentorbot {bot_times[-1]:.2f} s", flush=True)
        return {"total": total, "bare": statistics.median(bare_times), "mentorbot": statistics.median(bot_times), "connections": connections}
    finally:
        engine.dispose()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 notices instead of 2,000, fewer runs")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--people", type=int, default=None)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    people = args.people or (500 if args.quick else 2000)
    runs = args.runs or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        smtp = SmtpChild(folder)
        try:
            for backend in args.backends.split(","):
                found = run_backend(backend, people, runs, smtp, folder)
                label = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]
                ratio = found["mentorbot"] / found["bare"]
                emit(Row(
                    path="email outbox → SMTP", case=f"{found['total']:,} pairing notices, {label}", figure=round(found["mentorbot"], 2), unit="s",
                    baseline=round(found["bare"], 2), baseline_name=f"bare aiosmtplib, same bytes, {found['connections']} connections",
                    goal="within 2x of bare aiosmtplib", met=ratio <= 2.0,
                    note=f"{found['total'] / found['mentorbot']:.0f} msg/s vs {found['total'] / found['bare']:.0f}; median of {runs}; each Message-ID received once",
                ))  # fmt: skip
        finally:
            smtp.stop()


if __name__ == "__main__":
    main()
