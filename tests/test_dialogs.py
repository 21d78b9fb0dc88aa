"""Dialogs at the storage edge and the notices they cause, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import dialogs, notify
from bot.importer import import_roster
from bot.rounds import service
from storage import repo
from storage.db import session_scope
from storage.models import CheckIn, OutboxMessage, SurveyAnswer

PROGRAM = "Dialog Program"
HEADER = "email,name,role,slack_user_id,site,grade_bands,subjects,capacity,principal_email"
ROWS = (
    "ana@d.example,Ana Chen,mentor,UANA00001,Lincoln,6-8,math,2,boss@d.example",
    "ben@d.example,Ben Ortiz,mentee,,Garfield,6-8,math,,",
    "boss@d.example,Pat Principal,mentor,UBOSS0001,Lincoln,6-8,math,0,",
)


def _term(engine: Engine, tmp_path: Path, now: datetime) -> int:
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    return service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now).id


def _person_id(engine: Engine, email: str) -> int:
    with session_scope(engine) as session:
        return repo.people_by_email(session, emails=[email])[email].id


def _outbox(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        from bot.outbox import messages

        return messages(session)


def test_inviting_a_term_asks_each_person_once_on_their_channel(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    assert notify.invite_to_term(engine, term_id=term_id, now=now) == 3
    assert notify.invite_to_term(engine, term_id=term_id, now=now + timedelta(hours=1)) == 3  # same keys: nothing new
    sent = _outbox(engine)
    assert len(sent) == 3
    channels = {m.recipient: m.channel for m in sent}
    assert channels == {"UANA00001": "slack", "ben@d.example": "email", "UBOSS0001": "slack"}
    assert {m.body["flow"] for m in sent} == {"opt_in"}
    assert all(m.body["term_name"] == "Spring 2027" for m in sent)


def test_a_mentor_opts_in_the_principal_approves_and_the_mentor_is_told(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    ana = _person_id(engine, "ana@d.example")
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    first = dialogs.answer(engine, person_id=ana, flow="opt_in", context=context, channel="slack", replies={"role": "mentor"}, now=now)
    assert first.events == [] and first.outcome.next_question.key == "capacity"
    second = dialogs.answer(engine, person_id=ana, flow="opt_in", context=context, channel="slack", replies={"capacity": "2"}, now=now)
    assert [e.kind for e in second.events] == ["approval_requested"]
    with session_scope(engine) as session:
        enrollment = repo.get_enrollment(session, term_id=term_id, person_id=ana)
        assert (enrollment.role, enrollment.capacity, enrollment.status, enrollment.approval) == ("mentor", 2, "opted_in", "pending")

    assert notify.dispatch_events(engine, second.events, now=now) == 1
    (ask,) = _outbox(engine)
    assert (ask.recipient, ask.body["flow"], ask.body["mentor_name"]) == ("UBOSS0001", "approval", "Ana Chen")

    boss = _person_id(engine, "boss@d.example")
    decided = dialogs.answer(
        engine, person_id=boss, flow="approval", context=ask.body["context"], channel="slack", replies={"decision": "change", "capacity": "1"}, now=now
    )
    assert [e.kind for e in decided.events] == ["approval_decided"]
    notify.dispatch_events(engine, decided.events, now=now)
    notify.dispatch_events(engine, decided.events, now=now + timedelta(minutes=5))  # a retried request: still one message
    told = [m for m in _outbox(engine) if m.purpose == "approval.decided"]
    assert len(told) == 1 and told[0].body["approval"] == "approved" and told[0].body["capacity"] == 1
    with session_scope(engine) as session:
        enrollment = repo.get_enrollment(session, term_id=term_id, person_id=ana)
        assert (enrollment.approval, enrollment.capacity, enrollment.approved_by) == ("approved", 1, "boss@d.example")


def test_a_principal_not_on_the_roster_is_written_to_by_email(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    with session_scope(engine) as session:
        ana = repo.people_by_email(session, emails=["ana@d.example"])["ana@d.example"]
        ana.principal_email = "head@elsewhere.example"
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    result = dialogs.answer(engine, person_id=ana.id, flow="opt_in", context=context, channel="slack", replies={"role": "mentor", "capacity": "1"}, now=now)
    notify.dispatch_events(engine, result.events, now=now)
    (ask,) = _outbox(engine)
    assert (ask.channel, ask.recipient) == ("email", "head@elsewhere.example")


def test_profile_answers_land_as_they_come_and_survive_a_half_finished_dialog(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    ben = _person_id(engine, "ben@d.example")
    opt_in = dialogs.context_key(flow="opt_in", term_id=term_id)
    dialogs.answer(engine, person_id=ben, flow="opt_in", context=opt_in, channel="email", replies={"role": "mentee"}, now=now)
    profile = dialogs.context_key(flow="profile", term_id=term_id)
    result = dialogs.answer(
        engine, person_id=ben, flow="profile", context=profile, channel="email",
        replies={"needs": "family engagement, SEL", "availability": "Thursday at noonish"}, now=now,
    )  # fmt: skip
    assert "availability" in result.outcome.errors
    with session_scope(engine) as session:
        answers = repo.profiles(session, person_ids=[ben])[ben]
    assert answers["needs"] == ["family engagement", "SEL"]
    assert answers["subjects"] == ["math"]  # from the roster, untouched
    saved = dialogs.current_state(engine, person_id=ben, flow="profile", context=profile)
    assert saved.step == "grade_bands" and saved.answers["needs"] == ["family engagement", "SEL"]


def test_mentor_saying_zero_opts_out(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    ana = _person_id(engine, "ana@d.example")
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    result = dialogs.answer(engine, person_id=ana, flow="opt_in", context=context, channel="slack", replies={"role": "mentor", "capacity": "0"}, now=now)
    assert [e.kind for e in result.events] == ["opted_out"]
    with session_scope(engine) as session:
        assert repo.get_enrollment(session, term_id=term_id, person_id=ana).status == "opted_out"


def test_check_ins_and_surveys_are_recorded(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=now)
    round_ = service.create_round(engine, program_name=PROGRAM, term_name=None, request=service.RoundRequest(), now=now)
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
    with session_scope(engine) as session:
        (pairing,) = repo.round_pairings(session, round_id=round_.id)
    ben = _person_id(engine, "ben@d.example")
    check = dialogs.context_key(flow="check_in", pairing_id=pairing.id)
    dialogs.answer(engine, person_id=ben, flow="check_in", context=check, channel="email", replies={"met": "rescheduled"}, now=now)
    survey = dialogs.context_key(flow="survey", round_id=round_.id)
    dialogs.answer(engine, person_id=ben, flow="survey", context=survey, channel="email", replies={"voice": "5", "comment": "Great pairing"}, now=now)
    with session_scope(engine) as session:
        assert [c.answer for c in session.exec(select(CheckIn)).all()] == ["rescheduled"]
        assert {a.question: a.value for a in session.exec(select(SurveyAnswer)).all()} == {"voice": 5, "comment": "Great pairing"}
    assert term_id


def test_first_answers_arriving_at_once_are_all_taken(engine: Engine, tmp_path: Path, now: datetime) -> None:
    """Two first answers to one dialog at the same moment (an email reply and a click) both land; neither raises."""
    import threading

    term_id = _term(engine, tmp_path, now)
    ben = _person_id(engine, "ben@d.example")
    outcomes: list[object] = []
    for trial in range(12):
        context = f"term:{term_id}" if trial == 0 else f"term:{term_id}:trial{trial}"  # a fresh dialog row each trial
        start = threading.Barrier(2)

        def reply(replies: dict[str, str], context: str = context, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                outcomes.append(dialogs.answer(engine, person_id=ben, flow="profile", context=context, channel="email", replies=replies, now=now))
            except Exception as exc:  # noqa: BLE001 - the assertion below names it
                outcomes.append(exc)

        threads = [threading.Thread(target=reply, args=(r,)) for r in ({"grade_bands": "6-8"}, {"subjects": "math"})]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with session_scope(engine) as session:
            state = dialogs.current_state_in(session, person_id=ben, flow="profile", context=context)
            assert state is not None and {"grade_bands", "subjects"} <= set(state.answers), (trial, state)
    assert [o for o in outcomes if isinstance(o, Exception)] == []
