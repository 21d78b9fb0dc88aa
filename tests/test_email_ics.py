"""Calendar invites as iTIP messages: REQUEST with organizer and attendees, SEQUENCE that rises, CANCEL on a rematch.

Every .ics is parsed back with the icalendar library; the pairing emails are real ones, queued by a published round
and rendered the way the outbox sender renders them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.email.ics import Party, session_invite
from bot.email.render import build_mime, render_notice
from bot.importer import import_roster
from bot.rounds import schedule, service
from bot.settings import Settings
from storage import repo
from storage.db import session_scope
from storage.models import OutboxMessage, Pairing, Person, PlannedSession, ScheduledAction

PROGRAM = "Riverside Teacher Mentoring"
COORDINATOR = "coordinator@riverside.example"
QUEUED_UNDER = "http://127.0.0.1:8000"  # the address the app had when the notices were queued
CONFIG = schedule.ScheduleConfig(session_minutes=30, public_base_url=QUEUED_UNDER, link_secret="g" * 32)
ROSTER = (
    "email,name,role,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity\n"
    "maria.lopez@riverside.example,Maria Lopez,mentor,Eastside Middle,6-8,math,classroom management,,Tue 15:00-16:30,America/Los_Angeles,1\n"
    "tom.nguyen@riverside.example,Tom Nguyen,mentee,Westview Middle,6-8,math,,classroom management,Tue 15:30-16:30,America/Los_Angeles,\n"
    "priya.shah@riverside.example,Priya Shah,mentor,Eastside Middle,6-8,math,classroom management,,Tue 15:00-16:30,America/Los_Angeles,1\n"
)


def la(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("America/Los_Angeles"))


PUBLISHED_AT = la(2027, 3, 1, 9, 0)  # a Monday morning, inside school hours


def mail_settings(tmp_path: Path, **extra: object) -> Settings:
    """The settings the sender has on the day it sends (the public address has moved off localhost since queueing)."""
    values = {
        "_env_file": None, "data_dir": tmp_path, "mail_from": "mentoring@riverside.example", "reply_domain": "reply.riverside.example",
        "email_token_secret": "t" * 32, "public_base_url": "https://mentoring.riverside.example", **extra,
    }  # fmt: skip
    return Settings(**values)


def published_round(engine: Engine, tmp_path: Path, *, message: str | None = "Welcome to spring mentoring!", settings: dict | None = None) -> int:
    """Three teachers of one program, a two-session round matched and published, and its pairing notices queued."""
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=PUBLISHED_AT)
    service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=PUBLISHED_AT)
    with session_scope(engine) as session:
        repo.get_program(session, name=PROGRAM).settings = settings if settings is not None else {"admin_emails": [COORDINATOR]}
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=PUBLISHED_AT)
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=PUBLISHED_AT,
        request=service.RoundRequest(sessions=2, start_on=date(2027, 3, 8), end_on=date(2027, 4, 9)),
    )  # fmt: skip
    service.move_round(engine, round_id=round_.id, target="collecting", now=PUBLISHED_AT)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=PUBLISHED_AT)
    schedule.publish_round(engine, round_id=round_.id, now=PUBLISHED_AT, config=CONFIG, message=message)
    schedule.run_due_actions(engine, now=PUBLISHED_AT, config=CONFIG)
    return round_.id


def emails(engine: Engine, settings: Settings, *, purpose: str, now: datetime = PUBLISHED_AT, pairing_id: int | None = None) -> list[EmailMessage]:
    """The email outbox rows of one purpose (of one pairing), rendered and built into MIME as the sender does it."""
    built = []
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == purpose, OutboxMessage.channel == "email").order_by(OutboxMessage.id))
        for message in rows:
            if pairing_id is not None and message.body.get("pairing_id") != pairing_id:
                continue
            person = session.get(Person, message.person_id)
            rendered = render_notice(session, message=message, settings=settings, now=now)
            assert rendered.skip is None, rendered.skip
            built.append(build_mime(message, rendered, settings=settings, person=person, now=now))
    return built


def invite_of(mail: EmailMessage) -> Calendar:
    """The attached .ics, parsed back; the calendar alternative of the body must say the same."""
    (attached,) = [part for part in mail.iter_attachments() if part.get_content_type() == "text/calendar"]
    (inline,) = [part for part in mail.walk() if part.get_content_type() == "text/calendar" and part.get_filename() is None]
    assert attached.get_content() == inline.get_content()
    data = attached.get_content()
    calendar = Calendar.from_ical(data if isinstance(data, (str, bytes)) else bytes(data))
    assert attached.get_param("method") == inline.get_param("method") == str(calendar["method"])
    return calendar


def attendees(event) -> set[str]:
    found = event.get("attendee")
    return {str(a) for a in (found if isinstance(found, list) else [found])} if found is not None else set()


# --- the calendar file, pure -------------------------------------------------------------------


def test_a_request_names_the_organizer_and_both_people_and_a_cancel_withdraws_the_same_events() -> None:
    sessions = [["2027-03-09T23:30:00+00:00", "2027-03-10T00:00:00+00:00"], ["2027-03-16T22:30:00+00:00", "2027-03-16T23:00:00+00:00"]]
    common = {
        "proposed": sessions, "uid_base": "mentorbot-pairing-41", "uid_domain": "riverside.example", "summary": f"{PROGRAM}: Maria Lopez & Tom Nguyen",
        "description": "Proposed mentoring session.", "organizer": Party(PROGRAM, COORDINATOR),
        "attendees": [Party("Tom Nguyen", "tom.nguyen@riverside.example"), Party("Maria Lopez", "maria.lopez@riverside.example")],
        "now": PUBLISHED_AT,
    }  # fmt: skip
    request = Calendar.from_ical(session_invite(method="REQUEST", sequence=0, **common))
    cancel = Calendar.from_ical(session_invite(method="CANCEL", sequence=3, **common))
    assert str(request["method"]) == "REQUEST" and str(cancel["method"]) == "CANCEL"
    for calendar, sequence, status in ((request, 0, "TENTATIVE"), (cancel, 3, "CANCELLED")):
        events = list(calendar.walk("VEVENT"))
        assert [str(e["uid"]) for e in events] == ["mentorbot-pairing-41-session-1@riverside.example", "mentorbot-pairing-41-session-2@riverside.example"]
        assert [int(e["sequence"]) for e in events] == [sequence, sequence]
        assert {str(e["status"]) for e in events} == {status}
        organizer = events[0]["organizer"]
        assert str(organizer) == f"mailto:{COORDINATOR}" and str(organizer.params["cn"]) == PROGRAM
        assert attendees(events[0]) == {"mailto:tom.nguyen@riverside.example", "mailto:maria.lopez@riverside.example"}
    assert str(list(request.walk("VEVENT"))[1]["summary"]) == f"{PROGRAM}: Maria Lopez & Tom Nguyen (session 2 of 2)"


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="PUBLISH"):
        session_invite(
            method="PUBLISH", proposed=[], uid_base="x", uid_domain="d", summary="s", description="d",
            organizer=Party("P", "p@d.example"), attendees=[], sequence=0, now=PUBLISHED_AT,
        )  # fmt: skip


# --- invites from a real round: send, move, rematch --------------------------------------------


def test_pairing_emails_invite_both_people_from_the_programs_coordinator(engine: Engine, tmp_path: Path) -> None:
    published_round(engine, tmp_path)
    sent = emails(engine, mail_settings(tmp_path), purpose="pairing")
    assert len(sent) == 2  # both sides of the one pair
    uids = set()
    for mail in sent:
        calendar = invite_of(mail)
        assert str(calendar["method"]) == "REQUEST"
        events = list(calendar.walk("VEVENT"))
        assert len(events) == 2 and {int(e["sequence"]) for e in events} == {0}
        assert str(events[0]["organizer"]) == f"mailto:{COORDINATOR}"
        assert len(attendees(events[0])) == 2 and str(mail["To"].addresses[0].addr_spec) in {a.removeprefix("mailto:") for a in attendees(events[0])}
        assert str(events[0]["summary"]).startswith(f"{PROGRAM}: ")
        uids |= {str(e["uid"]) for e in events}
    assert len(uids) == 2  # both people's copies name the same two sessions


def test_an_organizer_email_setting_wins_and_without_any_the_from_address_invites(engine: Engine, tmp_path: Path) -> None:
    published_round(engine, tmp_path, settings={"organizer_email": "mentoring.office@riverside.example", "admin_emails": [COORDINATOR]})
    (first, _second) = emails(engine, mail_settings(tmp_path), purpose="pairing")
    assert str(invite_of(first).walk("VEVENT")[0]["organizer"]) == "mailto:mentoring.office@riverside.example"
    with session_scope(engine) as session:
        repo.get_program(session, name=PROGRAM).settings = {}
    (first, _second) = emails(engine, mail_settings(tmp_path), purpose="pairing")
    organizer = invite_of(first).walk("VEVENT")[0]["organizer"]
    assert str(organizer) == "mailto:mentoring@riverside.example" and str(organizer.params["cn"]) == PROGRAM


def test_a_moved_session_is_re_sent_with_a_higher_sequence_and_its_reminders_follow(engine: Engine, tmp_path: Path) -> None:
    published_round(engine, tmp_path)
    with session_scope(engine) as session:
        (pairing,) = session.exec(select(Pairing)).all()
        old_start = session.exec(select(PlannedSession).where(PlannedSession.pairing_id == pairing.id, PlannedSession.number == 2)).one().starts_at
    moved_to = la(2027, 3, 18, 15, 30)
    moved_at = PUBLISHED_AT + timedelta(days=2)
    schedule.move_session(engine, pairing_id=pairing.id, number=2, starts_at=moved_to, now=moved_at, config=CONFIG)
    updates = emails(engine, mail_settings(tmp_path), purpose="pairing.update", now=moved_at)
    assert len(updates) == 2
    for mail in updates:
        assert mail["Subject"].startswith("Updated: You're matched with")
        assert "session 2 moved to Thu Mar 18, 15:30" in mail.get_body(preferencelist=("plain",)).get_content()
        events = {str(e["uid"]): e for e in invite_of(mail).walk("VEVENT")}
        second = events[f"mentorbot-pairing-{pairing.id}-session-2@riverside.example"]
        assert second.decoded("dtstart") == moved_to and second.decoded("dtend") == moved_to + timedelta(minutes=30)
        assert {int(e["sequence"]) for e in events.values()} == {1}
    with session_scope(engine) as session:
        reminders = session.exec(select(ScheduledAction).where(col(ScheduledAction.idempotency_key).startswith(f"session.reminder:{pairing.id}:2:day:"))).all()
        assert reminders and all(r.due_at.date() == date(2027, 3, 17) for r in reminders) and old_start != moved_to
        assert schedule.calendar_sequence(session, pairing=pairing) == 2  # read back from the stored notices, as after a restart
    # A second move outranks the first.
    schedule.move_session(engine, pairing_id=pairing.id, number=2, starts_at=moved_to + timedelta(days=7), now=moved_at, config=CONFIG)
    later = emails(engine, mail_settings(tmp_path), purpose="pairing.update", now=moved_at)
    assert sorted({int(e["sequence"]) for mail in later for e in invite_of(mail).walk("VEVENT")}) == [1, 2]


def test_a_session_cannot_move_into_the_past_or_off_a_cancelled_pair(engine: Engine, tmp_path: Path) -> None:
    published_round(engine, tmp_path)
    with session_scope(engine) as session:
        (pairing,) = session.exec(select(Pairing)).all()
    with pytest.raises(service.RoundError, match="still ahead"):
        schedule.move_session(engine, pairing_id=pairing.id, number=1, starts_at=PUBLISHED_AT - timedelta(days=1), now=PUBLISHED_AT, config=CONFIG)
    with pytest.raises(repo.NotFound, match="no session 3"):
        schedule.move_session(engine, pairing_id=pairing.id, number=3, starts_at=PUBLISHED_AT + timedelta(days=9), now=PUBLISHED_AT, config=CONFIG)


def test_a_rematch_cancels_the_old_pairs_sessions_once_with_the_same_uids(engine: Engine, tmp_path: Path) -> None:
    published_round(engine, tmp_path)
    with session_scope(engine) as session:
        (old,) = session.exec(select(Pairing)).all()
    first = emails(engine, mail_settings(tmp_path), purpose="pairing", pairing_id=old.id)
    first_uids = {str(e["uid"]) for e in invite_of(first[0]).walk("VEVENT")}
    rematched_at = PUBLISHED_AT + timedelta(days=3)
    new = schedule.rematch(engine, pairing_id=old.id, now=rematched_at, config=CONFIG)
    assert new is not None and new.mentor_id != old.mentor_id
    cancels = emails(engine, mail_settings(tmp_path), purpose="pairing.cancelled", now=rematched_at)
    assert sorted(str(m["To"].addresses[0].addr_spec) for m in cancels) == ["maria.lopez@riverside.example", "tom.nguyen@riverside.example"]
    for mail in cancels:
        assert mail["Subject"].startswith("Cancelled: your mentoring sessions with")
        calendar = invite_of(mail)
        assert str(calendar["method"]) == "CANCEL"
        events = list(calendar.walk("VEVENT"))
        assert {str(e["uid"]) for e in events} == first_uids
        assert {int(e["sequence"]) for e in events} == {1} and {str(e["status"]) for e in events} == {"CANCELLED"}
        assert str(events[0]["organizer"]) == f"mailto:{COORDINATOR}" and len(attendees(events[0])) == 2
    # Asked again, the withdrawal queues nothing new; the not-yet-sent old pairing email would be skipped.
    with session_scope(engine) as session:
        again = schedule.withdraw_pairing(session, pairing=session.get(Pairing, old.id), now=rematched_at, why="again")
        keys = [m.idempotency_key for m in session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing.cancelled"))]
        stale = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing", OutboxMessage.channel == "email")).first()
        skipped = render_notice(session, message=stale, settings=mail_settings(tmp_path), now=rematched_at).skip
    assert again == 2 and len(keys) == len(set(keys)) == 2  # enqueue hands back the rows already written
    assert skipped and "cancelled" in skipped
    # The new pair's invites start calendar entries of their own, at SEQUENCE 0.
    new_invites = emails(engine, mail_settings(tmp_path), purpose="pairing", now=rematched_at, pairing_id=new.id)
    assert len(new_invites) == 2
    for mail in new_invites:
        events = list(invite_of(mail).walk("VEVENT"))
        assert {str(e["uid"]) for e in events}.isdisjoint(first_uids) and {int(e["sequence"]) for e in events} == {0}
