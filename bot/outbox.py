"""The outbox: every message is written to the database first, then delivered by a worker exactly once.

A message is claimed by moving it from `pending` to `sending` with a lease; a worker that dies mid-send
leaves the lease to run out, after which the message is claimed again. Senders get the message's
idempotency key so the far side can recognise a repeat (email uses it for a stable Message-ID, Slack
for a duplicate check), which is what turns "at least once" into "once" across a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
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


class Sender(Protocol):
    """Delivers one outbox message on one channel and returns the far side's id for it."""

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


def claim_due(engine: Engine, *, now: datetime, channel: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    """Claim up to `limit` messages that are due (pending, or sending with a lapsed lease) for this worker."""
    claimed: list[OutboxMessage] = []
    with session_scope(engine) as session:
        due = select(OutboxMessage.id).where(
            col(OutboxMessage.status).in_(("pending", "sending")),
            col(OutboxMessage.next_attempt_at) <= now,
        )
        if channel is not None:
            due = due.where(OutboxMessage.channel == channel)
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


def mark_sent(engine: Engine, *, message_id: int, provider_id: str | None, now: datetime) -> None:
    """Record a delivered message."""
    with session_scope(engine) as session:
        session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(status="sent", sent_at=now, provider_id=provider_id, last_error=None, next_attempt_at=None)
        )


def mark_retry(engine: Engine, *, message: OutboxMessage, error: str, now: datetime, retry_after: float | None = None) -> str:
    """Put a message back for a later try with exponential backoff; after MAX_ATTEMPTS it fails. Returns the new status."""
    if message.attempts >= MAX_ATTEMPTS:
        mark_failed(engine, message_id=message.id, error=f"gave up after {message.attempts} tries: {error}", now=now)
        return "failed"
    delay = retry_after if retry_after is not None else min(30 * 2 ** (message.attempts - 1), 3600)
    with session_scope(engine) as session:
        session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id) == message.id)
            .values(status="pending", last_error=error[:500], next_attempt_at=now + timedelta(seconds=delay))
        )
    return "pending"


def mark_failed(engine: Engine, *, message_id: int, error: str, now: datetime) -> None:
    """Record a message that will never be delivered, with the reason admins will see."""
    with session_scope(engine) as session:
        session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(status="failed", last_error=error[:500], next_attempt_at=None)
        )


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
    """Send every due message on the channels that have a sender, a few at a time; returns what happened to each."""
    claimed = []
    for channel in senders:
        claimed += await asyncio.to_thread(claim_due, engine, now=now, channel=channel, limit=limit)
    gate = asyncio.Semaphore(concurrency)

    async def deliver(message: OutboxMessage) -> Delivery:
        async with gate:
            try:
                provider_id = await senders[message.channel].send(message)
            except TemporaryFailure as exc:
                status = await asyncio.to_thread(
                    mark_retry, engine, message=message, error=str(exc), now=now, retry_after=exc.retry_after
                )
                return Delivery(message.id, status, str(exc))
            except PermanentFailure as exc:
                await asyncio.to_thread(mark_failed, engine, message_id=message.id, error=str(exc), now=now)
                return Delivery(message.id, "failed", str(exc))
            except Exception as exc:  # an unknown error is treated as temporary, never silently dropped
                logger.exception("sending outbox message %s failed", message.id)
                status = await asyncio.to_thread(mark_retry, engine, message=message, error=f"{type(exc).__name__}: {exc}", now=now)
                return Delivery(message.id, status, str(exc))
            await asyncio.to_thread(mark_sent, engine, message_id=message.id, provider_id=provider_id, now=now)
            return Delivery(message.id, "sent", provider_id)

    return list(await asyncio.gather(*(deliver(message) for message in claimed)))


def messages(session: Session, *, person_id: int | None = None, purpose: str | None = None) -> list[OutboxMessage]:
    """Outbox messages, oldest first, optionally for one person or purpose (for admin pages and tests)."""
    statement = select(OutboxMessage).order_by(OutboxMessage.id)
    if person_id is not None:
        statement = statement.where(OutboxMessage.person_id == person_id)
    if purpose is not None:
        statement = statement.where(OutboxMessage.purpose == purpose)
    return list(session.exec(statement))
