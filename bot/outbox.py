"""The outbox: every message is written to the database first, then delivered by a worker, once.

States: ``pending -> sending -> (committing ->) sent | pending (retry) | failed | moved``; a pending message whose
reason to be sent went away (its round was called off) is ``dropped`` instead, and never sent (`drop_unsent`). A message
its channel can't carry (Slack not set up, or the person's Slack account gone) is `moved`: a copy goes by email
(`FALLBACKS`).

* A worker claims messages in batches (one UPDATE per batch, `claim_due`) by moving them from `pending` to `sending` with a lease
  (`next_attempt_at` = now + SEND_LEASE) and bumping `attempts`. `attempts` is the claim's fencing token:
  every later transition names it, so a worker whose lease ran out and was re-claimed by another can
  no longer change the message.
* A two-phase sender (email) calls the checkpoint just before the one step that hands the message over for
  good (SMTP's final "."), and awaits it; the checkpoint commits `committing` (concurrent sends share the commit,
  `_Marks`). Before it, a crash or a refusal leaves the
  message to be sent again, and nothing reached anyone. After it, the hand-over is "unconfirmed" when the worker
  dies (`settle_unconfirmed`, once its lease has run out) or the server goes silent after the "." (`Unconfirmed`).
  With `resend_unconfirmed_after` (the server passes EMAIL_RESEND_UNCONFIRMED_MINUTES, 10 by default) such a
  message is sent once more, that long after the first hand-over, with the same Message-ID (it is derived from the
  idempotency key), which receivers that deduplicate on Message-ID fold into the first copy; its `provider_id`
  holds `RESENDING_PREFIX` meanwhile, so a second unconfirmed hand-over is not resent again. Without it, or the
  second time, the message is recorded as `sent` with `last_error` starting "unconfirmed:", shown to admins
  (`problems`) who may `resend` it.

What this guarantees across a kill at any moment: every message not yet handed over is sent after the restart
(once the dead worker's lease has run out), and the outbox never hands a message over twice, except that one
resend after an unconfirmed hand-over. That resend makes a second copy (same Message-ID) when the first did
arrive, which is the likely case: the kill or the silence came after the "." was written; a receiver that does not
deduplicate on Message-ID shows it twice. It is what the resend buys: the copy whose "." never went out (a kill in
the few statements between the `committing` commit and the write of the ".") now arrives instead of being lost.
Senders without a checkpoint (one-step APIs) get at-least-once across a crash, made "once" by the far side's
idempotency check where it has one (Slack: the key in the message's metadata, `bot.slack.sender`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.db import session_scope
from storage.models import OutboxMessage, Person

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


class Unreachable(PermanentFailure):
    """This person can't be reached on this channel any more (their Slack account is gone or refuses the bot).

    With a fallback for the channel (`FALLBACKS`), the outbox sends the message that way instead, once, and marks
    the person so their later messages go that way too.
    """


class Unconfirmed(Exception):
    """The message was handed over but the far side never confirmed it; it must not be sent again blindly."""


class LeaseLost(Exception):
    """Another worker owns the message now (this worker's lease ran out); this worker must stop sending it."""


UNCONFIRMED_PREFIX = "unconfirmed: "
# The provider_id of a message waiting to be sent once more after an unconfirmed hand-over (the time of that hand-over
# follows); it is how the outbox knows not to resend it a second time.
RESENDING_PREFIX = "unconfirmed hand-over at "
RESENT_NOTE = "resent once with the same Message-ID: the first hand-over was not confirmed"
UNREACHABLE_PREFIX = "unreachable: "
# The channel that carries a message its own channel can't: Slack falls back to email.
FALLBACKS: Mapping[str, str] = {"slack": "email"}
CHANNEL_LABELS = {"slack": "Slack", "email": "Email"}
WAITING = ("pending", "sending", "committing")


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
    """Claim up to `limit` messages that are due (pending, or sending with a lapsed lease) for this worker, in one
    transaction: one conditional UPDATE takes them all, and only the rows it changed are this worker's."""
    due = [col(OutboxMessage.status).in_(("pending", "sending")), col(OutboxMessage.next_attempt_at) <= now]
    if channel is not None:
        due.append(OutboxMessage.channel == channel)
    if channels is not None:
        due.append(col(OutboxMessage.channel).in_(list(channels)))
    pick = sa.select(OutboxMessage.id).where(*due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    if engine.dialect.name == "postgresql":
        # Rows another worker is claiming right now are skipped rather than waited for; SQLite has one writer at a time.
        pick = pick.with_for_update(skip_locked=True)
    with session_scope(engine) as session:
        # Picked first (on PostgreSQL locked, so a concurrent claimer skips them), then taken by one UPDATE that repeats
        # the conditions on each row: the UPDATE is the lock, so a row another worker took in between (its lease now in
        # the future) is not taken again. `attempts` is the claim's fencing token.
        picked = list(session.execute(pick).scalars())
        if not picked:
            return []
        taken = session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(picked), *due)
            .values(status="sending", next_attempt_at=now + SEND_LEASE, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
        if not taken:
            return []
        claimed = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(list(taken)))).all()
        return sorted(claimed, key=lambda message: (message.next_attempt_at, message.id))


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


def settle_unconfirmed(engine: Engine, *, now: datetime, resend_after: timedelta | None = None) -> int:
    """Messages left `committing` by a worker that died (lease run out) are unconfirmed: sent again once after
    `resend_after`, or counted as sent and flagged (`mark_unconfirmed`). Returns how many."""
    with session_scope(engine) as session:
        stranded = session.exec(
            select(OutboxMessage).where(OutboxMessage.status == "committing", col(OutboxMessage.next_attempt_at) <= now)
        ).all()
        for message in stranded:
            # `mark_committing` set the lease from the moment of the hand-over, so that moment is known again here.
            handed_over_at = message.next_attempt_at - SEND_LEASE
            _unconfirmed(
                session, message=message, attempt=message.attempts, handed_over_at=handed_over_at, now=now, resend_after=resend_after,
                why="the worker stopped after handing the message over",
            )  # fmt: skip
        return len(stranded)


def mark_unconfirmed(
    engine: Engine, *, message: OutboxMessage, why: str, handed_over_at: datetime, now: datetime, resend_after: timedelta | None
) -> str:
    """A hand-over nobody confirmed: resend once (status "pending") or record it as sent and flagged ("sent")."""
    with session_scope(engine) as session:
        return _unconfirmed(session, message=message, attempt=message.attempts, handed_over_at=handed_over_at, now=now, resend_after=resend_after, why=why)


def _unconfirmed(
    session: Session, *, message: OutboxMessage, attempt: int, handed_over_at: datetime, now: datetime, resend_after: timedelta | None, why: str
) -> str:
    resent_before = (message.provider_id or "").startswith(RESENDING_PREFIX)
    owned = [*_owned(message.id, attempt)]
    if resend_after is not None and not resent_before:
        # Not sooner than `resend_after` after the first hand-over: a server still finishing it (RFC 5321 gives the
        # reply to the final "." ten minutes) has done so by then, and the two copies are one by Message-ID.
        when = max(now, handed_over_at + resend_after)
        session.execute(
            sa.update(OutboxMessage).where(*owned).values(
                status="pending", next_attempt_at=when, provider_id=f"{RESENDING_PREFIX}{handed_over_at.isoformat(timespec='seconds')}",
                last_error=f"hand-over not confirmed ({why}); sending it once more with the same Message-ID"[:500],
            )
        )  # fmt: skip
        return "pending"
    note = UNCONFIRMED_PREFIX + why + ("; this was the one resend with the same Message-ID, not sent again" if resent_before else "; not sent again to avoid a duplicate")
    session.execute(sa.update(OutboxMessage).where(*owned).values(status="sent", sent_at=now, next_attempt_at=None, last_error=note[:500]))
    return "sent"


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


def fallback_key(key: str, *, channel: str, fallback: str) -> str:
    """The idempotency key of a message's copy on the fallback channel: the key `notify.send_notice` gives that
    channel, so a message that also went out as an email copy is not emailed twice."""
    stem = key[: -len(channel) - 1] if key.endswith(f":{channel}") else key
    return f"{stem}:{fallback}"


def _unreachable_reason(person: Person | None, *, why: str, fallback: str) -> str | None:
    """Why the fallback channel can't reach this person either (None when it can)."""
    if person is None:
        return f"{why}; it was for no person, so there is no one to {fallback} instead"
    if not (person.email or "").strip():
        return f"{why}; {person.name} has no email address on file"
    if person.email_failing_at is not None:
        return f"{why}; {person.name}'s email address bounces ({person.email_failure or 'bounced'})"
    return None


def move_to_fallback(engine: Engine, *, message: OutboxMessage, why: str, now: datetime, attempt: int | None, person_refused: bool) -> Delivery:
    """Send a claimed message by its channel's fallback instead (email for Slack), exactly once.

    The message becomes `moved` and names its copy; the copy is keyed as that channel's own message would be, so a
    copy queued already is not queued again. With `person_refused` (Slack said the account is gone), the person is
    marked so their later messages are queued for email straight away. A person with no working fallback either is
    reported: the message fails with "unreachable: …" for admins to see, instead of waiting forever.
    """
    fallback = FALLBACKS.get(message.channel)
    with session_scope(engine) as session:
        # The fenced update first: a worker that lost its lease moves nothing (the new owner decides).
        owned = session.execute(
            sa.update(OutboxMessage).where(*_owned(message.id, attempt)).values(status="moved", last_error=why[:500], next_attempt_at=None)
        )
        if owned.rowcount != 1:
            session.rollback()
            return Delivery(message.id, "lost", "claimed by another worker")
        person = session.get(Person, message.person_id) if message.person_id is not None else None
        refused_here = person_refused and person is not None and message.channel == "slack" and person.slack_user_id == message.recipient
        if refused_here and person.slack_failing_at is None:
            person.slack_failing_at, person.slack_failure = now, why[:300]
        problem = _unreachable_reason(person, why=why, fallback=fallback or "reach") if fallback else f"{why}; no other channel"
        if problem is not None:
            session.execute(
                sa.update(OutboxMessage).where(col(OutboxMessage.id) == message.id).values(status="failed", last_error=(UNREACHABLE_PREFIX + problem)[:500])
            )
            return Delivery(message.id, "failed", UNREACHABLE_PREFIX + problem)
        copy, _created = enqueue(
            session, idempotency_key=fallback_key(message.idempotency_key, channel=message.channel, fallback=fallback),
            channel=fallback, purpose=message.purpose, recipient=person.email, body=message.body, now=now,
            person_id=person.id, subject=message.subject,
        )  # fmt: skip
        session.flush()
        session.execute(sa.update(OutboxMessage).where(col(OutboxMessage.id) == message.id).values(provider_id=f"moved to {fallback} #{copy.id}"))
        return Delivery(message.id, "moved", f"{fallback} #{copy.id}: {why}")


def move_unserved(engine: Engine, *, senders: Mapping[str, Sender], fallbacks: Mapping[str, str], now: datetime) -> list[Delivery]:
    """Messages due on a channel this server has no sender for (Slack not set up) go by its fallback channel."""
    moved: list[Delivery] = []
    for channel, fallback in fallbacks.items():
        if channel in senders or fallback not in senders:
            continue
        why = f"{CHANNEL_LABELS.get(channel, channel)} is not set up on this server"
        while claimed := claim_due(engine, now=now, channels=[channel], limit=100):
            for message in claimed:
                moved.append(move_to_fallback(engine, message=message, why=why, now=now, attempt=message.attempts, person_refused=False))
    return moved


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
    status: str  # sent | pending (will retry) | failed | moved (to the fallback channel) | lost (another worker has it)
    detail: str | None = None


def _mark_statements() -> tuple[Any, Any]:
    # Built once: a statement object made per write costs more Python time than the write's own SQL.
    table = OutboxMessage.__table__
    committing = (
        sa.update(table)
        .where(sa.tuple_(table.c.id, table.c.attempts).in_(sa.bindparam("claims", expanding=True)), table.c.status == "sending")
        .values(status="committing", next_attempt_at=sa.bindparam("lease_until"))
        .returning(table.c.id)
    )
    sent = (
        sa.update(table)
        .where(
            table.c.id == sa.bindparam("message_id"), table.c.attempts == sa.bindparam("attempt"),
            sa.or_(table.c.status == "sending", table.c.status == "committing"),  # (no IN list in an executemany)
        )
        .values(status="sent", sent_at=sa.bindparam("sent_at"), provider_id=sa.bindparam("provider_id"), last_error=sa.bindparam("note"), next_attempt_at=None)
    )  # fmt: skip
    return committing, sent


_COMMITTING, _SENT = _mark_statements()


def write_marks(bind: Engine | sa.Connection, *, committing: Sequence[tuple[int, int]], sent: Sequence[Mapping[str, Any]], now: datetime) -> set[int]:
    """Record, in one transaction, the messages about to be handed over (`committing`: (id, attempt) pairs) and the
    messages handed over (`sent`: id, attempt, provider_id, note). Returns the ids of `committing` still this worker's.

    `bind`: an engine, or a connection the caller keeps between writes (`_Marks`: no pool check-out per write)."""
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return write_marks(connection, committing=committing, sent=sent, now=now)
    owned: set[int] = set()
    with bind.begin():
        if committing:
            owned = set(bind.execute(_COMMITTING, {"claims": [tuple(pair) for pair in committing], "lease_until": now + SEND_LEASE}).scalars())
        if sent:
            bind.execute(
                _SENT,
                [
                    {"message_id": m["message_id"], "attempt": m["attempt"], "provider_id": m["provider_id"], "note": (m["note"] or None) and m["note"][:500], "sent_at": now}
                    for m in sent
                ],
            )  # fmt: skip
    return owned


class _Marks:
    """The committing and sent marks of one delivery run, written together (group commit).

    A sender waiting at its checkpoint waits for the transaction that carries its mark; marks that arrive while a
    transaction is written gather for the next. On PostgreSQL a committing mark that arrives then starts a transaction
    of its own on another kept connection (up to `parallel`), so a checkpoint waits for about one commit, not one and
    a half; SQLite has one writer at a time, so there they queue. Sent marks never start a transaction of their own
    while one is running: they ride with the next. The database work runs in threads, off the event loop.
    """

    def __init__(self, engine: Engine, now: datetime) -> None:
        self.engine, self.now = engine, now
        self.parallel = 1
        self._committing: list[tuple[int, int, asyncio.Future[bool]]] = []
        self._sent: list[dict[str, Any]] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._connections: list[sa.Connection] = []  # kept for the run, each used by one write at a time
        self.error: BaseException | None = None

    def _write_held(self, committing: list[tuple[int, int]], sent: list[dict[str, Any]]) -> set[int]:
        connection = self._connections.pop() if self._connections else self.engine.connect()
        try:
            owned = write_marks(connection, committing=committing, sent=sent, now=self.now)
        except BaseException:
            connection.invalidate()  # a connection that failed mid-write is not trusted again
            connection.close()
            raise
        self._connections.append(connection)
        return owned

    async def committing(self, message: OutboxMessage) -> bool:
        """Commit `committing` for this message; False if another worker holds it now."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._committing.append((message.id, message.attempts, future))
        self._wake()
        return await future

    def sent(self, message: OutboxMessage, provider_id: str | None, note: str | None) -> None:
        """Queue the sent mark (written with the next transaction; `flush` waits for it)."""
        self._sent.append({"message_id": message.id, "attempt": message.attempts, "provider_id": provider_id, "note": note})
        self._wake()

    def _wake(self) -> None:
        self._writers = {writer for writer in self._writers if not writer.done()}
        if len(self._writers) < (self.parallel if self._committing else 1):
            self._writers.add(asyncio.get_running_loop().create_task(self._write()))

    async def _write(self) -> None:
        while self._committing or self._sent:
            committing, self._committing = self._committing, []
            sent, self._sent = self._sent, []
            try:
                owned = await asyncio.to_thread(self._write_held, [(i, a) for i, a, _ in committing], sent)
            except Exception as exc:  # the senders waiting at their checkpoint stop (nothing handed over)
                logger.exception("writing outbox marks failed")
                self.error = exc
                for _id, _attempt, future in committing:
                    if not future.done():
                        future.set_exception(exc)
                self._sent[:0] = sent  # kept for the next write (or the last try in `close`)
                return
            for message_id, _attempt, future in committing:
                if not future.done():
                    future.set_result(message_id in owned)

    async def flush(self) -> None:
        """Wait until every mark queued so far is written (or its write failed)."""
        while running := [writer for writer in self._writers if not writer.done()]:
            await asyncio.wait(running)

    async def close(self) -> None:
        """Write what is queued, once more if a write failed, then give the kept connections back."""
        await self.flush()
        if self._sent:
            self._wake()
            await self.flush()
        connections, self._connections = self._connections, []
        for connection in connections:
            await asyncio.to_thread(connection.close)


async def deliver_due(
    engine: Engine,
    senders: Mapping[str, Sender],
    *,
    now: datetime,
    limit: int = 50,
    concurrency: int = 4,
    fallbacks: Mapping[str, str] | None = None,
    resend_unconfirmed_after: timedelta | None = None,
    batch: int = 32,
) -> list[Delivery]:
    """Send up to `limit` due messages on the channels that have a sender, `concurrency` at a time.

    Messages are claimed `batch` at a time in one transaction (the next batch is claimed and prepared while the
    current one is sent), so a crash strands at most two batches behind their leases, to be sent once those run out.
    A sender with `prepare` (email) renders a whole batch at once. The committing and sent marks of concurrent sends
    share transactions (`_Marks`). With `fallbacks` (the server passes `FALLBACKS`), messages on a channel without a
    sender, and messages whose person the channel says is gone (`Unreachable`), go by the fallback channel instead;
    without it they wait for their channel (or fail), as before. With `resend_unconfirmed_after`, a message whose
    hand-over was not confirmed is sent once more that long after it.
    """
    await asyncio.to_thread(settle_unconfirmed, engine, now=now, resend_after=resend_unconfirmed_after)
    fallbacks = fallbacks or {}
    results: list[Delivery] = await asyncio.to_thread(move_unserved, engine, senders=senders, fallbacks=fallbacks, now=now)
    channels = list(senders)
    marks = _Marks(engine, now)

    async def deliver(message: OutboxMessage) -> Delivery:
        sender = senders[message.channel]

        async def checkpoint() -> None:
            # The sender writes the final "." right after this returns: the committing mark is in the database first.
            if not await marks.committing(message):
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
            status = await asyncio.to_thread(
                mark_unconfirmed, engine, message=message, why=str(exc), handed_over_at=now, now=now, resend_after=resend_unconfirmed_after
            )
            return Delivery(message.id, status, UNCONFIRMED_PREFIX + str(exc))
        except TemporaryFailure as exc:
            status = await asyncio.to_thread(mark_retry, engine, message=message, error=str(exc), now=now, retry_after=exc.retry_after)
            return Delivery(message.id, status, str(exc))
        except Unreachable as exc:
            if fallbacks.get(message.channel) in senders:
                return await asyncio.to_thread(
                    move_to_fallback, engine, message=message, why=str(exc), now=now, attempt=message.attempts, person_refused=True
                )
            await asyncio.to_thread(mark_failed, engine, message_id=message.id, error=str(exc), now=now, attempt=message.attempts)
            return Delivery(message.id, "failed", str(exc))
        except PermanentFailure as exc:
            await asyncio.to_thread(mark_failed, engine, message_id=message.id, error=str(exc), now=now, attempt=message.attempts)
            return Delivery(message.id, "failed", str(exc))
        except Exception as exc:  # an unknown error is treated as temporary, never silently dropped
            logger.exception("sending outbox message %s failed", message.id)
            status = await asyncio.to_thread(mark_retry, engine, message=message, error=f"{type(exc).__name__}: {exc}", now=now)
            return Delivery(message.id, status, str(exc))
        resent = (message.provider_id or "").startswith(RESENDING_PREFIX)
        marks.sent(message, provider_id, RESENT_NOTE if resent else None)
        return Delivery(message.id, "sent", provider_id)

    budget = [limit]

    async def claim_and_prepare() -> list[OutboxMessage]:
        size = min(batch, budget[0])
        if size <= 0:
            return []
        claimed = await asyncio.to_thread(claim_due, engine, now=now, channels=channels, limit=size)
        budget[0] -= len(claimed)
        for channel in {message.channel for message in claimed}:
            prepare = getattr(senders[channel], "prepare", None)
            if prepare is not None:
                await prepare([message for message in claimed if message.channel == channel])
        return claimed

    if not channels:
        return results
    gate = asyncio.Semaphore(max(1, concurrency))

    async def gated(message: OutboxMessage) -> Delivery:
        async with gate:
            return await deliver(message)

    try:
        claimed = await claim_and_prepare()
        while claimed:
            sending = [asyncio.ensure_future(gated(message)) for message in claimed]
            upcoming = asyncio.ensure_future(claim_and_prepare())
            results.extend(await asyncio.gather(*sending))
            claimed = await upcoming
    finally:
        await marks.close()
    if marks.error is not None:
        raise marks.error
    return results


async def drain(
    engine: Engine,
    senders: Mapping[str, Sender],
    *,
    clock: Callable[[], datetime],
    concurrency: int = 8,
    fallbacks: Mapping[str, str] | None = None,
    resend_unconfirmed_after: timedelta | None = None,
    keep_going: Callable[[], bool] = lambda: True,
    pass_limit: int = 500,
) -> list[Delivery]:
    """Deliver until nothing is due (or `keep_going()` says stop: leadership lost, shutting down), `pass_limit`
    messages per pass with a fresh `now` each pass. This is what the server's outbox job runs on every tick."""
    results: list[Delivery] = []
    while keep_going():
        delivered = await deliver_due(
            engine, senders, now=clock(), limit=pass_limit, concurrency=concurrency, fallbacks=fallbacks,
            resend_unconfirmed_after=resend_unconfirmed_after,
        )  # fmt: skip
        results.extend(delivered)
        if not delivered:
            return results
    return results


@dataclass(frozen=True)
class ChannelBacklog:
    """What waits on one channel: how many, and for those a failure sent back, when the next try is and why."""

    channel: str
    waiting: int
    retrying: int = 0
    next_try: datetime | None = None
    last_error: str | None = None
    set_up: bool = True

    def line(self, zone: Any = None) -> str:
        """e.g. "Email: 12 waiting (next try 14:05, 421 try later (at MAIL))"."""
        label = CHANNEL_LABELS.get(self.channel, self.channel)
        if not self.set_up:
            return f"{label}: not set up, {self.waiting} waiting to go by email instead"
        text = f"{label}: {self.waiting} waiting"
        if self.retrying and self.next_try is not None:
            moment = self.next_try.astimezone(zone) if zone is not None else self.next_try
            text += f" (next try {moment:%H:%M}, {self.last_error or 'failed'})"
        return text


@dataclass(frozen=True)
class UnreachablePerson:
    """Someone no channel reaches: no working Slack and no working email."""

    person_id: int
    name: str
    reason: str


@dataclass(frozen=True)
class Backlog:
    """The outbox per channel, and who can't be reached at all, for the admin overview and `term status`."""

    channels: list[ChannelBacklog]
    unreachable: list[UnreachablePerson]

    def summary(self, zone: Any = None) -> str:
        """One line: "Slack: 0 waiting · Email: 12 waiting (next try 14:05, …) · 3 people unreachable (no email, …)"."""
        parts = [channel.line(zone) for channel in self.channels]
        if self.unreachable:
            reasons = ", ".join(dict.fromkeys(person.reason for person in self.unreachable))
            count = len(self.unreachable)
            parts.append(f"{count} {'person' if count == 1 else 'people'} unreachable ({reasons})")
        return " · ".join(parts)


def _slack_reason(person: Person, *, slack_configured: bool) -> str | None:
    """Why Slack doesn't reach this person (None when it does)."""
    if not person.slack_user_id:
        return "no Slack ID"
    if person.slack_failing_at is not None:
        return person.slack_failure or "Slack refused their messages"
    if not slack_configured:
        return "Slack not set up"
    return None


def channel_backlog(session: Session, *, slack_configured: bool) -> Backlog:
    """What waits on each channel (and why, when it has failed before), and the people no channel reaches."""
    rows = session.exec(
        select(OutboxMessage.channel, OutboxMessage.last_error, OutboxMessage.next_attempt_at, OutboxMessage.status).where(
            col(OutboxMessage.status).in_(WAITING)
        )
    ).all()
    found: dict[str, list[Any]] = {"slack": [], "email": []}
    for row in rows:
        found.setdefault(row[0], []).append(row)
    channels = []
    for channel, waiting in found.items():
        retrying = sorted((r for r in waiting if r[1] and r[3] == "pending" and r[2] is not None), key=lambda r: r[2])
        channels.append(
            ChannelBacklog(
                channel=channel, waiting=len(waiting), retrying=len(retrying),
                next_try=retrying[0][2] if retrying else None, last_error=retrying[-1][1][:120] if retrying else None,
                set_up=slack_configured or channel != "slack",
            )
        )  # fmt: skip
    suspects = session.exec(
        select(Person).where(
            col(Person.unsubscribed_at).is_(None),
            sa.or_(col(Person.email_failing_at).is_not(None), col(Person.slack_failing_at).is_not(None), Person.email == ""),
        )
    )
    unreachable = []
    for person in suspects:
        email_problem = "no email" if not (person.email or "").strip() else ("email bounces" if person.email_failing_at is not None else None)
        slack_problem = _slack_reason(person, slack_configured=slack_configured)
        if email_problem and slack_problem:
            unreachable.append(UnreachablePerson(person.id, person.name, f"{email_problem}, {slack_problem}"))
    return Backlog(channels=channels, unreachable=unreachable)


def messages(session: Session, *, person_id: int | None = None, purpose: str | None = None) -> list[OutboxMessage]:
    """Outbox messages, oldest first, optionally for one person or purpose (for admin pages and tests)."""
    statement = select(OutboxMessage).order_by(OutboxMessage.id)
    if person_id is not None:
        statement = statement.where(OutboxMessage.person_id == person_id)
    if purpose is not None:
        statement = statement.where(OutboxMessage.purpose == purpose)
    return list(session.exec(statement))
