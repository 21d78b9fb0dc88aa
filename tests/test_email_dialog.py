"""A mentee with no Slack account does opt-in and profile entirely by email, through the running app.

The app runs under uvicorn with its own outbox worker sending to a real aiosmtpd server; replies come in
through the webhook as signed Mailgun route posts (and a SendGrid Inbound Parse post), on both backends.
"""

from __future__ import annotations

import hashlib
import re
import hmac
import secrets
import time
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from bot import notify
from bot.email.sink import read_folder
from bot.importer import import_roster
from bot.rounds import service
from bot.settings import Settings
from storage import repo
from storage.db import session_scope
from storage.models import DialogState, Enrollment, Person
from sqlmodel import select
from tests.emailkit import RecordingHandler, smtp_server
from tests.test_web import serving

PROGRAM = "Email Program"
SIGNING_KEY = "key-test-mailgun-signing"
ROSTER = (
    "email,name,role,slack_user_id,site,grade_bands,subjects,capacity,principal_email\n"
    "ben@d.example,Ben Ortiz,mentee,,Garfield,,,,\n"
    "ana@d.example,Ana Chen,mentor,UANA00001,Lincoln,6-8,math,2,\n"
)


def _setup(engine: Engine, tmp_path: Path, now: datetime) -> int:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    term = service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    assert notify.invite_to_term(engine, term_id=term.id, now=now) == 2
    return term.id


def _settings(tmp_path: Path, database_url: str, port: int, **extra) -> Settings:
    return Settings(
        _env_file=None, data_dir=tmp_path / "data", database_url=database_url, program_name=PROGRAM,
        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", mail_from="mentoring@district.example",
        reply_domain="reply.district.example", email_token_secret="s" * 40, outbox_seconds=0.05, sweep_seconds=3600,
        mailgun_signing_key=SIGNING_KEY, sendgrid_inbound_key="sg-key", public_base_url="http://127.0.0.1:9", **extra,
    )  # fmt: skip


def mailgun_form(to: str, *, text: str, subject: str, message_id: str, in_reply_to: str, references: str, sender: str = "Ben Ortiz <ben@d.example>", key: str = SIGNING_KEY, timestamp: int | None = None, token: str | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    token = token or secrets.token_hex(25)
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "recipient": to, "sender": "ben@d.example", "from": sender, "subject": subject, "body-plain": text,
        "Message-Id": message_id, "In-Reply-To": in_reply_to, "References": references, "To": to,
        "timestamp": str(timestamp), "token": token, "signature": signature,
    }  # fmt: skip


def reply_to(mail: EmailMessage, text: str, n: int, **extra) -> dict[str, str]:
    references = " ".join(filter(None, [str(mail.get("References", "")), str(mail["Message-ID"])]))
    return mailgun_form(
        mail["Reply-To"].addresses[0].addr_spec, text=text, subject=f"Re: {mail['Subject']}", message_id=f"<reply{n}@mail.d.example>",
        in_reply_to=str(mail["Message-ID"]), references=references, **extra,
    )  # fmt: skip


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def outlook_quote(mail: EmailMessage, answer: str) -> str:
    """An Outlook reply: the answer on top, then Outlook's From/Sent block and the whole earlier email."""
    return (
        f"{answer}\r\n\r\nBest regards,\r\nBen Ortiz\r\nGarfield Elementary\r\n\r\n________________________________\r\n"
        f"From: {mail['From']}\r\nSent: Monday, November 23, 2026 9:05 AM\r\nTo: Ben Ortiz <ben@d.example>\r\n"
        f"Subject: {mail['Subject']}\r\n\r\n" + text_of(mail).replace("\n", "\r\n")
    )


async def test_a_mentee_without_slack_completes_opt_in_and_profile_by_reply(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    term_id = _setup(engine, tmp_path, now)
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    settings = _settings(tmp_path, database_url, port)
    try:
        async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
            await handler.wait_for(1, to="ben@d.example")
            invite = handler.to("ben@d.example")[0].message
            assert handler.to("ben@d.example")[0].rcpt_tos == ["ben@d.example"]
            assert "1 = Mentor" in text_of(invite) and "Not this term" in text_of(invite)

            # 1. Opt in with a bare number, Gmail style with the wrapped "wrote:" header and the quote below.
            body = "2\r\n\r\nOn Mon, Nov 23, 2026 at 9:00 AM Email Program <mentoring@district.example>\r\nwrote:\r\n\r\n> " + text_of(invite).replace("\n", "\n> ")
            response = await client.post("/email/inbound", data=reply_to(invite, body, 1))
            assert response.json() == {"status": "applied", "reason": "token"}
            await handler.wait_for(2, to="ben@d.example")
            follow_up = handler.to("ben@d.example")[1].message
            assert follow_up["In-Reply-To"] == "<reply1@mail.d.example>"
            assert str(invite["Message-ID"]) in follow_up["References"]
            assert follow_up["Subject"] == "Re: Mentoring this term: Spring 2027"
            text = text_of(follow_up)
            assert "Role: Mentee" in text and "Which grade bands do you teach?" in text and "5. What matters most" in text

            # 2. Profile answers, numbered; a misspelt topic is matched, a misspelt subject is proposed, a bad priority is asked again.
            answers = "1. 6th grade\r\n2. Math, sciense\r\n3. classroom managment, Lesson Planning\r\n4. Tuesdays and Thursdays after 3:30\r\n5. whatever\r\n"
            assert (await client.post("/email/inbound", data=reply_to(follow_up, answers, 2))).json()["status"] == "applied"
            await handler.wait_for(3, to="ben@d.example")
            second = handler.to("ben@d.example")[2].message
            text = text_of(second)
            assert "Needs: classroom management, lesson planning" in text
            assert "Availability: Tue and Thu 15:30-17:00" in text
            assert "I think you meant the following, but I haven't saved it yet:\r\n  - Subjects: math, science" in text
            assert "5. What matters most" in text and "whatever" in text
            assert "1. Which grade bands" not in text  # nothing answered is asked twice

            # 3. The last answer from Outlook, with the whole thread quoted below it.
            assert (await client.post("/email/inbound", data=reply_to(second, outlook_quote(second, "5. 1, 3"), 3))).json()["status"] == "applied"
            await handler.wait_for(4, to="ben@d.example")
            third = handler.to("ben@d.example")[3].message
            assert "What matters: Same grade band, Plenty of shared time" in text_of(third)
            assert "Subjects: math, science" in text_of(third) and "Your profile is complete" not in text_of(third)

            # 4. A plain "yes" confirms the subjects it was unsure of, and nothing else is read from it.
            assert (await client.post("/email/inbound", data=reply_to(third, "Yes!\r\n\r\nSent from my iPhone", 4))).json()["status"] == "applied"
            await handler.wait_for(5, to="ben@d.example")
            done = text_of(handler.to("ben@d.example")[4].message)
            assert "Subjects: math, science" in done and "Your profile is complete" in done

            # The same email delivered again (a provider retry) changes nothing and sends nothing.
            again = reply_to(second, outlook_quote(second, "5. 1, 3"), 3)
            assert (await client.post("/email/inbound", data=again)).json()["status"] == "duplicate"
    finally:
        server.close()

    assert len(handler.to("ben@d.example")) == 5
    with session_scope(engine) as session:
        ben = repo.people_by_email(session, emails=["ben@d.example"])["ben@d.example"]
        enrollment = repo.get_enrollment(session, term_id=term_id, person_id=ben.id)
        assert (enrollment.role, enrollment.status) == ("mentee", "opted_in")
        profile = repo.profiles(session, person_ids=[ben.id])[ben.id]
        assert profile["grade_bands"] == ["6-8"] and profile["subjects"] == ["math", "science"]
        assert profile["needs"] == ["classroom management", "lesson planning"]
        assert profile["availability"] == ["Tue 15:30-17:00", "Thu 15:30-17:00"]
        states = {s.flow: s.status for s in session.exec(select(DialogState).where(DialogState.person_id == ben.id))}
        assert states == {"opt_in": "complete", "profile": "complete"}


async def test_forged_stale_and_replayed_posts_and_bad_tokens_are_refused(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    _setup(engine, tmp_path, now)
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    settings = _settings(tmp_path, database_url, port)
    try:
        async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
            await handler.wait_for(1, to="ben@d.example")
            invite = handler.to("ben@d.example")[0].message
            forged = reply_to(invite, "2", 1, key="not-the-key")
            assert (await client.post("/email/inbound", data=forged)).status_code == 401
            stale = reply_to(invite, "2", 2, timestamp=int(time.time()) - 3600)
            assert (await client.post("/email/inbound", data=stale)).json() == {"error": "stale timestamp"}
            fresh = reply_to(invite, "2", 3, token="t" * 50)
            bad_token = {**reply_to(invite, "2", 4), "recipient": "reply+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@reply.district.example", "To": "x@y.example"}
            assert (await client.post("/email/inbound", data=bad_token)).json()["status"] == "ignored"
            no_token = {**reply_to(invite, "2", 5), "recipient": "someone@reply.district.example", "To": "", "In-Reply-To": "", "References": ""}
            assert (await client.post("/email/inbound", data=no_token)).json()["status"] == "ignored"
            with session_scope(engine) as session:
                assert session.exec(select(Enrollment).where(Enrollment.status == "opted_in")).first() is None  # nothing applied
            assert (await client.post("/email/inbound", data=fresh)).json()["status"] == "applied"
            replayed = reply_to(invite, "3", 6, token="t" * 50)
            assert (await client.post("/email/inbound", data=replayed)).json() == {"error": "token reused"}
            # A second instance on the same database never saw the post, yet refuses the replay too.
            async with serving(settings, clock=lambda: now) as other, httpx.AsyncClient(base_url=other) as second:
                again = await second.post("/email/inbound", data=reply_to(invite, "3", 7, token="t" * 50))
            assert again.status_code == 401 and again.json() == {"error": "token reused"}
            # SendGrid Inbound Parse: the URL's key is the proof.
            sendgrid = {
                "from": "Ben Ortiz <ben@d.example>", "to": invite["Reply-To"].addresses[0].addr_spec, "subject": "Re: hi",
                "text": "3", "envelope": '{"to": ["%s"], "from": "ben@d.example"}' % invite["Reply-To"].addresses[0].addr_spec,
                "headers": "Message-ID: <sg1@mail.d.example>\nIn-Reply-To: %s\n" % invite["Message-ID"],
            }  # fmt: skip
            assert (await client.post("/email/inbound?key=wrong", data=sendgrid)).status_code == 401
            assert (await client.post("/email/inbound?key=sg-key", data=sendgrid)).json()["status"] == "applied"
    finally:
        server.close()
    with session_scope(engine) as session:
        ben = session.exec(select(Person).where(Person.email == "ben@d.example")).one()
        assert session.exec(select(DialogState).where(DialogState.person_id == ben.id, DialogState.flow == "opt_in")).one().answers == {"role": "both"}


async def test_one_click_unsubscribe_and_the_local_sink(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    """No SMTP_HOST: mail lands in DATA_DIR/mail; the List-Unsubscribe URL honours an RFC 8058 POST."""
    _setup(engine, tmp_path, now)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", database_url=database_url, outbox_seconds=0.05, sweep_seconds=3600, email_token_secret="x" * 32)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        for _ in range(200):
            # Ana's Slack invitation comes by email too (Slack is not set up here): the sink holds Ben's and hers.
            stored = [(path, mail) for path, mail in read_folder(tmp_path / "data" / "mail") if mail["To"].addresses[0].addr_spec == "ben@d.example"]
            if stored:
                break
            await asyncio_sleep(0.05)
        (path, mail), = stored
        assert path.suffix == ".eml"
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = re.search(r"<(http[^>]+)>", str(mail["List-Unsubscribe"]))[1].replace("http://127.0.0.1:8000", base)
        page = await client.get(url)
        assert page.status_code == 200 and "<form method=\"post\">" in page.text  # a GET only asks
        with session_scope(engine) as session:
            assert session.exec(select(Person).where(Person.email == "ben@d.example")).one().unsubscribed_at is None
        done = await client.post(url, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200 and "unsubscribed" in done.text
        assert (await client.post(url, data={"List-Unsubscribe": "One-Click"})).status_code == 200  # again: still fine
        assert (await client.post(url[:-4] + "aaaa")).status_code == 404
    with session_scope(engine) as session:
        assert session.exec(select(Person).where(Person.email == "ben@d.example")).one().unsubscribed_at == now


async def asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
