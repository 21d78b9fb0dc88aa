"""Teachers and principals in Slack: App Home, modals built from bot/flows, half-finished dialogs, approvals."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlmodel import select

from bot import dialogs
from bot.flows import PROFILE, questions_for
from bot.rounds import service
from bot.rounds.schedule import publish_round
from bot.slack.blocks import block_id_for
from bot.rounds.schedule import schedule_config
from storage import repo
from storage.db import session_scope
from storage.models import Enrollment, OutboxMessage, Person, Term
from tests.slack_helpers import ADMIN, PROGRAM, slack_harness, wait_for


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _open_term(h, *, invite: bool = False) -> int:
    term = service.open_term(h.engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=_now())
    if invite:
        from bot.notify import invite_to_term

        invite_to_term(h.engine, term_id=term.id, now=_now())
    return term.id


def _enrollment(h, term_id: int, email: str) -> Enrollment:
    with session_scope(h.engine) as session:
        return repo.get_enrollment(session, term_id=term_id, person_id=h.person_id(email))


async def _home(h, user: str, text: str) -> dict:
    return await wait_for(lambda: text in json.dumps(h.standin.homes.get(user)) and h.standin.homes[user], what=f"{user}'s Home tab with {text!r}")


async def test_home_shows_the_term_and_changing_ones_mind_is_one_click(tmp_path: Path, database_url: str) -> None:
    async with slack_harness(tmp_path, database_url) as h:
        term_id = _open_term(h)
        await h.driver.open_home("UBEN00001")
        home = await _home(h, "UBEN00001", "Spring 2027")
        assert "haven't said yet" in json.dumps(home)
        await h.driver.click("UBEN00001", "Mentee", where="home")
        await _home(h, "UBEN00001", "taking part as *a mentee*")
        assert _enrollment(h, term_id, "ben@d.example").status == "opted_in"
        await h.driver.click("UBEN00001", "Not this term", where="home")
        await _home(h, "UBEN00001", "*not taking part* this term")
        assert _enrollment(h, term_id, "ben@d.example").status == "opted_out"
        # Becoming a mentor needs one more answer, so the click opens a modal asking it.
        await h.driver.click("UBEN00001", "Mentor", where="home")
        modal = await wait_for(lambda: h.standin.open_view_of("UBEN00001"), what="the capacity modal")
        (question,) = [b for b in modal["blocks"] if b["type"] == "input"]
        assert question["block_id"] == block_id_for("capacity") and question["element"]["type"] == "number_input"
        answer = await h.driver.submit("UBEN00001", {block_id_for("capacity"): "1"})
        assert answer["response_action"] == "update"
        enrollment = _enrollment(h, term_id, "ben@d.example")
        assert (enrollment.role, enrollment.capacity, enrollment.status) == ("mentor", 1, "opted_in")


async def test_closing_the_profile_halfway_keeps_the_answers_and_home_offers_to_continue(tmp_path: Path, database_url: str) -> None:
    async with slack_harness(tmp_path, database_url) as h:
        term_id = _open_term(h)
        dialogs.answer(h.engine, person_id=h.person_id("ben@d.example"), flow="opt_in", context=dialogs.context_key(flow="opt_in", term_id=term_id), channel="slack", replies={"role": "mentee"}, now=_now())
        await h.driver.command("UBEN00001", "profile")
        modal = await wait_for(lambda: h.standin.open_view_of("UBEN00001"), what="the profile modal")
        grade = next(b for b in modal["blocks"] if b.get("block_id") == block_id_for("grade_bands"))
        assert [o["value"] for o in grade["element"]["initial_options"]] == ["6-8"]  # pre-filled from the roster
        first = await h.driver.submit("UBEN00001", {block_id_for("grade_bands"): ["6-8", "9-12"], block_id_for("subjects"): ["math"], block_id_for("needs"): ["SEL", "assessment"]})
        assert first["response_action"] == "update"
        # On page two Ben types his availability, then closes the modal instead of pressing Save.
        await h.driver.close("UBEN00001", {block_id_for("availability"): "Wed 14:00-15:00"})
        home = await _home(h, "UBEN00001", "1 question left")
        assert "Continue my profile" in json.dumps(home)
        ben = h.person_id("ben@d.example")
        with session_scope(h.engine) as session:
            answers = repo.profiles(session, person_ids=[ben])[ben]
        assert answers["grade_bands"] == ["6-8", "9-12"] and answers["needs"] == ["SEL", "assessment"]
        assert answers["availability"] == ["Wed 14:00-15:00"]
        # Continuing asks only what is left.
        await h.driver.click("UBEN00001", "Continue my profile", where="home")
        modal = await wait_for(lambda: h.standin.open_view_of("UBEN00001"), what="the modal again")
        assert [b["block_id"] for b in modal["blocks"] if b["type"] == "input"] == [block_id_for("match_weights")]
        done = await h.driver.submit("UBEN00001", {block_id_for("match_weights"): ["schedule", "needs"]})
        assert "profile is complete" in json.dumps(done["view"])


async def test_the_modal_asks_exactly_the_flow_questions_custom_ones_included(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        term_id = _open_term(h)
        _, url = await h.driver.command(ADMIN, 'program question add coaching_style "How do you like to give feedback?"')
        assert "added" in json.dumps(await h.responses(url))
        ana = h.person_id("ana@d.example")
        dialogs.answer(h.engine, person_id=ana, flow="opt_in", context=dialogs.context_key(flow="opt_in", term_id=term_id), channel="slack", replies={"role": "both", "capacity": "1"}, now=_now())
        await h.driver.command("UANA00001", "profile")
        asked: list[str] = []
        with session_scope(h.engine) as session:
            program_id = session.get(Term, term_id).program_id
        custom_key = f"custom:{program_id}:coaching_style"  # a program's answers are kept under its id
        answers = {
            "grade_bands": ["6-8"], "subjects": ["math"], "strengths": ["SEL"], "needs": ["assessment"],
            "availability": "Tue 15:30-16:30", "match_weights": ["subject"], custom_key: "Warm but direct",
        }  # fmt: skip
        for _ in range(5):
            modal = await wait_for(lambda: h.standin.open_view_of("UANA00001"), what="a profile page")
            keys = [b["block_id"].removeprefix("q:") for b in modal["blocks"] if b["type"] == "input" and not b["block_id"].endswith("::other")]
            asked += keys
            result = await h.driver.submit("UANA00001", {block_id_for(k): answers[k] for k in keys})
            if "profile is complete" in json.dumps(result.get("view")):
                break
        with session_scope(h.engine) as session:
            ctx = dialogs.flow_context(session, person=session.get(Person, ana), term=None, options=dialogs.ProgramOptions(custom_questions=(("coaching_style", "x"),), program_id=program_id))
        expected = [q.key for q in questions_for(PROFILE, ctx) if q.ask_if({}, ctx) or q.key in ("strengths", "needs")]
        assert asked == expected
        with session_scope(h.engine) as session:
            assert repo.profiles(session, person_ids=[ana])[ana][custom_key] == "Warm but direct"


async def test_principal_changes_capacity_or_declines_and_the_mentor_hears_either_way(tmp_path: Path, database_url: str) -> None:
    async with slack_harness(tmp_path, database_url) as h:
        term_id = _open_term(h, invite=True)
        await h.dm_with("UANA00001", "Spring 2027")
        await h.driver.click("UANA00001", "Mentor")
        await h.dm_with("UANA00001", "How many mentees")
        await h.driver.click("UANA00001", "2")
        ask = await h.dm_with("UPAT00001", "Ana Chen")
        await h.driver.click("UPAT00001", "different number", message=ask)
        await h.dm_with("UPAT00001", "How many mentees should they take")
        await h.driver.click("UPAT00001", "1")
        told = await h.dm_with("UANA00001", "confirmed you as a mentor")
        assert "for 1 mentee(s)" in told["text"]
        enrollment = _enrollment(h, term_id, "ana@d.example")
        assert (enrollment.approval, enrollment.capacity, enrollment.approved_by) == ("approved", 1, "pat@d.example")
        # Someone who is not Ana's principal cannot decide for her.
        from bot.slack import store

        try:
            store.apply(h.engine, h.settings, person_id=h.person_id("ben@d.example"), flow="approval", context=dialogs.context_key(flow="approval", term_id=term_id, subject_id=h.person_id("ana@d.example")), replies={"decision": "decline"}, now=_now())
        except store.NotAllowed:
            pass
        else:
            raise AssertionError("Ben decided on Ana's approval")
        # Cy offers to mentor too; Pat declines, by typing, and Cy hears it.
        with session_scope(h.engine) as session:
            repo.people_by_email(session, emails=["cy@d.example"])["cy@d.example"].principal_email = "pat@d.example"
        await h.driver.click("UCY000001", "Mentor")
        await h.dm_with("UCY000001", "How many mentees")
        await h.driver.click("UCY000001", "1")
        await h.dm_with("UPAT00001", "Cy Diaz")
        await h.driver.say("UPAT00001", "decline")
        await h.dm_with("UCY000001", "has not confirmed you")
        assert _enrollment(h, term_id, "cy@d.example").approval == "declined"
        assert _enrollment(h, term_id, "ana@d.example").approval == "approved"


async def test_principal_without_slack_is_asked_by_email_and_approval_can_be_turned_off(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        term_id = _open_term(h)
        with session_scope(h.engine) as session:
            ana = repo.people_by_email(session, emails=["ana@d.example"])["ana@d.example"]
            ana.principal_email = "dee@d.example"  # Dee has no Slack ID
        await h.driver.say("UANA00001", "opt in")
        await h.dm_with("UANA00001", "Mentor")
        await h.driver.click("UANA00001", "Mentor")
        await h.dm_with("UANA00001", "How many mentees")
        await h.driver.click("UANA00001", "1")
        await h.dm_with("UANA00001", "asked your principal")
        with session_scope(h.engine) as session:
            (ask,) = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "prompt.approval")).all()
        assert (ask.channel, ask.recipient) == ("email", "dee@d.example")

        _, url = await h.driver.command(ADMIN, "program set require_approval off")
        assert "require_approval is now *off*" in json.dumps(await h.responses(url))
        await h.driver.say("UCY000001", "opt in")
        await h.dm_with("UCY000001", "Mentor")
        await h.driver.click("UCY000001", "Mentor")
        await h.dm_with("UCY000001", "How many mentees")
        await h.driver.click("UCY000001", "1")
        done = await h.dm_with("UCY000001", "Start my profile")
        assert "asked your principal" not in json.dumps(done)
        assert _enrollment(h, term_id, "cy@d.example").approval == "not_required"


async def test_typed_replies_answer_the_question_asked(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        term_id = _open_term(h, invite=True)
        await h.dm_with("UBEN00001", "Spring 2027")
        await h.driver.say("UBEN00001", "help")
        await h.dm_with("UBEN00001", "Here is what you can do")
        await h.driver.say("UBEN00001", "a unicorn")
        hmm = await h.dm_with("UBEN00001", "Hmm")
        assert "please pick one of" in json.dumps(hmm)
        await h.driver.say("UBEN00001", "mentee")
        await h.dm_with("UBEN00001", "Got it: *Mentee")
        await h.driver.say("UBEN00001", "profile")
        await h.dm_with("UBEN00001", "Which grade bands do you teach?")
        await h.driver.say("UBEN00001", "K-2; 3-5")
        typed = await h.dm_with("UBEN00001", "Got it: *K-2, 3-5*")
        assert "Next: *Which subjects do you teach?*" in json.dumps(typed)
        assert _enrollment(h, term_id, "ben@d.example").role == "mentee"
        with session_scope(h.engine) as session:
            ben = h.person_id("ben@d.example")
            assert repo.profiles(session, person_ids=[ben])[ben]["grade_bands"] == ["K-2", "3-5"]
        await h.driver.say("UNOBODY01", "hello")
        await h.dm_with("UNOBODY01", "can't find you on the mentoring program's roster")


async def test_a_late_click_gets_the_button_again(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        term_id = _open_term(h)
        dialogs.answer(h.engine, person_id=h.person_id("ben@d.example"), flow="opt_in", context=dialogs.context_key(flow="opt_in", term_id=term_id), channel="slack", replies={"role": "mentee"}, now=_now())
        await h.driver.open_home("UBEN00001")
        await _home(h, "UBEN00001", "Start my profile")
        await h.driver.click("UBEN00001", "Start my profile", where="home", trigger_age=5)
        again = await h.dm_with("UBEN00001", "took me too long")
        assert "Open the form" in json.dumps(again)
        assert [c.error for c in h.standin.calls_to("views.open")] == ["expired_trigger_id"]
        await h.driver.click("UBEN00001", "Open the form", message=again)
        await wait_for(lambda: h.standin.open_view_of("UBEN00001"), what="the modal on the second try")


async def test_home_shows_pairings_with_guide_times_and_upcoming_sessions(tmp_path: Path, database_url: str) -> None:
    async with slack_harness(tmp_path, database_url) as h:
        now = _now()
        _open_term(h)
        service.enroll_from_roster(h.engine, program_name=PROGRAM, term_name=None, require_approval=False, now=now)
        start = (now + timedelta(days=7)).date()
        round_ = service.create_round(h.engine, program_name=PROGRAM, term_name=None, request=service.RoundRequest(topic="SEL", sessions=2, start_on=start, end_on=start + timedelta(days=30)), now=now)
        service.move_round(h.engine, round_id=round_.id, target="collecting", now=now)
        service.run_matching(h.engine, round_id=round_.id, session_minutes=30, now=now)
        publish_round(h.engine, round_id=round_.id, now=now, config=schedule_config(h.settings))
        _, pairs = service.round_pairs(h.engine, round_id=round_.id)
        pair = next(p for p in pairs if p.mentor_email == "ana@d.example")
        await h.driver.open_home("UANA00001")
        home = json.dumps(await _home(h, "UANA00001", "Your pairings"))
        assert pair.mentee_name in home and pair.reasons[0][:30] in home
        assert "http://mentorbot.test/guides/pairing/" in home
        assert "Proposed times: Tue" in home and "Upcoming sessions" in home and "session 1 with" in home
        assert date.today() < start
