"""The demo's Slack leg: teachers answer through the same signed HTTP path Slack uses, against the stand-in.

`run_slack_leg` starts the Slack stand-in and the app on loopback with a fresh database, then plays an admin
opening a term with /mentoring, teachers opting in from their DMs and filling in their profiles in modals (one
of them typing a wrong time first), a principal approving a mentor, and the admin previewing and publishing a
round. It returns the lines to print.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import uvicorn

from bot.doubles.slack import SlackDriver, SlackStandIn
from bot.importer import import_roster
from bot.settings import Settings
from bot.slack.blocks import block_id_for
from storage import db

PROGRAM = "Slack Demo Mentoring"
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
    rows = [ROSTER_HEADER, f"{PRINCIPAL[2]},{PRINCIPAL[1]},mentor,{PRINCIPAL[0]},Lincoln Middle,6-8,math,0,"]
    for slack_id, name, email, role, band, subject, *_ in TEACHERS:
        capacity = "2" if role == "mentor" else ""
        rows.append(f"{email},{name},{role},{slack_id},{'Lincoln Middle' if role == 'mentor' else 'Garfield Middle'},{band},{subject},{capacity},{PRINCIPAL[2]}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_slack_leg(settings: Settings, *, now: datetime | None = None, folder: Path | None = None) -> list[str]:
    """Play the Slack leg on a fresh database in `folder` (default DATA_DIR/demo/slack) and return what happened."""
    return asyncio.run(_leg(settings, now=now or datetime.now(timezone.utc), folder=folder or settings.data_dir / "demo" / "slack"))


async def _leg(base: Settings, *, now: datetime, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("slack.db*"):
        leftover.unlink()
    database_url = f"sqlite:///{(folder / 'slack.db').as_posix()}"
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    import_roster(engine, _roster(folder / "roster.csv"), program_name=PROGRAM, default_timezone=base.default_timezone, now=now)
    engine.dispose()
    lines: list[str] = []
    secret = secrets.token_hex(16)
    async with SlackStandIn() as standin:
        for slack_id, name, email, *_ in (ADMIN, PRINCIPAL, *TEACHERS):
            standin.add_user(slack_id, name, email=email)
        settings = base.model_copy(update={
            "data_dir": folder, "database_url": database_url, "program_name": PROGRAM, "slack_bot_token": standin.bot_token,
            "slack_signing_secret": secret, "slack_app_token": None, "slack_api_url": standin.api_url, "slack_admin_ids": [ADMIN[0]],
            "outbox_seconds": 0.2, "require_principal_approval": True,
        })  # fmt: skip
        async with _serving(settings) as url:
            slack = SlackDriver(standin, app_url=url, signing_secret=secret)
            await _play(slack, standin, now, lines)
    lines.append(f"Slack Web API calls the bot made: {len(standin.calls)} (all to the stand-in; every request into the app was signed).")
    return lines


async def _answer(slack: SlackDriver, standin: SlackStandIn, user: str, command: str) -> list[dict[str, Any]]:
    response, url = await slack.command(user, command)
    assert response.status_code == 200
    return await _until(lambda: standin.responses_to(url))


def _first_text(responses: list[dict[str, Any]]) -> str:
    text = responses[0]["blocks"][0]["text"]["text"]
    return text.replace("*", "").replace(":white_check_mark: ", "")


async def _play(slack: SlackDriver, standin: SlackStandIn, now: datetime, lines: list[str]) -> None:
    opt_in_by = (now + timedelta(days=14)).date()
    term = f"Spring {now.year + 1}" if now.month >= 8 else f"Fall {now.year}"
    reply = await _answer(slack, standin, ADMIN[0], f'term open "{term}" --opt-in-by {opt_in_by}')
    lines.append(f"{ADMIN[1]}: /mentoring term open \u2192 {_first_text(reply)}")
    for slack_id, name, *_ in (PRINCIPAL, *TEACHERS):
        await _until(lambda slack_id=slack_id: standin.dms(slack_id))
    lines.append(f"Opt-in DMs reached {len(TEACHERS) + 1} people in Slack.")

    await slack.click(PRINCIPAL[0], "Not this term")
    lines.append(f"{PRINCIPAL[1]} clicked \"Not this term\".")
    rosa, sam, lee = TEACHERS
    await slack.click(rosa[0], "Mentor")
    await _until(lambda: "How many mentees" in json.dumps(standin.dms(rosa[0])))
    await slack.click(rosa[0], "2")
    lines.append(f"{rosa[1]} clicked Mentor, then 2 mentees; her principal is asked to confirm.")
    await slack.click(sam[0], "Mentee")
    lines.append(f"{sam[1]} clicked Mentee.")
    await slack.say(lee[0], "mentee")
    await _until(lambda: "Got it" in json.dumps(standin.dms(lee[0])))
    lines.append(f"{lee[1]} typed \"mentee\" in the DM instead of clicking.")

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
                lines.append(f"{name} typed \"Tuesday-ish\"; the modal answered inline: {next(iter(answer['errors'].values()))}")
                wrong_first = False
            answer = await slack.submit(slack_id, {block_id_for(k): known.get(k) for k in keys})
            pages += 1
            if answer.get("response_action") != "update" or "profile is complete" in json.dumps(answer["view"]):
                break
        lines.append(f"{name} completed the profile in {pages} modal pages (signed view_submission requests).")

    ask = await _until(lambda: next((m for m in standin.dms(PRINCIPAL[0]) if rosa[1] in json.dumps(m)), None))
    await slack.click(PRINCIPAL[0], "Approve", message=ask)
    told = await _until(lambda: next((m for m in standin.dms(rosa[0]) if "confirmed you as a mentor" in m["text"]), None))
    lines.append(f"{PRINCIPAL[1]} clicked Approve; {rosa[1]} was told: \"{told['text']}\"")

    start = now.date() + timedelta(days=21)
    reply = await _answer(slack, standin, ADMIN[0], f'round new micro --topic "SEL" --sessions 2 --start {start} --match-on {start - timedelta(days=7)}')
    lines.append(f"{ADMIN[1]}: /mentoring round new \u2192 {_first_text(reply).splitlines()[0]}")
    round_id = re.search(r"round (\d+)", _first_text(reply)).group(1)
    preview = await _answer(slack, standin, ADMIN[0], f"round preview {round_id}")
    shown = json.dumps(preview, ensure_ascii=False)
    matched = shown.split("Matched *")[1].split("*")[0] if "Matched *" in shown else "?"
    lines.append(f"{ADMIN[1]}: /mentoring round preview {round_id} \u2192 matched {matched} mentees, with reasons and pool health; nothing sent yet.")
    reply = await _answer(slack, standin, ADMIN[0], f'round publish {round_id} --message "Welcome to the spring round!"')
    lines.append(f"{ADMIN[1]}: /mentoring round publish {round_id} \u2192 {_first_text(reply).split('.')[0]}.")
