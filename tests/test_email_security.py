"""Only the person an email was asked of can answer it, on both backends.

Each test replays an attack that used to work: a principal's approval, a mentee's opt-out and a topic sign-up
posed by a forged From (with the In-Reply-To of a real email, or a forwarded reply address), a sender whose
SPF/DKIM/DMARC checks fail, and a one-reply erasure. Each now changes nothing; the genuine answer still works.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import data_rights, dialogs, notify
from bot.email import tokens
from bot.email.inbound import InboundMail
from bot.email.render import build_mime, message_id_for, render_notice
from bot.email.router import handle_mail
from bot.rounds import events
from bot.settings import Settings
from storage import repo
from storage.db import session_scope
from storage.models import DialogState, Enrollment, OutboxMessage, Person
from tests.emailkit import open_term_with_roster, person_id
from tests.test_web import serving

SECRET = "k" * 40
SETTINGS = Settings(_env_file=None, email_token_secret=SECRET, reply_domain="reply.district.example", mail_from="mentoring@district.example", program_name="P")
ROSTER = (
    "email,name,role,site,capacity,principal_email\n"
    "ana@d.example,Ana Chen,mentor,Lincoln,2,pat@d.example\n"
    "ben@d.example,Ben Ortiz,mentee,Garfield,,\n"
    "pat@d.example,Pat Park,mentor,Lincoln,0,\n"
)


def _term(engine: Engine, tmp_path: Path, now: datetime) -> int:
    return open_term_with_roster(engine, tmp_path, ROSTER, now)


_id = person_id


def _reply(engine: Engine, owner: str, flow: str | None, context: str, text: str, n: int, now: datetime, *, sender: str | None = None) -> InboundMail:
    """A reply to `owner`'s reply address (their signed token), from `sender` (the owner unless said)."""
    token = tokens.make_reply_token(SECRET, person_id=_id(engine, owner), flow=flow, context=context, now=now)
    return InboundMail(
        sender=sender or owner, recipients=[tokens.reply_address(token, SETTINGS.reply_domain)], subject="Re: Mentoring",
        text=text, message_id=f"<r{n}@mail.d.example>",
    )  # fmt: skip


def _send(engine: Engine, purpose: str, recipient: str, now: datetime) -> str:
    """Render the queued email as the sender would and mark it sent under its Message-ID; returns that id."""
    with session_scope(engine) as session:
        message = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == purpose, OutboxMessage.recipient == recipient)).one()
        person = session.get(Person, message.person_id)
        mime = build_mime(message, render_notice(session, message=message, settings=SETTINGS, now=now), settings=SETTINGS, person=person, now=now)
        message.provider_id, message.status = str(mime["Message-ID"]), "sent"
        return message.provider_id


def _old_message_id(key: str) -> str:
    """The Message-ID the outbox used to give an email: a plain hash of its predictable key."""
    return f"<mb.{hashlib.sha256(key.encode()).hexdigest()[:32]}@district.example>"


def test_a_forged_principal_approval_by_in_reply_to_changes_nothing(engine: Engine, tmp_path: Path, now: datetime, caplog: pytest.LogCaptureFixture) -> None:
    term_id = _term(engine, tmp_path, now)
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    assert handle_mail(engine, SETTINGS, _reply(engine, "ana@d.example", "opt_in", context, "Yes", 1, now), now=now).status == "applied"
    assert handle_mail(engine, SETTINGS, _reply(engine, "ana@d.example", "opt_in", context, "2", 2, now), now=now).complete
    real_id = _send(engine, "prompt.approval", "pat@d.example", now)
    with session_scope(engine) as session:
        ask = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "prompt.approval")).one()
    guessed = _old_message_id(ask.idempotency_key)
    assert real_id != guessed and real_id == message_id_for(ask.idempotency_key, "district.example", SECRET)

    # Ana, wanting to mentor, posts as her principal: From pat@, In-Reply-To the approval email (guessed from its
    # key, or the real id, seen in a forwarded copy), sent to the program's plain address: no reply token.
    caplog.set_level(logging.WARNING, logger="bot.email.inbound")
    forged = [
        InboundMail(
            sender="pat@d.example", recipients=["mentoring@district.example"], subject="Re: Please approve Ana Chen as a mentor",
            text=text, message_id=f"<forged{n}@mail.example>", in_reply_to=in_reply_to, references=[in_reply_to],
        )  # fmt: skip
        for n, (text, in_reply_to) in enumerate((t, i) for t in ("Yes, approved.", "approve", "Yes") for i in (guessed, real_id))
    ]
    results = [handle_mail(engine, SETTINGS, mail, now=now) for mail in forged]
    assert {r.status for r in results} == {"ignored"}
    assert sum("In-Reply-To alone is not trusted" in r.getMessage() for r in caplog.records) == len(forged)
    with session_scope(engine) as session:
        assert repo.get_enrollment(session, term_id=term_id, person_id=_id(engine, "ana@d.example")).approval == "pending"

    # Pat's own answer, to Pat's reply address, from Pat, is taken.
    decided = handle_mail(engine, SETTINGS, _reply(engine, "pat@d.example", "approval", ask.body["context"], "Yes, approved.", 9, now), now=now)
    assert decided.saved == {"decision": "approve"}


def test_a_forged_mentee_opt_out_changes_nothing(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    notify.invite_to_term(engine, term_id=term_id, now=now)
    invite_id = _send(engine, "prompt.opt_in", "ben@d.example", now)
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    forged = [
        InboundMail(sender="ben@d.example", recipients=[to], text=text, message_id=f"<o{n}@mail.example>", in_reply_to=invite_id, references=[invite_id])
        for n, (to, text) in enumerate((to, t) for to in ("mentoring@district.example", "reply@reply.district.example") for t in ("No thanks", "Not this term", "3"))
    ]
    assert {handle_mail(engine, SETTINGS, mail, now=now).status for mail in forged} == {"ignored"}
    with session_scope(engine) as session:
        assert session.exec(select(DialogState).where(DialogState.person_id == _id(engine, "ben@d.example"))).first() is None
    # Someone who has Ben's reply address (a forwarded invite) still can't answer for him.
    forwarded = _reply(engine, "ben@d.example", "opt_in", context, "No thanks", 7, now, sender="cousin@family.example")
    assert handle_mail(engine, SETTINGS, forwarded, now=now).reason == "reply token belongs to someone else"
    assert handle_mail(engine, SETTINGS, _reply(engine, "ben@d.example", "opt_in", context, "Mentee", 8, now), now=now).saved == {"role": "mentee"}


def test_message_ids_are_keyed_stable_and_unguessable() -> None:
    key = "prompt.approval:term:3:mentor:7:42:1:email"
    first, again = message_id_for(key, "district.example", SECRET), message_id_for(key, "district.example", SECRET)
    assert first == again  # a retried send keeps its id, so the receiver dedupes it
    assert first != _old_message_id(key) and hashlib.sha256(key.encode()).hexdigest()[:32] not in first
    assert message_id_for(key, "district.example", "another-secret-of-forty-characters-----") != first
    assert message_id_for(key + "x", "district.example", SECRET) != first
    assert re.fullmatch(r"<mb\.[0-9a-f]{32}@district\.example>", first)


def test_joining_an_event_by_email_needs_the_person_whose_announcement_it_was(engine: Engine, tmp_path: Path, now: datetime) -> None:
    from tests.test_events import OPENS, at, new_event, setup_program, signups

    setup_program(engine, tmp_path, now)
    round_id = new_event(engine, now)
    events.open_round(engine, round_id=round_id, now=at(OPENS, 10))
    later = at(OPENS, 12)
    forwarded = _reply(engine, "ben@d.example", None, f"round:{round_id}", "1", 1, later, sender="eve@d.example")
    result = handle_mail(engine, SETTINGS, forwarded, now=later)
    assert (result.status, result.reason) == ("ignored", "reply token belongs to someone else")
    assert signups(engine, round_id) == []
    with session_scope(engine) as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "email.reply.signup")).first() is None
    joined = handle_mail(engine, SETTINGS, _reply(engine, "ben@d.example", None, f"round:{round_id}", "1", 2, later), now=later)
    assert joined.reason == "round sign-up"
    assert [(email, status) for email, _topic, _role, status in signups(engine, round_id)] == [("ben@d.example", "joined")]


# --- erasure by email takes a confirming code ------------------------------------------------------


def _erased(engine: Engine, person_id: int) -> bool:
    with session_scope(engine) as session:
        return data_rights.is_erased(session.get(Person, person_id))


def _last_code_email(engine: Engine) -> OutboxMessage:
    with session_scope(engine) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "data.erasure_code").order_by(OutboxMessage.id.desc())).first()


def test_erasure_by_email_needs_a_fresh_code_from_the_same_person(engine: Engine, tmp_path: Path, now: datetime) -> None:
    _term(engine, tmp_path, now)
    ben = _id(engine, "ben@d.example")
    # One reply used to erase at once: anyone posing as Ben could wipe him out.
    asked = handle_mail(engine, SETTINGS, _reply(engine, "ben@d.example", None, "", "Please delete my data.\n\n> On Monday P wrote:", 1, now), now=now)
    assert (asked.status, asked.reason, _erased(engine, ben)) == ("applied", "erasure code sent", False)
    sent = _last_code_email(engine)
    assert (sent.recipient, sent.person_id, sent.body["thread"]["in_reply_to"]) == ("ben@d.example", ben, "<r1@mail.d.example>")
    code = re.search(r"ERASE (\d{6})", sent.body["text"])[1]
    assert "within 24 hours" in sent.body["text"] and "ignore this email" in sent.body["text"]
    with session_scope(engine) as session:
        rendered = render_notice(session, message=sent, settings=SETTINGS, now=now)
    assert f"ERASE {code}" in rendered.text and rendered.skip is None

    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    someone_elses = tokens.erasure_code(SECRET, person_id=_id(engine, "ana@d.example"), now=now)
    attempts = [
        (_reply(engine, "ben@d.example", None, "", f"ERASE {wrong}", 2, now), now, "erasure code wrong or expired"),
        (_reply(engine, "ben@d.example", None, "", f"ERASE {someone_elses}", 3, now), now, "erasure code wrong or expired"),
        (_reply(engine, "ben@d.example", None, "", f"ERASE {code}", 4, now, sender="eve@evil.example"), now, "data request from someone else"),
        (_reply(engine, "ben@d.example", None, "", f"ERASE {code}", 5, now + timedelta(hours=25)), now + timedelta(hours=25), "erasure code wrong or expired"),
    ]
    for mail, at_, reason in attempts:
        assert handle_mail(engine, SETTINGS, mail, now=at_).reason == reason
        assert not _erased(engine, ben)
    assert "nothing was erased" in _last_code_email(engine).body["text"]  # the person is told why

    confirmed = handle_mail(engine, SETTINGS, _reply(engine, "ben@d.example", None, "", f"erase {code[:3]} {code[3:]}", 6, now + timedelta(hours=23)), now=now + timedelta(hours=23))
    assert (confirmed.status, confirmed.reason, _erased(engine, ben)) == ("applied", "data erasure", True)


def test_an_erasure_code_lasts_at_least_a_day_and_not_much_more() -> None:
    made = datetime(2026, 11, 23, 17, 59, 59).astimezone()
    code = tokens.erasure_code(SECRET, person_id=12, now=made)
    assert tokens.erasure_code_matches(SECRET, code, person_id=12, now=made + timedelta(hours=24))
    assert not tokens.erasure_code_matches(SECRET, code, person_id=12, now=made + timedelta(hours=25, seconds=1))
    assert not tokens.erasure_code_matches(SECRET, code, person_id=13, now=made)
    assert not tokens.erasure_code_matches("another secret entirely, forty chars long", code, person_id=12, now=made)
    assert not tokens.erasure_code_matches(SECRET, code[:5], person_id=12, now=made)


# --- SPF / DKIM / DMARC ----------------------------------------------------------------------------

MAILGUN_KEY = "key-security-mailgun"


def _mailgun(fields: dict[str, str]) -> dict[str, str]:
    stamp, token = str(int(time.time())), secrets.token_hex(25)
    return {**fields, "timestamp": stamp, "token": token, "signature": hmac.new(MAILGUN_KEY.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()}


def _raw_reply(to: str, text: str, n: int, *, auth_results: tuple[str, ...] = ()) -> str:
    headers = "".join(f"Authentication-Results: {value}\r\n" for value in auth_results)
    return (
        f"{headers}From: Ben Ortiz <ben@d.example>\r\nTo: {to}\r\nSubject: Re: Mentoring this term\r\nMessage-ID: <raw{n}@mail.d.example>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )


async def test_senders_who_fail_spf_dkim_or_dmarc_are_refused_over_http(engine: Engine, database_url: str, tmp_path: Path, now: datetime, caplog: pytest.LogCaptureFixture) -> None:
    term_id = _term(engine, tmp_path, now)
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    to = tokens.reply_address(tokens.make_reply_token(SECRET, person_id=_id(engine, "ben@d.example"), flow="opt_in", context=context, now=now), SETTINGS.reply_domain)
    settings = Settings(
        _env_file=None, data_dir=tmp_path / "data", database_url=database_url, email_token_secret=SECRET, reply_domain=SETTINGS.reply_domain,
        mailgun_signing_key=MAILGUN_KEY, sendgrid_inbound_key="sg-key", sweep_seconds=3600, scheduler_enabled=False,
    )  # fmt: skip
    parsed = {"recipient": to, "To": to, "from": "Ben Ortiz <ben@d.example>", "subject": "Re: Mentoring", "body-plain": "Mentor"}
    forged_posts = {
        "Mailgun: SPF and DKIM fail": ({}, _mailgun({**parsed, "Message-Id": "<f1@x>", "X-Mailgun-Spf": "Fail", "X-Mailgun-Dkim-Check-Result": "Fail"})),
        "Mailgun raw: DMARC fail": ({}, _mailgun({"recipient": to, "body-mime": _raw_reply(to, "Mentor", 2, auth_results=(
            "mx.mailgun.example; spf=pass smtp.mailfrom=bounce@evil.example; dkim=none; dmarc=fail (p=reject) header.from=d.example",
        ))})),
        "Mailgun: DMARC fail in message-headers": ({}, _mailgun({**parsed, "Message-Id": "<f3@x>", "message-headers": json.dumps([
            ["Authentication-Results", "mx.mailgun.example; dmarc=fail header.from=d.example"],
            ["Authentication-Results", "mx.evil.example; dmarc=pass header.from=d.example"],
        ])})),
        "SendGrid: SPF fail, DKIM of another domain": ({"key": "sg-key"}, {
            "from": "Ben Ortiz <ben@d.example>", "to": to, "text": "Mentor", "SPF": "fail", "dkim": "{@evil.example : pass}",
            "envelope": json.dumps({"to": [to], "from": "ben@d.example"}), "headers": "Message-ID: <f4@x>\n",
        }),
        "SendGrid raw: our server's DMARC fail above a forged pass": ({"key": "sg-key"}, {
            "email": _raw_reply(to, "Mentor", 5, auth_results=("mx.district.example; dmarc=fail header.from=d.example", "mx.district.example; dmarc=pass")),
            "envelope": json.dumps({"to": [to], "from": "ben@d.example"}),
        }),
    }
    caplog.set_level(logging.WARNING, logger="bot.email.router")
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        answers = {name: await client.post("/email/inbound", params=params, data=form) for name, (params, form) in forged_posts.items()}
        assert {name: (r.status_code, r.json()["status"]) for name, r in answers.items()} == {name: (200, "refused") for name in forged_posts}
        assert "DMARC fail" in answers["Mailgun raw: DMARC fail"].json()["reason"]
        with session_scope(engine) as session:
            assert session.exec(select(DialogState)).first() is None and session.exec(select(OutboxMessage).where(OutboxMessage.purpose.startswith("email.reply"))).first() is None
        assert sum("sender authentication failed" in r.getMessage() for r in caplog.records) == len(forged_posts)
        # A forwarded message (SPF softfail) whose DKIM signature for d.example passes is Ben's.
        genuine = await client.post("/email/inbound", params={"key": "sg-key"}, data={
            "from": "Ben Ortiz <ben@d.example>", "to": to, "text": "Mentee", "SPF": "softfail", "dkim": "{@d.example : pass}",
            "envelope": json.dumps({"to": [to], "from": "ben@d.example"}), "headers": "Message-ID: <ok@x>\n",
        })  # fmt: skip
        assert genuine.json() == {"status": "applied", "reason": "token"}
    with session_scope(engine) as session:
        assert session.exec(select(Enrollment).where(Enrollment.person_id == _id(engine, "ben@d.example"))).one().status == "opted_in"


def test_only_the_topmost_authentication_results_counts_and_only_from_our_server() -> None:
    to = "reply+abc@reply.district.example"
    ours_fail = "mx.district.example; spf=fail smtp.mailfrom=d.example; dkim=none"
    forged_pass = "mx.district.example; spf=pass smtp.mailfrom=d.example; dkim=pass header.d=d.example; dmarc=pass"
    assert InboundMail.from_bytes(_raw_reply(to, "hi", 1, auth_results=(ours_fail, forged_pass)).encode()).auth_failed == "SPF fail and DKIM none"
    assert InboundMail.from_bytes(_raw_reply(to, "hi", 2, auth_results=(forged_pass, ours_fail)).encode()).auth_failed is None
    # With INBOUND_AUTHSERV_ID set, a topmost header from another server is not ours: it decides nothing.
    theirs = "mx.elsewhere.example; dmarc=fail header.from=d.example"
    assert InboundMail.from_bytes(_raw_reply(to, "hi", 3, auth_results=(theirs,)).encode(), authserv_id="mx.district.example").auth_failed is None
    assert InboundMail.from_bytes(_raw_reply(to, "hi", 4, auth_results=(theirs,)).encode()).auth_failed == "DMARC fail"
    # DKIM passing for another domain does not rescue a failed SPF; for the sender's own (sub)domain it does.
    other = "mx.district.example; spf=fail smtp.mailfrom=d.example; dkim=pass header.d=evil.example"
    own = "mx.district.example; spf=fail smtp.mailfrom=d.example; dkim=pass header.d=mail.d.example"
    assert InboundMail.from_bytes(_raw_reply(to, "hi", 5, auth_results=(other,)).encode()).auth_failed == "SPF fail and DKIM fail"
    assert InboundMail.from_bytes(_raw_reply(to, "hi", 6, auth_results=(own,)).encode()).auth_failed is None
    # Nothing reported, or a header nobody can read: nothing refused.
    assert InboundMail.from_bytes(_raw_reply(to, "hi", 7).encode()).auth_failed is None
    assert InboundMail.from_bytes(_raw_reply(to, "hi", 8, auth_results=(";;; = =",)).encode()).auth_failed is None
