"""Fuzzing every dialog step of every flow: opt-in, profile (with custom program questions), approval, check-in, survey.

Driven two ways: through the storage edge (`bot.dialogs.answer`, as every channel calls it) and through real HTTP
into the app (signed Slack requests: typed DMs and modal submissions; an inbound email reply posted by SendGrid).
What must hold: never a 500 or a traceback; every refused answer has a clear message; and the database agrees
with itself afterwards (the dialog state as returned is the state stored; profile, enrollment, approval, check-in
and survey records match the answers; every answer is JSON the next channel can read back).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import date, datetime, timezone
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import dialogs
from bot.email import tokens
from bot.flows import FLOWS, questions_for
from bot.importer import import_roster
from bot.rounds import service
from storage import repo
from storage.db import session_scope
from storage.models import CheckIn, Enrollment, Person, SurveyAnswer
from tests.slack_helpers import slack_harness, wait_for

PROGRAM = "Slack Program"  # the name tests.slack_helpers gives the program
ROSTER = (
    "email,name,role,slack_user_id,site,grade_bands,subjects,strengths,needs,availability,capacity,principal_email,timezone\n"
    "ana@d.example,Ana Chen,mentor,UANA00001,Lincoln,6-8,math,SEL,,Tue 15:30-16:30,2,pat@d.example,America/Los_Angeles\n"
    "ben@d.example,Ben Ortiz,mentee,UBEN00001,Garfield,6-8,math,,SEL,Tue 15:30-16:30,,,America/Los_Angeles\n"
    "pat@d.example,Pat Principal,mentor,UPAT00001,Lincoln,6-8,math,,,,0,,America/Los_Angeles\n"
)
CUSTOM = [
    {"key": "coaching_style", "prompt": "How do you like to give feedback?", "kind": "text"},
    {"key": "lunch", "prompt": "Which lunch slot?", "kind": "choice", "options": ["early", "late"]},
    {"key": "tools", "prompt": "Which tools do you use?", "kind": "multi_choice", "options": ["Desmos", "Kami", "Seesaw"]},
    {"key": "confidence", "prompt": "How confident are you?", "kind": "scale", "min": 1, "max": 5, "required": True},
]
NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)

words = st.sampled_from([
    "mentor", "mentee", "both", "none", "Not this term", "approve", "change", "decline", "yes", "no", "met", "need_help",
    "rescheduled", "not_happening", "1", "2", "3", "5", "0", "11", "-1", "2.5", "three", "6-8", "K-2; 9-12", "math", "SEL",
    "Tue 15:30-16:30", "Mon 25:00-26:00", "skip", "", " ", "early", "Desmos", "Kami;Seesaw", "grade_band", "schedule",
    "\x00", "null", "None", "💥", "a" * 3000,
])  # fmt: skip
values = st.one_of(words, st.text(max_size=200), st.lists(st.one_of(words, st.text(max_size=30)), max_size=6), st.none(), st.integers(-5, 20))


def _setup(engine: Engine, tmp_path: Path) -> dict[str, object]:
    """Three people, a program with custom questions of every kind, an open term and a matched round with one pair."""
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=NOW)
    term = service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=NOW)
    with session_scope(engine) as session:
        program = repo.get_program(session, name=PROGRAM)
        program.settings = {**(program.settings or {}), "custom_questions": CUSTOM}
        people = {p.email.split("@")[0]: p.id for p in session.exec(select(Person))}
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=NOW)
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=NOW,
        request=service.RoundRequest(sessions=1, start_on=date(2026, 12, 1), end_on=date(2027, 1, 29)),
    )  # fmt: skip
    service.move_round(engine, round_id=round_.id, target="collecting", now=NOW)
    (pair,) = service.run_matching(engine, round_id=round_.id, session_minutes=30, now=NOW).result.pairs
    with session_scope(engine) as session:
        (pairing,) = repo.round_pairings(session, round_id=round_.id)
    return {"term": term.id, "round": round_.id, "pairing": pairing.id, "people": people}


def _dialog(flow: str, who: str, world: dict) -> tuple[int, str]:
    """The person and context key a step of `flow` is asked in."""
    people = world["people"]
    if flow == "approval":
        return people["pat"], dialogs.context_key(flow="approval", term_id=world["term"], subject_id=people["ana"])
    context = {
        "opt_in": dialogs.context_key(flow="opt_in", term_id=world["term"]),
        "profile": dialogs.context_key(flow="profile", term_id=world["term"]),
        "check_in": dialogs.context_key(flow="check_in", pairing_id=world["pairing"]),
        "survey": dialogs.context_key(flow="survey", round_id=world["round"]),
    }[flow]
    return people[who], context


@st.composite
def steps(draw: st.DrawFn) -> tuple[str, str, dict]:
    """A flow, who answers, and replies to its questions (and sometimes to questions it doesn't have)."""
    flow = draw(st.sampled_from(sorted(FLOWS)))
    who = draw(st.sampled_from(["ana", "ben"]))
    ctx = dialogs.FlowContext(custom_questions=tuple(dialogs._custom_question(q) for q in CUSTOM), program_id=1)
    keys = [q.key for q in questions_for(FLOWS[flow], ctx)]
    keys = [k.replace("custom:1:", "custom:{program}:") for k in keys]
    chosen = draw(st.lists(st.sampled_from(keys + ["bogus", "custom:999:nothing"]), max_size=4, unique=True))
    return flow, who, {key: draw(values) for key in chosen}


def _check_consistent(engine: Engine, flow: str, person_id: int, context: str, result: dialogs.AnswerResult, world: dict) -> None:
    """The stored records agree with the dialog state the engine returned."""
    outcome = result.outcome
    for key, message in outcome.errors.items():
        assert isinstance(message, str) and message.strip(), (key, message)
    stored = dialogs.current_state(engine, person_id=person_id, flow=flow, context=context)
    assert stored.answers == outcome.state.answers and stored.status == outcome.state.status
    json.dumps(stored.answers)  # readable back by any channel
    with session_scope(engine) as session:
        answers = stored.answers
        if flow == "profile":
            profile = repo.profiles(session, person_ids=[person_id]).get(person_id, {})
            for key, value in answers.items():
                assert profile.get(key) == value, (key, profile.get(key), value)
        elif flow == "opt_in" and "role" in outcome.saved:
            enrollment = session.exec(select(Enrollment).where(Enrollment.term_id == world["term"], Enrollment.person_id == person_id)).one()
            role = answers["role"]
            if role == "none":
                assert (enrollment.status, enrollment.role) == ("opted_out", "none")
            elif outcome.state.status == "complete":
                if answers.get("capacity") == 0:
                    role = {"mentor": "none", "both": "mentee"}.get(role, role)
                assert enrollment.role == role, (enrollment.role, answers)
        elif flow == "approval" and outcome.saved and outcome.complete:  # "change" waits for the number before deciding
            enrollment = session.exec(select(Enrollment).where(Enrollment.term_id == world["term"], Enrollment.person_id == world["people"]["ana"])).one()
            if enrollment.role in dialogs.MENTOR_ROLES:
                assert enrollment.approval == ("declined" if answers["decision"] == "decline" else "approved")
                if answers["decision"] == "change" and "capacity" in answers:
                    assert enrollment.capacity == answers["capacity"]
        elif flow == "check_in" and "met" in answers:
            check_in = session.exec(select(CheckIn).where(CheckIn.pairing_id == world["pairing"], CheckIn.person_id == person_id)).one()
            assert check_in.answer == answers["met"]
        elif flow == "survey":
            rows = {r.question: r.value for r in session.exec(select(SurveyAnswer).where(SurveyAnswer.round_id == world["round"], SurveyAnswer.person_id == person_id))}
            for key in outcome.saved:
                assert rows[key] == answers[key], (key, rows.get(key), answers[key])


def test_every_dialog_step_through_the_storage_edge(engine: Engine, tmp_path: Path, fuzz_profile: str, record_figure) -> None:
    """Arbitrary replies to every step of every flow through `bot.dialogs.answer`: no exception, records agree."""
    world = _setup(engine, tmp_path)
    with session_scope(engine) as session:
        program_id = repo.get_program(session, name=PROGRAM).id
    totals = {"examples": 0, "saved": 0, "refused": 0, "completed": 0}
    by_flow: dict[str, int] = {}

    @settings(settings.get_profile(fuzz_profile), suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
    @given(steps(), st.sampled_from(["slack", "email"]))
    def check(step: tuple[str, str, dict], channel: str) -> None:
        flow, who, replies = step
        replies = {key.replace("{program}", str(program_id)): value for key, value in replies.items()}
        person_id, context = _dialog(flow, who, world)
        result = dialogs.answer(engine, person_id=person_id, flow=flow, context=context, channel=channel, replies=replies, now=NOW, require_approval_default=True)
        _check_consistent(engine, flow, person_id, context, result, world)
        totals["examples"] += 1
        totals["saved"] += len(result.outcome.saved)
        totals["refused"] += len(result.outcome.errors)
        totals["completed"] += result.outcome.state.status == "complete"
        by_flow[flow] = by_flow.get(flow, 0) + 1

    started = time.monotonic()
    check()
    backend = engine.url.get_backend_name()
    record_figure(
        "Fuzzing: dialog steps", tried=f"arbitrary replies to every step of opt-in, profile (4 custom questions), approval, check-in, survey via bot.dialogs.answer ({backend})",
        count=totals["examples"], held="no exception; each refusal a message; state, profile, enrollment, approval, check-in and survey records agree",
        seconds=round(time.monotonic() - started, 1), by_flow=by_flow, **{k: v for k, v in totals.items() if k != "examples"},
    )  # fmt: skip


SORRY = "something went wrong on my side"
TYPED = st.one_of(words, st.text(max_size=300), st.sampled_from(["profile", "opt in", "help", "status", "join", "leave 3", "change"]))


async def test_every_dialog_step_over_http_slack_and_email(tmp_path: Path, postgres_url: str, scale, caplog: pytest.LogCaptureFixture, record_figure) -> None:
    """Typed Slack DMs (signed, over HTTP) at every step, and email replies to every flow posted by SendGrid: no 5xx,
    no traceback, always an answer in the person's DM or mailbox, and the records agree afterwards.

    On PostgreSQL, the stricter store. The example count comes from the scale: each typed DM waits for the bot's answer.
    """
    count = scale.pick(30, 1500)
    async with slack_harness(tmp_path, postgres_url, sendgrid_inbound_key="sg-key", email_token_secret="s" * 40, reply_domain="reply.district.example") as h:
        world = _setup_on(h.engine, tmp_path)
        examples: list[tuple[str, str, str, str]] = []

        @settings(max_examples=count, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(st.sampled_from(["slack", "email"]), st.sampled_from(["UANA00001", "UBEN00001", "UPAT00001"]), TYPED, st.sampled_from(sorted(FLOWS)))
        def collect(channel: str, user: str, text: str, flow: str) -> None:
            examples.append((channel, user, text, flow))

        collect()
        caplog.set_level(logging.ERROR)
        who = {"UANA00001": "ana", "UBEN00001": "ben", "UPAT00001": "pat"}
        answered = {"slack": 0, "email": 0}
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=h.url, timeout=30) as client:
            for n, (channel, user, text, flow) in enumerate(examples):
                if channel == "slack":
                    before = len(h.standin.dms(user))
                    response = await h.driver.say(user, text)
                    assert response.status_code == 200, (response.status_code, text)
                    reply = await wait_for(lambda: len(h.standin.dms(user)) > before and h.standin.dms(user)[-1], what=f"an answer to {text[:40]!r}", timeout=30)
                    assert SORRY not in json.dumps(reply), text
                else:
                    name = "pat" if flow == "approval" else ("ana" if who[user] == "pat" else who[user])
                    person_id, context = _dialog(flow, name, world)
                    email = f"{name}@d.example"
                    address = tokens.reply_address(tokens.make_reply_token("s" * 40, person_id=person_id, flow=flow, context=context, now=_real_now()), "reply.district.example")
                    raw = f"From: {email}\r\nTo: {address}\r\nSubject: Re: mentoring\r\nMessage-ID: <d{n}@d.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
                    response = await client.post("/email/inbound", params={"key": "sg-key"}, data={"email": raw, "envelope": "{}"})
                    assert response.status_code == 200 and response.json()["status"] == "applied", (response.status_code, response.text, text)
                answered[channel] += 1
                assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
        for flow in FLOWS:
            for name in ("ana", "ben"):
                person_id, context = _dialog(flow, name, world)
                state = dialogs.current_state(h.engine, person_id=person_id, flow=flow, context=context)
                if state is not None:
                    json.dumps(state.answers)
        with session_scope(h.engine) as session:
            profile = repo.profiles(session, person_ids=[world["people"]["ben"]])[world["people"]["ben"]]
        state = dialogs.current_state(h.engine, person_id=world["people"]["ben"], flow="profile", context=_dialog("profile", "ben", world)[1])
        if state is not None:
            for key, value in state.answers.items():
                assert profile.get(key) == value, (key, profile.get(key), value)
    record_figure(
        "Fuzzing: dialog steps", tried="typed Slack DMs (signed, over HTTP) and SendGrid email replies to every flow, arbitrary text (postgresql)",
        count=len(examples), held="no 5xx, no traceback, every message answered, records agree",
        seconds=round(time.monotonic() - started, 1), **answered,
    )  # fmt: skip


def _real_now() -> datetime:
    return datetime.now(timezone.utc)


def _setup_on(engine: Engine, tmp_path: Path) -> dict[str, object]:
    """The harness already imported its roster: add the custom questions, open a term, match one pair."""
    now = _real_now()
    term = service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    with session_scope(engine) as session:
        program = repo.get_program(session, name=PROGRAM)
        program.settings = {**(program.settings or {}), "custom_questions": CUSTOM}
        program_id = program.id
        people = {p.email.split("@")[0]: p.id for p in session.exec(select(Person))}
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=now)
    round_ = service.create_round(engine, program_name=PROGRAM, term_name=None, now=now, request=service.RoundRequest(sessions=1))
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
    with session_scope(engine) as session:
        pairing = repo.round_pairings(session, round_id=round_.id)[0]
    return {"term": term.id, "round": round_.id, "pairing": pairing.id, "people": people, "program": program_id}


def test_a_superscript_digit_is_refused_with_a_message_not_a_crash(engine: Engine, tmp_path: Path) -> None:
    """Found by the fuzzer: "¹" passes str.isdigit() but not int(), so picking a choice by number raised ValueError."""
    world = _setup(engine, tmp_path)
    person_id, context = _dialog("approval", "ana", world)
    result = dialogs.answer(engine, person_id=person_id, flow="approval", context=context, channel="slack", replies={"decision": "¹"}, now=NOW)
    assert "decision" in result.outcome.errors and result.outcome.errors["decision"].strip()
    ben, profile_context = _dialog("profile", "ben", world)
    grades = dialogs.answer(engine, person_id=ben, flow="profile", context=profile_context, channel="email", replies={"grade_bands": "grade ²"}, now=NOW)
    assert "grade_bands" in grades.outcome.errors
    assert dialogs.current_state(engine, person_id=person_id, flow="approval", context=context).answers == {}


def test_a_nul_in_a_reply_is_dropped_before_it_is_stored(engine: Engine, tmp_path: Path) -> None:
    """Found by the fuzzer: a subject typed as "\\x00" was kept as a new subject, and PostgreSQL refused the whole answer."""
    world = _setup(engine, tmp_path)
    ana, context = _dialog("profile", "ana", world)
    result = dialogs.answer(engine, person_id=ana, flow="profile", context=context, channel="slack", replies={"subjects": ["ma\x00th", "\x00"], "coaching_style": "x"}, now=NOW)
    assert result.outcome.saved["subjects"] == ["math"]
    with session_scope(engine) as session:
        assert repo.profiles(session, person_ids=[ana])[ana]["subjects"] == ["math"]
