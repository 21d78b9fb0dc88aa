"""Operations: /health split into liveness and readiness, /metrics read over real HTTP after a published round,
and the JSON log lines with their request and job ids (secrets still taken out)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.actions import rounds
from bot.actions.access import Actor
from bot.actions.scope import unit_of_work
from bot.logs import JsonFormatter, request_id_var
from bot.rounds.schedule import run_due_actions, schedule_config
from bot.web.app import create_app, every, stop_scheduler
from bot.web.redaction import install_log_redaction
from storage import db
from tests.adminkit import admin_settings, later, seed_program, serving
from tests.appserver import serve_app
from tests.slack_helpers import ADMIN, slack_harness, wait_for

OPERATOR = Actor.operator()
SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


def samples(text: str) -> dict[str, float]:
    """Prometheus text exposition as {'name{labels}': value}."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            match = SAMPLE_RE.match(line)
            assert match, f"not a sample line: {line!r}"
            found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every log record of the process, as the JSON lines LOG_FORMAT=json prints."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_metrics_after_a_published_round_count_the_outbox_the_due_actions_and_the_requests(migrated_database, tmp_path, now, backend):
    url = migrated_database(backend)
    settings = admin_settings(tmp_path, url)
    engine = db.create_db_engine(url)
    round_id = seed_program(engine, now)
    with unit_of_work(engine) as session:
        published = rounds.publish_round(session, actor=OPERATOR, now=now, settings=settings, round_id=round_id)
    assert published.actions > 0
    # The first notices are due at once: the scheduler's own sweep turns them into outbox messages (nothing sends them).
    ran = run_due_actions(engine, now=now, config=schedule_config(settings))
    assert ran
    with engine.connect() as connection:
        by_channel = dict(connection.execute(sa.text("select channel, count(*) from outbox_message where status = 'pending' group by channel")).all())
        due_in_two_weeks = connection.execute(
            sa.text("select count(*) from scheduled_action where status = 'pending' and due_at <= :at"), {"at": now + timedelta(days=14)}
        ).scalar_one()
        # One message given up on, as the outbox marks one a channel refused for good.
        failed_id = connection.execute(sa.text("select min(id) from outbox_message where channel = 'email'")).scalar_one()
    assert sum(by_channel.values()) >= 2 and due_in_two_weeks > 0
    with engine.begin() as connection:
        connection.execute(sa.text("update outbox_message set status = 'failed' where id = :id"), {"id": failed_id})
    engine.dispose()

    async with serving(settings, clock=later(now, days=14)) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/no/such/page")).status_code == 404
        assert (await client.get(f"/admin/rounds/{round_id}")).status_code in (303, 401)
        response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    figures = samples(response.text)
    waiting_email = by_channel.get("email", 0) - 1
    assert figures['mentorbot_outbox_depth{channel="slack"}'] == by_channel.get("slack", 0)
    assert figures['mentorbot_outbox_depth{channel="email"}'] == waiting_email
    assert figures['mentorbot_outbox_failed_messages{channel="email"}'] == 1
    assert figures['mentorbot_outbox_failed_messages{channel="slack"}'] == 0
    assert figures['mentorbot_outbox_oldest_age_seconds{channel="email"}'] == 14 * 24 * 3600  # made at `now`, read 14 days on
    assert figures["mentorbot_scheduled_actions_due"] == due_in_two_weeks
    assert figures["mentorbot_scheduler_leader"] == 0  # SCHEDULER_ENABLED is off in these settings
    assert figures['mentorbot_http_requests_total{method="GET",route="/health/ready",status="200"}'] == 1
    assert figures['mentorbot_http_requests_total{method="GET",route="unmatched",status="404"}'] == 1
    # Counted under the route's template: the round id (or a token in a path) never makes a series of its own.
    admin_series = [name for name in figures if name.startswith("mentorbot_http_requests_total") and "/admin/rounds/" in name]
    assert admin_series and all("{round_id}" in name for name in admin_series)


async def test_slack_acks_are_timed_by_kind_and_the_leader_shows(tmp_path, migrated_database):
    async with slack_harness(tmp_path, migrated_database("sqlite"), metrics_token="scrape-token-0123456789") as harness:
        assert (await harness.driver.say("UBEN00001", "hello")).status_code == 200
        assert (await harness.driver.event({"type": "app_home_opened", "user": "UANA00001", "tab": "home"})).status_code == 200
        response, _ = await harness.driver.command(ADMIN, "help")
        assert response.status_code == 200
        assert (await harness.driver.post_json({"type": "event_callback"}, signed=False)).status_code == 401  # not an ack: not timed
        async with httpx.AsyncClient(base_url=harness.url) as client:
            refused = await client.get("/metrics")
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456780"})
            await wait_for(lambda: harness.app.state.scheduler.leadership and harness.app.state.scheduler.leadership.is_leader, what="leadership")
            scraped = await client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert refused.status_code == 401 and wrong.status_code == 401 and "mentorbot_" not in refused.text
    figures = samples(scraped.text)
    assert figures['mentorbot_slack_ack_seconds_count{kind="event"}'] == 2
    assert figures['mentorbot_slack_ack_seconds_count{kind="command"}'] == 1
    assert 'mentorbot_slack_ack_seconds_count{kind="interaction"}' not in figures  # no click was made
    assert 0 < figures['mentorbot_slack_ack_seconds_sum{kind="event"}'] < 3  # acked inside Slack's 3 seconds
    assert figures['mentorbot_http_requests_total{method="POST",route="/slack/events",status="401"}'] == 1
    assert figures["mentorbot_scheduler_leader"] == 1


async def test_liveness_readiness_and_the_old_health(tmp_path, migrated_database):
    settings = admin_settings(tmp_path, migrated_database("sqlite"))
    async with serving(settings) as base, httpx.AsyncClient(base_url=base) as client:
        live, ready, old = await client.get("/health/live"), await client.get("/health/ready"), await client.get("/health")
    assert live.status_code == 200 and live.json()["status"] == "ok"
    assert ready.status_code == 200 and ready.json()["problems"] == [] and ready.json()["database"]["schema"] == db.head_revision()
    assert old.status_code == 200 and old.json()["status"] == "ok" and "scheduler" in old.json()

    # The schema moved off head under a running app (a rollback of the database, not of the code): still alive, not
    # ready, and the old /health answers as it always did.
    async with serving(settings) as base, httpx.AsyncClient(base_url=base) as client:
        engine = db.create_db_engine(settings.resolved_database_url)
        with engine.begin() as connection:
            connection.execute(sa.text("update alembic_version set version_num = 'behind'"))
        engine.dispose()
        ready, live, old = await client.get("/health/ready"), await client.get("/health/live"), await client.get("/health")
    assert live.status_code == 200
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    assert ready.json()["problems"] == [f"schema at behind, not at head {db.head_revision()}"]
    assert old.status_code == 200 and old.json()["database"]["schema"] == "behind"


async def test_readiness_wants_the_scheduler_running_when_it_is_enabled(tmp_path, migrated_database):
    settings = admin_settings(tmp_path, migrated_database("sqlite"), scheduler_enabled=True, sweep_seconds=3600)
    app = create_app(settings, senders={})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        running = await client.get("/health/ready")
        app.state.scheduler.running = False  # what a scheduler that stopped leaves behind
        stopped = await client.get("/health/ready")
    assert running.status_code == 200 and running.json()["scheduler"]["running"] is True
    assert stopped.status_code == 503 and stopped.json()["problems"] == ["scheduler not running"]


async def test_json_lines_carry_the_request_id_and_stay_redacted(tmp_path, migrated_database, json_lines):
    settings = admin_settings(tmp_path, migrated_database("sqlite"), slack_bot_token="xoxb-not-a-real-token-but-long")
    install_log_redaction(settings)
    async with slack_harness(tmp_path, migrated_database("sqlite")) as harness:
        kept = await harness.driver.post("not json {", content_type="application/json", headers={"X-Request-ID": "req-42.a"})
        hostile = await harness.driver.post("{}", content_type="application/json", headers={"X-Request-ID": "bad id <script>"})
        long = await harness.driver.post("{}", content_type="application/json", headers={"X-Request-ID": "a" * 129})
    assert kept.headers["x-request-id"] == "req-42.a"
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"]) and re.fullmatch(r"[0-9a-f]{32}", long.headers["x-request-id"])
    lines = parsed(json_lines)
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    tagged = [line for line in lines if line.get("request_id") == "req-42.a"]
    assert tagged, lines
    token = request_id_var.set("req-secret")
    try:
        logging.getLogger("bot.test").warning("posting with token xoxb-not-a-real-token-but-long to %s", "/admin/link/abcdefgh12345")
    finally:
        request_id_var.reset(token)
    last = parsed(json_lines)[-1]
    assert last["request_id"] == "req-secret" and last["level"] == "WARNING" and last["logger"] == "bot.test"
    assert "xoxb" not in json_lines.getvalue() and "abcdefgh12345" not in json_lines.getvalue() and "[redacted]" in last["message"]


async def test_scheduler_jobs_log_with_a_job_id_even_from_threads(json_lines):
    def work_in_a_thread() -> None:
        logging.getLogger("bot.rounds.schedule").info("swept")

    async def job() -> None:
        logging.getLogger("bot.web.app").info("sweeping")
        await asyncio.to_thread(work_in_a_thread)

    scheduler = AsyncIOScheduler(timezone=timezone.utc)
    every(scheduler, "sweep-due-actions", 3600, job)
    scheduler.start()
    try:
        await wait_for(lambda: any(line.get("message") == "swept" for line in parsed(json_lines)), what="the job's lines")
    finally:
        await stop_scheduler(scheduler)
    lines = {line["message"]: line for line in parsed(json_lines) if line["message"] in ("sweeping", "swept")}
    assert re.fullmatch(r"sweep-due-actions\.[0-9a-f]{8}", lines["sweeping"]["job_id"])
    assert lines["swept"]["job_id"] == lines["sweeping"]["job_id"] and "request_id" not in lines["swept"]
    assert datetime.fromisoformat(lines["swept"]["time"]).tzinfo is not None
