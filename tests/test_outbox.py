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


class TwoPhaseSender:
    """Records each step like the email sender: checkpoint, then the hand-over."""

    two_phase = True

    def __init__(self, *, after_checkpoint: Exception | None = None) -> None:
        self.after_checkpoint = after_checkpoint
        self.handed_over: list[str] = []

    async def send(self, message: OutboxMessage, checkpoint) -> str:
        await checkpoint()  # the outbox commits the committing mark off the event loop
        if self.after_checkpoint is not None:
            raise self.after_checkpoint
        self.handed_over.append(message.idempotency_key)
        return "ok"


async def test_a_message_handed_over_by_a_worker_that_died_is_not_sent_again(engine: Engine, now: datetime) -> None:
    message_id = _queue(engine, now)
    (claimed,) = outbox.claim_due(engine, now=now)
    assert outbox.mark_committing(engine, message=claimed, now=now)  # ...and the worker dies right after the final "."
    sender = TwoPhaseSender()
    assert await outbox.deliver_due(engine, {"email": sender}, now=now + outbox.SEND_LEASE) == []
    stored = _status(engine, message_id)
    assert stored.status == "sent" and stored.last_error.startswith("unconfirmed:") and sender.handed_over == []
    with session_scope(engine) as session:
        assert [m.id for m in outbox.problems(session)] == [message_id]
    assert outbox.resend(engine, message_id=message_id, now=now + outbox.SEND_LEASE)  # an admin decides to send it again
    await outbox.deliver_due(engine, {"email": sender}, now=now + outbox.SEND_LEASE)
    assert sender.handed_over == ["notice:1"] and _status(engine, message_id).last_error is None


async def test_a_worker_whose_lease_ran_out_can_no_longer_touch_the_message(engine: Engine, now: datetime) -> None:
    message_id = _queue(engine, now)
    (slow,) = outbox.claim_due(engine, now=now)  # worker A stalls past its lease
    (fast,) = outbox.claim_due(engine, now=now + outbox.SEND_LEASE)  # worker B takes over
    assert (slow.attempts, fast.attempts) == (1, 2)
    assert not outbox.mark_committing(engine, message=slow, now=now)  # A's checkpoint is refused: it must not hand over
    assert not outbox.mark_sent(engine, message_id=message_id, provider_id="late", now=now, attempt=slow.attempts)
    assert outbox.mark_committing(engine, message=fast, now=now + outbox.SEND_LEASE)
    assert outbox.mark_sent(engine, message_id=message_id, provider_id="b", now=now + outbox.SEND_LEASE, attempt=fast.attempts)
    assert _status(engine, message_id).provider_id == "b"


async def test_a_refusal_after_the_checkpoint_is_retried_and_silence_is_unconfirmed(engine: Engine, now: datetime) -> None:
    first, second = _queue(engine, now, key="a"), _queue(engine, now, key="b")
    refused = await outbox.deliver_due(engine, {"email": TwoPhaseSender(after_checkpoint=TemporaryFailure("451 at end of DATA"))}, now=now, limit=1)
    assert [d.status for d in refused] == ["pending"] and _status(engine, first).status == "pending"
    silent = await outbox.deliver_due(engine, {"email": TwoPhaseSender(after_checkpoint=outbox.Unconfirmed("no reply after the message"))}, now=now)
    assert [d.message_id for d in silent] == [second] and _status(engine, second).last_error.startswith("unconfirmed:")
