"""The demo's Slack leg: teachers answer through the same signed HTTP path Slack uses, against the stand-in.

`run_slack_leg` starts the Slack stand-in and the app on loopback, on the demo's own database and its open term:
four teachers who joined after the roster came in are added and asked to opt in by DM; they answer with clicks
and a typed word, fill in their profiles in modals (one of them typing a wrong time first), a principal approves
the new mentor, and the admin checks the term with /mentoring status. It returns the lines to print.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import uvicorn

from bot.doubles.slack import SlackDriver, SlackStandIn
from bot.importer import import_roster
from bot.notify import invite_to_term
from bot.settings import Settings
from bot.slack.blocks import block_id_for
from storage import db, repo
from storage.db import session_scope
ADMIN = ("UDEMOADMIN", "Ada Admin", "ada.admin@district.example")
PRINCIPAL = ("UDEMOPRIN1", "Priya Principal", "priya.principal@district.example")
TEACHERS = (
    # slack id, name, email, role, grade band, subject, strengths, needs, availability
    ("UDEMOROSA1", "Rosa Alvarez", "rosa.alvarez@district.example", "mentor", "6-8", "math", ["SEL", "assessment"], [], "Tue 15:30-16:30\nThu 15:30-16:30"),
    ("UDEMOSAM01", "Sam Okafor", "sam.okafor@district.example", "mentee", "6-8", "math", [], ["SEL"], "Tue 15:30-16:30"),
    ("UDEMOLEE01", "Lee Nguyen", "lee.nguyen@district.example", "mentee", "6-8", "science", [], ["assessment"], "Thu 15:30-16:30"),
)
ROSTER_HEADER = "email,name,role,slack_user_id,site,grade_bands,subjects,capacity,principal_email"


async def _until(check: Callable[[], Any], *, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise TimeoutError("the Slack leg of the demo waited too long for the app")
        await asyncio.sleep(0.05)
    return result


@contextlib.asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[str]:
    # Here, not at the top: bot.web mounts bot.slack's routes, and this keeps the two rooms from importing each other
    # at module level. A debt: the demo legs belong in the demo's layer (docs/architecture.md, debt 5).
    from bot.web.app import create_app, loopback_socket

    sock = loopback_socket()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await _until(lambda: server.started or task.done())
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def _roster(path: Path) -> Path:
    rows = [ROSTER_HEADER, f"{PRINCIPAL[2]},{PRINCIPAL[1]},mentor,{PRINCIPAL[0]},Roosevelt Middle,6-8,math,0,"]
    for slack_id, name, email, role, band, subject, *_ in TEACHERS:
        capacity = "2" if role == "mentor" else ""
        rows.append(f"{email},{name},{role},{slack_id},{'Roosevelt Middle' if role == 'mentor' else 'Mountain View Middle'},{band},{subject},{capacity},{PRINCIPAL[2]}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_slack_leg(settings: Settings, *, database_url: str, program_name: str, term_id: int, now: datetime | None = None) -> list[str]:
    """Play the Slack leg on the demo's database (`database_url`) and its open term, and return what happened.

    Mail the app sends meanwhile goes to the sink in ``settings.data_dir / "mail"``, like the rest of the demo's.
    """
    return asyncio.run(_leg(settings, database_url=database_url, program_name=program_name, term_id=term_id, now=now or datetime.now(timezone.utc)))


async def _leg(base: Settings, *, database_url: str, program_name: str, term_id: int, now: datetime) -> list[str]:
    folder = base.data_dir / "slack"
    folder.mkdir(parents=True, exist_ok=True)
    engine = db.create_db_engine(database_url)
    # The four joined after the district's roster came in: added to it, then asked like everyone the term asks.
    import_roster(engine, _roster(folder / "late-joiners.csv"), program_name=program_name, default_timezone=base.default_timezone, now=now)
    asked = invite_to_term(engine, term_id=term_id, now=now)
    with session_scope(engine) as session:
        # Everyone on the roster with a Slack ID is a member of the stand-in's workspace, so every DM the app sends lands.
        members = [(p.slack_user_id, p.name, p.email) for p in repo.list_people(session) if p.slack_user_id]
    engine.dispose()
    lines: list[str] = [f"{asked} teachers who joined after the roster are added and asked by Slack DM."]
    secret = secrets.token_hex(16)
    async with SlackStandIn() as standin:
        for slack_id, name, email in members:
            standin.add_user(slack_id, name, email=email)
        standin.add_user(ADMIN[0], ADMIN[1], email=ADMIN[2])
        settings = base.model_copy(update={
            "database_url": database_url, "program_name": program_name, "slack_bot_token": standin.bot_token,
            "slack_signing_secret": secret, "slack_app_token": None, "slack_api_url": standin.api_url, "slack_admin_ids": [ADMIN[0]],
            "outbox_seconds": 0.2, "require_principal_approval": True, "smtp_host": None, "imap_host": None,
        })  # fmt: skip
        async with _serving(settings) as url:
            slack = SlackDriver(standin, app_url=url, signing_secret=secret)
            await _play(slack, standin, now, lines)
    lines.append(f"{len(standin.calls)} Slack API calls, all to the stand-in; every request in was signed.")
    return lines


async def _answer(slack: SlackDriver, standin: SlackStandIn, user: str, command: str) -> list[dict[str, Any]]:
    response, url = await slack.command(user, command)
    assert response.status_code == 200
    return await _until(lambda: standin.responses_to(url))


async def _play(slack: SlackDriver, standin: SlackStandIn, now: datetime, lines: list[str]) -> None:
    for slack_id, name, *_ in (PRINCIPAL, *TEACHERS):
        await _until(lambda slack_id=slack_id: standin.dms(slack_id))

    await slack.click(PRINCIPAL[0], "Not this term")
    rosa, sam, lee = TEACHERS
    await slack.click(rosa[0], "Mentor")
    await _until(lambda: "How many mentees" in json.dumps(standin.dms(rosa[0])))
    await slack.click(rosa[0], "2")
    await slack.click(sam[0], "Mentee")
    await slack.say(lee[0], "mentee")
    await _until(lambda: "Got it" in json.dumps(standin.dms(lee[0])))
    lines.append(f"Clicks: {PRINCIPAL[1]} \"Not this term\", {rosa[1]} Mentor (2), {sam[1]} Mentee.")
    lines.append(f"{lee[1]} typed \"mentee\" in the DM instead of clicking.")

    completed: list[str] = []
    for slack_id, name, _email, role, band, subject, strengths, needs, availability in TEACHERS:
        await _until(lambda slack_id=slack_id: "Start my profile" in json.dumps(standin.dms(slack_id)))
        await slack.click(slack_id, "Start my profile")
        await _until(lambda slack_id=slack_id: standin.open_view_of(slack_id))
        known = {"grade_bands": [band], "subjects": [subject], "strengths": strengths, "needs": needs, "availability": availability, "match_weights": ["subject", "schedule"]}
        wrong_first = slack_id == sam[0]  # Sam types a time the parser can't read, and sees the inline error
        pages = 0
        while True:
            view = standin.open_view_of(slack_id)
            keys = [b["block_id"].removeprefix("q:") for b in view["blocks"] if b["type"] == "input" and not b["block_id"].endswith("::other")]
            if wrong_first and "availability" in keys:
                answer = await slack.submit(slack_id, {block_id_for(k): {**known, "availability": "Tuesday-ish"}.get(k) for k in keys})
                lines.append(f"{name} typed \"Tuesday-ish\"; the modal said: {next(iter(answer['errors'].values())).split(';')[0]}")
                wrong_first = False
            answer = await slack.submit(slack_id, {block_id_for(k): known.get(k) for k in keys})
            pages += 1
            if answer.get("response_action") != "update" or "profile is complete" in json.dumps(answer["view"]):
                break
        completed.append(f"{name.split()[0]} in {pages}")

    lines.append(f"Profiles completed in modal pages: {', '.join(completed)}.")
    ask = await _until(lambda: next((m for m in standin.dms(PRINCIPAL[0]) if rosa[1] in json.dumps(m)), None))
    await slack.click(PRINCIPAL[0], "Approve", message=ask)
    await _until(lambda: next((m for m in standin.dms(rosa[0]) if "confirmed you as a mentor" in m["text"]), None))  # the mentor is told
    lines.append(f"{PRINCIPAL[1]} clicked Approve, and {rosa[1]} was told so in Slack.")

    status = await _answer(slack, standin, ADMIN[0], "status")
    shown = json.dumps(status, ensure_ascii=False)
    invited = re.search(r"(\d+) invited: (\d+) in", shown)
    lines.append(f"{ADMIN[1]}: /mentoring status \u2192 {invited.group(1)} invited, {invited.group(2)} in: the demo's one term.")
