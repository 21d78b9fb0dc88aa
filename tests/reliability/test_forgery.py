"""Forged requests change nothing: Slack signatures, the email webhook's signatures, and reply tokens.

Each test sends many forgeries (50 quick, 1,000 full) into the app over real HTTP on both backends, then
checks that every one was refused and that nothing moved: no row in any table, no call to the Slack stand-in.
A properly signed request at the end proves the same setup does have an effect when it should.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bench.reliability._slack_traffic import Teacher, click_request, command_request, dm_request, submit_request
from bot import dialogs
from bot.email import tokens
from bot.rounds import service
from storage.models import OutboxMessage
from storage.db import session_scope
from tests.slack_helpers import PROGRAM, SECRET, slack_harness

MAILGUN_KEY = "key-mailgun-signing-0123456789abcdef"
SENDGRID_KEY = "sendgrid-url-secret-0123456789"
TOKEN_SECRET = "reply-token-secret-" + "x" * 24
REPLY_DOMAIN = "reply.d.example"
ANA = Teacher("UANA00001", "Ana Chen", "ana@d.example", "mentor")
BEN = Teacher("UBEN00001", "Ben Ortiz", "ben@d.example", "mentee")
CY = Teacher("UCY000001", "Cy Diaz", "cy@d.example", "mentee")


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the schema: the whole database's footprint (a genuine webhook post's used-token record aside)."""
    from bot.email.router import WEBHOOK_TOKEN_KIND

    counts = {}
    with engine.connect() as connection:
        for name, table in SQLModel.metadata.tables.items():
            query = sa.select(sa.func.count()).select_from(table)
            if name == "scheduled_action":
                query = query.where(table.c.kind != WEBHOOK_TOKEN_KIND)
            counts[name] = connection.execute(query).scalar_one()
    return counts


def slack_sign(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def _open_term(engine: Engine) -> tuple[int, str]:
    term = service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=datetime.now(timezone.utc))
    return term.id, dialogs.context_key(flow="opt_in", term_id=term.id)


def forged_slack_headers(kind: str, body: bytes, other: bytes, rng: random.Random) -> dict[str, str]:
    """Headers for one forgery of `kind`: bad, missing, reused (another body's valid signature) or stale."""
    now = int(time.time())
    if kind == "bad":
        variant = rng.randrange(4)
        if variant == 0:
            return slack_sign(body, secret="not-the-signing-secret")
        if variant == 1:
            return {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=" + "%064x" % rng.getrandbits(256)}
        if variant == 2:
            good = slack_sign(body)
            return {**good, "X-Slack-Signature": good["X-Slack-Signature"].replace("v0=", "v1=")}
        return {**slack_sign(body), "X-Slack-Request-Timestamp": str(now - 1)}  # signed for another moment
    if kind == "missing":
        good = slack_sign(body)
        return [{}, {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]}, {"X-Slack-Signature": good["X-Slack-Signature"]}][rng.randrange(3)]
    if kind == "reused":
        return slack_sign(other)  # a genuine signature, of a different request
    if kind == "stale":
        return slack_sign(body, timestamp=now - rng.randint(301, 7 * 24 * 3600))  # correctly signed, over five minutes old
    raise ValueError(kind)


async def test_forged_slack_requests_get_401_and_change_nothing(tmp_path: Path, database_url: str, scale, record_figure) -> None:
    count = scale.pick(50, 1000)
    rng = random.Random(20261123)
    async with slack_harness(tmp_path, database_url) as h:
        _term_id, context = _open_term(h.engine)
        people = (ANA, BEN, CY)
        makers = (
            lambda t: dm_request(t, rng.choice(("help", "status", "opt in"))),
            lambda t: click_request(BEN, context),
            lambda t: submit_request(rng.choice((BEN, CY)), context),
            lambda t: command_request(t, rng.choice(("me", "help", 'round new micro --topic "SEL"')), h.standin.url),
        )
        requests = [rng.choice(makers)(rng.choice(people)) for _ in range(count + 1)]
        kinds = ("bad", "missing", "reused", "stale")
        before_rows, before_calls = row_counts(h.engine), len(h.standin.calls)
        statuses: dict[str, list[int]] = {kind: [] for kind in kinds}
        async with httpx.AsyncClient(base_url=h.url, timeout=30) as client:
            for index in range(count):
                request, kind = requests[index], kinds[index % len(kinds)]
                headers = forged_slack_headers(kind, request.body, requests[index + 1].body, rng)
                response = await client.post("/slack/events", content=request.body, headers={"Content-Type": request.content_type, **headers})
                statuses[kind].append(response.status_code)
            # The Slack side would retry; nothing the app does later may act on a forgery either.
            await client.get("/health")
            after_rows, after_calls = row_counts(h.engine), len(h.standin.calls)
            # The same kind of request, signed properly, does have an effect: the test could have seen one.
            genuine = dm_request(BEN, "help")
            answered = await client.post("/slack/events", content=genuine.body, headers={"Content-Type": genuine.content_type, **slack_sign(genuine.body)})
        assert {kind: sorted(set(codes)) for kind, codes in statuses.items()} == {kind: [401] for kind in kinds}
        assert after_rows == before_rows
        assert after_calls == before_calls == 0, h.standin.calls[:3]
        assert answered.status_code == 200
        await h.dm_with(BEN.slack_id, "I'm mentorbot")
    record_figure(
        "Forgery: Slack signatures", tried="DMs, clicks, submissions and commands with a bad, missing, reused (another body's) or over-5-minutes-old signature",
        count=count, held="all 401; no row written, no Web API call", backend=h.engine.dialect.name,
        by_kind={kind: len(codes) for kind, codes in statuses.items()},
    )  # fmt: skip


# --- the email webhook ----------------------------------------------------------------------------------


def _reply_mime(sender: str, token: str, text: str, message_id: str) -> str:
    return (
        f"From: {sender}\r\nTo: {tokens.reply_address(token, REPLY_DOMAIN)}\r\nSubject: Re: Mentoring this term\r\n"
        f"Message-ID: {message_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )


def _mailgun_form(mime: str, *, timestamp: int | None = None, token: str | None = None, key: str = MAILGUN_KEY) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = token or random.randbytes(25).hex()
    signature = hmac.new(key.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": stamp, "token": token, "signature": signature, "recipient": mime.split("To: ", 1)[1].split("\r\n", 1)[0], "body-mime": mime}


def _reply_token(h, email: str, context: str, *, now: datetime, secret: str = TOKEN_SECRET) -> str:
    return tokens.make_reply_token(secret, person_id=h.person_id(email), flow="opt_in", context=context, now=now)


def _email_settings() -> dict[str, object]:
    return {"mailgun_signing_key": MAILGUN_KEY, "sendgrid_inbound_key": SENDGRID_KEY, "email_token_secret": TOKEN_SECRET, "reply_domain": REPLY_DOMAIN}


async def test_forged_email_webhook_posts_are_refused_and_change_nothing(tmp_path: Path, database_url: str, scale, record_figure) -> None:
    count = scale.pick(50, 1000)
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    async with slack_harness(tmp_path, database_url, **_email_settings()) as h:
        _term_id, context = _open_term(h.engine)
        ben_token = _reply_token(h, BEN.email, context, now=now)
        async with httpx.AsyncClient(base_url=h.url, timeout=30) as client:
            # One genuine Mailgun post: Ben opts in as a mentee by email. Its captured form is then replayed.
            genuine = _mailgun_form(_reply_mime(BEN.email, ben_token, "Mentee", "<genuine@mail.example>"))
            first = await client.post("/email/inbound", data=genuine)
            assert (first.status_code, first.json()["status"]) == (200, "applied")
            before_rows = row_counts(h.engine)
            kinds = ("bad", "missing", "stale", "reused", "sendgrid")
            codes: dict[str, list[int]] = {kind: [] for kind in kinds}
            for index in range(count):
                kind = kinds[index % len(kinds)]
                mime = _reply_mime(BEN.email, ben_token, rng.choice(("Mentor", "Not this term", "No thanks")), f"<forged{index}@mail.example>")
                params = None
                if kind == "bad":
                    form = _mailgun_form(mime, key=rng.choice(("wrong-key", MAILGUN_KEY[::-1])))
                elif kind == "missing":
                    form = _mailgun_form(mime)
                    del form[rng.choice(("timestamp", "signature"))]
                    form.setdefault("signature", "")
                elif kind == "stale":
                    form = _mailgun_form(mime, timestamp=int(time.time()) - rng.randint(15 * 60 + 1, 30 * 24 * 3600))
                elif kind == "reused":
                    form = {**genuine, "body-mime": mime}  # Mailgun's genuine timestamp, token and signature, a new email
                else:
                    form = {"email": mime, "envelope": json.dumps({"to": [tokens.reply_address(ben_token, REPLY_DOMAIN)], "from": BEN.email})}
                    params = rng.choice(({"key": "wrong-url-secret"}, {}, {"key": SENDGRID_KEY[:-1]}))
                response = await client.post("/email/inbound", data=form, params=params)
                codes[kind].append(response.status_code)
            after_rows = row_counts(h.engine)
            # A SendGrid post with the right URL secret is taken: the refusals above were the secret's doing.
            right_key = await client.post("/email/inbound", params={"key": SENDGRID_KEY}, data={
                "email": _reply_mime(BEN.email, ben_token, "Mentee", "<sendgrid-genuine@mail.example>"),
                "envelope": json.dumps({"to": [tokens.reply_address(ben_token, REPLY_DOMAIN)], "from": BEN.email}),
            })  # fmt: skip
        assert {kind: sorted(set(c)) for kind, c in codes.items()} == {kind: [401] for kind in kinds}
        assert after_rows == before_rows
        assert (right_key.status_code, right_key.json()["status"]) == (200, "applied")
        state = dialogs.current_state(h.engine, person_id=h.person_id(BEN.email), flow="opt_in", context=context)
        assert state.answers["role"] == "mentee"  # never "mentor" or "none", which only the forgeries said
        assert not h.standin.calls or all(call.method != "chat.postMessage" or "Mentor" not in json.dumps(call.args) for call in h.standin.calls)
    record_figure(
        "Forgery: email webhook", tried="POST /email/inbound: Mailgun posts with a bad or missing signature, a stale (>15 min) timestamp or a replayed token; SendGrid posts without the URL secret",
        count=count, held="all refused (401); no row written", backend=h.engine.dialect.name, by_kind={kind: len(c) for kind, c in codes.items()},
    )  # fmt: skip


async def test_forged_expired_or_someone_elses_reply_tokens_change_nothing_and_are_logged(
    tmp_path: Path, database_url: str, scale, record_figure, caplog: pytest.LogCaptureFixture
) -> None:
    count = scale.pick(50, 1000)
    rng = random.Random(11)
    now = datetime.now(timezone.utc)
    caplog.set_level(logging.WARNING, logger="bot.email.inbound")
    async with slack_harness(tmp_path, database_url, **_email_settings()) as h:
        _term_id, context = _open_term(h.engine)
        before_rows = row_counts(h.engine)
        ana_token = _reply_token(h, ANA.email, context, now=now)
        kinds = ("forged", "tampered", "expired", "someone else's")
        statuses: dict[str, list[str]] = {kind: [] for kind in kinds}
        async with httpx.AsyncClient(base_url=h.url, timeout=30) as client:
            for index in range(count):
                kind = kinds[index % len(kinds)]
                sender = BEN.email
                if kind == "forged":  # signed with a guessed secret
                    token = _reply_token(h, BEN.email, context, now=now, secret=rng.choice(("change-me", "secret", TOKEN_SECRET[:-1])))
                elif kind == "tampered":  # Ben's real token with one character changed (another person, or noise)
                    real = _reply_token(h, BEN.email, context, now=now)
                    position = rng.randrange(len(real))
                    token = real[:position] + rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz234567" if c != real[position]]) + real[position + 1 :]
                elif kind == "expired":
                    token = _reply_token(h, BEN.email, context, now=now - timedelta(days=rng.randint(61, 400)))
                else:  # Ana's genuine token, in a reply sent from Ben's address
                    token = ana_token
                form = _mailgun_form(_reply_mime(sender, token, rng.choice(("Mentor", "Mentee", "No thanks", "2")), f"<tok{index}@mail.example>"))
                response = await client.post("/email/inbound", data=form)
                assert response.status_code == 200
                statuses[kind].append(response.json()["status"])
            after_rows = row_counts(h.engine)
            genuine = await client.post("/email/inbound", data=_mailgun_form(_reply_mime(ANA.email, ana_token, "Mentor", "<ana@mail.example>")))
        refusals = [r for r in caplog.records if r.name == "bot.email.inbound" and "ignored" in r.getMessage()]
        assert {kind: sorted(set(s)) for kind, s in statuses.items()} == {kind: ["ignored"] for kind in kinds}
        assert after_rows == before_rows
        assert len(refusals) == count  # each one is in the log, with why
        assert sum("belongs to person" in r.getMessage() for r in refusals) == len(statuses["someone else's"])
        assert genuine.json()["status"] == "applied"  # Ana's token from Ana is taken
        with session_scope(h.engine) as session:
            assert session.execute(sa.select(sa.func.count()).select_from(OutboxMessage)).scalar_one() == 1  # the reply to Ana alone
    record_figure(
        "Forgery: reply tokens", tried="replies whose Reply-To token is forged, tampered with, expired, or another person's",
        count=count, held="all ignored and logged; no row written", backend=h.engine.dialect.name,
    )  # fmt: skip


def test_every_one_character_change_to_a_reply_token_is_refused() -> None:
    """Found at full scale: changing a token's last character could keep its bytes (base32's spare bits) and pass."""
    now = datetime(2026, 11, 23, 17, tzinfo=timezone.utc)
    token = tokens.make_reply_token(TOKEN_SECRET, person_id=4242, flow="opt_in", context="term:12", now=now)
    accepted = []
    for position, original in enumerate(token):
        for letter in "abcdefghijklmnopqrstuvwxyz234567":
            if letter != original:
                changed = token[:position] + letter + token[position + 1 :]
                try:
                    tokens.read_reply_token(TOKEN_SECRET, changed, now=now)
                except tokens.BadToken:
                    continue
                accepted.append(changed)
    assert accepted == []
    assert tokens.read_reply_token(TOKEN_SECRET, token.upper(), now=now).person_id == 4242  # mail systems may change case


async def test_forged_from_with_a_real_in_reply_to_changes_nothing(tmp_path: Path, database_url: str, scale, record_figure) -> None:
    """A genuine (correctly signed) webhook post of a forged email: the principal's or a mentee's address in From,
    the In-Reply-To of the real email we sent them, no reply token. Once enough to approve a mentor or opt a mentee out."""
    from bot import notify
    from tests.slack_helpers import ROSTER

    count = scale.pick(50, 1000)
    rng = random.Random(23)
    now = datetime.now(timezone.utc)
    # Pat, the principal, and Dee, a mentee, have no Slack: everything reaches them by email.
    roster = tuple(row.replace(",UPAT00001,", ",,") for row in ROSTER)
    async with slack_harness(tmp_path, database_url, roster=roster, **_email_settings()) as h:
        term_id, context = _open_term(h.engine)
        notify.invite_to_term(h.engine, term_id=term_id, now=now)
        ana_token = _reply_token(h, ANA.email, context, now=now)
        async with httpx.AsyncClient(base_url=h.url, timeout=30) as client:
            # Ana offers to mentor, by email; the approval request goes by email to her principal, Pat.
            for n, text in enumerate(("Mentor", "2")):
                answer = await client.post("/email/inbound", data=_mailgun_form(_reply_mime(ANA.email, ana_token, text, f"<ana{n}@mail.example>")))
                assert answer.json()["status"] == "applied"
            sent_ids = {}
            with session_scope(h.engine) as session:
                for purpose, email in (("prompt.approval", "pat@d.example"), ("prompt.opt_in", "dee@d.example")):
                    message = session.execute(sa.select(OutboxMessage).where(OutboxMessage.purpose == purpose, OutboxMessage.recipient == email)).scalar_one()
                    # As sent: the outbox keeps each email's Message-ID (this is the one a plain hash of the key gave).
                    message.provider_id, message.status = f"<mb.{hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]}@d.example>", "sent"
                    sent_ids[email] = message.provider_id
            before_rows = row_counts(h.engine)
            statuses: list[str] = []
            for index in range(count):
                sender, text = rng.choice([("pat@d.example", t) for t in ("Yes, approved.", "approve", "Yes")] + [("dee@d.example", t) for t in ("No thanks", "Not this term")])
                mime = (
                    f"From: {sender}\r\nTo: mentoring@d.example\r\nSubject: Re: Mentoring\r\nMessage-ID: <irt{index}@mail.example>\r\n"
                    f"In-Reply-To: {sent_ids[sender]}\r\nReferences: {sent_ids[sender]}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
                )
                response = await client.post("/email/inbound", data={**_mailgun_form(mime), "recipient": "mentoring@d.example"})
                assert response.status_code == 200
                statuses.append(response.json()["status"])
            after_rows = row_counts(h.engine)
        assert set(statuses) == {"ignored"}
        assert after_rows == before_rows
        with session_scope(h.engine) as session:
            approval = session.execute(sa.text("select approval from enrollment where term_id = :t and person_id = :p"), {"t": term_id, "p": h.person_id(ANA.email)}).scalar_one()
            dee_said = session.execute(sa.text("select count(*) from dialog_state where person_id = :p"), {"p": h.person_id("dee@d.example")}).scalar_one()
        assert (approval, dee_said) == ("pending", 0)
    record_figure(
        "Forgery: From + In-Reply-To", tried="signed webhook posts of emails with the principal's or a mentee's From and the In-Reply-To of the real email, no reply token",
        count=count, held="all ignored; no row written; the approval stays pending", backend=h.engine.dialect.name,
    )  # fmt: skip
