"""The bytes the email sender puts on the wire (`wire_bytes`) are the message `build_mime` describes: the same headers,
the same MIME tree, the same decoded parts, for pairing notices and for names and subjects the fast path can't write."""

from __future__ import annotations

import email
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.email.render import WIRE_POLICY, Rendered, build_mime, render_notice, wire_bytes
from storage.db import session_scope
from storage.models import OutboxMessage, Person
from tests.test_email_ics import PUBLISHED_AT, mail_settings, published_round


def _tree(raw: bytes) -> list[tuple]:
    """Every part's headers (but the random boundary), content type and parameters, and decoded body."""
    mail = email.message_from_bytes(raw, policy=policy.default)
    out = []
    for part in mail.walk():
        headers = sorted((k.lower(), str(v)) for k, v in part.items() if k.lower() not in ("content-type", "mime-version", "content-transfer-encoding"))
        params = {k: v for k, v in (part.get_params() or [])[1:] if k != "boundary"}
        out.append((headers, part.get_content_type(), params, None if part.is_multipart() else part.get_payload(decode=True)))
    return out


def _same(message: OutboxMessage, rendered: Rendered, person: Person | None, settings) -> bytes:
    whole = build_mime(message, rendered, settings=settings, person=person, now=PUBLISHED_AT)
    raw, message_id = wire_bytes(message, rendered, settings=settings, person=person, now=PUBLISHED_AT)
    assert _tree(raw) == _tree(whole.as_bytes(policy=WIRE_POLICY)) and message_id == str(whole["Message-ID"])
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and b"\n" not in raw.replace(b"\r\n", b"")
    return raw


def test_pairing_notices_on_the_wire_are_the_built_message(engine: Engine, tmp_path: Path) -> None:
    published_round(engine, tmp_path)
    settings = mail_settings(tmp_path)
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "email").order_by(OutboxMessage.id)).all()
        assert any(row.purpose == "pairing" for row in rows)
        for message in rows:
            person = session.get(Person, message.person_id) if message.person_id else None
            rendered = render_notice(session, message=message, settings=settings, now=PUBLISHED_AT)
            if rendered.skip is None:
                raw = _same(message, rendered, person, settings)
                parsed = email.message_from_bytes(raw, policy=policy.default)
                assert isinstance(parsed, EmailMessage) and parsed.get_body(("html",)) is not None


def test_names_and_subjects_the_fast_path_cannot_write_go_through_the_email_package(tmp_path: Path) -> None:
    settings = mail_settings(tmp_path)
    message = OutboxMessage(id=1, idempotency_key="k:1:email", channel="email", purpose="notice", recipient="zoe@d.example", body={}, status="pending", attempts=1)
    odd = [
        ("Zoë O'Brien-Núñez", "Ünïcode subject — with a dash"),
        ("Dr. J. Smith, Jr.", 'Quotes "here" and =?utf-8?q?not-encoded?= words'),
        ("Ann  Lee ", "x" * 1200),
        ("", "An empty name"),
    ]
    for name, subject in odd:
        person = Person(id=7, name=name, email="zoe@d.example", role="mentee", timezone="America/Chicago")
        rendered = Rendered(
            subject=subject, text="Hi\n" + "long line " * 30 + "\nÜnïcode ✓\n", html="<p>" + "x" * 2000 + " é</p>\n", unsubscribe_url="https://m.example/u/1",
            sender_name="Riverside Mentoring", attachments=[("mentoring.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", {"method": "REQUEST"}), ("mentorbot-my-data.json", "{\"a\": \"é\"}".encode(), {})],
        )  # fmt: skip
        _same(message, rendered, person, settings)
    held = Rendered(subject="Held", text="t\n", html="<p>t</p>", reply_to=Address("Ana Díaz", addr_spec="ana@d.example"), in_reply_to="<a@b>", references=["<r@b>"])
    _same(message, held, None, settings)
