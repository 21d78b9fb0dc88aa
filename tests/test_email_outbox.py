"""Sending email through the outbox against real aiosmtpd servers: headers, both parts, the invite, faults, and a kill."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path

from icalendar import Calendar
from sqlalchemy.engine import Engine

from bot import outbox
from bot.email.sender import EmailSender, SmtpConfig
from bot.importer import import_roster
from bot.settings import Settings
from storage import repo
from storage.db import session_scope
from storage.models import OutboxMessage
from tests.emailkit import FaultyHandler, RecordingHandler, smtp_server

ROOT = Path(__file__).resolve().parents[1]


def _settings(tmp_path: Path, database_url: str, port: int) -> Settings:
    return Settings(
        _env_file=None, data_dir=tmp_path, database_url=database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        mail_from="mentoring@district.example", reply_domain="reply.district.example", email_token_secret="k" * 32,
    )  # fmt: skip


def _queue(engine: Engine, now: datetime, count: int, *, notice: dict | None = None, person_id: int | None = None) -> list[int]:
    ids = []
    with session_scope(engine) as session:
        for n in range(count):
            message, _ = outbox.enqueue(
                session, idempotency_key=f"reminder:{n}:email", channel="email", purpose="session.reminder", recipient=f"p{n}@d.example",
                body=notice or {"notice": "reminder", "text": f"Session {n} is tomorrow.", "person_name": f"Person {n}"}, now=now, person_id=person_id,
            )  # fmt: skip
            ids.append(message.id)
    return ids


def _status(engine: Engine, message_id: int) -> OutboxMessage:
    with session_scope(engine) as session:
        return session.get(OutboxMessage, message_id)


async def test_a_pairing_notice_arrives_with_both_parts_the_invite_and_the_headers(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("email,name,role,timezone\nben@d.example,Ben Ortiz,mentee,America/New_York\n", encoding="utf-8")
    import_roster(engine, roster, program_name="P", default_timezone="America/Los_Angeles", now=now)
    with session_scope(engine) as session:
        ben = repo.people_by_email(session, emails=["ben@d.example"])["ben@d.example"]
    notice = {
        "notice": "pairing", "pairing_id": 7, "round_id": 2, "role": "mentee", "partner_name": "Ana Chen", "partner_email": "ana@d.example",
        "reasons": ["same grade band (6-8)", "Ana's strengths meet your need: classroom management"], "topic": "classroom management",
        "sessions": 2, "proposed": [["2026-12-01T20:30:00+00:00", "2026-12-01T21:00:00+00:00"], ["2026-12-08T20:30:00+00:00", "2026-12-08T21:00:00+00:00"]],
        "guide_url": "http://127.0.0.1:8000/guides/pairing/7", "custom_message": None, "text": "fallback", "person_name": "Ben Ortiz",
    }  # fmt: skip
    with session_scope(engine) as session:
        outbox.enqueue(session, idempotency_key="pairing:7:2:email", channel="email", purpose="pairing", recipient="ben@d.example", person_id=ben.id, body=notice, now=now)
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    sender = EmailSender(_settings(tmp_path, database_url, port), engine=engine, clock=lambda: now)
    try:
        (delivery,) = await outbox.deliver_due(engine, {"email": sender}, now=now)
    finally:
        await sender.close()
        server.close()
    assert delivery.status == "sent"
    (got,) = handler.received
    mail = got.message
    assert got.mail_from == "mentoring@district.example" and got.rcpt_tos == ["ben@d.example"]
    assert mail["Message-ID"] == delivery.detail and mail["Message-ID"].endswith("@district.example>")
    assert mail["Date"] and mail["Subject"] == "You're matched with Ana Chen on classroom management"
    assert mail["Reply-To"].addresses[0].addr_spec.startswith("reply+") and mail["Reply-To"].addresses[0].domain == "reply.district.example"
    assert mail["List-Unsubscribe"].startswith("<http") and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_content_type() == "multipart/mixed"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Ana Chen (ana@d.example)" in text and "Tue Dec 1, 15:30-16:00" in text and "America/New_York" in text
    assert "<strong>Ana Chen</strong>" in html and "same grade band (6-8)" in html
    assert "Your conversation guide" in text and "Your conversation guide" in html  # the guide from bot.guides
    (invite,) = [part for part in mail.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert invite.get_filename() == "mentoring.ics" and invite.get_param("method") == "REQUEST"
    calendar = Calendar.from_ical(invite.get_content() if isinstance(invite.get_content(), str) else invite.get_content().decode())
    events = list(calendar.walk("VEVENT"))
    assert [e.decoded("dtstart").isoformat() for e in events] == ["2026-12-01T20:30:00+00:00", "2026-12-08T20:30:00+00:00"]
    assert events[0]["uid"] == "mentorbot-pairing-7-session-1@district.example" and "session 1 of 2" in str(events[0]["summary"])
    assert {str(a) for a in events[0].get("attendee")} == {"mailto:ben@d.example", "mailto:ana@d.example"}
    assert str(calendar["method"]) == "REQUEST" and str(events[0]["organizer"]) == "mailto:mentoring@district.example"


async def test_connections_are_reused_and_concurrency_is_bounded(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    _queue(engine, now, 12)
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    settings = _settings(tmp_path, database_url, port)
    sender = EmailSender(settings, engine=engine, smtp=SmtpConfig(host="127.0.0.1", port=port, security="none", max_connections=2), clock=lambda: now)
    try:
        deliveries = await outbox.deliver_due(engine, {"email": sender}, now=now, concurrency=4)
    finally:
        await sender.close()
        server.close()
    assert [d.status for d in deliveries] == ["sent"] * 12
    assert len({str(r.peer) for r in handler.received}) <= 2  # at most two connections, each reused
    assert len({r.message["Message-ID"] for r in handler.received}) == 12


async def test_temporary_faults_retry_with_backoff_and_permanent_ones_fail_with_the_reason(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    ids = _queue(engine, now, 5)
    # One transaction per message, in claim order: 421 at MAIL, a cut connection, 451 after the data, a 550, one fine.
    handler = FaultyHandler(script=["421@MAIL", "drop@RCPT", "451@DATA", "550@RCPT", "ok"])
    server, port = await smtp_server(handler)
    sender = EmailSender(_settings(tmp_path, database_url, port), engine=engine, smtp=SmtpConfig(host="127.0.0.1", port=port, security="none", max_connections=1), clock=lambda: now)
    try:
        first = {d.message_id: d for d in await outbox.deliver_due(engine, {"email": sender}, now=now, concurrency=1)}
        assert [first[i].status for i in ids] == ["pending", "pending", "pending", "failed", "sent"]
        assert "421" in first[ids[0]].detail and "451" in first[ids[2]].detail
        assert _status(engine, ids[3]).last_error.startswith("550 5.1.1 No such user here")
        assert _status(engine, ids[0]).next_attempt_at == now + timedelta(seconds=30)
        assert await outbox.deliver_due(engine, {"email": sender}, now=now + timedelta(seconds=10)) == []  # backing off
        later = await outbox.deliver_due(engine, {"email": sender}, now=now + timedelta(seconds=30), concurrency=1)
        assert sorted(d.status for d in later) == ["sent", "sent", "sent"]
    finally:
        await sender.close()
        server.close()
    keys = collections.Counter(r.message["Message-ID"] for r in handler.received)
    assert len(keys) == 4 and set(keys.values()) == {1}
    with session_scope(engine) as session:
        assert [m.id for m in outbox.problems(session)] == [ids[3]]


async def test_a_server_that_goes_silent_after_the_message_is_not_sent_again(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    (message_id,) = _queue(engine, now, 1)
    handler = FaultyHandler(script=["drop-after-data"])
    server, port = await smtp_server(handler)
    sender = EmailSender(_settings(tmp_path, database_url, port), engine=engine, clock=lambda: now)
    try:
        (delivery,) = await outbox.deliver_due(engine, {"email": sender}, now=now)
        assert await outbox.deliver_due(engine, {"email": sender}, now=now + timedelta(hours=2)) == []
    finally:
        await sender.close()
        server.close()
    stored = _status(engine, message_id)
    assert (stored.status, delivery.status) == ("sent", "sent") and stored.last_error.startswith("unconfirmed:")
    assert len(handler.received) == 1
    with session_scope(engine) as session:
        assert [m.id for m in outbox.problems(session)] == [message_id]
    assert outbox.resend(engine, message_id=message_id, now=now) and _status(engine, message_id).status == "pending"


RESEND = timedelta(minutes=10)


async def test_a_server_silent_after_the_message_gets_it_once_more_with_the_same_message_id(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    """The server keeps the message and cuts the connection before its reply: ten minutes later, one more copy, same Message-ID."""
    (message_id,) = _queue(engine, now, 1)
    handler = FaultyHandler(script=["drop-after-data"])
    server, port = await smtp_server(handler)
    clock = [now]
    sender = EmailSender(_settings(tmp_path, database_url, port), engine=engine, clock=lambda: clock[0])
    passes = []
    try:
        for moment in (now, now + RESEND - timedelta(seconds=1), now + RESEND, now + RESEND + timedelta(minutes=1), now + timedelta(days=2)):
            clock[0] = moment
            passes.append([d.status for d in await outbox.deliver_due(engine, {"email": sender}, now=moment, resend_unconfirmed_after=RESEND)])
    finally:
        await sender.close()
        server.close()
    assert passes == [["pending"], [], ["sent"], [], []]  # resent once, not before ten minutes, never again
    assert [r.rcpt_tos for r in handler.received] == [["p0@d.example"], ["p0@d.example"]]
    first, second = (r.message for r in handler.received)
    assert first["Message-ID"] == second["Message-ID"] and first["Message-ID"].startswith("<mb.")
    assert first["Subject"] == second["Subject"] and first["Date"] != second["Date"]  # the same message, sent at its own time
    stored = _status(engine, message_id)
    assert (stored.status, stored.last_error, stored.provider_id) == ("sent", outbox.RESENT_NOTE, first["Message-ID"])
    with session_scope(engine) as session:
        assert outbox.problems(session) == []  # delivered and confirmed: nothing for an admin to do


async def test_a_resend_left_unconfirmed_too_goes_to_an_admin_and_is_not_sent_a_third_time(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    """Silent after the first copy, a 451 on the resend (retried), silent again after the retry: two copies in all."""
    (message_id,) = _queue(engine, now, 1)
    handler = FaultyHandler(script=["drop-after-data", "451@DATA", "drop-after-data"])
    server, port = await smtp_server(handler)
    clock = [now]
    sender = EmailSender(_settings(tmp_path, database_url, port), engine=engine, clock=lambda: clock[0])
    passes = []
    try:
        for moment in (now, now + RESEND, now + RESEND + timedelta(minutes=1), now + timedelta(hours=3), now + timedelta(days=2)):
            clock[0] = moment
            passes.append([d.status for d in await outbox.deliver_due(engine, {"email": sender}, now=moment, resend_unconfirmed_after=RESEND)])
    finally:
        await sender.close()
        server.close()
    assert passes == [["pending"], ["pending"], ["sent"], [], []]
    assert handler.transactions == 3 and len(handler.received) == 2  # the 451 kept nothing
    assert len({r.message["Message-ID"] for r in handler.received}) == 1
    stored = _status(engine, message_id)
    assert stored.status == "sent" and stored.last_error.startswith("unconfirmed:") and "the one resend" in stored.last_error
    with session_scope(engine) as session:
        assert [m.id for m in outbox.problems(session)] == [message_id]


async def test_a_worker_killed_between_its_checkpoint_and_the_final_dot_no_longer_loses_the_message(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    """The state a kill right after the `committing` commit leaves: the server never got the "."; the resend delivers it."""
    (message_id,) = _queue(engine, now, 1)
    (claimed,) = outbox.claim_due(engine, now=now)
    assert outbox.mark_committing(engine, message=claimed, now=now)  # ...and the worker is killed here
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    sender = EmailSender(_settings(tmp_path, database_url, port), engine=engine, clock=lambda: now + RESEND)
    try:
        # Once the dead worker's lease has run out, the message waits for ten minutes after its hand-over.
        assert await outbox.deliver_due(engine, {"email": sender}, now=now + outbox.SEND_LEASE, resend_unconfirmed_after=RESEND) == []
        waiting = _status(engine, message_id)
        assert waiting.status == "pending" and waiting.provider_id.startswith(outbox.RESENDING_PREFIX)
        assert waiting.next_attempt_at.replace(tzinfo=now.tzinfo) == now + RESEND
        (delivery,) = await outbox.deliver_due(engine, {"email": sender}, now=now + RESEND, resend_unconfirmed_after=RESEND)
        assert await outbox.deliver_due(engine, {"email": sender}, now=now + timedelta(days=1), resend_unconfirmed_after=RESEND) == []
    finally:
        await sender.close()
        server.close()
    assert delivery.status == "sent" and len(handler.received) == 1
    assert _status(engine, message_id).provider_id == handler.received[0].message["Message-ID"]


async def test_killing_the_sender_mid_burst_loses_nothing_and_repeats_only_unconfirmed_hand_overs(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    """SIGKILL the delivering process twice during a burst, restart it as `serve` does (unconfirmed hand-overs resent
    once after EMAIL_RESEND_UNCONFIRMED_MINUTES), and count what the server received.

    Four sends share each `committing` commit, and the kill comes the moment the server takes a message, so the others
    released by that commit are often between it and their "." (or between their 250 and the `sent` mark): those are
    the unconfirmed hand-overs of docs/RELIABILITY.md. Each arrives, at most twice, both copies with one Message-ID."""
    total, concurrency, kills = 60, 4, (12, 35)
    ids = _queue(engine, now, total)
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    moment = now
    try:
        for kill_after in kills:
            moment += outbox.SEND_LEASE + timedelta(minutes=1)  # the restart comes after a dead worker's lease ran out
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.emailkit", "burst", database_url, str(port), moment.isoformat(), cwd=ROOT, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            await handler.wait_for(kill_after, timeout=60)
            process.send_signal(signal.SIGKILL)
            await process.wait()
            assert process.returncode == -signal.SIGKILL, (await process.stderr.read()).decode()[-2000:]
        sender = EmailSender(_settings(tmp_path, database_url, port), engine=engine, clock=lambda: moment)
        for moment in (moment + outbox.SEND_LEASE + timedelta(minutes=1), moment + outbox.SEND_LEASE + RESEND + timedelta(minutes=1)):
            while await outbox.deliver_due(engine, {"email": sender}, now=moment, limit=1000, resend_unconfirmed_after=RESEND):
                pass
        await sender.close()
    finally:
        server.close()
    by_reader = collections.defaultdict(list)
    for received in handler.received:
        by_reader[received.rcpt_tos[0]].append(received.message["Message-ID"])
    assert sorted(by_reader) == sorted(f"p{n}@d.example" for n in range(total))  # nothing lost
    repeated = {reader: message_ids for reader, message_ids in by_reader.items() if len(message_ids) > 1}
    assert all(len(message_ids) == 2 and len(set(message_ids)) == 1 for message_ids in repeated.values()), repeated
    assert len(repeated) <= concurrency * len(kills)  # only what was in flight at a kill
    with session_scope(engine) as session:
        rows = [session.get(OutboxMessage, i) for i in ids]
    assert {row.status for row in rows} == {"sent"}
