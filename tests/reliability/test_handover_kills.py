"""kill -9 at the two exact moments of an SMTP hand-over the outbox cannot see past, then a restart.

A worker delivers five emails one at a time and is killed at the third: just before SMTP's final "." (the outbox
has committed `committing`; the server never completes the message) or just after the server's 250 (before the
outbox records `sent`). The restart comes after the dead worker's lease and the resend delay. Counted at a real
aiosmtpd server: the first kill no longer loses the email, the second makes one more copy with the same Message-ID,
never more; with the resend off (0), the first kill still loses it and an admin is told.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import outbox
from storage import db
from storage.db import session_scope
from storage.models import OutboxMessage
from tests.emailkit import RecordingHandler, smtp_server

ROOT = Path(__file__).resolve().parents[2]
RESEND_MINUTES = 10
TOTAL, KILLED_AT = 5, 3


def _queue(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        for n in range(TOTAL):
            outbox.enqueue(
                session, idempotency_key=f"handover:{n}:email", channel="email", purpose="session.reminder", recipient=f"p{n}@d.example",
                body={"notice": "reminder", "text": f"Session {n} is tomorrow.", "person_name": f"Person {n}"}, now=now,
            )  # fmt: skip


async def _worker(database_url: str, port: int, moment: datetime, where: str, resend_minutes: int) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.reliability._faults_handover", database_url, str(port), moment.isoformat(), where, str(KILLED_AT), str(resend_minutes),
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, out.decode() + err.decode()[-2000:]


@pytest.mark.parametrize(
    ("where", "resend_minutes", "copies_of_the_third", "left_for_an_admin"),
    [
        ("before-dot", RESEND_MINUTES, 1, 0),  # the "." never went out: the resend is the only copy
        ("after-dot", RESEND_MINUTES, 2, 0),  # the server had it: the resend is a second copy, same Message-ID
        ("before-dot", 0, 0, 1),  # resend off: lost, and flagged unconfirmed for an admin
        ("after-dot", 0, 1, 1),  # resend off: arrived, flagged unconfirmed all the same
    ],
)
async def test_a_kill_at_the_hand_over_then_a_restart(
    where: str, resend_minutes: int, copies_of_the_third: int, left_for_an_admin: int, postgres_url: str, now: datetime, record_figure
) -> None:
    engine = db.create_db_engine(postgres_url)
    db.upgrade(engine)
    _queue(engine, now)
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    try:
        code, output = await _worker(postgres_url, port, now, where, resend_minutes)
        assert code == -9 and "killing myself" in output, output
        assert len(handler.received) == KILLED_AT - (1 if where == "before-dot" else 0)  # what the kill left at the server
        restart = now + outbox.SEND_LEASE + timedelta(minutes=RESEND_MINUTES + 1)
        code, output = await _worker(postgres_url, port, restart, "none", resend_minutes)
        assert code == 0 and output.strip().endswith("done"), output
    finally:
        server.close()
    copies = Counter(r.rcpt_tos[0] for r in handler.received)
    third = f"p{KILLED_AT - 1}@d.example"
    assert copies == Counter({**{f"p{n}@d.example": 1 for n in range(TOTAL) if n != KILLED_AT - 1}, **({third: copies_of_the_third} if copies_of_the_third else {})})
    assert all(len({r.message["Message-ID"] for r in handler.received if r.rcpt_tos[0] == address}) == 1 for address in copies)
    with session_scope(engine) as session:
        assert {m.status for m in session.exec(select(OutboxMessage))} == {"sent"}
        assert [m.recipient for m in outbox.problems(session)] == ([third] if left_for_an_admin else [])
    engine.dispose()
    record_figure(
        "Kills at the SMTP hand-over", tried=f"kill -9 {where.replace('-', ' the ')} of the third of {TOTAL} emails, resend after {resend_minutes or 'never'} min",
        count=1, held=f"that email arrived {copies_of_the_third}x (same Message-ID), every other once; {left_for_an_admin} left unconfirmed for an admin",
    )  # fmt: skip
