"""/mentoring for admins: term (open, approve), rounds (new, preview, publish, start, close, cancel), status, pool,
nudge, export, program settings; refusals for everyone else, usage help for wrong arguments, and a bug answered as one."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from slack_bolt.context.respond.async_respond import AsyncRespond
from sqlmodel import select

from bot.programs.store import apply_specs
from bot.programs.yamlfile import parse_programs
from bot.outbox import deliver_due
from bot.rounds import schedule, service
from bot.settings import Settings
from bot.slack import admin
from bot.slack import blocks as bk
from bot.slack.sender import SlackSender
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
        assert "Created round *1*: 2-session micro-mentoring on SEL, starting 2027-02-01" in created
        with session_scope(h.engine) as session:
            match = session.exec(select(ScheduledAction).where(ScheduledAction.round_id == 1)).one()
        assert match.kind == "round.match"
        speed = await _run(h, ADMIN, 'round new speed --rotations 6 --minutes 10 --at "2027-02-03 15:30"')
        assert "speed mentoring on Wed Feb 3 at 15:30" in speed and "6 rotations of 10 minutes" in speed
        with session_scope(h.engine) as session:
            assert repo.get_round(session, round_id=2).settings["starts_at"] == "2027-02-03T15:30:00-08:00"

        preview = await _run(h, ADMIN, "round preview 1")
        lead = ("Matched 2 of 3 mentees, using 2 of 2 seats of 1 mentor; 1 unmatched. There are 2 seats for 3 mentees: "
                "only recruiting mentors (or more capacity) can place the other 1.")
        assert preview.count(lead) == 2 and "Pool health" in preview  # first and last
        assert "1 mentor ready with room for 2 mentees; 3 mentees" in preview and "more mentees than places" in preview
        assert "a round now would match 2 of 3 mentees" in preview
        assert "*Ana Chen* \u2192" in preview and "Not matched, by cause" in preview
        assert "Nothing has been sent" in preview
        with session_scope(h.engine) as session:
            assert not session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing")).all()

        published = await _run(h, ADMIN, 'round publish 1 --message "Thank you for mentoring!"')
        assert "Round *1* is published: 2 pairs" in published
        listing = await _run(h, ADMIN, "round list")
        assert "*1*: 2-session micro-mentoring on SEL, published" in listing and "*2*: speed mentoring, 6\u00d710 min" in listing
        # A speed event is previewed like any round: its rotations are planned now, for review, and it publishes.
        speed_preview = await _run(h, ADMIN, "round preview 2")
        assert "The rotation plan" in speed_preview and "6 rotations of 10 minutes" in speed_preview and "Status: *review*" in speed_preview
        assert "Rotation schedules go out on Tue 2 Feb at 15:30 program time (America/Los_Angeles) once the round is published." in speed_preview
        assert "Rotation 1: *Ana Chen* →" in speed_preview and "Who meets whom" in speed_preview
        replanned = await _run(h, ADMIN, "round match 2")
        assert "Round 2 matched" in replanned and "The rotation plan" in replanned
        speed_published = await _run(h, ADMIN, "round publish 2")
        assert "Round *2* is published:" in speed_published and "meetings" in speed_published and "Rotation schedules go out on Tue 2 Feb" in speed_published
        with session_scope(h.engine) as session:
            assert not session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "speed.schedule")).all()


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
        exported = await _run(h, ADMIN, "export")  # the program's people, in the one roster table every front end exports
        assert "email,name,role,slack_user_id,site,program" in exported and "ana@d.example,Ana Chen,mentor,UANA00001" in exported

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
        assert f":lock: Only the program's admins of {PROGRAM} can do that" in refused and "/mentoring profile" in refused
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


def _slack_pairings_sent(h) -> set[str] | None:
    """The Slack users whose pairing notice the outbox has sent, once none is still on its way."""
    with session_scope(h.engine) as session:
        slack = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing", OutboxMessage.channel == "slack")).all()
    return {m.recipient for m in slack} if slack and all(m.status == "sent" for m in slack) else None


async def test_approve_cancel_start_and_close_as_on_the_command_line(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        await _run(h, ADMIN, 'term open "Spring 2027"')
        service.enroll_from_roster(h.engine, program_name=PROGRAM, term_name=None, require_approval=True, now=datetime.now(timezone.utc))
        assert "--all, --site and --principal approve every waiting mentor as they offered" in await _run(h, ADMIN, "term approve --all-pending --capacity 1")
        assert "Name one mentor by email, or approve many" in await _run(h, ADMIN, "term approve ana@d.example --site Lincoln")
        assert "Name the mentor by email, or approve many" in await _run(h, ADMIN, "term approve")
        # A site or principal nobody waits under is named back with where mentors do wait; nothing is approved.
        typo = await _run(h, ADMIN, "term approve --site Lincon")
        assert ":warning: No mentor at site 'Lincon' is waiting for approval in Spring 2027; mentors are waiting at Lincoln (1)." in typo
        assert "mentors are waiting for principals pat@d.example (1)" in await _run(h, ADMIN, "term approve --principal boss@d.example")
        everyone = await _run(h, ADMIN, "term approve --site \u201c  lincoln \u201d --principal PAT@d.example")
        assert "Approved 1 mentor at Lincoln and of principal pat@d.example in Spring 2027; each is told" in everyone
        assert "Ana Chen (ana@d.example): approved as a mentor, capacity 2." in everyone
        assert "No mentor is waiting" in await _run(h, ADMIN, "term approve --all")
        assert await h.dm_with("UANA00001", "confirmed you as a mentor this term, for 2 mentee(s)")
        declined = await _run(h, ADMIN, "term approve ana@d.example --decline")
        assert "Ana Chen (ana@d.example): declined as a mentor" in declined
        assert await h.dm_with("UANA00001", "Your program admin has not confirmed you as a mentor")
        approved = await _run(h, ADMIN, "term approve ana@d.example --capacity 1")
        assert "Ana Chen (ana@d.example): approved as a mentor, capacity 1." in approved
        assert await h.dm_with("UANA00001", "Your program admin confirmed you as a mentor this term, for 1 mentee(s)")
        assert ":warning: Nobody with the email zed@d.example is on the roster." in await _run(h, ADMIN, "term approve zed@d.example")

        await _run(h, ADMIN, "round new micro --sessions 1")
        cancelled = await _run(h, ADMIN, "round cancel 1")
        assert "Cancelled round 1: 0 pairs called off, nobody had been told of a pair" in cancelled
        with session_scope(h.engine) as session:
            assert repo.get_round(session, round_id=1).status == "closed"

        # A published round whose pairing notices reached people on Slack is called off: each of them hears it once.
        await _run(h, ADMIN, "round new micro --sessions 1")
        await _run(h, ADMIN, "round preview 2")
        await _run(h, ADMIN, "round publish 2")
        with session_scope(h.engine) as session:
            notify = session.exec(select(ScheduledAction).where(ScheduledAction.round_id == 2, ScheduledAction.kind == "round.notify")).one()
            due = notify.due_at  # the next school-day moment: the sweep would run it then
        schedule.run_due_actions(h.engine, now=due, config=schedule.schedule_config(h.settings))
        await deliver_due(h.engine, {"slack": SlackSender(h.settings, engine=h.engine)}, now=due)  # the worker, at that moment
        reached = await wait_for(lambda: _slack_pairings_sent(h), what="the pairing notices sent on Slack")
        assert "UANA00001" in reached and len(reached) == 2  # Ana and her mentee (Ben or Cy), both on Slack
        mentee = next(user for user in reached if user != "UANA00001")
        off = await _run(h, ADMIN, 'round cancel 2 --message "The district paused the program <!channel>"')
        assert "Cancelled round 2: 1 pair called off, 2 people will be told," in off and "scheduled messages" in off
        for user in reached:
            await h.dm_with(user, "has been called off")
        assert ":warning: Round 2 was cancelled already" in await _run(h, ADMIN, "round cancel 2")
        with session_scope(h.engine) as session:
            notices = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "round.cancelled")).all()
        emails = {"UBEN00001": "ben@d.example", "UCY000001": "cy@d.example"}
        assert sorted((m.recipient, m.channel) for m in notices) == sorted(
            [("UANA00001", "slack"), (mentee, "slack"), ("ana@d.example", "email"), (emails[mentee], "email")]
        )  # each told once on Slack, and once by email with the calendar cancel
        said = [m for m in h.standin.dms("UANA00001") if "called off" in json.dumps(m)]
        assert len(said) == 1 and "&lt;!channel&gt;" in json.dumps(said[0]) and "<!channel>" not in json.dumps(said[0])

        await _run(h, ADMIN, "round new micro --sessions 1")
        await _run(h, ADMIN, "round preview 3")
        await _run(h, ADMIN, "round publish 3")
        assert "Round *3* is running" in await _run(h, ADMIN, "round start 3")
        assert "Round *3* is closed" in await _run(h, ADMIN, "round close 3")
        assert ":warning: Round 3 is closed: its sessions are over, so there is nothing to call off" in await _run(h, ADMIN, "round cancel 3")
        listing = await _run(h, ADMIN, "round list")
        assert "*1*: 1-session micro-mentoring, closed" in listing and "*3*: 1-session micro-mentoring, closed" in listing
        assert ":warning: There is no round 9." in await _run(h, ADMIN, "round start 9")
        # None of it is anyone else's to do.
        assert ":lock:" in await _run(h, "UANA00001", "round close 3") and ":lock:" in await _run(h, "UANA00001", "round cancel 3") and ":lock:" in await _run(h, "UANA00001", "term approve --all-pending")


async def test_a_topic_event_is_listed_as_one_and_an_export_is_formula_safe(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        await _run(h, ADMIN, 'term open "Spring 2027"')
        await _run(h, ADMIN, 'round new event --topics "SEL; assessment" --match-on 2030-01-10')
        await _run(h, ADMIN, "round new interview --match-on 2030-01-10")
        listing = await _run(h, ADMIN, "round list")
        assert "*1*: topic event on SEL; assessment, draft" in listing and "*2*: informational interviews, draft" in listing
        with session_scope(h.engine) as session:
            repo.people_by_email(session, emails=["dee@d.example"])["dee@d.example"].name = "=1+2 Dee"
        exported = await _run(h, ADMIN, "export")
        assert "dee@d.example,'=1+2 Dee," in exported and ",=1+2" not in exported


def test_a_user_error_is_answered_and_a_bug_is_not_dressed_as_one(engine, now, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(_env_file=None, program_name="Speed Day")
    apply_specs(engine, parse_programs("- name: Speed Day\n"), now=now)
    admin_actor = admin.slack_actor(ADMIN, site_admin=True, member=None)
    refused = json.dumps(admin.answer(engine, settings, admin.parse("program set max_capacity lots"), actor=admin_actor, now=now))
    assert ":warning: Max_capacity must be a whole number from 1 to 10." in refused
    # Nobody else sees the program's settings, and a usage mistake shows them only their own commands.
    stranger = admin.slack_actor("UNOBODY01", site_admin=False, member=None)
    assert ":lock: Only the program's admins can do that" in json.dumps(admin.run(engine, settings, admin.parse("program list"), actor=stranger, now=now))
    assert ":lock: Only the program's admins of Speed Day" in json.dumps(admin.run(engine, settings, admin.parse("program show"), actor=stranger, now=now))
    with pytest.raises(admin.UsageError) as caught:
        admin.parse("round new micro --sessions 9")
    assert admin.answer(engine, settings, caught.value, actor=stranger, now=now)[-1] == bk.section(admin.PERSONAL_HELP)
    assert admin.answer(engine, settings, caught.value, actor=admin_actor, now=now)[-1] == bk.section(admin.ADMIN_HELP)
    # A value no command can store (written around the program's definition): reading it fails with a ValueError,
    # which is a bug to log, not a sentence for the admin.
    with session_scope(engine) as session:
        program = repo.get_program(session, name="Speed Day")
        program.settings = {**(program.settings or {}), "max_capacity": "lots"}
    with caplog.at_level("ERROR", logger="bot.slack.admin"):
        shown = admin.answer(engine, settings, admin.parse("program show"), actor=admin_actor, now=now)
    assert shown == [bk.section(admin.WENT_WRONG)] and "Something went wrong on our side" in admin.WENT_WRONG  # nothing of the error's text
    assert [r for r in caplog.records if r.name == "bot.slack.admin" and r.exc_info and issubclass(r.exc_info[0], ValueError)]
    # Run on its own, the command lets the bug through rather than answering it as a user error.
    with pytest.raises(ValueError):
        admin.run(engine, settings, admin.parse("program show"), actor=admin_actor, now=now)
