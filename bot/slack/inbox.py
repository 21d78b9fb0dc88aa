"""The durable inbox: a Slack request is kept, then acknowledged, then handled.

Slack wants an answer within three seconds, and under load the work a request causes (reading the roster, saving
an answer, posting a reply, rebuilding a Home tab) would make acks wait behind each other. So a signed request
whose answer does not depend on that work (an event, a button click, a slash command, a closed modal) is written
here in one short INSERT and acknowledged at once; the work runs after, from the row. The row's unique delivery
key makes a retried delivery a no-op, and a row whose handler died (a crash, a restart) is taken again.

A modal submission is not queued: its answer is its result (the next page or inline errors).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import parse_qs

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.db import insert_if_new
from storage.models import Person, SlackDelivery

TABLE = SlackDelivery.__table__
MAX_ATTEMPTS = 3  # a handler that dies this often is given up on (and logged), not retried for ever


@dataclass(frozen=True)
class Delivery:
    """What the inbox needs to know of a request before keeping it."""

    kind: str  # event | action | command | view_closed; "unreadable": acknowledged and dropped, never kept
    key: str | None  # the stable key of a delivery Slack may retry; None when it never does
    slack_user_id: str | None


@dataclass(frozen=True)
class Waiting:
    """A kept request to handle: its row, raw body and content type (and, when it was claimed with it, its sender)."""

    delivery_id: int
    body: str
    content_type: str
    sender: Sender | None = None


class Sender(NamedTuple):
    """The roster person who sent a kept request, read when it was claimed (saves its handler a query of its own)."""

    slack_user_id: str
    person_id: int
    name: str
    email: str
    timezone: str


def receipt_key(body: Mapping[str, Any]) -> str | None:
    """The stable key of a delivery that must have one effect: an event, a click, a command."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("type") == "block_actions" and body.get("actions"):
        first = body["actions"][0] if isinstance(body["actions"], list) and isinstance(body["actions"][0], Mapping) else {}
        user = body.get("user") if isinstance(body.get("user"), Mapping) else {}
        return f"action:{user.get('id')}:{first.get('action_ts')}"
    if body.get("command") and body.get("trigger_id"):
        return f"command:{body['trigger_id']}"
    return None


def _text(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) and value else None


def delivery_of(body: str, content_type: str) -> Delivery | None:
    """The delivery a signed request carries, when it can be acknowledged before it is handled; None otherwise.

    None sends the request down Bolt's own path: URL verification, modal submissions, anything unexpected.
    """
    if "\x00" in body:
        return None
    try:
        if content_type.startswith("application/json"):
            data = json.loads(body)
            if not isinstance(data, dict) or data.get("type") != "event_callback" or not isinstance(data.get("event"), dict):
                return None
            return Delivery("event", receipt_key(data), _text(data["event"].get("user")))
        form = {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}
        if "payload" in form:
            return _interaction(form["payload"])
        if form.get("command") and form.get("trigger_id") and form.get("user_id"):
            return Delivery("command", receipt_key(form), _text(form["user_id"]))
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    return None


def _interaction(text: str) -> Delivery | None:
    """A click, a closed modal, or None for a submission (Bolt answers it); "unreadable" when no listener could read it.

    Bolt's matchers assume Slack's shapes (a list of actions with text IDs, a view object), and answer anything else
    with a 500; a signed request that is not one of those shapes is acknowledged and dropped instead.
    """
    try:
        payload = json.loads(text)
    except ValueError:
        return Delivery("unreadable", None, None)
    if not isinstance(payload, dict):
        return Delivery("unreadable", None, None)
    user_id = _text(payload["user"].get("id")) if isinstance(payload.get("user"), dict) else None
    kind, actions, view = payload.get("type"), payload.get("actions"), payload.get("view")
    if kind == "block_actions":
        readable = isinstance(actions, list) and actions and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
        return Delivery("action", receipt_key(payload), user_id) if readable and user_id else Delivery("unreadable", None, user_id)
    if kind in ("view_submission", "view_closed"):
        if not (user_id and isinstance(view, dict) and isinstance(view.get("callback_id"), str)):
            return Delivery("unreadable", None, user_id)
        return Delivery("view_closed", None, user_id) if kind == "view_closed" else None
    return None


class ToKeep(NamedTuple):
    """One request waiting to be kept: what `enqueue` takes."""

    delivery: Delivery
    body: str
    content_type: str
    now: datetime


def _row(delivery: Delivery, body: str, content_type: str, now: datetime) -> dict[str, Any]:
    return {
        "delivery_key": delivery.key[:255] if delivery.key else None, "kind": delivery.kind, "slack_user_id": delivery.slack_user_id,
        "content_type": content_type[:100], "body": body, "status": "new", "attempts": 0, "received_at": now,
    }  # fmt: skip


def enqueue(engine: Engine, delivery: Delivery, *, body: str, content_type: str, now: datetime) -> int | None:
    """Keep a request; its row id, or None when a delivery with the same key was kept before (a retry)."""
    with engine.begin() as connection:
        return insert_if_new(connection, TABLE, _row(delivery, body, content_type, now), unique="delivery_key")


def enqueue_many(engine: Engine, requests: list[ToKeep]) -> list[int | None | Exception]:
    """Keep several requests in one transaction (one commit for all); per request, as `enqueue`: its row id or None
    for a retry, or the exception that kept it from being kept.

    When the shared transaction fails, nothing of it was kept, and each request is kept again in one of its own: only
    the requests that cause a failure fail. A repeated key within the batch is a retry like any other.
    """
    try:
        with engine.begin() as connection:
            return [insert_if_new(connection, TABLE, _row(*request), unique="delivery_key") for request in requests]
    except Exception:  # noqa: BLE001 - which request failed is found by keeping each alone
        if len(requests) == 1:
            raise
    kept: list[int | None | Exception] = []
    for request in requests:
        try:
            kept.append(enqueue(engine, request.delivery, body=request.body, content_type=request.content_type, now=request.now))
        except Exception as exc:  # noqa: BLE001 - handed to that request's own waiter
            kept.append(exc)
    return kept


def enqueue_home_refresh(engine: Engine, *, slack_user_id: str, now: datetime, not_before: datetime | None = None) -> int | None:
    """Keep a request to rebuild someone's Home tab, shaped as the event Slack sends when they open it.

    With `not_before` (Slack said 429 with a Retry-After), the request is kept for then: its `received_at` is that
    time, and `waiting` takes no request before its `received_at`, so the rebuild survives a restart meanwhile. One
    retry per person and moment: a second 429 for the same second is the same request.
    """
    request = home_refresh(slack_user_id=slack_user_id, now=now, not_before=not_before)
    return enqueue(engine, request.delivery, body=request.body, content_type=request.content_type, now=request.now)


def home_refresh(*, slack_user_id: str, now: datetime, not_before: datetime | None = None) -> ToKeep:
    """The request `enqueue_home_refresh` keeps, for a caller that keeps it another way (the intake's group commit)."""
    when = not_before or now
    event = {"type": "app_home_opened", "user": slack_user_id, "tab": "home", "event_ts": f"{when.timestamp():.6f}"}
    body = json.dumps({"type": "event_callback", "event": event, "event_time": int(when.timestamp())})
    key = f"home-retry:{slack_user_id}:{int(when.timestamp())}" if not_before is not None else None
    return ToKeep(Delivery("event", key, slack_user_id), body, "application/json", when)


class Taken(NamedTuple):
    """A kept request this handler now holds: how many replies earlier handlers of it recorded, and this claim's number
    (above 1: an earlier handler stopped, and the reply it was sending may have gone out unrecorded)."""

    replies_sent: int
    attempt: int


def take(engine: Engine, delivery_id: int, *, now: datetime, lease: timedelta) -> Taken | None:
    """Claim a kept request for handling, or None when another worker has it (or it is done)."""
    claimable = sa.or_(TABLE.c.status == "new", sa.and_(TABLE.c.status == "taken", TABLE.c.taken_until < now))
    update = (
        sa.update(TABLE)
        .where(TABLE.c.id == delivery_id, claimable, TABLE.c.attempts < MAX_ATTEMPTS)
        .values(status="taken", attempts=TABLE.c.attempts + 1, taken_until=now + lease)
    )
    with engine.begin() as connection:
        row = connection.execute(update.returning(TABLE.c.replies_sent, TABLE.c.attempts)).first()
    return None if row is None else Taken(row[0], row[1])


def note_replies(engine: Engine, delivery_id: int, sent: int) -> None:
    """Record that a request's handler has sent its first `sent` replies, so a handler taking it again skips them."""
    update = sa.update(TABLE).where(TABLE.c.id == delivery_id, TABLE.c.replies_sent < sent).values(replies_sent=sent)
    with engine.begin() as connection:
        connection.execute(update)


def finish(engine: Engine, delivery_id: int, *, now: datetime, error: str | None = None) -> None:
    """Mark a request handled (or failed); its body is cleared, leaving a receipt that turns away retries."""
    update = sa.update(TABLE).where(TABLE.c.id == delivery_id).values(
        status="failed" if error else "done", body="", done_at=now, taken_until=None, error=error[:500] if error else None
    )
    with engine.begin() as connection:
        connection.execute(update)


def waiting(engine: Engine, *, now: datetime, unclaimed_for: timedelta, limit: int = 200, exclude: tuple[int, ...] = ()) -> list[Waiting]:
    """Kept requests nobody is handling, oldest first: new ones left for `unclaimed_for`, and taken ones whose handler died.

    `exclude` names rows the caller is handling already.

    A request whose handler died `MAX_ATTEMPTS` times is marked failed (and its body cleared) instead.
    """
    abandoned = sa.and_(TABLE.c.status == "taken", TABLE.c.taken_until < now)
    with engine.begin() as connection:
        connection.execute(
            sa.update(TABLE)
            .where(abandoned, TABLE.c.attempts >= MAX_ATTEMPTS)
            .values(status="failed", body="", done_at=now, taken_until=None, error="its handler stopped before finishing, every attempt")
        )
        rows = connection.execute(
            sa.select(TABLE.c.id, TABLE.c.body, TABLE.c.content_type)
            .where(sa.or_(sa.and_(TABLE.c.status == "new", TABLE.c.received_at <= now - unclaimed_for), abandoned), TABLE.c.id.not_in(exclude))
            .order_by(TABLE.c.received_at)
            .limit(limit)
        ).all()
    return [Waiting(row.id, row.body, row.content_type) for row in rows]


def take_waiting(
    engine: Engine, *, now: datetime, unclaimed_for: timedelta, lease: timedelta, limit: int, exclude: tuple[int, ...] = (), give_up: bool = True
) -> list[tuple[Waiting, Taken]]:
    """`waiting` and `take` in one transaction: claim up to `limit` kept requests nobody is handling, oldest first.

    The claim re-checks each row's state as it updates it, so two processes claiming at once never take the same one.
    With `give_up`, requests whose handler died `MAX_ATTEMPTS` times are marked failed first (they are never claimed
    either way, so a busy caller need not look for them on every call).
    """
    abandoned = sa.and_(TABLE.c.status == "taken", TABLE.c.taken_until < now)
    free = sa.and_(sa.or_(sa.and_(TABLE.c.status == "new", TABLE.c.received_at <= now - unclaimed_for), abandoned), TABLE.c.attempts < MAX_ATTEMPTS)
    oldest = sa.select(TABLE.c.id).where(free, TABLE.c.id.not_in(exclude)).order_by(TABLE.c.received_at).limit(limit)
    claim = (
        sa.update(TABLE)
        .where(TABLE.c.id.in_(oldest.scalar_subquery()), free)
        .values(status="taken", attempts=TABLE.c.attempts + 1, taken_until=now + lease)
        .returning(TABLE.c.id, TABLE.c.body, TABLE.c.content_type, TABLE.c.replies_sent, TABLE.c.attempts, TABLE.c.received_at, TABLE.c.slack_user_id)
    )
    with engine.begin() as connection:
        if give_up:
            connection.execute(
                sa.update(TABLE)
                .where(abandoned, TABLE.c.attempts >= MAX_ATTEMPTS)
                .values(status="failed", body="", done_at=now, taken_until=None, error="its handler stopped before finishing, every attempt")
            )
        rows = sorted(connection.execute(claim).all(), key=lambda row: (row.received_at, row.id))
        senders = _senders(connection, {row.slack_user_id for row in rows if row.slack_user_id})
    return [(Waiting(row.id, row.body, row.content_type, senders.get(row.slack_user_id)), Taken(row.replies_sent, row.attempts)) for row in rows]


def _senders(connection: sa.Connection, slack_user_ids: set[str]) -> dict[str, Sender]:
    """The roster people behind these Slack IDs; one whose Slack messages are marked failing is left to the handler's
    own lookup (`store.member_for`), which clears the mark."""
    if not slack_user_ids:
        return {}
    people = Person.__table__
    found = connection.execute(
        sa.select(people.c.slack_user_id, people.c.id, people.c.name, people.c.email, people.c.timezone, people.c.slack_failing_at)
        .where(people.c.slack_user_id.in_(sorted(slack_user_ids)))
        .order_by(people.c.id.desc())  # as `member_for`: the first by id wins when two share an ID
    ).all()
    senders = {row.slack_user_id: Sender(row.slack_user_id, row.id, row.name, row.email, row.timezone) for row in found}
    return {user: sender for user, sender in senders.items() if not any(r.slack_user_id == user and r.slack_failing_at is not None for r in found)}


def counts(engine: Engine) -> dict[str, int]:
    """How many kept requests are in each state (for health and the load benchmark)."""
    with engine.connect() as connection:
        return {status: total for status, total in connection.execute(sa.select(TABLE.c.status, sa.func.count()).group_by(TABLE.c.status))}


def prune(engine: Engine, *, before: datetime) -> int:
    """Forget handled requests received before `before` (Slack stops retrying within the hour); returns how many."""
    with engine.begin() as connection:
        result = connection.execute(sa.delete(TABLE).where(TABLE.c.status.in_(("done", "failed")), TABLE.c.received_at < before))
    return result.rowcount or 0
