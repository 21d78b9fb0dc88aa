"""Hostile or huge inbound mail never holds up the app, and mail in older charsets arrives as written.

A 20 MB reply is read and applied while Slack acks keep coming back fast; a message of 10,000 MIME parts or
multiparts nested 2,000 deep is refused from a scan of its bytes, with an answer the provider won't retry, never
a 500. The IMAP poller refuses the same messages and moves on. SendGrid posts are read in the charsets it declares.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import imaplib
import json
import logging
import os
import secrets
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.reliability._slack_traffic import Teacher, dm_request
from bot import dialogs
from bot.email import tokens
from bot.email.imap import ImapPoller
from bot.email.inbound import InboundMail
from bot.email.limits import MailRefused, MimeLimits, structure_problem
from bot.importer import import_roster
from bot.rounds import service
from bot.settings import Settings
from storage import repo
from storage.db import session_scope
from storage.models import DialogState, HeldReply, OutboxMessage
from tests.emailkit import Dovecot, start_dovecot
from tests.slack_helpers import PROGRAM, signature, slack_harness
from tests.test_web import serving

MAILGUN_KEY = "key-limits-mailgun-signing"
SECRET = "l" * 40
REPLY_DOMAIN = "reply.district.example"
BEN = Teacher("UBEN00001", "Ben Ortiz", "ben@d.example", "mentee")


# --- hostile messages, written out as a mail client (or an attacker) would -----------------------------


def _head(to: str, subject: str, n: int) -> bytes:
    return f"From: Ben Ortiz <ben@d.example>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <lim{n}@mail.d.example>\r\nMIME-Version: 1.0\r\n".encode()


def nested(to: str, depth: int, n: int = 1, *, param: str = "boundary") -> bytes:
    """A reply whose multiparts nest `depth` deep, "Mentee" at the bottom."""
    opening = b"".join(f'Content-Type: multipart/mixed; {param}="nest{i}"\r\n\r\n--nest{i}\r\n'.encode() for i in range(depth))
    closing = b"".join(f"--nest{i}--\r\n".encode() for i in reversed(range(depth)))
    return _head(to, "Re: Mentoring this term", n) + opening + b"Content-Type: text/plain\r\n\r\nMentee\r\n" + closing


def many_parts(to: str, parts: int, n: int = 2) -> bytes:
    """A reply with `parts` tiny inline parts."""
    body = b"".join(f"--many\r\nContent-Type: text/plain\r\n\r\nMentee {i}\r\n".encode() for i in range(parts))
    return _head(to, "Re: Mentoring this term", n) + b'Content-Type: multipart/mixed; boundary="many"\r\n\r\n' + body + b"--many--\r\n"


def with_attachment(to: str, megabytes: float, n: int = 3) -> bytes:
    """A genuine reply with photos of a classroom attached, `megabytes` in all."""
    photos = base64.encodebytes(os.urandom(int(megabytes * 1024 * 1024 * 3 / 4))).replace(b"\n", b"\r\n")
    return _head(to, "Re: Mentoring this term", n) + (
        b'Content-Type: multipart/mixed; boundary="att"\r\n\r\n--att\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
        b"Mentee\r\n"
        b'--att\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename="classroom.jpg"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + photos + b"--att--\r\n"
    )


def test_the_scan_refuses_hostile_structures_and_passes_everyday_mail() -> None:
    limits, to = MimeLimits(), "reply+x@reply.example"
    everyday = _head(to, "Re: Mentoring", 9) + (
        b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n--outer\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        b"--alt\r\nContent-Type: text/plain\r\n\r\nMentee\r\n\r\n-----Original Message-----\r\n" + b"---------\r\n" * 600 + b"-- \r\nBen\r\n"
        b"--alt\r\nContent-Type: text/html\r\n\r\n<p>Mentee</p>\r\n--alt--\r\n--outer\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n--outer--\r\n"
    )
    assert structure_problem(everyday, limits) is None  # 600 dashed lines are text, not parts
    assert InboundMail.from_bytes(everyday).text.startswith("Mentee")
    assert structure_problem(nested(to, 20), limits) is None
    assert structure_problem(nested(to, 21), limits) == "message nests multiparts more than 20 deep"
    assert structure_problem(many_parts(to, 500), limits) is None
    assert structure_problem(many_parts(to, 10_000), limits) == "message has more than 500 MIME parts"
    started = time.perf_counter()
    for hostile in (nested(to, 2000), many_parts(to, 10_000)):
        with pytest.raises(MailRefused):
            InboundMail.from_bytes(hostile)
    assert time.perf_counter() - started < 3  # refused from the scan (milliseconds); parsing 10,000 parts took 8 s and more
    # A boundary the scan can't see (RFC 2231 form) is still caught: by the parser's own depth, or by the walk after it.
    for depth in (30, 2000):
        with pytest.raises(MailRefused, match="deep"):
            InboundMail.from_bytes(nested(to, depth, param="boundary*"))


# --- through the running app ---------------------------------------------------------------------


def _form_data(fields: dict[str, str | bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body, as Mailgun and SendGrid post it (fields, not files)."""
    boundary = "mb-form-" + secrets.token_hex(12)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + (value.encode() if isinstance(value, str) else value) + b"\r\n"
        for name, value in fields.items()
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _mailgun_mime(to: str, raw: bytes) -> tuple[bytes, str]:
    stamp, token = str(int(time.time())), secrets.token_hex(25)
    digest = hmac.new(MAILGUN_KEY.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
    return _form_data({"recipient": to, "sender": "ben@d.example", "timestamp": stamp, "token": token, "signature": digest, "body-mime": raw})


def _opt_in_address(engine: Engine, now: datetime) -> str:
    term = service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    with session_scope(engine) as session:
        ben = repo.people_by_email(session, emails=[BEN.email])[BEN.email].id
    token = tokens.make_reply_token(SECRET, person_id=ben, flow="opt_in", context=dialogs.context_key(flow="opt_in", term_id=term.id), now=now)
    return tokens.reply_address(token, REPLY_DOMAIN)


async def test_slack_acks_stay_fast_while_a_20_mb_or_10000_part_email_is_handled(tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    now = datetime.now(timezone.utc)
    caplog.set_level(logging.WARNING, logger="bot.email.router")
    settings = {"mailgun_signing_key": MAILGUN_KEY, "email_token_secret": SECRET, "reply_domain": REPLY_DOMAIN}
    async with slack_harness(tmp_path, database_url, **settings) as h:
        to = _opt_in_address(h.engine, now)
        posts = {
            "20 MB reply": _mailgun_mime(to, with_attachment(to, 20)),
            "10,000 parts": _mailgun_mime(to, many_parts(to, 10_000)),
            "nested 2,000 deep": _mailgun_mime(to, nested(to, 2000)),
        }
        figures: dict[str, dict[str, float]] = {}
        answers: dict[str, httpx.Response] = {}
        async with httpx.AsyncClient(base_url=h.url, timeout=30) as client:

            async def ack() -> float:
                request = dm_request(BEN, "help")
                started = time.perf_counter()
                response = await client.post("/slack/events", content=request.body, headers={"Content-Type": request.content_type, **signature(request.body.decode())})
                assert response.status_code == 200
                return time.perf_counter() - started

            await ack()  # the first request pays for Bolt's lazy set-up
            for name, (body, content_type) in posts.items():
                # The email comes from another thread, as from another machine: this loop runs only the app and the acks.
                post = asyncio.ensure_future(asyncio.to_thread(httpx.post, f"{h.url}/email/inbound", content=body, headers={"Content-Type": content_type}, timeout=60))
                latencies = [await ack()]
                while not post.done():
                    latencies.append(await ack())
                    await asyncio.sleep(0.02)  # about fifty acks a second, a busy workspace
                answers[name] = await post
                figures[name] = {"acks": len(latencies), "median_ms": round(statistics.median(latencies) * 1000, 1), "max_ms": round(max(latencies) * 1000, 1)}
        assert (answers["20 MB reply"].status_code, answers["20 MB reply"].json()) == (200, {"status": "applied", "reason": "token"})
        for name in ("10,000 parts", "nested 2,000 deep"):
            assert answers[name].status_code == 406, (name, answers[name].text)  # Mailgun does not retry a 406
            assert answers[name].json()["status"] == "refused"
        assert "more than 500 MIME parts" in answers["10,000 parts"].json()["reason"]
        assert "more than 20 deep" in answers["nested 2,000 deep"].json()["reason"]
        assert sum("refused unparsed" in r.getMessage() for r in caplog.records) == 2
        with session_scope(h.engine) as session:
            assert session.exec(select(DialogState).where(DialogState.flow == "opt_in")).one().answers == {"role": "mentee"}
        assert figures["20 MB reply"]["acks"] >= 3, figures  # acks were measured while the big one was in flight
        # Parsed on the event loop, such mail held every ack for 8-40 s. The latency itself is measured against a bare
        # baseline in `bench/inbound_acks.py`; here only that nothing waits on the mail (a bound load can't break).
        assert all(f["max_ms"] < 2000 for f in figures.values()), figures
    print(f"Slack ack latency while inbound email is handled: {figures}")


async def test_over_the_limits_the_answer_is_one_providers_dont_retry_never_a_500(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("email,name,role\nben@d.example,Ben Ortiz,mentee\n", encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    to = _opt_in_address(engine, now)
    settings = Settings(
        _env_file=None, data_dir=tmp_path / "data", database_url=database_url, email_token_secret=SECRET, reply_domain=REPLY_DOMAIN,
        mailgun_signing_key=MAILGUN_KEY, sendgrid_inbound_key="sg-key", inbound_max_mb=1, scheduler_enabled=False,
    )  # fmt: skip
    envelope = json.dumps({"to": [to], "from": BEN.email})
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        big, big_type = _mailgun_mime(to, with_attachment(to, 1.5, n=4))
        too_big = await client.post("/email/inbound", content=big, headers={"Content-Type": big_type})
        assert too_big.status_code == 413 and "INBOUND_MAX_MB" in too_big.json()["reason"]

        async def chunks():  # no Content-Length: the limit holds while the body streams in
            for start in range(0, len(big), 64 * 1024):
                yield big[start : start + 64 * 1024]

        streamed = await client.post("/email/inbound", content=chunks(), headers={"Content-Type": big_type})
        assert streamed.status_code == 413
        sg_big, sg_type = _form_data({"email": with_attachment(to, 1.5, n=5), "envelope": envelope})
        sendgrid_big = await client.post("/email/inbound?key=sg-key", content=sg_big, headers={"Content-Type": sg_type})
        assert (sendgrid_big.status_code, sendgrid_big.json()["status"]) == (200, "refused")  # SendGrid retries anything but 2xx
        deep, deep_type = _form_data({"email": nested(to, 2000), "envelope": envelope})
        sendgrid_deep = await client.post("/email/inbound?key=sg-key", content=deep, headers={"Content-Type": deep_type})
        assert (sendgrid_deep.status_code, sendgrid_deep.json()["status"]) == (200, "refused")
        broken = await client.post("/email/inbound?key=sg-key", content=b"--x\r\nnot a form", headers={"Content-Type": "multipart/form-data"})
        assert broken.status_code == 400
        with session_scope(engine) as session:
            assert session.exec(select(DialogState)).first() is None
        small, small_type = _mailgun_mime(to, with_attachment(to, 0.5, n=6))
        assert (await client.post("/email/inbound", content=small, headers={"Content-Type": small_type})).json()["status"] == "applied"


async def test_sendgrid_posts_are_read_in_the_charsets_sendgrid_declares(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("email,name,role\nben@d.example,Ben Ortiz,mentee\n", encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    to = _opt_in_address(engine, now)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", database_url=database_url, email_token_secret=SECRET, reply_domain=REPLY_DOMAIN, sendgrid_inbound_key="sg-key", scheduler_enabled=False)
    envelope = json.dumps({"to": [to], "from": BEN.email})
    said = "Est-ce que je peux en parler d'abord avec la directrice, en français ?"

    def raw(n: int, label: str, body: bytes) -> bytes:
        return _head(to, "Re: Mentorat", n) + f"Content-Type: text/plain{label}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".encode() + body + b"\r\n"

    posts = {
        # Thunderbird in a French school: ISO-8859-1, posted by SendGrid as the original bytes.
        "latin-1 raw": {"email": raw(11, "; charset=iso-8859-1", said.encode("latin-1")), "charsets": json.dumps({"email": "iso-8859-1"})},
        # An old Outlook that names no charset at all; SendGrid says Windows-1252.
        "unlabelled raw": {"email": raw(12, "", said.replace("si possible", "“si possible”").encode("cp1252")), "charsets": json.dumps({"email": "windows-1252"})},
        # The body labelled Latin-1, but SendGrid re-encoded the message as UTF-8 and says so.
        "re-encoded raw": {"email": raw(13, "; charset=iso-8859-1", said.encode("utf-8")), "charsets": json.dumps({"email": "UTF-8"})},
        # Parsed mode: each field in its own charset.
        "parsed": {
            "from": "Ben Ortiz <ben@d.example>", "to": to, "subject": "Re: Mentorat – été".encode("utf-8"), "text": said.encode("cp1252"),
            "headers": "Message-ID: <lim14@mail.d.example>\n", "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "windows-1252"}),
        },  # fmt: skip
    }
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        for name, fields in posts.items():
            body, content_type = _form_data({**fields, "envelope": envelope})
            response = await client.post("/email/inbound?key=sg-key", content=body, headers={"Content-Type": content_type})
            assert response.json()["status"] == "applied", (name, response.text)
    with session_scope(engine) as session:
        answers = {m.body["thread"]["in_reply_to"]: m.body for m in session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "email.reply.opt_in"))}
        held = [h.text for h in session.exec(select(HeldReply))]
    assert len(answers) == 4
    for n in (11, 12, 13, 14):
        assert answers[f"<lim{n}@mail.d.example>"]["passed_on"], str(answers[f"<lim{n}@mail.d.example>"])  # words that answer nothing go to a person, as they were written
    assert len(held) == 4
    for quoted in held:
        assert "Est-ce que je peux en parler d'abord" in quoted and "Ã" not in quoted and "\ufffd" not in quoted, quoted
    assert answers["<lim14@mail.d.example>"]["subject"] == "Re: Mentorat – été"


# --- the IMAP poller -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dovecot() -> Dovecot:
    try:
        server = start_dovecot()
    except Exception as exc:
        pytest.fail(f"could not start dovecot for the IMAP tests: {exc}", pytrace=False)
    yield server
    server.stop()


async def test_the_poller_refuses_hostile_messages_and_flags_them_for_a_person(dovecot: Dovecot, engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("email,name,role\nben@d.example,Ben Ortiz,mentee\n", encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    to = _opt_in_address(engine, now)
    settings = Settings(
        _env_file=None, database_url=database_url, data_dir=tmp_path, email_token_secret=SECRET, reply_domain=REPLY_DOMAIN, inbound_max_mb=1,
        imap_host=dovecot.host, imap_port=dovecot.port, imap_security="none", imap_username=dovecot.user, imap_password=dovecot.password,
    )  # fmt: skip
    client = imaplib.IMAP4(dovecot.host, dovecot.port)
    client.login(dovecot.user, dovecot.password)
    client.select("INBOX")
    if client.search(None, "ALL")[1][0]:
        client.store("1:*", "+FLAGS", "(\\Deleted)")
        client.expunge()
    for message in (nested(to, 2000, 21), many_parts(to, 10_000, 22), with_attachment(to, 1.5, 23), with_attachment(to, 0.2, 24)):
        assert client.append("INBOX", None, imaplib.Time2Internaldate(time.time()), message)[0] == "OK"

    results = await ImapPoller(settings, engine, clock=lambda: now).poll_once()
    assert [(r.status, r.reason.split(" ")[-1]) for r in results] == [("refused", "deep"), ("refused", "parts"), ("refused", "limit"), ("applied", "token")]
    client.select("INBOX")
    assert len(client.search(None, "FLAGGED")[1][0].split()) == 3  # left for a person to look at
    assert client.search(None, "UNSEEN")[1][0] == b""  # and none read again on the next poll
    client.logout()
    assert await ImapPoller(settings, engine, clock=lambda: now).poll_once() == []
    with session_scope(engine) as session:
        assert session.exec(select(DialogState)).one().answers == {"role": "mentee"}
