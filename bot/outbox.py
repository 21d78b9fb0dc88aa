"""The outbox: every message is written to the database first, then delivered by a worker, once.

States: ``pending -> sending -> (committing ->) sent | pending (retry) | failed``; a pending message whose reason to
be sent went away (its round was called off) is ``dropped`` instead, and never sent (`drop_unsent`).

* A worker claims one message at a time by moving it from `pending` to `sending` with a lease
  (`next_attempt_at` = now + SEND_LEASE) and bumping `attempts`. `attempts` is the claim's fencing token:
  every later transition names it, so a worker whose lease ran out and was re-claimed by another can
  no longer change the message.
* A two-phase sender (email) calls the checkpoint just before the one step that hands the message over for
  good (SMTP's final "."); the checkpoint commits `committing`. Before it, a crash or a refusal leaves the
  message to be sent again, and nothing reached anyone. After it, the message is never sent again
  automatically: if the worker dies or the server goes silent, `settle_unconfirmed` records it as `sent`
  with `last_error` starting "unconfirmed:", shown to admins (`problems`) who may `resend` it.

What this guarantees across a kill at any moment: no message is sent twice by the outbox, and every
message not yet handed over is sent after the restart (once the dead worker's lease has run out). The
remaining window is between the `committing` commit and the write of the final "." (a few statements, no
waiting on the network); a kill exactly there leaves a message recorded as unconfirmed that the server
never completed. An SMTP server that accepts the message but never says so is the other unconfirmed case.
Senders without a checkpoint (one-step APIs) get at-least-once across a crash, made "once" by the far
side's idempotency check where it has one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.db import session_scope
from storage.models import OutboxMessage

logger = logging.getLogger(__name__)

SEND_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


class TemporaryFailure(Exception):
    """The send may work later (4xx, dropped connection, timeout, 429); `retry_after` seconds if the far side said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """The send will never work (5xx rejection, unknown address, channel not found)."""


class Unconfirmed(Exception):
    """The message was handed over but the far side never confirmed it; it must not be sent again blindly."""


class LeaseLost(Exception):
    """Another worker owns the message now (this worker's lease ran out); this worker must stop sending it."""


UNCONFIRMED_PREFIX = "unconfirmed: "


class Sender(Protocol):
    """Delivers one outbox message on one channel and returns the far side's id for it.

    A sender with ``two_phase = True`` is called as ``send(message, checkpoint)`` and must call
    ``checkpoint()`` (it may raise LeaseLost) immediately before the step that hands the message over for good.
    """

    async def send(self, message: OutboxMessage) -> str | None: ...


def enqueue(
    session: Session,
    *,
    idempotency_key: str,
    channel: str,
    purpose: str,
    recipient: str,
    body: Mapping[str, Any],
    now: datetime,
    person_id: int | None = None,
    subject: str | None = None,
) -> tuple[OutboxMessage, bool]:
    """Write a message once: the same key returns the message already written. Returns (message, created)."""
    existing = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key)).first()
    if existing is not None:
        return existing, False
    message = OutboxMessage(
        idempotency_key=idempotency_key,
        channel=channel,
        purpose=purpose,
        person_id=person_id,
        recipient=recipient,
        subject=subject,
        body=dict(body),
        status="pending",
        next_attempt_at=now,
        created_at=now,
    )
    # A savepoint, so a concurrent writer of the same key costs this caller nothing but a re-read.
    try:
        with session.begin_nested():
            session.add(message)
    except sa.exc.IntegrityError:
        existing = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key)).one()
        return existing, False
    return message, True


def claim_due(
    engine: Engine, *, now: datetime, channel: str | None = None, limit: int = 50, channels: Sequence[str] | None = None
) -> list[OutboxMessage]:
    """Claim up to `limit` messages that are due (pending, or sending with a lapsed lease) for this worker."""
    claimed: list[OutboxMessage] = []
    with session_scope(engine) as session:
        due = select(OutboxMessage.id).where(
            col(OutboxMessage.status).in_(("pending", "sending")),
            col(OutboxMessage.next_attempt_at) <= now,
        )
        if channel is not None:
            due = due.where(OutboxMessage.channel == channel)
        if channels is not None:
            due = due.where(col(OutboxMessage.channel).in_(list(channels)))
        ids = list(session.exec(due.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)))
        for message_id in ids:
            # The conditional update is the lock: only one worker sees rowcount 1 for a given lease.
            result = session.execute(
                sa.update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == message_id,
                    col(OutboxMessage.status).in_(("pending", "sending")),
                    col(OutboxMessage.next_attempt_at) <= now,
                )
                .values(status="sending", next_attempt_at=now + SEND_LEASE, attempts=OutboxMessage.attempts + 1)
            )
            if result.rowcount == 1:
                claimed.append(session.get(OutboxMessage, message_id))
    return claimed


def _owned(message_id: int, attempt: int | None) -> list[Any]:
    """The WHERE clause of a transition made by the worker holding claim number `attempt` (None: whoever holds it)."""
    clause = [col(OutboxMessage.id) == message_id]
    if attempt is not None:
        clause += [col(OutboxMessage.status).in_(("sending", "committing")), col(OutboxMessage.attempts) == attempt]
    return clause


def mark_committing(engine: Engine, *, message: OutboxMessage, now: datetime) -> bool:
    """Record that the message is about to be handed over for good; False if this worker no longer owns it."""
    with session_scope(engine) as session:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id) == message.id, OutboxMessage.status == "sending", col(OutboxMessage.attempts) == message.attempts)
            .values(status="committing", next_attempt_at=now + SEND_LEASE)
        )
        return result.rowcount == 1


def mark_sent(engine: Engine, *, message_id: int, provider_id: str | None, now: datetime, attempt: int | None = None, note: str | None = None) -> bool:
    """Record a delivered message (`note`: why it counts as sent without confirmation). False if no longer ours."""
    with session_scope(engine) as session:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(*_owned(message_id, attempt))
            .values(status="sent", sent_at=now, provider_id=provider_id, last_error=note[:500] if note else None, next_attempt_at=None)
        )
        return result.rowcount == 1


def mark_retry(engine: Engine, *, message: OutboxMessage, error: str, now: datetime, retry_after: float | None = None) -> str:
    """Put a message back for a later try with exponential backoff; after MAX_ATTEMPTS it fails. Returns the new status."""
    if message.attempts >= MAX_ATTEMPTS:
        mark_failed(engine, message_id=message.id, error=f"gave up after {message.attempts} tries: {error}", now=now, attempt=message.attempts)
        return "failed"
    delay = retry_after if retry_after is not None else min(30 * 2 ** (message.attempts - 1), 3600)
    with session_scope(engine) as session:
        session.execute(
            sa.update(OutboxMessage)
            .where(*_owned(message.id, message.attempts))
            .values(status="pending", last_error=error[:500], next_attempt_at=now + timedelta(seconds=delay))
        )
    return "pending"


def mark_failed(engine: Engine, *, message_id: int, error: str, now: datetime, attempt: int | None = None) -> None:
    """Record a message that will never be delivered, with the reason admins will see."""
    with session_scope(engine) as session:
        session.execute(
            sa.update(OutboxMessage)
            .where(*_owned(message_id, attempt))
            .values(status="failed", last_error=error[:500], next_attempt_at=None)
        )


def settle_unconfirmed(engine: Engine, *, now: datetime) -> int:
    """Messages left `committing` by a worker that died (lease run out) count as sent, flagged unconfirmed. Returns how many."""
    with session_scope(engine) as session:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.status == "committing", col(OutboxMessage.next_attempt_at) <= now)
            .values(
                status="sent", sent_at=now, next_attempt_at=None,
                last_error=UNCONFIRMED_PREFIX + "the worker stopped after handing the message over; not sent again to avoid a duplicate",
            )
        )  # fmt: skip
        return result.rowcount


def drop_unsent(session: Session, *, message_ids: Sequence[int], why: str) -> int:
    """Withdraw messages nobody has started sending (still `pending`): they become `dropped` with the reason and are
    never sent. A message a worker holds already (`sending`, `committing`) is left alone: it may have reached its reader.
    Returns how many were dropped."""
    if not message_ids:
        return 0
    result = session.execute(
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(list(message_ids)), OutboxMessage.status == "pending")
        .values(status="dropped", last_error=why[:500], next_attempt_at=None)
    )
    return result.rowcount or 0


def problems(session: Session) -> list[OutboxMessage]:
    """What admins should look at: failed messages and messages sent without confirmation, newest first."""
    statement = (
        select(OutboxMessage)
        .where(
            sa.or_(
                OutboxMessage.status == "failed",
                sa.and_(OutboxMessage.status == "sent", col(OutboxMessage.last_error).startswith(UNCONFIRMED_PREFIX)),
            )
        )
        .order_by(col(OutboxMessage.id).desc())
    )
    return list(session.exec(statement))


def resend(engine: Engine, *, message_id: int, now: datetime) -> bool:
    """An admin's decision to send a failed or unconfirmed message again (resets its tries). False if it can't be."""
    with session_scope(engine) as session:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.status not in ("failed", "sent") or (
            message.status == "sent" and not (message.last_error or "").startswith(UNCONFIRMED_PREFIX)
        ):
            return False
        message.status, message.attempts, message.next_attempt_at = "pending", 0, now
        message.last_error = f"resent by an admin after: {message.last_error}"[:500]
        return True


@dataclass(frozen=True)
class Delivery:
    message_id: int
    status: str  # sent | pending (will retry) | failed
    detail: str | None = None


async def deliver_due(
    engine: Engine,
    senders: Mapping[str, Sender],
    *,
    now: datetime,
    limit: int = 50,
    concurrency: int = 4,
) -> list[Delivery]:
    """Send up to `limit` due messages on the channels that have a sender, `concurrency` at a time.

    Each worker slot claims one message just before sending it, so a crash strands at most `concurrency`
    messages behind their leases rather than a whole batch.
    """
    await asyncio.to_thread(settle_unconfirmed, engine, now=now)
    channels = list(senders)
    results: list[Delivery] = []
    budget = [limit]

    async def deliver(message: OutboxMessage) -> Delivery:
        sender = senders[message.channel]

        def checkpoint() -> None:
            # Run in the event loop's own thread on purpose: the sender writes the final "." right after this
            # returns, with no await in between, so no other task (or thread) can widen the gap between the
            # commit and the hand-over. It costs one short blocking commit per message.
            if not mark_committing(engine, message=message, now=now):
                raise LeaseLost(f"outbox message {message.id} was claimed by another worker")

        try:
            if getattr(sender, "two_phase", False):
                provider_id = await sender.send(message, checkpoint)
            else:
                provider_id = await sender.send(message)
        except LeaseLost as exc:
            logger.warning("%s", exc)
            return Delivery(message.id, "lost", str(exc))
        except Unconfirmed as exc:
            await asyncio.to_thread(
                mark_sent, engine, message_id=message.id, provider_id=None, now=now, attempt=message.attempts, note=UNCONFIRMED_PREFIX + str(exc)
            )
            return Delivery(message.id, "sent", UNCONFIRMED_PREFIX + str(exc))
        except TemporaryFailure as exc:
            status = await asyncio.to_thread(mark_retry, engine, message=message, error=str(exc), now=now, retry_after=exc.retry_after)
            return Delivery(message.id, status, str(exc))
        except PermanentFailure as exc:
            await asyncio.to_thread(mark_failed, engine, message_id=message.id, error=str(exc), now=now, attempt=message.attempts)
            return Delivery(message.id, "failed", str(exc))
        except Exception as exc:  # an unknown error is treated as temporary, never silently dropped
            logger.exception("sending outbox message %s failed", message.id)
            status = await asyncio.to_thread(mark_retry, engine, message=message, error=f"{type(exc).__name__}: {exc}", now=now)
            return Delivery(message.id, status, str(exc))
        await asyncio.to_thread(mark_sent, engine, message_id=message.id, provider_id=provider_id, now=now, attempt=message.attempts)
        return Delivery(message.id, "sent", provider_id)

    async def slot() -> None:
        while budget[0] > 0:
            budget[0] -= 1
            claimed = await asyncio.to_thread(claim_due, engine, now=now, channels=channels, limit=1)
            if not claimed:
                return
            results.append(await deliver(claimed[0]))

    if channels:
        await asyncio.gather(*(slot() for _ in range(max(1, concurrency))))
    return results


def messages(session: Session, *, person_id: int | None = None, purpose: str | None = None) -> list[OutboxMessage]:
    """Outbox messages, oldest first, optionally for one person or purpose (for admin pages and tests)."""
    statement = select(OutboxMessage).order_by(OutboxMessage.id)
    if person_id is not None:
        statement = statement.where(OutboxMessage.person_id == person_id)
    if purpose is not None:
        statement = statement.where(OutboxMessage.purpose == purpose)
    return list(session.exec(statement))
