"""HTTP routes of the email channel: inbound mail from Mailgun routes and SendGrid Inbound Parse, and unsubscribe.

Both providers' posts become an `InboundMail` for the one handler in `bot.email.inbound`. Mailgun posts are
verified by their `signature` (HMAC-SHA256 of `timestamp` + `token` with MAILGUN_SIGNING_KEY); a timestamp
more than 15 minutes off, or a token seen before (by any instance: used tokens are kept in the database), is refused
with 401. SendGrid's
Inbound Parse signs nothing, so its URL carries a secret: ``/email/inbound?key=SENDGRID_INBOUND_KEY``.

Unsubscribe follows RFC 8058: the List-Unsubscribe URL answers a POST of ``List-Unsubscribe=One-Click`` by
unsubscribing at once; a GET (a person clicking, or a link scanner) only shows a page with a button.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from email.utils import getaddresses, parseaddr

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.email import tokens
from bot.email.inbound import InboundMail, InboundResult, handle_inbound
from bot.email.replies import html_to_text, strip_quoted
from bot.outbox import enqueue
from bot.email.render import _env
from bot.settings import Settings
from sqlmodel import select

from storage.db import session_scope
from storage.models import OutboxMessage, Person, Round, ScheduledAction

logger = logging.getLogger(__name__)

MAILGUN_MAX_SKEW = 15 * 60


class _SeenTokens:
    """Mailgun webhook tokens seen in the last `ttl` seconds, so a captured post can't be replayed."""

    def __init__(self, ttl: float = MAILGUN_MAX_SKEW * 2, limit: int = 100_000) -> None:
        self.ttl, self.limit = ttl, limit
        self._seen: OrderedDict[str, float] = OrderedDict()

    def add(self, token: str, now: float) -> bool:
        """Remember `token`; False if it was already seen."""
        while self._seen and (next(iter(self._seen.values())) < now - self.ttl or len(self._seen) > self.limit):
            self._seen.popitem(last=False)
        if token in self._seen:
            return False
        self._seen[token] = now
        return True


def verify_mailgun(signing_key: str, *, timestamp: str, token: str, signature: str, now: float, seen: _SeenTokens) -> str | None:
    """None when the post is Mailgun's and fresh; otherwise why it is refused."""
    if not (timestamp and token and signature):
        return "missing signature fields"
    expected = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        return "bad signature"
    try:
        skew = abs(now - float(timestamp))
    except ValueError:
        return "bad timestamp"
    if skew > MAILGUN_MAX_SKEW:
        return "stale timestamp"
    if not seen.add(token, now):
        return "token reused"
    return None


WEBHOOK_TOKEN_KIND = "email.webhook_token"


def claim_webhook_token(engine: Engine, *, token: str, now: datetime) -> bool:
    """Record a Mailgun post's token as used; False when any instance used it before (the unique key decides)."""
    try:
        with session_scope(engine) as session:
            session.add(ScheduledAction(
                idempotency_key=f"mailgun-token:{hashlib.sha256(token.encode()).hexdigest()}", kind=WEBHOOK_TOKEN_KIND,
                due_at=now, status="done", result="inbound post accepted", done_at=now,
            ))  # fmt: skip
    except sa.exc.IntegrityError:
        return False
    return True


def _mailgun_mail(form: dict[str, str]) -> InboundMail:
    if form.get("body-mime"):
        return InboundMail.from_bytes(form["body-mime"].encode("utf-8"), envelope_recipients=[form.get("recipient", "")])
    headers: dict[str, str] = {}
    try:
        headers = {str(k).lower(): str(v) for k, v in json.loads(form.get("message-headers") or "[]")}
    except (ValueError, TypeError):
        pass
    return InboundMail(
        sender=parseaddr(form.get("from") or form.get("sender") or "")[1].lower(),
        recipients=[form.get("recipient", "")] + [a for _n, a in getaddresses([form.get("To", headers.get("to", ""))])],
        subject=form.get("subject", ""),
        text=form.get("body-plain", ""),
        html=form.get("body-html", ""),
        message_id=_angle(form.get("Message-Id") or headers.get("message-id")),
        in_reply_to=_angle(form.get("In-Reply-To") or headers.get("in-reply-to")),
        references=re.findall(r"<[^<>\s]+>", form.get("References") or headers.get("references", "")),
        auto_submitted=headers.get("auto-submitted", "no").lower() not in ("", "no"),
    )


def _sendgrid_mail(form: dict[str, str]) -> InboundMail:
    envelope: dict = {}
    try:
        envelope = json.loads(form.get("envelope") or "{}")
    except ValueError:
        pass
    envelope_to = [str(a) for a in envelope.get("to") or []]
    if form.get("email"):  # "POST the raw, full MIME message"
        return InboundMail.from_bytes(form["email"].encode("utf-8"), envelope_recipients=envelope_to)
    raw_headers = form.get("headers", "")
    header = lambda name: next(iter(re.findall(rf"(?im)^{name}:\s*(.*(?:\n[ \t].*)*)", raw_headers)), "")  # noqa: E731
    return InboundMail(
        sender=parseaddr(form.get("from", ""))[1].lower(),
        recipients=envelope_to + [a for _n, a in getaddresses([form.get("to", "")])],
        subject=form.get("subject", ""),
        text=form.get("text", ""),
        html=form.get("html", ""),
        message_id=_angle(header("Message-ID")),
        in_reply_to=_angle(header("In-Reply-To")),
        references=re.findall(r"<[^<>\s]+>", header("References")),
        auto_submitted=header("Auto-Submitted").strip().lower() not in ("", "no"),
    )


def _angle(value: str | None) -> str | None:
    found = re.findall(r"<[^<>\s]+>", value or "")
    return found[0] if found else None


def signup_reply(engine: Engine, settings: Settings, mail: InboundMail, *, now: datetime) -> InboundResult | None:
    """A reply to a round's announcement ("2", "join SEL", "leave 2", "assistant principal"): join or leave, and answer
    in the program's thread, in one transaction; None when the mail answers something else."""
    token = tokens.token_from_address(*mail.recipients)
    if token is None or mail.auto_submitted:
        return None
    try:
        located = tokens.read_reply_token(settings.token_secret, token, now=now)
    except tokens.BadToken:
        return None  # the dialog handler logs and ignores it
    if located.flow is not None or not located.context.startswith("round:"):
        return None
    round_id = int(located.context.split(":")[1])
    key = "email.signup:" + hashlib.sha256((mail.message_id or f"{mail.sender}\n{mail.subject}\n{mail.text}").encode()).hexdigest()[:40]
    with session_scope(engine) as session:
        person = session.get(Person, located.person_id)
        if person is None:
            return InboundResult("ignored", "unknown person")
        if session.exec(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).first() is not None:
            return InboundResult("duplicate", "already handled", person_id=person.id, reply_key=key)
        from bot.rounds.events import apply_reply_in, program_of_round

        outcome = apply_reply_in(session, round_id=round_id, person_id=person.id, text=strip_quoted(mail.text or html_to_text(mail.html)), source="email", now=now)
        round_ = session.get(Round, round_id)
        program = program_of_round(session, round_) if round_ is not None else None
        references = [*(mail.references or ([mail.in_reply_to] if mail.in_reply_to else [])), *([mail.message_id] if mail.message_id else [])]
        notice = {
            "notice": "signup.reply", "round_id": round_id, "program_id": program.id if program else 0,
            "program_name": program.name if program else settings.program_name, "status": outcome.status,
            "text": outcome.text, "subject": mail.subject, "thread": {"in_reply_to": mail.message_id, "references": references[-10:]},
            "person_name": person.name,
        }  # fmt: skip
        enqueue(session, idempotency_key=key, channel="email", purpose="email.reply.signup", recipient=person.email, person_id=person.id, body=notice, now=now)
    logger.info("reply from person %s to round %s: %s", person.id, round_id, outcome.status)
    return InboundResult("applied", "round sign-up", person_id=located.person_id, saved={"signup": outcome.status}, reply_key=key)


DATA_REPLIES = {"my data": "export", "send my data": "export", "delete my data": "erasure", "erase my data": "erasure"}


def data_rights_reply(engine: Engine, settings: Settings, mail: InboundMail, *, now: datetime) -> InboundResult | None:
    """"my data" or "delete my data" as the first line of a reply to any mentorbot email, from the person it was sent to."""
    from bot import data_rights

    words = re.sub(r"[^a-z ]", "", (strip_quoted(mail.text or html_to_text(mail.html)).strip().splitlines() or [""])[0].lower()).strip()
    kind = DATA_REPLIES.get(" ".join(w for w in words.split() if w not in ("please", "thanks", "thank", "you", "hi", "hello")))
    token = tokens.token_from_address(*mail.recipients)
    if kind is None or token is None or mail.auto_submitted:
        return None
    try:
        located = tokens.read_reply_token(settings.token_secret, token, now=now)
    except tokens.BadToken:
        return None  # the dialog handler logs and ignores it
    key = "email.data:" + hashlib.sha256((mail.message_id or f"{mail.sender}\n{mail.subject}\n{mail.text}").encode()).hexdigest()[:40]
    with session_scope(engine) as session:
        person = session.get(Person, located.person_id)
        # A reply address is a bearer token: only its owner's own address may ask for (or erase) their data.
        if person is None or data_rights.is_erased(person) or person.email.lower() != mail.sender.strip().lower():
            logger.warning("data request by email from %r ignored: not the person the reply address belongs to", mail.sender)
            return InboundResult("ignored", "data request from someone else")
        if kind == "export":
            done = data_rights.export(session, person_id=person.id, requested_by=mail.sender, channel="email", now=now, request_key=key)
            return InboundResult("duplicate" if done is None else "applied", "data export", person_id=person.id, reply_key=key)
        result = data_rights.erase(session, person_id=person.id, requested_by=mail.sender, channel="email", now=now, admin_slack_ids=tuple(settings.slack_admin_ids))
    logger.info("person %s erased their data by email (request %s)", located.person_id, result.request_id)
    return InboundResult("applied", "data erasure", person_id=located.person_id, reply_key=key)


def handle_mail(engine: Engine, settings: Settings, mail: InboundMail, *, now: datetime) -> InboundResult:
    """Every inbound email: a data request; a reply to a round's announcement joins or leaves it; anything else goes to the dialogs."""
    return data_rights_reply(engine, settings, mail, now=now) or signup_reply(engine, settings, mail, now=now) or handle_inbound(engine, settings, mail, now=now)


def email_router(settings: Settings, engine: Engine, *, clock: Callable[[], datetime]) -> APIRouter:
    """The email routes, bound to the app's settings, engine and clock."""
    router = APIRouter(tags=["email"])
    seen = _SeenTokens()

    @router.post("/email/inbound")
    async def inbound(request: Request) -> JSONResponse:
        """A Mailgun route post or a SendGrid Inbound Parse post, verified, then handed to the one handler."""
        form = {key: (value if isinstance(value, str) else (await value.read()).decode("utf-8", "replace")) for key, value in (await request.form()).multi_items()}
        if "signature" in form and "token" in form:
            if not settings.mailgun_signing_key:
                return JSONResponse({"error": "Mailgun inbound is not set up (MAILGUN_SIGNING_KEY)"}, status_code=404)
            refused = verify_mailgun(
                settings.mailgun_signing_key, timestamp=form.get("timestamp", ""), token=form.get("token", ""),
                signature=form.get("signature", ""), now=time.time(), seen=seen,
            )  # fmt: skip
            if not refused and not await asyncio.to_thread(claim_webhook_token, engine, token=form["token"], now=clock()):
                refused = "token reused"  # seen by another instance sharing the database
            if refused:
                logger.warning("Mailgun inbound post refused: %s", refused)
                return JSONResponse({"error": refused}, status_code=401)
            mail = _mailgun_mail(form)
        elif "envelope" in form or "email" in form or "headers" in form:
            key = request.query_params.get("key", "")
            if not settings.sendgrid_inbound_key:
                return JSONResponse({"error": "SendGrid inbound is not set up (SENDGRID_INBOUND_KEY)"}, status_code=404)
            if not hmac.compare_digest(key.encode(), settings.sendgrid_inbound_key.encode()):
                logger.warning("SendGrid inbound post refused: wrong key")
                return JSONResponse({"error": "bad key"}, status_code=401)
            mail = _sendgrid_mail(form)
        else:
            return JSONResponse({"error": "not a Mailgun or SendGrid inbound post"}, status_code=400)
        try:
            result = await asyncio.to_thread(handle_mail, engine, settings, mail, now=clock())
        except Exception:
            logger.exception("inbound email from %r could not be handled", mail.sender)
            return JSONResponse({"error": "temporary problem; please retry"}, status_code=503)  # providers retry
        return JSONResponse({"status": result.status, "reason": result.reason})

    def _page(title: str, message: str, *, ask: bool = False, status: int = 200) -> HTMLResponse:
        return HTMLResponse(_env.get_template("unsubscribe.html").render(title=title, message=message, ask=ask), status_code=status)

    def _person(token: str) -> int | None:
        try:
            return tokens.read_unsubscribe_token(settings.token_secret, token)
        except tokens.BadToken as exc:
            logger.warning("unsubscribe link refused: %s", exc)
            return None

    @router.get("/email/unsubscribe/{token}")
    async def unsubscribe_page(token: str) -> HTMLResponse:
        """A person following the link: confirm first (mail scanners follow links too)."""
        if _person(token) is None:
            return _page("Link not recognised", "This unsubscribe link isn't valid. Please reply to any of our emails and we'll take you off the list.", status=404)
        return _page("Stop mentoring emails?", f"You'll no longer get emails from {settings.program_name}.", ask=True)

    @router.post("/email/unsubscribe/{token}")
    async def unsubscribe(token: str) -> HTMLResponse:
        """RFC 8058 one-click unsubscribe (and the page's button): takes effect at once, repeatable."""
        person_id = _person(token)
        if person_id is None:
            return _page("Link not recognised", "This unsubscribe link isn't valid.", status=404)

        def apply() -> bool:
            with session_scope(engine) as session:
                person = session.get(Person, person_id)
                if person is None:
                    return False
                if person.unsubscribed_at is None:
                    person.unsubscribed_at = clock()
                return True

        if not await asyncio.to_thread(apply):
            return _page("Link not recognised", "This unsubscribe link isn't valid.", status=404)
        return _page("You're unsubscribed", f"You won't get more emails from {settings.program_name}. Changed your mind? Ask your program coordinator.")

    return router
