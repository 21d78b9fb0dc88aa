"""/mentoring for admins: term, rounds (new, preview, publish), status, pool, nudge, export, program settings;
refusals for everyone else and usage help for wrong arguments."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from slack_bolt.context.respond.async_respond import AsyncRespond
from sqlmodel import select

from bot.rounds import service
from bot.slack import admin
from bot.slack import blocks as bk
from storage import repo
from storage.db import session_scope
from storage.models import OutboxMessage, Program, ScheduledAction
from tests.slack_helpers import ADMIN, PROGRAM, slack_harness, wait_for


async def _run(h, user: str, text: str, count: int = 1) -> str:
    response, url = await h.driver.command(user, text)
    assert response.status_code == 200 and response.text == ""  # acknowledged at once; the answer follows by response_url
    return json.dumps(await h.responses(url, count), ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("round new micro --sessions 5", "invalid choice: 5"),
        ("round new speed --rotations 6", "the following arguments are required: --minutes, --at"),
        ('term open "Spring 2027', "a quote is not closed"),
        ("term open Spring --opt-in-by soon", "'soon' is not a date"),
        ("round preview", "the following arguments are required: round_id"),
        ("launch rockets", "invalid choice: 'launch'"),
    ],
)
def test_wrong_arguments_get_usage_not_a_traceback(text: str, complaint: str) -> None:
    with pytest.raises(admin.UsageError) as caught:
        admin.parse(text)
    assert complaint in caught.value.message
    assert caught.value.usage.startswith("usage: /mentoring")
    shown = json.dumps(admin.usage_blocks(caught.value, admin=True))
    assert "Traceback" not in shown and "usage: /mentoring" in shown


def test_parsing_reads_quotes_as_slack_clients_type_them() -> None:
    parsed = admin.parse("round publish 3 --message \u201cThanks, mentors!\u201d")
    assert (parsed.name, parsed.args.round_id, parsed.args.message) == ("round", 3, "Thanks, mentors!")
    assert admin.parse("").name == "help"
    with pytest.raises(admin.UsageError) as caught:
        admin.parse("round new micro --help")
    assert "--match-on" in caught.value.usage


async def test_an_admin_opens_a_term_creates_previews_and_publishes_a_round(tmp_path: Path, database_url: str) -> None:
    async with slack_harness(tmp_path, database_url) as h:
        opened = await _run(h, ADMIN, "term open \u201cSpring 2027\u201d --opt-in-by 2027-01-22")
        assert "Opened *Spring 2027*, opt-in by 2027-01-22" in opened
        service.enroll_from_roster(h.engine, program_name=PROGRAM, term_name=None, require_approval=False, now=datetime.now(timezone.utc))

        created = await _run(h, ADMIN, 'round new micro --topic "SEL" --sessions 2 --start 2027-02-01 --match-on 2027-01-25')
        assert "Created round *1*: micro-mentoring on *SEL*, 2 session(s), starting 2027-02-01" in created
        with session_scope(h.engine) as session:
            match = session.exec(select(ScheduledAction).where(ScheduledAction.round_id == 1)).one()
        assert match.kind == "round.match"
        speed = await _run(h, ADMIN, 'round new speed --rotations 6 --minutes 10 --at "2027-02-03 15:30"')
        assert "speed mentoring on Wed Feb 3 at 15:30" in speed and "6 rotations of 10 minutes" in speed
        with session_scope(h.engine) as session:
            assert repo.get_round(session, round_id=2).settings["starts_at"] == "2027-02-03T15:30:00-08:00"

        preview = await _run(h, ADMIN, "round preview 1")
        assert "Matched *2 of 3* mentees" in preview and "Pool health" in preview
        assert "1 mentor ready with room for 2 mentees; 3 mentees" in preview and "more mentees than places" in preview
        assert "a round now would match 2 of 3 mentees" in preview
        assert "*Ana Chen* \u2192" in preview and "Not matched, and why" in preview
        assert "Nothing has been sent" in preview
        with session_scope(h.engine) as session:
            assert not session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing")).all()

        published = await _run(h, ADMIN, 'round publish 1 --message "Thank you for mentoring!"')
        assert "Round *1* is published: 2 pairs" in published
        listing = await _run(h, ADMIN, "round list")
        assert "*1*: 2-session micro on SEL, published" in listing and "*2*: 6\u00d710 min speed" in listing
        speed_preview = await _run(h, ADMIN, "round preview 2")
        assert "paired by rotation" in speed_preview


async def test_status_pool_nudge_export_and_program_settings(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        assert "No term is open" in await _run(h, ADMIN, "status")
        await _run(h, ADMIN, 'term open "Spring 2027"')
        status = await _run(h, ADMIN, "status")
        assert "5 invited: 0 in, 0 out, 5 not answered yet" in status
        pool = await _run(h, ADMIN, "pool")
        assert "0 mentors ready with room for 0 mentees; 0 mentees" in pool and "5 invited without an answer yet" in pool
        nudged = await _run(h, ADMIN, "nudge")
        assert "Nudged 5 people about opting in" in nudged
        with session_scope(h.engine) as session:
            reminders = [m for m in session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "prompt.opt_in")) if "nudge" in m.idempotency_key]
        assert len(reminders) == 5
        exported = await _run(h, ADMIN, "export")
        assert "name,email,role,capacity,status,approval,site" in exported and "ana@d.example" in exported

        shown = await _run(h, ADMIN, "program show")
        assert "require_approval: on" in shown and "max_capacity: 3" in shown
        await _run(h, ADMIN, "program set max_capacity 2")
        await _run(h, ADMIN, 'program set topics "SEL; co-teaching; newcomer support"')
        refused = await _run(h, ADMIN, "program set max_capacity lots")
        assert "whole number from 1 to 10" in refused
        with session_scope(h.engine) as session:
            settings = session.exec(select(Program).where(Program.name == PROGRAM)).one().settings
        assert settings["max_capacity"] == 2 and settings["topics"] == ["SEL", "co-teaching", "newcomer support"]
        # The opt-in now offers at most 2 mentees.
        await h.driver.click("UANA00001", "Mentor")
        asked = await h.dm_with("UANA00001", "How many mentees")
        buttons = [e["text"]["text"] for b in asked["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert buttons == ["1", "2"]


async def test_everyone_else_gets_a_friendly_refusal_and_their_own_options(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        refused = await _run(h, "UBEN00001", 'term open "Spring 2027"')
        assert "Only program admins can run that" in refused and "/mentoring profile" in refused
        helped = await _run(h, "UBEN00001", "help")
        assert "/mentoring me" in helped and "round new" not in helped
        wrong = await _run(h, ADMIN, "round new micro --sessions 9")
        assert "invalid choice: 9" in wrong and "usage: /mentoring round new micro" in wrong
        with session_scope(h.engine) as session:
            assert session.exec(select(Program)).all()[0].name == PROGRAM  # the roster's; no term was opened
        # A workspace admin who is not in SLACK_ADMIN_IDS is recognised through users.info.
        h.standin.users["UCY000001"]["is_admin"] = True
        assert "Opened *Spring 2027*" in await _run(h, "UCY000001", 'term open "Spring 2027"')
        assert h.standin.calls_to("users.info")
        me = await _run(h, "UBEN00001", "me")
        assert "you haven't answered the opt-in yet" in me


async def test_a_long_answer_is_split_into_messages_slack_accepts(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        channel = h.app.state.slack
        lines = [f"pair {n}: " + "a good reason " * 12 for n in range(400)]
        blocks = bk.bullet_sections("*Pairs*", lines) + [bk.section(f"note {n}") for n in range(230)]
        assert len(blocks) > 5 * bk.MESSAGE_BLOCKS
        url = h.standin.new_response_url()
        await channel.reply(AsyncRespond(response_url=url), ADMIN, blocks)
        posted = h.standin.responses_to(url)
        assert len(posted) == 4 and all(len(p["blocks"]) <= 50 for p in posted)  # response_url allows five uses
        rest = await wait_for(lambda: h.standin.dms(ADMIN), what="the rest by DM")
        assert sum(len(p["blocks"]) for p in posted) + sum(len(m["blocks"]) for m in rest) == len(blocks)
        assert not [c for c in h.standin.calls if not c.ok]
