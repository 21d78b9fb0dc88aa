"""The three front ends agree: the same term run from the CLI, from `/mentoring` and from the admin pages, each on a
database of its own with the same roster and the same clock, leaves the same records, queues the same messages
and exports the same pairings.

Each front end is driven the way its users drive it: the CLI in-process through typer, `/mentoring` by signed
requests from the Slack stand-in into the served app, the admin pages by HTTP form posts with a signed-in session.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

from bot.doubles.slack import SlackDriver, SlackStandIn
from bot.importer import import_roster
from bot.settings import Settings
from bot.web.app import create_app
from storage import db
from storage.db import session_scope
from storage.models import Enrollment, OutboxMessage, Pairing, Person, Round, ScheduledAction, Term
from tests.adminkit import serve_app, sign_in_with_link
from tests.test_cli import run as run_cli

PROGRAM = "Riverside Mentoring"
ADMIN = "UADMIN777"
SECRET = "parity-signing-secret-0123456789abcdef"
NOW = datetime(2027, 1, 11, 16, 0, tzinfo=timezone.utc)
HEADER = "email,name,role,slack_user_id,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity,principal_email,avoid"
ROSTER = (
    "Ana.Chen@Riverside.example,Ana Chén,mentor,UANA00777,Lincoln Middle,6-8,math,classroom management;SEL,,Tue 15:00-16:30;Thu 15:00-16:00,America/Los_Angeles,2,pat@riverside.example,",
    "omar@riverside.example,Omar Khan,mentor,,Garfield High,9-12,science,assessment;classroom management,,Wed 15:00-16:00,America/Los_Angeles,1,pat@riverside.example,",
    "lu@riverside.example,Lu Wei,mentor,ULU000777,Garfield High,6-8;9-12,math;science,classroom management,,Mon 15:30-16:30,America/Los_Angeles,1,,",
    "ben@riverside.example,Ben O'Neil,mentee,UBEN00777,Garfield High,6-8,math,,classroom management,Tue 15:30-16:30,America/Los_Angeles,,,",
    "cai@riverside.example,Cai Li,mentee,,Lincoln Middle,9-12,science,,classroom management;assessment,Wed 15:00-15:45,America/Los_Angeles,,,",
    "dee@riverside.example,Dee Ray-Núñez,mentee,UDEE00777,Lincoln Middle,6-8,math,,classroom management,Mon 15:30-16:30,America/Los_Angeles,,,",
    "eve@riverside.example,=Eve Formula,mentee,,Lincoln Middle,K-2,arts,,classroom management,Fri 15:00-16:00,America/Los_Angeles,,,",
)
ROUND_ONE = {"topic": "classroom management", "sessions": "2", "start": "2027-02-01", "match_on": "2027-01-25"}
WELCOME = "Thank you for mentoring this spring!"


def _settings(tmp_path: Path, database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data", "database_url": database_url, "program_name": PROGRAM, "require_principal_approval": True,
        "scheduler_enabled": False, "admin_secret": "parity-admin-secret-" + "x" * 20, "public_base_url": "http://mentorbot.test",
    }  # fmt: skip
    values.update(extra)
    return Settings(_env_file=None, **values)


def _fresh_database(tmp_path: Path, name: str) -> str:
    folder = tmp_path / name
    folder.mkdir()
    url = f"sqlite:///{folder / 'mentorbot.db'}"
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    roster = folder / "roster.csv"
    roster.write_text("\n".join([HEADER, *ROSTER]) + "\n", encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=NOW)
    engine.dispose()
    return url


# --- the term, through each front end -------------------------------------------------------------------


def through_the_cli(tmp_path: Path, url: str) -> list[list[str]]:
    folder = tmp_path / "cli"
    at = ["--now", NOW.strftime("%Y-%m-%dT%H:%M:%S")]

    def cli(*args: str) -> str:
        ran = run_cli(folder, *at, *args, database_url=url, extra_env={"PROGRAM_NAME": PROGRAM, "REQUIRE_PRINCIPAL_APPROVAL": "true"})
        assert ran.returncode == 0, ran.stdout + ran.stderr
        return ran.stdout

    cli("term", "open", "Spring 2027", "--enroll-roster")
    cli("term", "approve", "--all-pending")
    cli("term", "nudge")
    cli("round", "new", "micro", "--topic", ROUND_ONE["topic"], "--sessions", ROUND_ONE["sessions"], "--start", ROUND_ONE["start"], "--match-on", ROUND_ONE["match_on"])
    cli("round", "new", "micro", "--topic", "assessment")
    cli("round", "cancel", "2")
    cli("round", "open", "1")
    cli("round", "match", "1")
    cli("round", "publish", "1", "--message", WELCOME)
    out = folder / "pairings.csv"
    cli("export", "pairings", "1", "--out", str(out))
    return _rows(out.read_text(encoding="utf-8-sig"))


async def through_slack(tmp_path: Path, url: str) -> list[list[str]]:
    async with SlackStandIn() as standin:
        standin.add_user(ADMIN, "Ada Admin", email="ada@riverside.example")
        settings = _settings(
            tmp_path / "slack", url, slack_bot_token=standin.bot_token, slack_signing_secret=SECRET, slack_api_url=standin.api_url,
            slack_admin_ids=[ADMIN],
        )  # fmt: skip
        app = create_app(settings, clock=lambda: NOW, senders={})
        async with serve_app(app) as base:
            driver = SlackDriver(standin, app_url=base, signing_secret=SECRET)

            async def mentoring(text: str) -> str:
                response, response_url = await driver.command(ADMIN, text)
                assert response.status_code == 200, response.text
                answers = await _eventually(lambda: standin.responses_to(response_url))
                shown = "\n".join(_texts(answer) for answer in answers)
                assert ":warning:" not in shown and "Something went wrong" not in shown, shown
                return shown

            await mentoring('term open "Spring 2027" --enroll-roster')
            await mentoring("term approve --all-pending")
            await mentoring("nudge")
            await mentoring(f'round new micro --topic "{ROUND_ONE["topic"]}" --sessions {ROUND_ONE["sessions"]} --start {ROUND_ONE["start"]} --match-on {ROUND_ONE["match_on"]}')
            await mentoring('round new micro --topic "assessment"')
            await mentoring("round cancel 2")
            await mentoring("round open 1")
            await mentoring("round preview 1")
            await mentoring(f'round publish 1 --message "{WELCOME}"')
            exported = await mentoring("export 1")
    return _rows("\n".join(block.strip("`\n") for block in re.findall(r"```(.*?)```", exported, re.S)))


async def through_the_admin_pages(tmp_path: Path, url: str) -> list[list[str]]:
    settings = _settings(tmp_path / "web", url)
    app = create_app(settings, clock=lambda: NOW, senders={})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        csrf = await sign_in_with_link(client, settings, NOW)

        async def post(path: str, **form: str) -> None:
            answer = await client.post(path, data={"csrf_token": csrf, **form})
            assert answer.status_code == 303, answer.text

        await post("/admin/terms", name="Spring 2027", join="roster")
        await post("/admin/people/approve-all")
        await post("/admin/people/nudge")
        await post("/admin/rounds", kind="micro", topic=ROUND_ONE["topic"], sessions=ROUND_ONE["sessions"], start_on=ROUND_ONE["start"], match_on=ROUND_ONE["match_on"])
        await post("/admin/rounds", kind="micro", topic="assessment")
        await post("/admin/rounds/2/cancel", confirm="yes")
        await post("/admin/rounds/1/move", target="collecting")
        await post("/admin/rounds/1/match")
        await post("/admin/rounds/1/publish", message=WELCOME)
        exported = await client.get("/admin/exports/pairings.csv?round=1")
        assert exported.status_code == 200
    return _rows(exported.content.decode("utf-8-sig"))


# --- what each left behind ------------------------------------------------------------------------------------


def records(url: str) -> dict[str, Any]:
    """What a run left in its database, without ids, timestamps or who clicked (those differ by front end)."""
    engine = db.create_db_engine(url)
    try:
        with session_scope(engine) as session:
            email = {p.id: p.email for p in session.exec(select(Person))}
            rounds = session.exec(select(Round).order_by(Round.id)).all()
            return {
                "terms": [(t.name, t.status) for t in session.exec(select(Term))],
                "enrollments": sorted((email[e.person_id], e.role, e.status, e.approval, e.capacity) for e in session.exec(select(Enrollment))),
                "rounds": [
                    (r.kind, r.status, r.topic, r.sessions, r.start_on, r.match_on, (r.settings or {}).get("message"), "cancelled_at" in (r.settings or {}))
                    for r in rounds
                ],
                "summaries": [{k: v for k, v in (r.match_summary or {}).items() if k not in ("ran_at", "seconds", "solve_seconds", "edits")} for r in rounds],
                "pairings": sorted((p.round_id, email[p.mentor_id], email[p.mentee_id], p.status, round(p.score, 3), tuple(p.reasons)) for p in session.exec(select(Pairing))),
                "messages": Counter((m.channel, m.purpose, m.recipient) for m in session.exec(select(OutboxMessage))),
                # A one-time sign-in link is kept as a used action: a record of signing in, not of the term.
                "scheduled": Counter((a.kind, a.status, a.round_id, a.due_at) for a in session.exec(select(ScheduledAction)) if a.kind != "admin.link"),
            }
    finally:
        engine.dispose()


async def test_the_cli_slack_and_the_admin_pages_run_a_term_alike(tmp_path: Path) -> None:
    urls = {name: _fresh_database(tmp_path, name) for name in ("cli", "slack", "web")}
    exports = {
        "cli": through_the_cli(tmp_path, urls["cli"]),
        "slack": await through_slack(tmp_path, urls["slack"]),
        "web": await through_the_admin_pages(tmp_path, urls["web"]),
    }
    left = {name: records(url) for name, url in urls.items()}
    # The run did something worth comparing: pairs published with their notices, a cancelled round, mentors approved.
    cli = left["cli"]
    assert [r[1] for r in cli["rounds"]] == ["published", "closed"] and cli["rounds"][1][-1] is True
    assert cli["pairings"] and all(status == "published" for _r, _m, _e, status, *_ in cli["pairings"])
    assert any(purpose == "approval.decided" for (_c, purpose, _r) in cli["messages"])
    assert any(purpose == "prompt.profile" for (_c, purpose, _r) in cli["messages"])  # the nudge
    assert {approval for *_, approval, _cap in cli["enrollments"] if approval != "not_required"} == {"approved"}
    for name in ("slack", "web"):
        for part in cli:
            assert left[name][part] == cli[part], f"{name} differs from the CLI in {part}"
    # One export, the same columns and rows everywhere, and a teacher's "=..." never a formula.
    assert exports["cli"] == exports["slack"] == exports["web"]
    assert exports["cli"][0][:3] == ["round", "mentor_name", "mentor_email"]
    assert not any(cell.startswith("=") for row in exports["cli"][1:] for cell in row)


def _rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text.strip())) if row]


def _texts(answer: dict[str, Any]) -> str:
    parts = [answer.get("text") or ""]
    for block in answer.get("blocks") or ():
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text.get("text", ""))
        for element in block.get("elements") or ():
            if isinstance(element, dict) and isinstance(element.get("text"), str):
                parts.append(element["text"])
    return "\n".join(parts)


async def _eventually(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("no answer came")
        await asyncio.sleep(0.05)

