"""Test helpers for the Slack channel: request signing written out independently of Bolt, and a harness that
runs the Slack stand-in and the app (under uvicorn on a free loopback port) around a small roster."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bot.doubles.slack import SlackDriver, SlackStandIn
from bot.importer import import_roster
from bot.settings import Settings
from bot.web.app import create_app
from storage import db, repo
from storage.db import session_scope
from tests.appserver import serve_app

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PROGRAM = "Slack Program"
ADMIN = "UADMIN001"
HEADER = "email,name,role,slack_user_id,site,grade_bands,subjects,strengths,needs,availability,capacity,principal_email,timezone"
ROSTER = (
    "ana@d.example,Ana Chen,mentor,UANA00001,Lincoln,6-8,math,assessment;SEL,,Tue 15:30-16:30,2,pat@d.example,America/Los_Angeles",
    "ben@d.example,Ben Ortiz,mentee,UBEN00001,Garfield,6-8,math,,SEL,Tue 15:30-16:30,,,America/Los_Angeles",
    "cy@d.example,Cy Diaz,mentee,UCY000001,Garfield,6-8,math,,assessment,Tue 15:00-17:00,,,America/Los_Angeles",
    "dee@d.example,Dee Park,mentee,,Lincoln,6-8,math,,SEL,Tue 15:30-16:30,,,America/Los_Angeles",
    "pat@d.example,Pat Principal,mentor,UPAT00001,Lincoln,6-8,math,,,,0,,America/Los_Angeles",
)
SLACK_USERS = {"UANA00001": "Ana Chen", "UBEN00001": "Ben Ortiz", "UCY000001": "Cy Diaz", "UPAT00001": "Pat Principal", ADMIN: "Ada Admin", "UNOBODY01": "Nora Nobody"}


def signature(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature (https://api.slack.com/authentication/verifying-requests-from-slack), computed here by hand."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + body.encode("utf-8")
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()}


async def wait_for(check: Callable[[], Any], *, timeout: float = 10.0, what: str = "the condition") -> Any:
    """Poll `check` (sync) every 10 ms until it returns something truthy.

    Most answers come within a few tens of milliseconds and the Slack tests wait for many of them: with a 50 ms poll
    each wait ran on about 25 ms after its answer was there (3 s of the 135 commands of the access matrix alone)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class Harness:
    standin: SlackStandIn
    driver: SlackDriver
    engine: Engine
    settings: Settings
    url: str
    app: Any = None  # the FastAPI app; `app.state.slack` is the Slack channel

    def person_id(self, email: str) -> int:
        with session_scope(self.engine) as session:
            return repo.people_by_email(session, emails=[email])[email].id

    async def dm_with(self, user: str, text: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for a DM to `user` whose text or blocks mention `text`."""
        return await wait_for(lambda: next((m for m in reversed(self.standin.dms(user)) if text in json.dumps(m)), None), timeout=timeout, what=f"a DM to {user} with {text!r}")

    async def responses(self, url: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        return await wait_for(lambda: (r := self.standin.responses_to(url)) and len(r) >= count and r, timeout=timeout, what=f"{count} response(s) at {url}")


def make_settings(tmp_path: Path, database_url: str, standin: SlackStandIn, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data", "database_url": database_url, "program_name": PROGRAM,
        "slack_bot_token": standin.bot_token, "slack_signing_secret": SECRET, "slack_api_url": standin.api_url,
        "slack_admin_ids": [ADMIN], "outbox_seconds": 0.1, "sweep_seconds": 3600, "public_base_url": "http://mentorbot.test",
    }  # fmt: skip
    values.update(extra)
    return Settings(_env_file=None, **values)


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[str, Any]]:
    """The app for `settings` under uvicorn on a loopback port: its base URL and the app."""
    app = create_app(settings)
    async with serve_app(app) as url:
        yield url, app


@contextlib.asynccontextmanager
async def slack_harness(tmp_path: Path, database_url: str, *, roster: tuple[str, ...] = ROSTER, **settings_extra: Any) -> AsyncIterator[Harness]:
    """The stand-in, a migrated database with the roster imported, and the app serving Slack over HTTP."""
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([HEADER, *roster]) + "\n", encoding="utf-8")
    import_roster(engine, path, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=_utc_now())
    async with SlackStandIn() as standin:
        for user_id, name in SLACK_USERS.items():
            standin.add_user(user_id, name, email=f"{name.split()[0].lower()}@d.example" if user_id != ADMIN else "ada@d.example")
        settings = make_settings(tmp_path, database_url, standin, **settings_extra)
        async with running_app(settings) as (url, app):
            yield Harness(standin, SlackDriver(standin, app_url=url, signing_secret=SECRET), engine, settings, url, app)
    engine.dispose()


def _utc_now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
