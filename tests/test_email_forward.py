"""Replies a person must read, on SQLite and PostgreSQL: held once per inbound reply, sent to each program admin on
their own channel (email with Reply-To set to the teacher, Slack with the words escaped), kept verbatim, and the sender
told who has them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import data_rights, outbox
from bot.email import forward
from bot.email.render import build_mime, render_notice
from bot.email.sender import EmailSender
from bot.guides.blockkit import block_kit_problems
from bot.programs.spec import ProgramSpec
from bot.programs.store import apply_specs
from bot.settings import Settings
from bot.slack.messages import render_notice as slack_notice
from storage.db import session_scope
from storage.models import Enrollment, HeldReply, OutboxMessage, Pairing, Person, Program, Round, Term
from tests.emailkit import RecordingHandler, smtp_server

PROGRAM = "Eastside Mentoring"
COORDINATOR_EMAIL = "ana.ruiz@eastside.k12.example"
COORDINATOR_SLACK = "U0COORD001"


@dataclass
class Seeded:
    maya: int  # the mentee who writes
    dev: int  # her mentor
    round_id: int
    pairing_id: int
    program_id: int


def settings_for(database_url: str, **extra) -> Settings:
    values = {"public_base_url": "https://mentoring.eastside.k12.example", "mail_from": "mentoring@eastside.k12.example"}
    return Settings(_env_file=None, database_url=database_url, program_name=PROGRAM, **{**values, **extra})


def seed(engine: Engine, now: datetime, *, admins: list[str] | None = None, program: str = PROGRAM) -> Seeded:
    """A program whose coordinators are Ana Ruiz (by email) and Sam Okafor (by Slack), and one running pairing."""
    with session_scope(engine) as session:
        people = {
            email: Person(email=email, name=name, role=role, slack_user_id=slack, created_at=now, updated_at=now)
            for email, name, role, slack in [
                ("maya.chen@eastside.k12.example", "Maya Chen", "mentee", "U0MAYA0001"),
                ("dev.patel@eastside.k12.example", "Dev Patel", "mentor", None),
                (COORDINATOR_EMAIL, "Ana Ruiz", "none", None),
                ("sam.okafor@eastside.k12.example", "Sam Okafor", "none", COORDINATOR_SLACK),
            ]
        }  # fmt: skip
        session.add_all(people.values())
    apply_specs(engine, [ProgramSpec(name=program, admins=[COORDINATOR_EMAIL, COORDINATOR_SLACK] if admins is None else admins)], now=now)
    with session_scope(engine) as session:
        found = session.exec(select(Program).where(Program.name == program)).one()
        maya, dev = (session.exec(select(Person).where(Person.email == e)).one() for e in ("maya.chen@eastside.k12.example", "dev.patel@eastside.k12.example"))
        term = Term(program_id=found.id, name="Spring 2027", status="open", opened_at=now)
        session.add(term)
        session.flush()
        round_ = Round(term_id=term.id, topic="classroom routines", status="running", created_at=now, status_changed_at=now)
        session.add(round_)
        session.flush()
        pairing = Pairing(round_id=round_.id, mentor_id=dev.id, mentee_id=maya.id, status="active", topic="classroom routines", created_at=now)
        session.add(pairing)
        session.add(Enrollment(term_id=term.id, person_id=maya.id, role="mentee", status="opted_in", updated_at=now))
        session.flush()
        return Seeded(maya.id, dev.id, round_.id, pairing.id, found.id)


def hold(engine: Engine, settings: Settings, now: datetime, *, person_id: int, text: str, source_key: str, context: str = "", flow: str | None = None,
         reason: str = forward.REASON_QUESTION, subject: str = "Re: Did you and Dev Patel meet?") -> forward.HeldReplyResult:  # fmt: skip
    with session_scope(engine) as session:
        person = session.get(Person, person_id)
        return forward.hold_for_people(
            session, person=person, text=text, subject=subject, reason=reason, flow=flow, context=context, source_key=source_key, now=now, settings=settings
        )


def admin_messages(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == forward.NOTICE).order_by(OutboxMessage.channel)))


QUESTION = "Can we move it to Thursday? Zoom link?\n\nThanks,\nMaya"


def test_a_question_reaches_each_admin_once_on_their_channel_and_the_teacher_hears_who_has_it(engine: Engine, database_url: str, now: datetime) -> None:
    ids = seed(engine, now)
    settings = settings_for(database_url)
    first = hold(engine, settings, now, person_id=ids.maya, text=QUESTION, source_key="email.reply:4f1c", context=f"pairing:{ids.pairing_id}", flow="check_in")
    # The same email delivered again (a webhook retry, an IMAP re-read) an hour later, even read differently, changes nothing.
    again = hold(engine, settings, now + timedelta(hours=1), person_id=ids.maya, text="something else", source_key="email.reply:4f1c", context="")

    long_key = "email.reply:" + "7" * 400  # wider than the column: kept whole as a digest, still once
    assert [hold(engine, settings, now, person_id=ids.dev, text="Thanks!", source_key=long_key).created for _ in range(2)] == [True, False]
    assert first.created and not again.created and again.held_reply_id == first.held_reply_id
    assert first.told == "I've passed your message on to the program coordinators (Ana Ruiz and Sam Okafor); they'll get back to you."
    assert again.told == first.told and again.notified == first.notified == (f"email:{COORDINATOR_EMAIL}", f"slack:{COORDINATOR_SLACK}")
    with session_scope(engine) as session:
        (held,) = session.exec(select(HeldReply).where(HeldReply.person_id == ids.maya)).all()
        assert (held.text, held.reason, held.status, held.flow, held.context) == (QUESTION, "a question for a person", "open", "check_in", f"pairing:{ids.pairing_id}")
        assert (held.program_id, held.round_id, held.pairing_id, held.person_id, held.created_at) == (ids.program_id, ids.round_id, ids.pairing_id, ids.maya, now)
    email, slack = [m for m in admin_messages(engine) if m.body["from_name"] == "Maya Chen"]
    assert len(admin_messages(engine)) == 4  # two replies, two admins each
    assert (email.channel, email.recipient, slack.channel, slack.recipient) == ("email", COORDINATOR_EMAIL, "slack", COORDINATOR_SLACK)
    assert email.person_id is None and slack.person_id is None  # the notice is not the teacher's mail: no unsubscribe, no reply token
    for message in (email, slack):
        body = message.body
        assert body["text"] == QUESTION and body["from_email"] == "maya.chen@eastside.k12.example" and body["from_slack_id"] == "U0MAYA0001"
        assert body["about"] == f"the pairing of Dev Patel (mentor) and Maya Chen (mentee), round {ids.round_id} on classroom routines"
        assert body["page_url"] == "https://mentoring.eastside.k12.example/admin/replies?show=open"
    assert (email.body["person_name"], slack.body["person_name"]) == ("Ana Ruiz", "Sam Okafor")


def test_a_program_that_names_no_admin_falls_back_to_the_slack_admins_and_a_context_naming_nothing_to_the_latest_term(
    engine: Engine, database_url: str, now: datetime
) -> None:
    ids = seed(engine, now, admins=[])
    settings = settings_for(database_url, slack_admin_ids=["U0RUNS0001", "U0RUNS0001"])
    result = hold(engine, settings, now, person_id=ids.maya, text="we haven't met, she hasn't replied", source_key="k1", reason=forward.REASON_NOTHING_ASKED)
    nobody = hold(engine, settings_for(database_url), now, person_id=ids.maya, text="hello?", source_key="k2")

    assert result.notified == ("slack:U0RUNS0001",) and [m.recipient for m in admin_messages(engine)] == ["U0RUNS0001"]
    assert result.told == "I've passed your message on to the program coordinators; they'll get back to you."  # no name on file
    assert nobody.created and nobody.notified == ()  # nobody to tell: still held, so the admin page lists it
    with session_scope(engine) as session:
        rows = {h.source_key: h for h in session.exec(select(HeldReply))}
        assert rows["k1"].program_id == ids.program_id and rows["k1"].round_id is None and rows["k1"].reason == "answered nothing asked"
        assert forward.open_count(session, program_id=ids.program_id) == 2
        assert forward.open_count(session, program_id=ids.program_id + 1) == 0  # another program's admins don't see them


AWKWARD = (
    "<!here> <!channel> <@U0COORD001> is anyone there? *not bold* _not italic_ &amp; <https://evil.example|click> "
    "<script>alert('x')</script>\nSeñora Núñez — 数学 👩🏽‍🏫 «Grüße»\x00\n"
)


def test_words_are_kept_verbatim_and_render_safely_on_both_channels(engine: Engine, database_url: str, now: datetime) -> None:
    ids = seed(engine, now)
    settings = settings_for(database_url)
    long_tail = "".join(f"Paragraph {n}: what I tried with my sixth graders this week, and what happened next.\n" for n in range(400))
    text = AWKWARD + long_tail  # about 34,000 characters
    hold(engine, settings, now, person_id=ids.maya, text=text, source_key="k-awkward", context=f"round:{ids.round_id}", subject="Re: <b>Survey</b>\n")
    kept = text.replace("\x00", "")
    with session_scope(engine) as session:
        held = session.exec(select(HeldReply)).one()
        assert held.text == kept and len(held.text) > 30_000 and held.round_id == ids.round_id and held.pairing_id is None

    email, slack = admin_messages(engine)
    assert email.body["text"] == kept and email.body["about"] == f"round {ids.round_id} on classroom routines"
    with session_scope(engine) as session:
        rendered = render_notice(session, message=email, settings=settings, now=now)
        mime = build_mime(email, rendered, settings=settings, person=None, now=now)
    assert str(mime["Reply-To"]) == "Maya Chen <maya.chen@eastside.k12.example>" and "reply+" not in str(mime)
    assert str(mime["To"]) == f"Ana Ruiz <{COORDINATOR_EMAIL}>" and str(mime["From"]).startswith(PROGRAM)
    assert mime["Subject"] == "Maya Chen wrote something for a person to read: Re: <b>Survey</b>"
    plain = mime.get_body(preferencelist=("plain",)).get_content()
    html = mime.get_body(preferencelist=("html",)).get_content()
    flat = lambda text: " ".join(text.split())  # noqa: E731 - text parts wrap at 78 columns; the words stay whole
    assert flat(kept) in flat(plain) and "Hi Ana," in plain and "Paragraph 399" in plain
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html and "<script>" not in html and "&lt;!here&gt;" in html
    assert "Señora Núñez — 数学 👩🏽‍🏫" in html and "mailto:maya.chen@eastside.k12.example" in html

    message = slack_notice(slack.body)
    assert block_kit_problems(message.blocks, text=message.text) == []
    wire = json.dumps({"text": message.text, "blocks": message.blocks}, ensure_ascii=False)
    for raw in ("<!here>", "<!channel>", "<@U0COORD001>", "<https://evil.example", "<script>"):
        assert raw not in wire  # shown, never acted on: no ping, no mention, no link
    words = "\n".join(b["text"]["text"] for b in message.blocks if b["type"] == "section" and b["text"].get("verbatim"))
    assert words.startswith("&lt;!here&gt; &lt;!channel&gt; &lt;@U0COORD001&gt;") and "&amp;amp;" in words and "Señora Núñez — 数学 👩🏽‍🏫" in words
    assert "Paragraph 100" in words and "Paragraph 399" not in words  # cut for Slack; whole on the page and in the email
    assert "<mailto:maya.chen@eastside.k12.example|" in message.blocks[1]["text"]["text"] and "<@U0MAYA0001>" in message.blocks[1]["text"]["text"]


async def test_the_admin_email_goes_out_over_smtp_with_reply_to_the_teacher(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    ids = seed(engine, now, admins=[COORDINATOR_EMAIL])
    hold(engine, settings_for(database_url), now, person_id=ids.maya, text="Met on Tuesday! She was great. Could we get a third session?",
         source_key="k-comment", context=f"pairing:{ids.pairing_id}", flow="check_in", reason=forward.REASON_CHECK_IN_COMMENT)  # fmt: skip
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    settings = settings_for(database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", data_dir=tmp_path, email_token_secret="s" * 32)
    sender = EmailSender(settings, engine=engine, clock=lambda: now)
    try:
        (delivery,) = await outbox.deliver_due(engine, {"email": sender}, now=now)
    finally:
        await sender.close()
        server.close()
    assert delivery.status == "sent"
    (got,) = handler.received
    mail = got.message
    assert got.rcpt_tos == [COORDINATOR_EMAIL] and mail["Reply-To"].addresses[0].addr_spec == "maya.chen@eastside.k12.example"
    assert "List-Unsubscribe" not in mail  # a note to an admin, not a mailing
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Maya Chen (maya.chen@eastside.k12.example, Slack U0MAYA0001) wrote something mentorbot can't answer: check-in comment." in " ".join(text.split())
    assert "Could we get a third session?" in text and "https://mentoring.eastside.k12.example/admin/replies?show=open" in text


def test_marking_handled_and_the_persons_data_rights(engine: Engine, database_url: str, now: datetime) -> None:
    ids = seed(engine, now)
    settings = settings_for(database_url)
    older = hold(engine, settings, now, person_id=ids.maya, text="first", source_key="a")
    newer = hold(engine, settings, now + timedelta(minutes=5), person_id=ids.maya, text="second", source_key="b")
    with session_scope(engine) as session:
        assert [r.reply.text for r in forward.list_held(session, program_id=ids.program_id, show="all")] == ["second", "first"]
        done = forward.set_handled(session, held_reply_id=older.held_reply_id, program_id=ids.program_id, handled=True, by="Ana Ruiz", now=now)
        assert done.status == "done" and done.handled_by == "Ana Ruiz"
        assert forward.set_handled(session, held_reply_id=newer.held_reply_id, program_id=ids.program_id + 1, handled=True, by="x", now=now) is None
    with session_scope(engine) as session:
        assert [r.reply.text for r in forward.list_held(session, program_id=ids.program_id, show="open")] == ["second"]
        (row,) = forward.list_held(session, program_id=ids.program_id, show="done")
        assert (row.name, row.email, row.about) == ("Maya Chen", "maya.chen@eastside.k12.example", "")
        exported = data_rights.collect(session, person_id=ids.maya)
        assert [h["text"] for h in exported["replies_for_admins"]] == ["first", "second"]
        data_rights.erase(session, person_id=ids.maya, requested_by="maya.chen@eastside.k12.example", channel="email", now=now)
    with session_scope(engine) as session:
        assert session.exec(select(HeldReply)).all() == []  # her words go with her


def test_a_pairing_in_the_context_is_described_with_both_names(engine: Engine, database_url: str, now: datetime) -> None:
    ids = seed(engine, now)
    settings = settings_for(database_url)
    hold(engine, settings, now, person_id=ids.dev, text="She asked for a different time.", source_key="c", context=f"pairing:{ids.pairing_id}", flow="check_in")
    with session_scope(engine) as session:
        (row,) = forward.list_held(session, program_id=ids.program_id, show="open")
        assert row.about == "Dev Patel and Maya Chen" and row.reply.pairing_id == ids.pairing_id
        dev = session.get(Person, ids.dev)
        about = forward.concerns(session, person=dev, context="pairing:999999", settings=settings)
        assert (about.pairing_id, about.round_id, about.label) == (None, None, "no particular pairing or round")
        assert about.program is not None and about.program.name == PROGRAM  # PROGRAM_NAME's program when nothing else says
