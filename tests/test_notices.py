"""Typed notices: every kind the outbox carries renders on email and on Slack, reads back from what is stored (old rows
included), fails loudly when it can't be read, and every purpose a real term queues is a registered kind.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import data_rights, dialogs, notify
from bot.dialogs import context_key
from bot.email import tokens
from bot.email.inbound import InboundMail
from bot.email.machines import Verdict, record_bounce
from bot.email.render import build_mime, render_notice
from bot.email.router import handle_mail
from bot.email.sender import EmailSender
from bot.importer import import_roster
from bot.notices import (
    KINDS, PURPOSES, ApprovalDecided, DataErasure, DataExport, EmailFailing, EmailFailingYou, Escalation, FlowPrompt, FlowReply,
    CancelledPair, HeldReply, Notice, NoticeError, Pairing, PairingCancelled, PassedOn, RoundAnnouncement, RoundCancelled, SessionReminder, SignupReply,
    SpeedRotation, SpeedSchedule, Thread, TouchpointFeedback, TouchpointShare, model_for_purpose, notice_from_payload, notice_of,
    purpose_pattern,
)  # fmt: skip
from bot.outbox import deliver_due, enqueue
from bot.rounds import events, schedule, service
from bot.settings import Settings
from bot.slack.sender import SlackSender
from storage import db, repo
from storage.db import session_scope
from storage.models import OutboxMessage, Pairing as PairingRow, Person, PlannedSession, ScheduledAction

PROGRAM = "Riverside Teacher Mentoring"
ZONE = "America/Los_Angeles"
CONFIG = schedule.ScheduleConfig(session_minutes=30, public_base_url="http://127.0.0.1:8000", link_secret="g" * 32, slack_admin_ids=("U0ADMIN01",))
HEADER = "email,name,role,slack_user_id,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity,principal_email"


def la(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(ZONE))


PUBLISHED_AT = la(2027, 3, 1, 9, 0)  # a Monday morning, inside school hours


def settings_for(folder: Path) -> Settings:
    return Settings(
        _env_file=None, data_dir=folder, mail_from="mentoring@riverside.example", reply_domain="reply.riverside.example",
        email_token_secret="t" * 32, public_base_url="https://mentoring.riverside.example", program_name="mentorbot",
    )  # fmt: skip


# --- one small program, shared by the rendering tests -------------------------------------------------------------


@dataclass(frozen=True)
class World:
    engine: Engine
    settings: Settings
    term_id: int
    round_id: int
    pairing_id: int
    program_id: int
    people: dict[str, Person]  # by first name: José (mentor), Zoë (mentee), Pat (José's principal)


ROSTER = "\n".join(
    [
        HEADER,
        "jose@riverside.example,José Ñúñez,mentor,U0JOSE001,Eastside Middle,6-8,math,classroom management,,Tue 15:00-16:30,America/Los_Angeles,1,pat@riverside.example",
        "zoe@riverside.example,Zoë Ångström,mentee,U0ZOE0001,Westview Middle,6-8,math,,classroom management,Tue 15:30-16:30,America/Los_Angeles,,",
    ]
)


@pytest.fixture(scope="module")
def world(migrated_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """José and Zoë matched in a published two-session round of a program; Pat, José's principal, on Slack too."""
    folder = tmp_path_factory.mktemp("notices")
    database = folder / "mentorbot.db"
    shutil.copyfile(migrated_sqlite_template, database)
    engine = db.create_db_engine(f"sqlite:///{database.as_posix()}")
    (folder / "roster.csv").write_text(ROSTER + "\n", encoding="utf-8")
    import_roster(engine, folder / "roster.csv", program_name=PROGRAM, default_timezone=ZONE, now=PUBLISHED_AT)
    term = service.open_term(engine, program_name=PROGRAM, timezone=ZONE, name="Printemps 2027", opt_in_by=None, now=PUBLISHED_AT)
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=PUBLISHED_AT)
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=PUBLISHED_AT,
        request=service.RoundRequest(sessions=2, start_on=date(2027, 3, 8), end_on=date(2027, 4, 9)),
    )  # fmt: skip
    service.move_round(engine, round_id=round_.id, target="collecting", now=PUBLISHED_AT)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=PUBLISHED_AT)
    schedule.publish_round(engine, round_id=round_.id, now=PUBLISHED_AT, config=CONFIG)
    with session_scope(engine) as session:
        repo.upsert_person(
            session, existing=None, now=PUBLISHED_AT,
            fields={"email": "pat@riverside.example", "name": "Pat O'Brien", "role": "none", "slack_user_id": "U0PAT0001", "timezone": ZONE, "capacity": 0},
        )  # fmt: skip
        session.flush()
        people = {p.name.split()[0]: p for p in session.exec(select(Person))}
        (pairing,) = repo.round_pairings(session, round_id=round_.id)
        program_id = repo.get_program(session, name=PROGRAM).id
        for person in people.values():
            session.expunge(person)
    assert (pairing.mentor_id, pairing.mentee_id) == (people["José"].id, people["Zoë"].id)
    yield World(engine, settings_for(folder), term.id, round_.id, pairing.id, program_id, people)
    engine.dispose()


# Teachers' and admins' words as they arrive: Slack markup, HTML, mentions and letters beyond ASCII.
TEACHER_WORDS = "<!here> Can we *move* session 2? I have <b>bus duty</b> & a _staff meeting_ on Tuesdays — merci!"


@dataclass(frozen=True)
class Example:
    """A realistic notice of one kind: whom it goes to, and words both channels must show."""

    notice: Notice
    reader: str | None  # a first name in `World.people`; None for a notice to an admin by address
    shows: tuple[str, ...]


def example_of(kind: str, w: World) -> Example:
    """The example notice of `kind` in world `w`."""
    jose, zoe = w.people["José"], w.people["Zoë"]
    proposed = [["2027-03-09T23:30:00+00:00", "2027-03-10T00:00:00+00:00"], ["2027-03-16T22:30:00+00:00", "2027-03-16T23:00:00+00:00"]]
    opt_in = context_key(flow="opt_in", term_id=w.term_id)
    thread = Thread(in_reply_to="<CAF=zoe.1@mail.example>", references=["<CAF=zoe.1@mail.example>"])
    examples = {
        FlowPrompt: lambda: Example(
            FlowPrompt(flow="approval", context=context_key(flow="approval", term_id=w.term_id, subject_id=jose.id), mentor_name=jose.name, mentor_email=jose.email, capacity=1),
            "Pat", ("José Ñúñez",),
        ),
        FlowReply: lambda: Example(
            FlowReply(
                flow="opt_in", context=opt_in, subject="Re: Mentoring this term: Printemps 2027", understood=[["Taking part as", "mentee"]],
                doubts=[["When you're free", "Did you mean Tuesdays after 3:30, not Thursdays?"]], passed_on="Your note about bus duty went to Ana Coordinator.", thread=thread,
            ),
            "Zoë", ("Taking part as", "Tuesdays after 3:30", "Ana Coordinator"),
        ),
        PassedOn: lambda: Example(
            PassedOn(subject="Re: You're matched with José Ñúñez", text="Thanks, Zoë. Ana Coordinator has your note and will write back.", thread=thread),
            "Zoë", ("Ana Coordinator",),
        ),
        ApprovalDecided: lambda: Example(ApprovalDecided(approval="approved", capacity=1, by="Pat O'Brien", term_id=w.term_id), "José", ("Pat O'Brien",)),
        Pairing: lambda: Example(
            Pairing(
                round_id=w.round_id, pairing_id=w.pairing_id, role="mentee", partner_name=jose.name, partner_email=jose.email,
                reasons=["same grade band (6-8)", "José's strengths meet your need: classroom management"], topic="classroom management",
                sessions=2, proposed=proposed, custom_message="Bring one *lesson plan* & a “stuck” moment <!channel>",
                guide_url=f"http://127.0.0.1:8000/guides/pairing/{w.pairing_id}", text=f"You're matched with {jose.name}.",
            ),
            "Zoë", ("José Ñúñez", "classroom management"),
        ),
        PairingCancelled: lambda: Example(
            PairingCancelled(
                round_id=w.round_id, pairing_id=w.pairing_id, role="mentee", partner_name=jose.name, partner_email=jose.email, proposed=proposed,
                ics_sequence=1, text=f"Your mentoring pairing with {jose.name} is cancelled, and its planned sessions with it: José moved schools.",
            ),
            "Zoë", ("José Ñúñez", "cancelled"),
        ),
        RoundCancelled: lambda: Example(
            RoundCancelled(
                round_id=w.round_id, round_name="2-session micro-mentoring", subject="Called off: 2-session micro-mentoring", custom_message="Budget freeze — sorry! <!channel>",
                pairs=[CancelledPair(pairing_id=w.pairing_id, partner_name=jose.name, partner_email=jose.email, proposed=proposed, ics_sequence=1)],
                text=f"The mentoring round you were paired in (2-session micro-mentoring) has been called off.\nYour pairing with {jose.name} won't go ahead.\nA note from the program: Budget freeze — sorry!",
            ),
            "Zoë", ("José Ñúñez", "called off", "Budget freeze"),
        ),
        SessionReminder: lambda: Example(
            SessionReminder(pairing_id=w.pairing_id, number=1, partner_name=jose.name, starts_at=proposed[0][0], text=f"Reminder: session 1 with {jose.name} is tomorrow, Tue Mar 9 at 15:30 ({ZONE})."),
            "Zoë", ("José Ñúñez", "session 1"),
        ),
        TouchpointShare: lambda: Example(
            TouchpointShare(pairing_id=w.pairing_id, after_session=1, text=f"Between sessions: share your plan or work product with {jose.name} by email before session 2."),
            "Zoë", ("José Ñúñez", "before session 2"),
        ),
        TouchpointFeedback: lambda: Example(
            TouchpointFeedback(pairing_id=w.pairing_id, after_session=1, text=f"Between sessions: {zoe.name} should have shared their plan or work by now."),
            "José", ("Zoë Ångström",),
        ),
        Escalation: lambda: Example(
            Escalation(pairing_id=w.pairing_id, why="no answer to the check-in", text=f"The pair {jose.name} and {zoe.name} (round {w.round_id}) looks stalled: no answer to the check-in."),
            None, ("Zoë Ångström", "looks stalled"),
        ),
        RoundAnnouncement: lambda: Example(
            RoundAnnouncement(
                round_id=w.round_id, program_id=w.program_id, program_name=PROGRAM, round_kind="event", topics=["SEL in the classroom", "Évaluation formative"],
                sessions=1, text=f"{PROGRAM} is running a topic event. Join the topics you'd like:\n1. SEL in the classroom\n2. Évaluation formative",
            ),
            "Zoë", ("Évaluation formative",),
        ),
        SignupReply: lambda: Example(
            SignupReply(round_id=w.round_id, program_id=w.program_id, program_name=PROGRAM, status="joined", text="You're in for topic 2: Évaluation formative.", subject="Re: join a topic", thread=thread),
            "Zoë", ("Évaluation formative",),
        ),
        SpeedSchedule: lambda: Example(
            SpeedSchedule(round_id=w.round_id, rotations=[(1, jose.name), (2, "a short break")], text=f"Your speed-mentoring schedule, 10 minutes each:\nRotation 1 at 15:30: {jose.name}\nRotation 2 at 15:40: a short break"),
            "Zoë", ("Rotation 1 at 15:30: José Ñúñez",),
        ),
        SpeedRotation: lambda: Example(
            SpeedRotation(round_id=w.round_id, rotation=1, partner_name=jose.name, text=f"Rotation 1 is starting: you're meeting {jose.name} for 10 minutes."),
            "Zoë", ("you're meeting José Ñúñez",),
        ),
        DataExport: lambda: Example(
            DataExport(subject="Your data in mentorbot", text="Here is everything mentorbot keeps about you: 1 profile, 1 pairing.", data={"person": {"name": zoe.name}}),
            "Zoë", ("everything mentorbot keeps about you",),
        ),
        DataErasure: lambda: Example(
            DataErasure(subject="A person's data was erased", text="A deletion was carried out (request #7, asked by the person themselves). Erased: 3 profile answers."),
            None, ("request #7",),
        ),
        EmailFailingYou: lambda: Example(
            EmailFailingYou(subject="We couldn't reach you by email", text=f"We couldn't reach you by email at {zoe.email}: 550 5.1.1 user unknown."),
            "Zoë", (zoe.email,),
        ),
        EmailFailing: lambda: Example(
            EmailFailing(subject=f"Mail to {zoe.name} is failing", text=f"Mail to {zoe.name} <{zoe.email}> is failing: 550 5.1.1 user unknown — check the roster address.", failing_person_id=zoe.id, failing_email=zoe.email, failure="550 5.1.1 user unknown"),
            None, ("Zoë Ångström", "550 5.1.1"),
        ),
        HeldReply: lambda: Example(
            HeldReply(
                held_reply_id=1, reason="a question for a person", text=TEACHER_WORDS, subject="Re: You're matched", from_name=zoe.name,
                from_email=zoe.email, from_slack_id=zoe.slack_user_id, about=f"{jose.name} & {zoe.name} (classroom management)",
                round_id=w.round_id, pairing_id=w.pairing_id, program_id=w.program_id, program_name=PROGRAM, page_url="https://mentoring.riverside.example/admin/replies?show=open",
            ),
            None, ("Zoë Ångström", "bus duty", "staff meeting"),
        ),
    }
    assert set(examples) == set(KINDS.values()), "every registered kind needs an example here"
    return examples[KINDS[kind]]()


def _queue(w: World, example: Example, *, channel: str) -> OutboxMessage:
    reader = w.people[example.reader] if example.reader else None
    if reader is not None:
        recipient = reader.email if channel == "email" else reader.slack_user_id
    else:
        recipient = "coordinator@riverside.example" if channel == "email" else "U0ADMIN01"
    notice = example.notice.addressed_to(reader.name if reader else "Ana Coordinator")
    with session_scope(w.engine) as session:
        message, created = enqueue(
            session, idempotency_key=f"test:{notice.kind}:{channel}:{uuid.uuid4().hex}", channel=channel, purpose=f"test.{notice.kind}", recipient=recipient,
            person_id=reader.id if reader else None, body=notice.to_payload(), now=PUBLISHED_AT,
        )  # fmt: skip
        assert created
        session.expunge(message)
    return message


def email_of(w: World, message: OutboxMessage) -> tuple[str, str, str, list[str]]:
    """Subject, plain text and HTML of the email the sender would build, and its attachments' file names."""
    with session_scope(w.engine) as session:
        person = session.get(Person, message.person_id) if message.person_id is not None else None
        rendered = render_notice(session, message=message, settings=w.settings, now=PUBLISHED_AT + timedelta(minutes=1))
        assert rendered.skip is None, rendered.skip
        mail = build_mime(message, rendered, settings=w.settings, person=person, now=PUBLISHED_AT)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    return str(mail["Subject"]), text, html, [part.get_filename() for part in mail.iter_attachments()]


def slack_of(engine: Engine, settings: Settings, message: OutboxMessage) -> tuple[str, str]:
    """The Slack message the sender would post: its text and its blocks as JSON."""
    rendered = SlackSender(settings, engine=engine).render(message)
    assert rendered.blocks and rendered.text
    return rendered.text, json.dumps(rendered.blocks, ensure_ascii=False)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_on_email_and_on_slack(world: World, kind: str) -> None:
    example = example_of(kind, world)
    subject, text, html, attachments = email_of(world, _queue(world, example, channel="email"))
    slack_text, blocks = slack_of(world.engine, world.settings, _queue(world, example, channel="slack"))
    for words in example.shows:
        assert words in subject + "\n" + " ".join(text.split()), f"email of {kind} lacks {words!r}:\n{subject}\n{text}"
        assert words in slack_text + blocks, f"Slack message of {kind} lacks {words!r}:\n{blocks}"
    assert "Hi " in text and "\n-- \n" in text and "<html" in html  # greeting, signature and the HTML part
    if isinstance(example.notice, (Pairing, PairingCancelled, RoundCancelled)):
        assert "mentoring.ics" in attachments  # the sessions as calendar entries (CANCEL for a cancelled pair)
    if isinstance(example.notice, DataExport):
        assert "mentorbot-my-data.json" in attachments


def test_a_round_called_off_takes_each_of_a_readers_pairs_off_their_calendar(world: World) -> None:
    zoe = world.people["Zoë"]
    first = [["2027-03-09T23:30:00+00:00", "2027-03-10T00:00:00+00:00"]]
    second = [["2027-03-11T23:30:00+00:00", "2027-03-12T00:00:00+00:00"]]
    notice = RoundCancelled(
        round_id=world.round_id, round_name="1-session micro-mentoring", subject="Called off: 1-session micro-mentoring",
        pairs=[
            CancelledPair(pairing_id=world.pairing_id, partner_name=zoe.name, partner_email=zoe.email, proposed=first, ics_sequence=2),
            CancelledPair(pairing_id=world.pairing_id + 100, partner_name="Ben Ortiz", partner_email="ben@riverside.example", proposed=second),
            CancelledPair(pairing_id=world.pairing_id + 101, partner_name="Dee Park", partner_email="dee@riverside.example"),  # never had times
        ],
        text="The mentoring round you were paired in (1-session micro-mentoring) has been called off.",
    )  # fmt: skip
    subject, text, _html, attachments = email_of(world, _queue(world, Example(notice, "José", ()), channel="email"))
    assert subject == "Called off: 1-session micro-mentoring" and "removes the sessions from your calendar" in " ".join(text.split())
    assert attachments == ["mentoring-1.ics", "mentoring-2.ics"]


def test_a_teachers_words_can_ping_nobody_on_slack_and_stay_text_in_the_email(world: World) -> None:
    example = example_of("held_reply", world)
    _subject, text, html, _ = email_of(world, _queue(world, example, channel="email"))
    slack_text, blocks = slack_of(world.engine, world.settings, _queue(world, example, channel="slack"))
    assert "<!here>" not in slack_text + blocks and "&lt;!here&gt;" in blocks and "&lt;b&gt;bus duty&lt;/b&gt;" in blocks
    assert TEACHER_WORDS in " ".join(text.split())  # the plain part holds the words as written (wrapped at 78 columns)
    assert "<b>bus duty</b>" not in html and "&lt;b&gt;bus duty&lt;/b&gt;" in html


def test_a_flow_reply_on_slack_escapes_what_the_person_wrote(world: World) -> None:
    notice = FlowReply(flow="opt_in", context=context_key(flow="opt_in", term_id=world.term_id), doubts=[["When you're free", "<!channel> *Thursdays*?"]])
    _text, blocks = slack_of(world.engine, world.settings, _queue(world, Example(notice, "José", ()), channel="slack"))
    assert "<!channel>" not in blocks and "&lt;!channel&gt;" in blocks


# --- what is stored ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_notice_reads_back_from_the_json_it_is_stored_as(world: World, kind: str) -> None:
    notice = example_of(kind, world).notice.addressed_to("Zoë Ångström")
    stored = json.loads(json.dumps(notice.to_payload()))  # what the database gives back
    assert stored["notice"] == kind
    assert notice_from_payload(stored) == notice


def test_old_rows_read_with_defaults_for_what_they_lack_and_without_keys_no_kind_has_any_more() -> None:
    old = notice_from_payload({"notice": "pairing", "partner_name": "Ana Chen", "topic": None, "custom_message": None, "guide_html": "<p>gone</p>"})
    assert isinstance(old, Pairing) and (old.partner_name, old.topic, old.sessions, old.proposed, old.ics_sequence) == ("Ana Chen", None, 1, [], 0)
    announced = notice_from_payload({"notice": "round.announce", "kind": "interview", "choices": ["assistant principal"], "text": "Interviews"})
    assert isinstance(announced, RoundAnnouncement) and announced.round_kind == "interview"
    assert announced.to_payload()["kind"] == "interview"  # the round's kind keeps its stored name
    reply = notice_from_payload({"notice": "flow_reply", "flow": "opt_in", "context": "term:1", "thread": {"in_reply_to": "<a@b>"}})
    assert isinstance(reply, FlowReply) and reply.thread.references == [] and reply.understood == []


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"notice": "note", "text": "hello"}, "unknown notice kind 'note'"),
        ({"text": "no kind at all"}, "unknown notice kind None"),
        ({"notice": "flow_prompt", "context": "term:1"}, "flow: Field required"),
        ({"notice": "pairing", "reasons": "not a list"}, "reasons: Input should be a valid list"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
def test_a_payload_that_is_no_notice_is_refused_with_the_reason(payload: object, problem: str) -> None:
    with pytest.raises(NoticeError, match=problem.replace("(", r"\(")):
        notice_from_payload(payload)  # type: ignore[arg-type]


def test_building_a_notice_with_a_field_its_kind_does_not_have_is_a_bug() -> None:
    with pytest.raises(ValueError, match="topik"):
        Pairing(partner_name="Ana", topik="SEL")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="can't go out as 'session.reminder'"):
        notify.send_notice(None, person=Person(name="Ana", email="a@x.example"), purpose="session.reminder", key="k", notice=Escalation(), now=PUBLISHED_AT)  # type: ignore[arg-type]


async def test_a_message_that_holds_no_notice_fails_for_good_on_both_channels_with_the_reason(sqlite_url: str, tmp_path: Path) -> None:
    engine = db.create_db_engine(sqlite_url)
    settings = settings_for(tmp_path).model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9})  # never reached: rendering fails first
    with session_scope(engine) as session:
        zoe, _ = repo.upsert_person(
            session, existing=None, now=PUBLISHED_AT, fields={"email": "zoe@riverside.example", "name": "Zoë Ångström", "role": "mentee", "slack_user_id": "U0ZOE0001"},
        )  # fmt: skip
        session.flush()
        for channel, recipient in (("email", zoe.email), ("slack", zoe.slack_user_id)):
            enqueue(
                session, idempotency_key=f"broken:{channel}", channel=channel, purpose="session.reminder", recipient=recipient,
                person_id=zoe.id, body={"notice": "reminder", "number": "first"}, now=PUBLISHED_AT,
            )  # fmt: skip
    email, slack = EmailSender(settings, engine=engine), SlackSender(settings, engine=engine)
    try:
        deliveries = await deliver_due(engine, {"email": email, "slack": slack}, now=PUBLISHED_AT + timedelta(minutes=1))
        with session_scope(engine) as session:
            broken = {m.channel: (m.status, m.attempts, m.last_error) for m in session.exec(select(OutboxMessage))}
    finally:
        await email.close()
        engine.dispose()
    assert sorted(d.status for d in deliveries) == ["failed", "failed"]
    assert {channel: status[:2] for channel, status in broken.items()} == {"email": ("failed", 1), "slack": ("failed", 1)}  # not retried
    for _status, _attempts, error in broken.values():
        assert "outbox message" in error and "(session.reminder)" in error and "number: Input should be a valid integer" in error


# --- every purpose a real term queues is a registered kind -------------------------------------------------------

EVERYONE = "\n".join(
    [
        HEADER,
        "ana@riverside.example,Ana Chen,mentor,,Eastside Middle,6-8,math,classroom management,,Tue 15:00-16:30,America/Los_Angeles,1,pat@riverside.example",
        "jose@riverside.example,José Ñúñez,mentor,U0JOSE001,Eastside Middle,6-8,math,classroom management;assessment,,Tue 15:00-16:30,America/Los_Angeles,2,",
        "omar@riverside.example,Omar Khan,mentor,U0OMAR001,Harbor Elementary,6-8,math,classroom management,,Tue 15:00-16:30,America/Los_Angeles,1,",
        "zoe@riverside.example,Zoë Ångström,mentee,U0ZOE0001,Westview Middle,6-8,math,,classroom management,Tue 15:30-16:30,America/Los_Angeles,,",
        "ben@riverside.example,Ben Ortiz,mentee,,Garfield,6-8,math,,classroom management,Tue 15:30-16:30,America/Los_Angeles,,",
        "dee@riverside.example,Dee Ray,mentee,U0DEE0001,Lincoln,6-8,math,,assessment,Tue 15:30-16:30,America/Los_Angeles,,",
        "pat@riverside.example,Pat Park,mentee,,Eastside Middle,6-8,math,,assessment,Tue 15:30-16:30,America/Los_Angeles,,",
    ]
)


def _person(engine: Engine, email: str) -> Person:
    with session_scope(engine) as session:
        person = repo.people_by_email(session, emails=[email])[email]
        session.expunge(person)
        return person


def _reply(engine: Engine, settings: Settings, email: str, *, flow: str | None, context: str, text: str, n: int, now: datetime) -> None:
    """An email reply from `email` to the message whose reply token names `flow` and `context`, through the webhook's handler."""
    token = tokens.make_reply_token(settings.token_secret, person_id=_person(engine, email).id, flow=flow, context=context, now=now)
    mail = InboundMail(sender=email, recipients=[tokens.reply_address(token, settings.reply_domain)], subject="Re: Mentoring", text=text, message_id=f"<r{n}@mail.example>")
    result = handle_mail(engine, settings, mail, now=now)
    assert result.status == "applied", result


def _run_actions_until(engine: Engine, end: datetime) -> None:
    """The scheduler's sweep at each moment an action falls due, up to `end` (a deferred action comes back later)."""
    for _ in range(2000):
        with session_scope(engine) as session:
            due = session.exec(
                select(sa.func.min(ScheduledAction.due_at)).where(ScheduledAction.status == "pending", ScheduledAction.due_at <= end)
            ).one()
        if due is None:
            return
        schedule.run_due_actions(engine, now=due if due.tzinfo else due.replace(tzinfo=ZoneInfo("UTC")), config=CONFIG)
    raise AssertionError("the sweep never ran out of due actions")


def a_term_of_everything(engine: Engine, settings: Settings) -> None:
    """A term as it happens: invitations, answers by Slack and email, approvals, a micro round run to its end with a
    moved session and a withdrawn pair, a topic event, a speed event, replies held for admins, data rights and a bounce."""
    now = la(2027, 2, 1, 9, 0)
    path = settings.data_dir / "everyone.csv"
    path.write_text(EVERYONE + "\n", encoding="utf-8")
    import_roster(engine, path, program_name=PROGRAM, default_timezone=ZONE, now=now)
    term = service.open_term(engine, program_name=PROGRAM, timezone=ZONE, name="Spring 2027", opt_in_by=None, now=now)
    with session_scope(engine) as session:
        repo.get_program(session, name=PROGRAM).settings = {"admin_emails": ["coordinator@riverside.example"], "require_approval": True}
    assert notify.invite_to_term(engine, term_id=term.id, now=now) == 7  # prompt.opt_in to everyone
    opt_in = context_key(flow="opt_in", term_id=term.id)
    # Ana answers by email; Pat, her principal, approves by email; the rest answer on Slack (or their answers are recorded so).
    _reply(engine, settings, "ana@riverside.example", flow="opt_in", context=opt_in, text="yes", n=1, now=now)
    _reply(engine, settings, "ana@riverside.example", flow="opt_in", context=opt_in, text="I can take 1 mentee this term.", n=2, now=now)
    ana_approval = context_key(flow="approval", term_id=term.id, subject_id=_person(engine, "ana@riverside.example").id)
    _reply(engine, settings, "pat@riverside.example", flow="approval", context=ana_approval, text="Yes, approved.", n=3, now=now)
    for email, replies in (
        ("jose@riverside.example", {"role": "mentor", "capacity": "2"}), ("omar@riverside.example", {"role": "mentor", "capacity": "1"}),
        ("zoe@riverside.example", {"role": "mentee"}), ("ben@riverside.example", {"role": "mentee"}), ("dee@riverside.example", {"role": "mentee"}),
        ("pat@riverside.example", {"role": "mentee"}),
    ):  # fmt: skip
        result = dialogs.answer(engine, person_id=_person(engine, email).id, flow="opt_in", context=opt_in, channel="slack", replies=replies, now=now)
        notify.dispatch_events(engine, result.events, now=now)
    for email in ("jose@riverside.example", "omar@riverside.example"):  # no principal on file: the program admin decides
        service.decide_approval(engine, program_name=PROGRAM, term_name=None, mentor_email=email, approve=True, decided_by="coordinator", now=now)

    # A micro round, published; a session moved, a pair withdrawn, a question about a pairing held for a person.
    micro = service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=now, request=service.RoundRequest(sessions=2, start_on=date(2027, 2, 8), end_on=date(2027, 3, 12)),
    )  # fmt: skip
    service.move_round(engine, round_id=micro.id, target="collecting", now=now)
    service.run_matching(engine, round_id=micro.id, session_minutes=30, now=now)
    schedule.publish_round(engine, round_id=micro.id, now=now, config=CONFIG, message="Welcome, tout le monde!")
    schedule.run_due_actions(engine, now=now, config=CONFIG)  # the pairing notices
    with session_scope(engine) as session:
        pairings = [p.id for p in repo.round_pairings(session, round_id=micro.id)]
        first = session.exec(select(PlannedSession).where(PlannedSession.pairing_id == pairings[0], PlannedSession.number == 1)).one()
        moved_to = first.starts_at + timedelta(days=1)
    schedule.move_session(engine, pairing_id=pairings[0], number=1, starts_at=moved_to, now=now, config=CONFIG)
    with session_scope(engine) as session:
        schedule.withdraw_pairing(session, pairing=session.get(PairingRow, pairings[-1]), now=now, why="the mentor moved schools")
        session.get(PairingRow, pairings[-1]).status = "cancelled"
    _reply(engine, settings, "ben@riverside.example", flow=None, context="", text="Can we meet on Thursdays instead? I have bus duty on Tuesdays all spring.", n=4, now=now)
    _run_actions_until(engine, la(2027, 3, 26, 9, 0))  # reminders, touchpoints, check-ins nobody answers, escalations, the survey

    # A topic event, announced and joined by email reply; a speed event the week after.
    event_day = la(2027, 3, 30, 9, 0)
    event = service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=event_day,
        request=service.RoundRequest(kind="event", topics="SEL in the classroom; Évaluation formative", sessions=1, start_on=date(2027, 3, 30), match_on=date(2027, 4, 6), end_on=date(2027, 4, 30)),
    )  # fmt: skip
    assert events.open_round(engine, round_id=event.id, now=event_day) > 0
    _reply(engine, settings, "ben@riverside.example", flow=None, context=f"round:{event.id}", text="join 2", n=5, now=event_day)
    speed_at = la(2027, 4, 14, 15, 30)
    service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=event_day,
        request=service.RoundRequest(kind="speed", rotations=2, rotation_minutes=10, starts_at=speed_at),
    )  # fmt: skip
    _run_actions_until(engine, speed_at + timedelta(hours=2))
    # A second speed event, its schedules out the day before, then called off with a note: everyone told hears once.
    second_at = la(2027, 4, 21, 15, 30)
    second = service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=event_day,
        request=service.RoundRequest(kind="speed", rotations=1, rotation_minutes=10, starts_at=second_at),
    )  # fmt: skip
    _run_actions_until(engine, second_at - timedelta(hours=12))
    with session_scope(engine) as session:
        for message in session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "speed.schedule")):
            if message.body.get("round_id") == second.id:
                message.status, message.sent_at = "sent", second_at - timedelta(hours=12)  # as the delivery worker would
        cancelled = schedule.cancel_round_in(session, round_id=second.id, now=second_at - timedelta(hours=11), by="coordinator", message="The library is closed that day.")
        assert cancelled.told > 0

    # Data rights: an export, an erasure asked for by email (a code goes out), an erasure done; then a bounce.
    later = speed_at + timedelta(days=1)
    with session_scope(engine) as session:
        data_rights.export(session, person_id=_person(engine, "zoe@riverside.example").id, requested_by="zoe", channel="slack", now=later)
    _reply(engine, settings, "ben@riverside.example", flow=None, context="", text="delete my data", n=6, now=later)
    with session_scope(engine) as session:
        data_rights.erase(session, person_id=_person(engine, "dee@riverside.example").id, requested_by="admin", channel="cli", now=later, admin_slack_ids=CONFIG.slack_admin_ids)
        verdict = Verdict("bounce", "a test bounce", failed_recipients=("jose@riverside.example",), diagnostic="550 5.1.1 user unknown")
        record_bounce(session, verdict=verdict, now=later, admin_emails=["coordinator@riverside.example"], admin_slack_ids=CONFIG.slack_admin_ids)


def test_every_purpose_a_real_term_queues_is_a_registered_kind_and_every_registered_purpose_is_queued(sqlite_url: str, tmp_path: Path) -> None:
    engine = db.create_db_engine(sqlite_url)
    settings = settings_for(tmp_path)
    try:
        a_term_of_everything(engine, settings)
        with session_scope(engine) as session:
            messages = list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
            for message in messages:
                session.expunge(message)
        assert len(messages) > 100
        unregistered = sorted({m.purpose for m in messages if purpose_pattern(m.purpose) is None})
        assert unregistered == [], "purposes queued with no notice registered for them in bot.notices.PURPOSES"
        wrong = sorted({(m.purpose, type(notice_of(m)).__name__) for m in messages if not isinstance(notice_of(m), model_for_purpose(m.purpose))})
        assert wrong == [], "messages whose notice is not the kind their purpose is registered for"
        assert {purpose_pattern(m.purpose) for m in messages} == set(PURPOSES), "registered purposes no producer queued in this term"
        # What the producers queued renders on the channel it was queued for: one message of each purpose and channel.
        sample = {(m.purpose, m.channel): m for m in messages}
        for (purpose, channel), message in sorted(sample.items()):
            if channel == "email":
                with session_scope(engine) as session:
                    rendered = render_notice(session, message=message, settings=settings, now=la(2027, 4, 16, 9, 0))
                assert rendered.skip or (rendered.subject and rendered.text), (purpose, rendered)
            else:
                text, _blocks = slack_of(engine, settings, message)
                assert text, purpose
    finally:
        engine.dispose()
