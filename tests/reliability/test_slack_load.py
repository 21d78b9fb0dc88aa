"""Slack load against a real `mentorbot serve` on PostgreSQL: every request is answered 200 and acknowledged in time.

The quick run sends 30 requests a second for 2 seconds, the full run for 60 seconds;
`bench/reliability/slack_load.py` is the measurement at 200 a second for 60 seconds whose p50 and p99 go in
docs/RELIABILITY.md.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import httpx

from bench.reliability._slack_traffic import (
    StandInProcess, Teacher, click_request, dm_request, mixed_requests, prepare_database, run_load, sign, start_server, submit_request, teachers,
)  # fmt: skip
from bot import dialogs
from bot.rounds import service
from tests.slack_helpers import PROGRAM, SECRET, slack_harness

SLACK_ACK_LIMIT_MS = 3000  # Slack shows the person an error when an ack takes longer
DM_ANSWERS = ("*I'm mentorbot",)  # what "help"/"hi" are answered with
# What "status" is answered with: the whole answer as its text, "<term>, <name>: you …" (the stand-in keeps 40 characters).
STATUS_ANSWER = re.compile(r"^[^,]+, [^:]+: you")


def dm_answers(report: dict) -> int:
    """How many of the stand-in's DMs answer a typed message."""
    return sum(count for text, count in report["texts"].items() if text.startswith(DM_ANSWERS) or STATUS_ANSWER.match(text))


def test_mixed_slack_traffic_is_all_acknowledged_and_answered_once(postgres_url: str, tmp_path: Path, scale, record_figure) -> None:
    rate, seconds = scale.pick(30, 30), scale.pick(2, 60)
    people = teachers()
    prepared = prepare_database(postgres_url, tmp_path, people)
    with StandInProcess(people) as standin:
        server = start_server(postgres_url, standin, tmp_path, "serve")
        try:
            requests = mixed_requests(rate * seconds, people, prepared["opt_in_context"], standin.url)
            result = asyncio.run(run_load([server.url], requests, rate=rate))
            dms = sum(1 for r in requests if r.kind == "dm")
            commands = sum(1 for r in requests if r.kind == "command")
            # The work after each ack goes on; wait for it to reach the stand-in, then for stragglers.
            standin.wait_until(lambda r: dm_answers(r) >= dms and r["responses"] >= commands, timeout=60)
            report = standin.wait_until(lambda r: False, timeout=1.0)
        finally:
            server.stop()
    summary = result.summary()
    assert not result.errors, result.errors[:5]
    assert result.percentile(100) < SLACK_ACK_LIMIT_MS, summary
    assert report["responses"] == commands  # every command answered by its response_url, once
    assert dm_answers(report) == dms, (dms, report["texts"])  # every DM answered exactly once
    assert not [call for call in report["calls"] if not call.endswith(":ok")], report["calls"]  # no Web API call refused
    record_figure(
        "Slack load (test)", tried=f"{rate}/s for {seconds} s of signed DMs, clicks, submissions, commands on PostgreSQL",
        count=len(requests), held=f"{len(result.errors)} errors; p99 {summary['p99_ms']} ms", **summary,
    )  # fmt: skip


async def test_one_persons_first_answers_arriving_at_once_are_all_taken(tmp_path: Path, database_url: str, scale) -> None:
    """Found under load: two first answers to one dialog at once both created its row, and the loser got a 500."""
    people = [Teacher(f"URACE{n:04d}", f"Race Teacher{n:03d}", f"race{n:03d}@d.example", "mentee") for n in range(scale.pick(8, 16))]
    roster = tuple(f"{t.email},{t.name},mentee,{t.slack_id},Lincoln,6-8,math,,SEL,Tue 15:30-16:30,,,America/Los_Angeles" for t in people)
    async with slack_harness(tmp_path, database_url, roster=roster) as h:
        for t in people:
            h.standin.add_user(t.slack_id, t.name, email=t.email)
        term = service.open_term(h.engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=datetime.now(timezone.utc))
        context = dialogs.context_key(flow="opt_in", term_id=term.id)
        async with httpx.AsyncClient(base_url=h.url, timeout=30) as client:

            async def send(request) -> httpx.Response:
                return await client.post("/slack/events", content=request.body, headers={"Content-Type": request.content_type, **sign(request.body, secret=SECRET)})

            # Each person's first answer arrives three times at once: two modal submissions and a click.
            burst = [r for t in people for r in (submit_request(t, context), submit_request(t, context), click_request(t, context))]
            responses = await asyncio.gather(*(send(r) for r in burst))
        assert [r.status_code for r in responses] == [200] * len(burst)
        assert all(r.json()["response_action"] == "update" for r, q in zip(responses, burst) if q.kind == "submit")
        await asyncio.sleep(1.0)
        for t in people:
            assert dialogs.current_state(h.engine, person_id=h.person_id(t.email), flow="opt_in", context=context).answers["role"] == "mentee"
            assert not [m for m in h.standin.dms(t.slack_id) if "something went wrong" in m.get("text", "")]



def test_two_worker_processes_answer_signed_requests_and_one_leads_the_scheduler(postgres_url: str, tmp_path: Path) -> None:
    """HTTP_WORKERS=2: both workers take signed Slack requests, every DM is answered once, one worker holds the lock."""
    people = teachers(12)
    with StandInProcess(people) as standin:
        # Started on an empty schema: it is created once, before the two workers start together.
        server = start_server(postgres_url, standin, tmp_path, "serve", HTTP_WORKERS="2", LEADER_SECONDS="1")
        try:
            prepare_database(postgres_url, tmp_path, people)
            # Both workers take part: fresh connections, many at once, until two processes have answered.
            def healths() -> list[dict]:
                async def many() -> list[dict]:
                    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
                        async def one() -> dict:
                            async with session.get(f"{server.url}/health") as response:
                                return await response.json()

                        return await asyncio.gather(*(one() for _ in range(40)))

                return asyncio.run(many())

            seen: dict[int, bool] = {}
            deadline = time.monotonic() + 30
            while (len(seen) < 2 or sum(seen.values()) != 1) and time.monotonic() < deadline:
                for body in healths():
                    seen[body["process"]] = body["scheduler"]["leader"]
            assert len(seen) == 2, seen  # two worker processes answer
            assert sum(seen.values()) == 1, seen  # exactly one of them leads the scheduler
            requests = [dm_request(t, "help") for t in people for _ in range(3)]
            result = asyncio.run(run_load([server.url], requests, rate=20))
            report = standin.wait_until(lambda r: dm_answers(r) >= len(requests), timeout=60)
            report = standin.wait_until(lambda r: False, timeout=1.0)
        finally:
            server.stop()
    assert not result.errors, result.errors[:5]
    assert dm_answers(report) == len(requests)  # each DM answered exactly once, whichever worker took it
    assert {slack_id: count for slack_id, count in report["dms"].items()} == {t.slack_id: 3 for t in people}


def test_a_principals_home_tab_lists_only_the_mentors_waiting_on_them(engine, tmp_path: Path, now) -> None:
    """The Home tab reads only the mentors waiting on this principal (not the whole term): the list is still exact."""
    from bot.importer import import_roster
    from bot.settings import Settings
    from bot.slack import store

    rows = [
        "email,name,role,slack_user_id,site,grade_bands,subjects,capacity,principal_email,timezone",
        "pat@d.example,Pat Principal,mentee,UPAT00001,Lincoln,6-8,math,,,UTC",
        "zoe@d.example,Zoe Mentor,mentor,UZOE00001,Lincoln,6-8,math,2,Pat@D.example,UTC",
        "ana@d.example,Ana Mentor,mentor,UANA00001,Lincoln,6-8,math,2,pat@d.example,UTC",
        "kim@d.example,Kim Mentor,mentor,UKIM00001,Lincoln,6-8,math,2,pat@d.example,UTC",
        "ole@d.example,Ole Mentor,mentor,UOLE00001,Garfield,6-8,math,2,other@d.example,UTC",
    ]
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="UTC", now=now)
    term = service.open_term(engine, program_name=PROGRAM, timezone="UTC", name="Spring", opt_in_by=None, now=now)
    context = dialogs.context_key(flow="opt_in", term_id=term.id)
    settings = Settings(program_name=PROGRAM, data_dir=tmp_path, require_principal_approval=True)
    people = {slack_id: store.member_for(engine, slack_user_id=slack_id).person_id for slack_id in ("UZOE00001", "UANA00001", "UKIM00001", "UOLE00001")}
    for slack_id in ("UZOE00001", "UANA00001", "UOLE00001"):  # Kim has not opted in: nothing waits on Pat for Kim
        store.apply(engine, settings, person_id=people[slack_id], flow="opt_in", context=context, replies={"role": "mentor", "capacity": "2"}, now=now)
    model = store.home_model(engine, settings, slack_user_id="UPAT00001", now=now)
    assert [name for name, _context in model.pending_approvals] == ["Ana Mentor", "Zoe Mentor"]
    assert model.pending_approvals[0][1] == dialogs.context_key(flow="approval", term_id=term.id, subject_id=people["UANA00001"])
    assert store.home_model(engine, settings, slack_user_id="UOLE00001", now=now).pending_approvals == []
