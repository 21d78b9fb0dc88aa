"""The outbox on both backends: written once, claimed once, retried with backoff, failed with a reason."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot import outbox
from bot.outbox import PermanentFailure, TemporaryFailure
from storage.db import session_scope
from storage.models import OutboxMessage


def _queue(engine: Engine, now: datetime, key: str = "notice:1", channel: str = "email") -> int:
    with session_scope(engine) as session:
        message, created = outbox.enqueue(
            session, idempotency_key=key, channel=channel, purpose="notice", recipient="ben@d.example", body={"text": "hi"}, now=now
        )
        assert created
        return message.id


class RecordingSender:
    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.sent: list[str] = []

    async def send(self, message: OutboxMessage) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message.idempotency_key)
        return f"id-{message.id}"


def _status(engine: Engine, message_id: int) -> OutboxMessage:
    with session_scope(engine) as session:
        return session.get(OutboxMessage, message_id)


def test_enqueue_twice_keeps_one_message(engine: Engine, now: datetime) -> None:
    _queue(engine, now)
    with session_scope(engine) as session:
        again, created = outbox.enqueue(
            session, idempotency_key="notice:1", channel="email", purpose="notice", recipient="x@d.example", body={}, now=now
        )
        assert not created and again.recipient == "ben@d.example"
        assert len(outbox.messages(session)) == 1


async def test_delivery_sends_once_and_records_the_provider_id(engine: Engine, now: datetime) -> None:
    message_id = _queue(engine, now)
    sender = RecordingSender()
    first = await outbox.deliver_due(engine, {"email": sender}, now=now)
    second = await outbox.deliver_due(engine, {"email": sender}, now=now + timedelta(hours=1))
    assert [d.status for d in first] == ["sent"] and second == []
    assert sender.sent == ["notice:1"]
    stored = _status(engine, message_id)
    assert (stored.status, stored.provider_id, stored.sent_at, stored.attempts) == ("sent", f"id-{message_id}", now, 1)


async def test_temporary_failures_back_off_then_succeed(engine: Engine, now: datetime) -> None:
    message_id = _queue(engine, now)
    sender = RecordingSender(TemporaryFailure("451 try later"), TemporaryFailure("429", retry_after=7))
    assert [d.status for d in await outbox.deliver_due(engine, {"email": sender}, now=now)] == ["pending"]
    assert _status(engine, message_id).next_attempt_at == now + timedelta(seconds=30)
    assert await outbox.deliver_due(engine, {"email": sender}, now=now + timedelta(seconds=29)) == []  # not yet
    later = now + timedelta(seconds=30)
    await outbox.deliver_due(engine, {"email": sender}, now=later)
    assert _status(engine, message_id).next_attempt_at == later + timedelta(seconds=7)  # Retry-After honoured
    done = await outbox.deliver_due(engine, {"email": sender}, now=later + timedelta(seconds=7))
    assert [d.status for d in done] == ["sent"] and _status(engine, message_id).attempts == 3


async def test_permanent_failures_are_kept_with_the_reason(engine: Engine, now: datetime) -> None:
    message_id = _queue(engine, now)
    result = await outbox.deliver_due(engine, {"email": RecordingSender(PermanentFailure("550 no such user"))}, now=now)
    assert [d.status for d in result] == ["failed"]
    stored = _status(engine, message_id)
    assert (stored.status, stored.last_error) == ("failed", "550 no such user")


async def test_a_worker_that_died_mid_send_leaves_the_message_to_be_claimed_again(engine: Engine, now: datetime) -> None:
    message_id = _queue(engine, now)
    (claimed,) = outbox.claim_due(engine, now=now)  # the worker claims, then dies before marking it sent
    assert claimed.id == message_id
    assert outbox.claim_due(engine, now=now + timedelta(minutes=4)) == []  # its lease still holds
    sender = RecordingSender()
    await outbox.deliver_due(engine, {"email": sender}, now=now + outbox.SEND_LEASE)
    assert sender.sent == ["notice:1"] and _status(engine, message_id).status == "sent"


async def test_two_workers_never_send_the_same_message(engine: Engine, now: datetime) -> None:
    for n in range(20):
        _queue(engine, now, key=f"notice:{n}")
    senders = [RecordingSender(), RecordingSender()]
    await asyncio.gather(*(outbox.deliver_due(engine, {"email": s}, now=now) for s in senders))
    sent = senders[0].sent + senders[1].sent
    assert sorted(sent) == sorted(f"notice:{n}" for n in range(20))


async def test_only_channels_with_a_sender_are_touched(engine: Engine, now: datetime) -> None:
    slack_id = _queue(engine, now, key="dm:1", channel="slack")
    await outbox.deliver_due(engine, {"email": RecordingSender()}, now=now)
    assert _status(engine, slack_id).status == "pending"
