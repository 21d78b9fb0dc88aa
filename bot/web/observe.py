"""What an operator watches: a request id on every request and response, and the Prometheus metrics at /metrics.

`Observe` wraps the whole app (outside the error middleware, so a 500 is counted too). It takes the caller's
X-Request-ID when it is a sane one or makes one, sets it for the request's log lines (`bot.logs`) and echoes it in
the response header; then counts the request by route template (never the raw path: tokens sit in some paths, and
each would be a series of its own) and, for POST /slack/events, times the acknowledgement by kind.

The outbox and schedule figures are read from the database when Prometheus scrapes (`StoreCollector`): a handful of
grouped counts over indexed status columns, so nothing has to be kept in step in every process.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from bot.logs import request_id_from, request_id_var
from storage.models import OutboxMessage, ScheduledAction

SLACK_EVENTS_PATH = "/slack/events"
WAITING = ("pending", "sending", "committing")  # outbox rows not yet sent, nor given up on
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)  # Slack retries what is not acked within 3 s
Receive = Callable[[], Any]
Send = Callable[[dict], Any]


class Metrics:
    """One app's metrics, in a registry of its own (tests and the demo build several apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mentorbot_http_requests", "HTTP requests answered, by route template, method and status.", ["route", "method", "status"], registry=self.registry
        )
        self.request_seconds = Histogram(
            "mentorbot_http_request_duration_seconds", "Time to the first byte of the response, by route template.", ["route"], registry=self.registry
        )
        self.slack_ack_seconds = Histogram(
            "mentorbot_slack_ack_seconds",
            "Time from receiving a request on /slack/events to its acknowledgement, by kind (event, interaction, command).",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )


def slack_kind(content_type: str, body_start: bytes) -> str:
    """Which of Slack's three request kinds a /slack/events body is: events come as JSON, the others as forms."""
    if "json" in content_type:
        return "event"
    return "interaction" if body_start.startswith(b"payload=") or b"&payload=" in body_start else "command"


def route_of(scope: dict) -> str:
    """The route template that answered (`/admin/rounds/{round_id}`), or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class Observe:
    """ASGI middleware: request id in and out, requests counted, Slack acknowledgements timed."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # Label children kept by their label values: `labels()` takes a lock and builds a key on every call, and
        # there are only a few routes, methods, statuses and kinds.
        self._children: dict[tuple, Any] = {}

    def _child(self, metric: Any, *values: str) -> Any:
        key = (id(metric), *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given_id, content_type = b"", b""
        for name, value in scope.get("headers") or ():  # the two headers read here, without a dict of all of them
            if name == b"x-request-id":
                given_id = value
            elif name == b"content-type":
                content_type = value
        request_id = request_id_from(given_id.decode("latin-1"))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering
        first_bytes: list[bytes] = []
        is_slack = scope.get("method") == "POST" and scope.get("path") == SLACK_EVENTS_PATH

        async def receive_peeking() -> dict:
            message = await receive()
            if is_slack and not first_bytes and message.get("type") == "http.request":
                first_bytes.append(message.get("body", b"")[:64])  # enough to tell a form's payload= from a command
            return message

        async def send_with_id(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
                elapsed = time.perf_counter() - started
                self._child(self.metrics.request_seconds, route_of(scope)).observe(elapsed)
                if is_slack and status == 200:  # only real acknowledgements: refusals are not what Slack waits on
                    kind = slack_kind(content_type.decode("latin-1"), first_bytes[0] if first_bytes else b"")
                    self._child(self.metrics.slack_ack_seconds, kind).observe(elapsed)
            await send(message)

        try:
            await self.app(scope, receive_peeking if is_slack else receive, send_with_id)
        finally:
            self._child(self.metrics.requests, route_of(scope), scope.get("method", ""), str(status)).inc()
            request_id_var.reset(token)


class StoreCollector(Collector):
    """The figures read from the database at scrape time: outbox depth, age and failures by channel; due actions; leader."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime], is_leader: Callable[[], bool]) -> None:
        self.engine = engine
        self.clock = clock
        self.is_leader = is_leader

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        outbox, actions = OutboxMessage.__table__.c, ScheduledAction.__table__.c
        with self.engine.connect() as connection:
            waiting = connection.execute(
                sa.select(outbox.channel, sa.func.count(), sa.func.min(outbox.created_at)).where(outbox.status.in_(WAITING)).group_by(outbox.channel)
            ).all()
            failed = connection.execute(sa.select(outbox.channel, sa.func.count()).where(outbox.status == "failed").group_by(outbox.channel)).all()
            due = connection.execute(sa.select(sa.func.count()).where(actions.status == "pending", actions.due_at <= now)).scalar_one()
        waiting_by = {channel: (count, oldest) for channel, count, oldest in waiting}
        failed_by = {channel: count for channel, count in failed}
        depth = GaugeMetricFamily("mentorbot_outbox_depth", "Outbox messages waiting to be sent (pending, sending, committing), by channel.", labels=["channel"])
        age = GaugeMetricFamily("mentorbot_outbox_oldest_age_seconds", "Age of the oldest outbox message still waiting, by channel (0 when none waits).", labels=["channel"])
        failures = GaugeMetricFamily("mentorbot_outbox_failed_messages", "Outbox messages given up on (status failed), by channel.", labels=["channel"])
        # slack and email are always present, so an alert on a channel has a series to read even when it is empty.
        for channel in sorted({"slack", "email"} | waiting_by.keys() | failed_by.keys()):
            count, oldest = waiting_by.get(channel, (0, None))
            depth.add_metric([channel], count)
            age.add_metric([channel], max(0.0, (now - _aware(oldest)).total_seconds()) if oldest is not None else 0.0)
            failures.add_metric([channel], failed_by.get(channel, 0))
        yield depth
        yield age
        yield failures
        yield GaugeMetricFamily("mentorbot_scheduled_actions_due", "Scheduled actions due now or earlier and not yet run.", value=due)
        yield GaugeMetricFamily("mentorbot_scheduler_leader", "1 when this process holds the scheduler's leader lock, else 0.", value=1 if self.is_leader() else 0)


def _aware(moment: datetime) -> datetime:
    # min() over a column loses its type on SQLite, which hands back naive datetimes or text; every stored moment is UTC.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def metrics_allowed(authorization: str | None, token: str | None) -> bool:
    """Whether a scrape may read /metrics: always without METRICS_TOKEN, else only with `Bearer <token>`."""
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
