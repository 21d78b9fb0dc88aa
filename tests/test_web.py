"""`mentorbot serve`'s app over real HTTP: health, schema upgrade on start, and the scheduler's sweep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx

from bot.importer import import_roster
from bot.rounds import schedule, service
from bot.rounds.guides import guide_link_key
from bot.settings import Settings
from bot.web.app import create_app
from storage import db, repo
from storage.db import session_scope
from tests.appserver import serve_app
from tests.conftest import SHARED_ROSTER
from tests.test_storage import HEAD


@contextlib.asynccontextmanager
async def serving(settings: Settings, clock=None) -> AsyncIterator[str]:
    """Run the app under uvicorn on a free loopback port and yield its base URL."""
    app = create_app(settings, clock=clock) if clock else create_app(settings)
    async with serve_app(app) as base:
        yield base


def _settings(tmp_path: Path, database_url: str, **extra) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", database_url=database_url, **extra)


async def test_health_reports_database_schema_and_scheduler(tmp_path: Path, database_url: str) -> None:
    settings = _settings(tmp_path, database_url)
    async with serving(settings) as base, httpx.AsyncClient(base_url=base) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["schema"] == HEAD  # upgraded on start, from an empty database
    assert body["scheduler"]["running"] is True
    assert body["slack"].startswith("disabled")


async def test_the_scheduler_matches_a_round_when_its_date_comes(tmp_path: Path, database_url: str, now: datetime) -> None:
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    import_roster(engine, SHARED_ROSTER, program_name="District Mentoring", default_timezone="America/Los_Angeles", now=now)
    service.open_term(engine, program_name="District Mentoring", timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    service.enroll_from_roster(engine, program_name="District Mentoring", term_name=None, require_approval=False, now=now)
    round_ = service.create_round(
        engine, program_name="District Mentoring", term_name=None, request=service.RoundRequest(match_on=date(2026, 12, 1)), now=now
    )
    after_match_date = datetime.fromisoformat("2026-12-01T15:00:00+00:00")
    settings = _settings(tmp_path, database_url, sweep_seconds=1)
    async with serving(settings, clock=lambda: after_match_date) as base, httpx.AsyncClient(base_url=base) as client:
        for _ in range(100):
            health = (await client.get("/health")).json()
            if health["scheduler"]["last_sweep_at"]:
                break
            await asyncio.sleep(0.05)
    stored, pairs = service.round_pairs(engine, round_id=round_.id)
    assert stored.status == "review"
    assert pairs and stored.match_summary["matched"] == len(pairs)
    assert health["scheduler"]["last_error"] is None
    assert after_match_date - timedelta(days=1) < datetime.fromisoformat(health["scheduler"]["last_sweep_at"])
    engine.dispose()


async def test_the_printable_guide_is_served_for_a_pairing(tmp_path: Path, database_url: str, now: datetime) -> None:
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    import_roster(engine, SHARED_ROSTER, program_name="District Mentoring", default_timezone="America/Los_Angeles", now=now)
    service.open_term(engine, program_name="District Mentoring", timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    service.enroll_from_roster(engine, program_name="District Mentoring", term_name=None, require_approval=False, now=now)
    round_ = service.create_round(engine, program_name="District Mentoring", term_name=None, request=service.RoundRequest(sessions=2), now=now)
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
    schedule.publish_round(engine, round_id=round_.id, now=now, config=schedule.ScheduleConfig())
    _, pairs = service.round_pairs(engine, round_id=round_.id)
    with session_scope(engine) as session:
        pairing_id = repo.round_pairings(session, round_id=round_.id)[0].id
    settings = _settings(tmp_path, database_url, scheduler_enabled=False)
    async with serving(settings) as base, httpx.AsyncClient(base_url=base) as client:
        page = await client.get(f"/guides/pairing/{pairing_id}", params={"k": guide_link_key(settings.token_secret, pairing_id)})
        missing = await client.get("/guides/pairing/999999", params={"k": guide_link_key(settings.token_secret, 999999)})
        unsigned = await client.get(f"/guides/pairing/{pairing_id}")  # a pairing's guide is for its pair: the link's key is required
    assert page.status_code == 200 and "<!DOCTYPE html>" in page.text
    assert pairs[0].mentor_name in page.text or pairs[0].mentee_name in page.text
    assert missing.status_code == 404 and "couldn't find that guide" in missing.text
    assert unsigned.status_code == 404 and unsigned.text == missing.text.replace("999999", str(pairing_id))
    engine.dispose()


async def test_stopping_the_scheduler_lets_a_running_job_finish() -> None:
    import asyncio

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.web.app import every, stop_scheduler

    scheduler = AsyncIOScheduler(timezone=timezone.utc)
    finished: list[str] = []

    async def delivery() -> None:
        await asyncio.sleep(0.3)  # a send in flight when the app stops
        finished.append("sent")

    every(scheduler, "deliver", 60, delivery)
    scheduler.start()
    for _ in range(50):
        await asyncio.sleep(0.01)
        if scheduler.__dict__.get("mentorbot_running"):
            break
    await stop_scheduler(scheduler)
    assert finished == ["sent"]  # finished, not cancelled half-way (which logged a traceback on shutdown)
