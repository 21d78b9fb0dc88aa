"""The FastAPI app: health now; Slack, email and admin routes join as those channels land."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.engine import Engine

from bot import installed_version
from bot.channels import default_senders
from bot.logs import configure_logging, job_id_var, new_job_id
from bot.outbox import FALLBACKS, Sender, drain
from bot.rounds.guides import guide_link_key, overrides_loader, print_context_loader
from bot.rounds.leader import Leadership
from bot.web.guides import guides_router
from bot.web.limits import BodyLimit, body_limits
from bot.web.observe import Metrics, Observe, StoreCollector, metrics_allowed
from bot.web.redaction import install_log_redaction
from bot.web.security_headers import install_security_headers
from bot.rounds.schedule import run_due_actions, schedule_config
from bot.settings import Settings
from bot.slack.router import mount_slack
from storage import db

if TYPE_CHECKING:
    from bot.slack.app import SlackChannel

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The real clock; tests pass their own."""
    return datetime.now(timezone.utc)


@dataclass
class SchedulerState:
    """What the health endpoint reports about the scheduler."""

    running: bool = False
    last_sweep_at: datetime | None = None
    last_sweep_actions: int = 0
    last_error: str | None = None
    sweeps: int = field(default=0)
    leadership: Leadership | None = None
    last_delivery_at: datetime | None = None
    delivered: int = 0


async def sweep_once(engine: Engine, settings: Settings, state: SchedulerState, clock: Callable[[], datetime]) -> None:
    """Run every due scheduled action; the database work runs in a thread so the event loop stays free."""
    if state.leadership is None or not state.leadership.is_leader:
        return  # another process runs the schedule
    now = clock()
    try:
        outcomes = await asyncio.to_thread(run_due_actions, engine, now=now, config=schedule_config(settings))
    except Exception as exc:  # a sweep that fails is retried on the next tick; health shows the error
        logger.exception("scheduler sweep failed")
        state.last_error = f"{type(exc).__name__}: {exc}"
        return
    state.last_sweep_at, state.last_sweep_actions, state.last_error = now, len(outcomes), None
    state.sweeps += 1


async def deliver_once(
    engine: Engine, senders: Mapping[str, Sender], state: SchedulerState, clock: Callable[[], datetime], resend_unconfirmed_minutes: int = 0
) -> None:
    """Send everything due in the outbox, pass after pass until nothing is due (while this process leads); a failure
    is logged and the next tick tries again."""
    leadership = state.leadership
    if leadership is None or not leadership.is_leader:
        return
    resend_after = timedelta(minutes=resend_unconfirmed_minutes) if resend_unconfirmed_minutes else None
    try:
        # Slack falls back to email: when Slack isn't set up here, or refuses a person for good.
        deliveries = await drain(
            engine, senders, clock=clock, fallbacks=FALLBACKS, resend_unconfirmed_after=resend_after, keep_going=lambda: leadership.is_leader
        )
    except Exception:
        logger.exception("outbox delivery failed")
        return
    state.last_delivery_at = clock()
    state.delivered += sum(1 for delivery in deliveries if delivery.status == "sent")


async def handle_waiting_slack(channel: SlackChannel, state: SchedulerState) -> None:
    """Hand Slack requests kept in the inbox whose process stopped before handling them to this one."""
    if state.leadership is None or not state.leadership.is_leader:
        return
    try:
        started = await channel.handle_waiting()
    except Exception:
        logger.exception("handling waiting Slack requests failed")
        return
    if started:
        logger.info("took over %d kept Slack requests nobody was handling", started)


def every(scheduler: AsyncIOScheduler, job_id: str, seconds: float, func: Callable, *args: object, start_now: bool = True) -> None:
    """Run `func(*args)` every `seconds`, never two at once; ticks missed while busy are merged, not queued."""
    # APScheduler runs on the real clock; the `clock` passed to the jobs is what the actions see.
    # (A next_run_time of None would pause the job, so it is only given when the first run is now.)
    first_run = {"next_run_time": datetime.now(timezone.utc)} if start_now else {}
    scheduler.add_job(_tracked, "interval", seconds=seconds, args=[scheduler, job_id, func, *args], id=job_id, max_instances=1, coalesce=True, **first_run)


async def _tracked(scheduler: AsyncIOScheduler, job_id: str, func: Callable, *args: object) -> object:
    # Remember the running job so shutdown can let it finish instead of cancelling it half-way.
    running: set[asyncio.Task] = scheduler.__dict__.setdefault("mentorbot_running", set())
    task = asyncio.current_task()
    if task is not None:
        running.add(task)
    token = job_id_var.set(new_job_id(job_id))  # every line this run logs (its threads' too) carries the run's id
    try:
        return await func(*args)
    finally:
        job_id_var.reset(token)
        running.discard(task)  # type: ignore[arg-type]


async def stop_scheduler(scheduler: AsyncIOScheduler, *, grace_seconds: float = 10.0) -> None:
    """Stop starting jobs, give the ones running (a delivery, a sweep) time to finish their transaction, then shut down.

    APScheduler's shutdown cancels jobs still running, so it comes last."""
    scheduler.pause()
    running = set(scheduler.__dict__.get("mentorbot_running", ()))
    if running:
        await asyncio.wait(running, timeout=grace_seconds)
    scheduler.shutdown(wait=False)


def app_from_environment() -> FastAPI:
    """The web app for the settings in the environment: the factory each `mentorbot serve` worker process calls."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a free loopback port, for serving the app in-process (the demo, the tests).

    TCP_NODELAY is set on it, and accepted connections inherit it: asyncio sets it only on sockets made with
    proto=IPPROTO_TCP, and without it every small response waits about 40 ms for Nagle's algorithm.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    senders: Mapping[str, Sender] | None = None,
) -> FastAPI:
    """Build the web app for `settings`; the schema is upgraded and the scheduler started on startup."""
    install_log_redaction(settings)  # no secret in any log line of this process: access lines, ours, libraries'
    engine = db.create_db_engine(settings.resolved_database_url)
    state = SchedulerState()
    senders = default_senders(settings) if senders is None else senders

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(db.upgrade, engine)
        scheduler = None
        if settings.scheduler_enabled:
            state.leadership = Leadership(engine, lock_file=settings.data_dir / "scheduler.lock")
            await asyncio.to_thread(state.leadership.try_lead)
            scheduler = AsyncIOScheduler(timezone=timezone.utc)
            every(scheduler, "seek-leadership", settings.leader_seconds, asyncio.to_thread, state.leadership.try_lead, start_now=False)
            every(scheduler, "sweep-due-actions", settings.sweep_seconds, sweep_once, engine, settings, state, clock)
            if senders:
                every(scheduler, "deliver-outbox", settings.outbox_seconds, deliver_once, engine, senders, state, clock, settings.email_resend_unconfirmed_minutes)
            if getattr(_app.state, "slack", None) is not None and _app.state.slack.handle_inline:
                every(scheduler, "slack-inbox", settings.sweep_seconds, handle_waiting_slack, _app.state.slack, state)
            scheduler.start()
            state.running = True
        try:
            yield
        finally:
            if scheduler is not None:
                await stop_scheduler(scheduler)
                state.running = False
            if getattr(_app.state, "slack", None) is not None:
                await _app.state.slack.close()
            if state.leadership is not None:
                await asyncio.to_thread(state.leadership.resign)
            engine.dispose()

    # The OpenAPI pages list every admin route and load scripts from a CDN: off unless API_DOCS turns them on.
    app = FastAPI(title="mentorbot", version=installed_version(), lifespan=lifespan, openapi_url="/openapi.json" if settings.api_docs else None)
    app.add_middleware(BodyLimit, limits=body_limits(settings))  # before any route reads, parses or authenticates a body
    # Outside the whole middleware stack, so the body limit's 413s and Starlette's 500s carry the headers too.
    install_security_headers(app, trusted_proxies=settings.trusted_proxies, docs=settings.api_docs)  # CSP, nosniff, frames, HSTS: every response
    metrics = Metrics()
    metrics.registry.register(StoreCollector(engine, clock=clock, is_leader=lambda: bool(state.leadership and state.leadership.is_leader)))
    secured_build = app.build_middleware_stack
    # Outermost of all: the request id is set before any line is logged, and every response (a 413, a 500) is counted.
    app.build_middleware_stack = lambda: Observe(secured_build(), metrics)  # type: ignore[method-assign]
    app.state.metrics = metrics
    app.state.settings = settings
    app.state.engine = engine
    app.state.scheduler = state

    # Slack: POST /slack/events (events, interactivity, /mentoring) when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set
    if settings.slack_enabled:
        mount_slack(app, settings, engine=engine, clock=clock)

    app.include_router(
        guides_router(
            print_context_loader(engine, base_url=settings.public_base_url, session_minutes=settings.session_minutes, link_secret=settings.token_secret),
            overrides_for=overrides_loader(engine),
            link_key=lambda pairing_id: guide_link_key(settings.token_secret, pairing_id),
        )
    )

    async def database_status() -> tuple[bool, dict[str, object]]:
        try:
            revision = await asyncio.to_thread(db.current_revision, engine)
        except sa.exc.SQLAlchemyError as exc:
            return False, {"backend": engine.dialect.name, "error": str(exc.orig or exc).splitlines()[0]}
        return True, {"backend": engine.dialect.name, "schema": revision}

    def scheduler_status() -> dict[str, object]:
        return {
            "running": state.running,
            "leader": bool(state.leadership and state.leadership.is_leader),
            "last_sweep_at": state.last_sweep_at.isoformat() if state.last_sweep_at else None,
            "last_error": state.last_error,
            "outbox_channels": sorted(senders),
            "delivered": state.delivered,
        }

    @app.get("/health")
    async def health() -> JSONResponse:
        """Everything at once, as before the split: database reachable, schema revision, scheduler and channel status."""
        reachable, database = await database_status()
        body: dict[str, object] = {
            "status": "ok" if reachable else "unavailable",
            "process": os.getpid(),  # with HTTP_WORKERS > 1, which worker answered
            "scheduler": scheduler_status(),
            "slack": "enabled" if settings.slack_enabled else "disabled: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET",
            "database": database,
        }
        return JSONResponse(body, status_code=200 if reachable else 503)

    @app.get("/health/live")
    async def health_live() -> JSONResponse:
        """Liveness: the process answers (restart it when this stops answering); touches nothing else."""
        return JSONResponse({"status": "ok", "process": os.getpid()})

    @app.get("/health/ready")
    async def health_ready() -> JSONResponse:
        """Readiness: database reachable, schema at the head revision, scheduler running when enabled (503 and why, if not)."""
        reachable, database = await database_status()
        problems: list[str] = []
        if not reachable:
            problems.append("database unreachable")
        elif database["schema"] != db.head_revision():
            problems.append(f"schema at {database['schema']}, not at head {db.head_revision()}")
        scheduler = scheduler_status()
        if settings.scheduler_enabled and not state.running:
            problems.append("scheduler not running")
        body = {"status": "unavailable" if problems else "ok", "problems": problems, "process": os.getpid(), "database": database, "scheduler": scheduler}
        return JSONResponse(body, status_code=503 if problems else 200)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_page(request: Request) -> Response:
        """Prometheus metrics; with METRICS_TOKEN set, only for `Authorization: Bearer <METRICS_TOKEN>`."""
        if not metrics_allowed(request.headers.get("authorization"), settings.metrics_token):
            return JSONResponse({"error": "metrics need Authorization: Bearer <METRICS_TOKEN>"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        # The outbox and schedule figures are read from the database: in a thread, so the event loop stays free.
        return Response(await asyncio.to_thread(generate_latest, metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # Admin pages: /admin (sign-in with Slack or a one-time link, program, pool health, equity, engagement, roster,
    # round review, mail, exports); every page but sign-in refuses anyone not signed in as an admin.
    from bot.web.admin import admin_router

    app.include_router(admin_router(settings, engine, clock=clock))

    # Email: inbound webhook and unsubscribe routes; the local mail sink (no SMTP_HOST) and the IMAP poller
    # (IMAP_HOST set) run for the app's lifetime.
    from bot.email.runtime import install as install_email

    install_email(app, settings=settings, engine=engine, senders=senders, clock=clock)

    return app
