"""The demo's email leg: the app and its local mail sink run on loopback, and a mentee with no Slack account
answers the opt-in and profile questions by replying to the emails, the last time from Outlook with the
whole thread quoted. Replies go in through the app's webhook as signed Mailgun posts, as they would in production.

`run_email_leg(settings, database_url=..., term_id=..., now=...)` returns the lines to print.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
import uvicorn

from bot import notify
from bot.dialogs import context_key
from bot.email.sender import EmailSender
from bot.email.sink import read_folder
from bot.outbox import deliver_due
from bot.settings import Settings
from bot.web.app import create_app, loopback_socket
from storage import db, repo
from storage.db import session_scope
from storage.models import Term

DEMO_MENTEE = ("jordan.lee@student.example", "Jordan Lee")


def _text(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def _signed(key: str, fields: dict[str, str]) -> dict[str, str]:
    timestamp, token = str(int(time.time())), secrets.token_hex(25)
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


def _reply_fields(mail: EmailMessage, body: str, number: int, sender: str) -> dict[str, str]:
    address = mail["Reply-To"].addresses[0].addr_spec
    references = " ".join(filter(None, [str(mail.get("References", "")), str(mail["Message-ID"])]))
    return {
        "recipient": address, "To": address, "from": sender, "sender": sender, "subject": f"Re: {mail['Subject']}",
        "body-plain": body, "Message-Id": f"<demo-reply-{number}-{secrets.token_hex(4)}@student.example>",
        "In-Reply-To": str(mail["Message-ID"]), "References": references,
    }  # fmt: skip


def _outlook(mail: EmailMessage, answer: str, name: str) -> str:
    return (
        f"{answer}\r\n\r\nThanks,\r\n{name}\r\n\r\n________________________________\r\nFrom: {mail['From']}\r\n"
        f"Sent: Monday, 9:05 AM\r\nTo: {name}\r\nSubject: {mail['Subject']}\r\n\r\n" + _text(mail).replace("\n", "\r\n")
    )


async def _leg(settings: Settings, *, term_id: int, now: datetime, lines: list[str]) -> None:
    engine = db.create_db_engine(settings.resolved_database_url)
    email, name = DEMO_MENTEE
    with session_scope(engine) as session:
        person = repo.people_by_email(session, emails=[email]).get(email)
        if person is None:
            person, _ = repo.upsert_person(session, existing=None, fields={"email": email, "name": name, "role": "mentee", "timezone": settings.default_timezone, "capacity": 0}, now=now)
            session.flush()
        term = session.get(Term, term_id)
        notify.prompt_flow(session, person=person, flow="opt_in", context=context_key(flow="opt_in", term_id=term_id), now=now, extra={"term_name": term.name}, attempt="1")
    mail_dir = settings.data_dir / "mail"
    sock = loopback_socket()
    port = sock.getsockname()[1]
    settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    sender = EmailSender(settings, clock=lambda: now)

    app = create_app(settings, clock=lambda: now, senders={"email": sender})
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        lines.append(f"The app runs on 127.0.0.1:{port}; its mail goes to the sink in {mail_dir}")
        seen: set[Path] = set()

        async def next_mail() -> EmailMessage:
            for _ in range(500):
                await deliver_due(engine, {"email": sender}, now=now)
                for path, mail in read_folder(mail_dir):
                    if path not in seen and mail["To"].addresses[0].addr_spec == email:
                        seen.add(path)
                        lines.append(f"  -> email to {name}: \"{mail['Subject']}\"")
                        return mail
                await asyncio.sleep(0.02)
            raise RuntimeError("the demo email did not arrive")

        async def reply(mail: EmailMessage, body: str, number: int, shown: str) -> None:
            lines.append(f"  <- {name} replies: {shown}")
            response = await client.post("/email/inbound", data=_signed(settings.mailgun_signing_key or "", _reply_fields(mail, body, number, f"{name} <{email}>")))
            response.raise_for_status()

        def understood(mail: EmailMessage) -> None:
            # The answer mail in one line: how many answers it saved, whether it asks to confirm some, what it still needs.
            text = _text(mail)
            head, _, needs = text.partition("I still need")
            saved = len(re.findall(r"^  - ", head.split("I think you meant")[0], flags=re.M))
            parts = [f"saved {saved} answer{'s' if saved != 1 else ''}"]
            if "haven't saved" in text:
                parts.append("asks to confirm one it hasn't saved")
            if missing := sorted(set(re.findall(r"^\s*(\d+)\. ", needs, flags=re.M)), key=int):
                parts.append(f"still needs {', '.join(missing)}")
            if "profile is complete" in text:
                parts.append("profile complete")
            lines[-1] = f"  -> answer: {'; '.join(parts)}"

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            invite = await next_mail()
            await reply(invite, "2\r\n\r\nSent from my iPhone", 1, '"2" (Mentee), sent from an iPhone')
            profile = await next_mail()
            understood(profile)
            answers = "1. K-2\r\n2. Math, sciense\r\n3. classroom managment, Family engagement\r\n4. Tuesdays and Thursdays after 3:30\r\n5. whatever works"
            await reply(profile, answers, 2, "five answers (a typo, plain-words times, one unclear)")
            missing = await next_mail()
            understood(missing)
            await reply(missing, _outlook(missing, "5. 1, 3", name), 3, '"5. 1, 3" from Outlook, the thread quoted below')
            confirm = await next_mail()
            understood(confirm)
            await reply(confirm, "Yes, that's right\r\n\r\nSent from my iPhone", 4, '"Yes, that\'s right" to what it asked to confirm')
            done = await next_mail()
            understood(done)
    finally:
        server.should_exit = True
        await task
        sock.close()
        engine.dispose()
    with session_scope(db.create_db_engine(settings.resolved_database_url)) as session:
        person = repo.people_by_email(session, emails=[email])[email]
        profile = repo.profiles(session, person_ids=[person.id]).get(person.id, {})
        enrollment = repo.get_enrollment(session, term_id=term_id, person_id=person.id)
    lines.append(f"Stored for {name}: {enrollment.role}, {enrollment.status}; needs {', '.join(profile.get('needs', []))}")


def run_email_leg(settings: Settings, *, database_url: str, term_id: int, now: datetime) -> list[str]:
    """Play a mentee answering opt-in and profile by email against the running app; returns lines to print.

    Mail goes to the local sink in ``settings.data_dir / "mail"`` (SMTP settings are ignored here, so the demo
    never sends real mail).
    """
    leg_settings = settings.model_copy(
        update={
            "database_url": database_url, "smtp_host": None, "scheduler_enabled": False, "mailgun_signing_key": secrets.token_hex(16),
            "email_token_secret": settings.token_secret,
            "imap_host": None,
        }
    )  # fmt: skip
    lines: list[str] = []
    asyncio.run(_leg(leg_settings, term_id=term_id, now=now, lines=lines))
    return lines
