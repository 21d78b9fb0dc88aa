"""Delivery under a misbehaving far side: an SMTP server that faults 30 % of the time, and Slack in a 429 storm.

Counted at the far side: every message arrives in the end, none twice.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import outbox
from bot.email.sender import EmailSender, SmtpConfig
from bot.settings import Settings
from bot.slack.sender import METADATA_EVENT, SlackSender
from storage import db
from storage.db import session_scope
from storage.models import OutboxMessage
from tests.emailkit import smtp_server
from tests.reliability._faults import RandomFaultHandler, StormStandIn

FAULT_RATE = 0.3
STORM_SHARE = 0.3


def _queue(engine: Engine, now: datetime, *, count: int, channel: str) -> None:
    with session_scope(engine) as session:
        for n in range(count):
            recipient = f"p{n}@d.example" if channel == "email" else f"U{n:08d}"
            outbox.enqueue(
                session, idempotency_key=f"fault:{n}:{channel}", channel=channel, purpose="session.reminder", recipient=recipient,
                body={"notice": "reminder", "text": f"Session {n} is tomorrow.", "person_name": f"Person {n}"}, now=now,
            )  # fmt: skip


def _statuses(engine: Engine) -> Counter[str]:
    with session_scope(engine) as session:
        return Counter(m.status for m in session.exec(select(OutboxMessage)))


async def _drain(engine: Engine, senders: dict, start: datetime, *, step: timedelta) -> tuple[datetime, int]:
    """Deliver until nothing is pending, moving the clock on by `step` between passes; returns (clock, passes)."""
    moment, passes = start, 0
    while _statuses(engine)["pending"] or _statuses(engine)["sending"]:
        await outbox.deliver_due(engine, senders, now=moment, limit=100_000, concurrency=4)
        moment += step
        passes += 1
        assert passes < 200, _statuses(engine)
    return moment, passes


async def test_an_smtp_server_faulting_30_percent_of_the_time_gets_every_message_once(
    database_url: str, tmp_path: Path, now: datetime, scale, record_figure
) -> None:
    """421/451 answers and cut connections at random: every message arrives in the end, none twice (by Message-ID)."""
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    total = scale.pick(40, 2500)
    _queue(engine, now, count=total, channel="email")
    handler = RandomFaultHandler(rate=FAULT_RATE, seed=7)
    server, port = await smtp_server(handler)
    clock = [now]
    settings = Settings(
        _env_file=None, data_dir=tmp_path, database_url=database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        mail_from="mentoring@district.example", reply_domain="reply.district.example", email_token_secret="k" * 32,
    )  # fmt: skip
    sender = EmailSender(settings, engine=engine, smtp=SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=5), clock=lambda: clock[0])
    started = time.monotonic()
    try:
        _end, passes = await _drain(engine, {"email": sender}, now, step=timedelta(minutes=10))
    finally:
        await sender.close()
        server.close()
        engine.dispose()
    seconds = time.monotonic() - started
    by_id = Counter(r.message["Message-ID"] for r in handler.received)
    by_recipient = Counter(r.rcpt_tos[0] for r in handler.received)
    assert sum(handler.faults.values()) > 0.2 * total  # the server really misbehaved
    assert sorted(by_recipient) == sorted(f"p{n}@d.example" for n in range(total))  # nothing lost
    assert len(by_id) == total and set(by_id.values()) == {1} and set(by_recipient.values()) == {1}  # nothing doubled
    engine = db.create_db_engine(database_url)
    assert _statuses(engine) == Counter({"sent": total})
    engine.dispose()
    backend = database_url.split(":", 1)[0].split("+")[0]
    record_figure(
        "SMTP faults", tried=f"{total} emails to an SMTP server answering 421/451 or dropping the connection in 30 % of transactions ({backend})",
        count=total, held="every message delivered once (counted by Message-ID at the server)",
        faults=dict(handler.faults), transactions=handler.transactions, passes=passes, seconds=round(seconds, 1),
    )  # fmt: skip


async def test_a_slack_429_storm_is_waited_out_and_loses_and_doubles_nothing(postgres_url: str, tmp_path: Path, now: datetime, scale, record_figure) -> None:
    """30 % of Web API calls answered 429 with Retry-After: no call before it expires, every DM posted once."""
    engine = db.create_db_engine(postgres_url)
    db.upgrade(engine)
    total = scale.pick(10, 150)
    _queue(engine, now, count=total, channel="slack")
    started = time.monotonic()
    async with StormStandIn(share=STORM_SHARE, seed=11) as standin:
        for n in range(total):
            standin.add_user(f"U{n:08d}", f"Person {n}")
        settings = Settings(_env_file=None, data_dir=tmp_path, slack_bot_token=standin.bot_token, slack_signing_secret="s" * 32, slack_api_url=standin.api_url)
        sender = SlackSender(settings, engine=engine, interval=0.02)
        _end, passes = await _drain(engine, {"slack": sender}, now, step=timedelta(minutes=1))
    seconds = time.monotonic() - started
    assert standin.limited >= 0.15 * total  # a storm indeed
    assert standin.violations == []  # Retry-After honoured: nothing called a rate-limited method before its time
    posted = Counter(
        (channel, m["metadata"]["event_payload"]["key"]) for channel, dms in standin.messages.items() for m in dms if (m.get("metadata") or {}).get("event_type") == METADATA_EVENT
    )  # fmt: skip
    assert sorted(posted) == sorted((f"DU{n:08d}", f"fault:{n}:slack") for n in range(total))  # nothing lost, each in its own DM
    assert set(posted.values()) == {1}  # nothing doubled
    assert _statuses(engine) == Counter({"sent": total})
    engine.dispose()
    calls = len(standin.calls)
    record_figure(
        "Slack 429 storms", tried=f"{total} DMs through a Slack stand-in answering 429 (Retry-After 1-2 s) to 30 % of calls",
        count=total, held="no call before Retry-After expired; every DM posted once", calls=calls, rate_limited=standin.limited,
        violations=len(standin.violations), passes=passes, seconds=round(seconds, 1),
    )  # fmt: skip
