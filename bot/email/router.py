"""HTTP routes of the email channel: inbound mail from Mailgun routes and SendGrid Inbound Parse, and unsubscribe.

Both providers' posts become an `InboundMail` for the one handler in `bot.email.inbound`. Mailgun posts are
verified by their `signature` (HMAC-SHA256 of `timestamp` + `token` with MAILGUN_SIGNING_KEY); a timestamp
more than 15 minutes off, or a token seen before (by any instance: used tokens are kept in the database), is refused
with 401. SendGrid's
Inbound Parse signs nothing, so its post carries a secret: in an ``X-Mentorbot-Key`` header or
``Authorization: Bearer`` (when a proxy in front can add one), or in the URL, ``/email/inbound?key=SENDGRID_INBOUND_KEY``
(the URL's key is redacted from every log line, see bot.web.redaction).

Only the person an email was sent to can answer it: a reply is applied when it reaches that person's signed reply
address (``reply+<token>@REPLY_DOMAIN``) from that person's own address, and the receiving server's SPF/DKIM/DMARC
checks, when reported, don't refuse the sender. Erasing one's data by email takes a second reply with a fresh code.

A hostile post can't hold up the app: the body is read with a size limit as it streams in, and the form and the
MIME are parsed away from the event loop (a big message in a separate process), the MIME only after a scan that
refuses too many parts or too deep a nesting (bot.email.limits).
A refused message gets an answer the provider does not retry: Mailgun stops on 406 (any other non-200 code is
retried for hours), SendGrid retries everything but 2xx, so it gets 200 with ``{"status": "refused"}``.

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
from dataclasses import replace
from datetime import datetime
from email.utils import getaddresses, parseaddr
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import python_multipart

from bot import data_rights
from bot.email import sender_auth, tokens
from bot.email.forward import admin_recipients, concerns
from bot.email.inbound import InboundMail, InboundResult, handle_inbound
from bot.email.limits import MailRefused, MimeLimits, off_loop
from bot.email.machines import classify_fields, record_bounce
from bot.email.replies import html_to_text, strip_quoted
from bot.notices import DataExport, SignupReply
from bot.outbox import enqueue
from bot.rounds.events import apply_reply_in, program_of_round
from bot.email.render import _env
from bot.settings import Settings
from sqlmodel import select

from storage import repo
from storage.db import session_scope
from storage.models import OutboxMessage, Person, Round, ScheduledAction

logger = logging.getLogger(__name__)

SENDGRID_KEY_HEADER = "x-mentorbot-key"  # or Authorization: Bearer <key>; either keeps the key out of the URL
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


class BadForm(ValueError):
    """A post body that is not a readable form."""


def parse_form(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a url-encoded or multipart form as raw bytes, each in the charset its sender used (files are
    skipped: no attachment is needed).

    Runs in a worker thread: a 20 MB post takes a while to split, and the event loop must keep answering Slack.
    """
    if content_type.lower().startswith("application/x-www-form-urlencoded"):
        pairs = (pair.partition(b"=") for pair in body.split(b"&") if pair)
        return {
            unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace"): unquote_to_bytes(value.replace(b"+", b" "))
            for name, _eq, value in reversed(list(pairs))  # the first of a repeated field wins, as in the multipart case
        }
    if not content_type.lower().startswith("multipart/form-data"):
        raise BadForm(f"not a form ({content_type or 'no content type'})")
    fields: dict[str, bytes] = {}

    def on_field(found: python_multipart.multipart.Field) -> None:
        if found.field_name is not None:
            fields.setdefault(found.field_name.decode("utf-8", "replace"), found.value or b"")

    def on_file(found: python_multipart.multipart.File) -> None:
        found.close()

    try:
        parser = python_multipart.create_form_parser(
            {"Content-Type": content_type.encode("latin-1")}, on_field, on_file, config={"MAX_MEMORY_FILE_SIZE": len(body) + 1},
        )  # fmt: skip
        for start in range(0, len(body), 1 << 20):
            parser.write(body[start : start + (1 << 20)])
        parser.finalize()
    except Exception as exc:  # python-multipart raises its own errors, ValueError and, on odd input, others
        raise BadForm(f"form not readable ({type(exc).__name__})") from exc
    return fields


def _text(raw: bytes | None, charset: str | None = None) -> str:
    """A form field as text, in the charset its sender declared (UTF-8 when none or an unknown one)."""
    try:
        return (raw or b"").decode(charset or "utf-8", "replace")
    except LookupError:
        return (raw or b"").decode("utf-8", "replace")


def _mailgun_mail(fields: dict[str, bytes], *, limits: MimeLimits, authserv_id: str | None = None) -> InboundMail:
    """The InboundMail of a (verified) Mailgun route post, raw MIME or parsed; MailRefused when over a limit."""
    form = {key: _text(value) for key, value in fields.items() if key != "body-mime"}
    sender = parseaddr(form.get("from") or form.get("sender") or "")[1].lower()
    if fields.get("body-mime"):
        mail = InboundMail.from_bytes(fields["body-mime"], envelope_recipients=[form.get("recipient", "")], limits=limits, authserv_id=authserv_id)
        return replace(mail, auth_failed=sender_auth.from_mailgun(form, sender=mail.sender, authserv_id=authserv_id) or mail.auth_failed)
    headers: dict[str, str] = {}
    try:
        headers = {str(k).lower(): str(v) for k, v in reversed(json.loads(form.get("message-headers") or "[]"))}  # the topmost wins
    except (ValueError, TypeError):
        pass
    machine = classify_fields(
        headers={**headers, "from": form.get("from") or headers.get("from", "")}, subject=form.get("subject", ""),
        text=form.get("body-plain", ""), content_type=headers.get("content-type", ""),
    )  # fmt: skip
    return InboundMail(
        sender=sender,
        recipients=[form.get("recipient", "")] + [a for _n, a in getaddresses([form.get("To", headers.get("to", ""))])],
        subject=form.get("subject", ""),
        text=form.get("body-plain", ""),
        html=form.get("body-html", ""),
        message_id=_angle(form.get("Message-Id") or headers.get("message-id")),
        in_reply_to=_angle(form.get("In-Reply-To") or headers.get("in-reply-to")),
        references=re.findall(r"<[^<>\s]+>", form.get("References") or headers.get("references", "")),
        auto_submitted=headers.get("auto-submitted", "no").lower() not in ("", "no") or not machine.is_person,
        auth_failed=sender_auth.from_mailgun(form, sender=sender, authserv_id=authserv_id),
        machine=machine,
    )


def _sendgrid_mail(fields: dict[str, bytes], *, limits: MimeLimits, authserv_id: str | None = None) -> InboundMail:
    """The InboundMail of a SendGrid Inbound Parse post, raw or parsed, each field read in the charset SendGrid
    declares for it in `charsets` (it posts a Latin-1 body as Latin-1 bytes); MailRefused when over a limit."""
    charsets: dict[str, str] = {}
    try:
        charsets = {str(k): str(v) for k, v in json.loads(_text(fields.get("charsets")) or "{}").items()}
    except (ValueError, TypeError, AttributeError):
        pass
    form = {key: _text(value, charsets.get(key)) for key, value in fields.items() if key != "email"}
    envelope: dict = {}
    try:
        envelope = json.loads(form.get("envelope") or "{}")
    except ValueError:
        pass
    envelope_to = [str(a) for a in (envelope.get("to") or [] if isinstance(envelope, dict) else [])]
    if fields.get("email"):  # "POST the raw, full MIME message"
        mail = InboundMail.from_bytes(fields["email"], envelope_recipients=envelope_to, limits=limits, authserv_id=authserv_id, transport_charset=charsets.get("email"))
        return replace(mail, auth_failed=sender_auth.from_sendgrid(form, sender=mail.sender).refusal() or mail.auth_failed)
    raw_headers = form.get("headers", "")
    header = lambda name: next(iter(re.findall(rf"(?im)^{name}:\s*(.*(?:\n[ \t].*)*)", raw_headers)), "")  # noqa: E731
    sender = parseaddr(form.get("from", ""))[1].lower()
    # Parsed mode also passes the message's headers, with any Authentication-Results: the topmost may refuse too.
    reported = re.findall(r"(?im)^Authentication-Results:\s*(.*(?:\n[ \t].*)*)", raw_headers)
    refusal = sender_auth.from_sendgrid(form, sender=sender).refusal()
    refusal = refusal or sender_auth.from_authentication_results(reported, sender=sender, authserv_id=authserv_id).refusal()
    parsed_headers = {name.lower(): value.strip() for name, value in re.findall(r"(?m)^([A-Za-z0-9-]+):[ \t]*(.*(?:\n[ \t].*)*)", raw_headers)}
    machine = classify_fields(
        headers={**parsed_headers, "from": form.get("from", "")}, subject=form.get("subject", ""), text=form.get("text", ""),
        content_type=parsed_headers.get("content-type", ""),
    )  # fmt: skip
    return InboundMail(
        sender=sender,
        recipients=envelope_to + [a for _n, a in getaddresses([form.get("to", "")])],
        subject=form.get("subject", ""),
        text=form.get("text", ""),
        html=form.get("html", ""),
        message_id=_angle(header("Message-ID")),
        in_reply_to=_angle(header("In-Reply-To")),
        references=re.findall(r"<[^<>\s]+>", header("References")),
        auto_submitted=header("Auto-Submitted").strip().lower() not in ("", "no") or not machine.is_person,
        auth_failed=refusal,
        machine=machine,
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
        if person.email.lower() != mail.sender.strip().lower():
            # A reply address is a bearer token: a forwarded announcement must not sign its owner up (or off).
            logger.warning("sign-up reply from %r ignored: its reply token belongs to person %s", mail.sender, person.id)
            return InboundResult("ignored", "reply token belongs to someone else")
        if session.exec(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).first() is not None:
            return InboundResult("duplicate", "already handled", person_id=person.id, reply_key=key)
        outcome = apply_reply_in(session, round_id=round_id, person_id=person.id, text=strip_quoted(mail.text or html_to_text(mail.html)), source="email", now=now)
        round_ = session.get(Round, round_id)
        program = program_of_round(session, round_) if round_ is not None else None
        notice = SignupReply(
            round_id=round_id, program_id=program.id if program else 0, program_name=program.name if program else settings.program_name,
            status=outcome.status, text=outcome.text, subject=mail.subject, thread=mail.answer_thread(), person_name=person.name,
        )  # fmt: skip
        enqueue(session, idempotency_key=key, channel="email", purpose="email.reply.signup", recipient=person.email, person_id=person.id, body=notice.to_payload(), now=now)
    logger.info("reply from person %s to round %s: %s", person.id, round_id, outcome.status)
    return InboundResult("applied", "round sign-up", person_id=located.person_id, saved={"signup": outcome.status}, reply_key=key)


DATA_REPLIES = {"my data": "export", "send my data": "export", "delete my data": "erasure", "erase my data": "erasure"}
_ERASE_CODE_RE = re.compile(r"^\W*erase\W*(\d{3})[ -]?(\d{3})\b", re.IGNORECASE)


def _erasure_code_notice(text: str, mail: InboundMail) -> DataExport:
    """An email about erasing one's data, in the thread of the reply that asked. "data_export" is the one kind of
    notice sent even to someone who unsubscribed: it only ever answers their own request about their data."""
    return DataExport(subject="Erasing your data in mentorbot", text=text, thread=mail.answer_thread())


def data_rights_reply(engine: Engine, settings: Settings, mail: InboundMail, *, now: datetime) -> InboundResult | None:
    """"my data", "delete my data" or "ERASE <code>" as the first line of a reply to any mentorbot email, from the
    person it was sent to. An export goes out at once (only to the person's own address); an erasure, which can't be
    undone, first sends a six-digit code and is done when the person replies "ERASE <code>" within 24 hours."""
    first_line = (strip_quoted(mail.text or html_to_text(mail.html)).strip().splitlines() or [""])[0]
    code = _ERASE_CODE_RE.match(first_line)
    words = re.sub(r"[^a-z ]", "", first_line.lower()).strip()
    kind = "confirm erasure" if code else DATA_REPLIES.get(" ".join(w for w in words.split() if w not in ("please", "thanks", "thank", "you", "hi", "hello")))
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
        if kind == "erasure":
            fresh = tokens.erasure_code(settings.token_secret, person_id=person.id, now=now)
            text = (
                f"You asked us to erase everything {settings.program_name} holds about you. This can't be undone.\n\n"
                f"To erase it, reply to this email with:\n\nERASE {fresh}\n\nwithin {tokens.ERASURE_CODE_HOURS} hours. "
                "If you didn't ask, ignore this email: nothing will be erased."
            )
            _message, created = enqueue(
                session, idempotency_key=key, channel="email", purpose="data.erasure_code", recipient=person.email,
                person_id=person.id, body=_erasure_code_notice(text, mail).to_payload(), now=now,
            )  # fmt: skip
            logger.info("person %s asked by email to erase their data; a confirmation code is on its way", person.id)
            return InboundResult("applied" if created else "duplicate", "erasure code sent", person_id=person.id, reply_key=key)
        if not tokens.erasure_code_matches(settings.token_secret, "".join(code.groups()), person_id=person.id, now=now):
            text = (
                f"That code isn't the one we sent you, or it is more than {tokens.ERASURE_CODE_HOURS} hours old, so nothing was erased. "
                'To erase your data, reply "delete my data" and we\'ll send you a new code.'
            )
            enqueue(
                session, idempotency_key=key, channel="email", purpose="data.erasure_code", recipient=person.email,
                person_id=person.id, body=_erasure_code_notice(text, mail).to_payload(), now=now,
            )  # fmt: skip
            logger.warning("erasure by email for person %s not done: the code is wrong or expired", person.id)
            return InboundResult("ignored", "erasure code wrong or expired", person_id=person.id, reply_key=key)
        result = data_rights.erase(session, person_id=person.id, requested_by=mail.sender, channel="email", now=now, admin_slack_ids=tuple(settings.slack_admin_ids))
    logger.info("person %s erased their data by email (request %s)", located.person_id, result.request_id)
    return InboundResult("applied", "data erasure", person_id=located.person_id, reply_key=key)


def refuse_unauthenticated(mail: InboundMail) -> InboundResult | None:
    """A refusal, logged, when the receiving server's SPF/DKIM/DMARC checks say the sender is not who From claims."""
    if mail.auth_failed is None:
        return None
    logger.warning("inbound email from %r refused: sender authentication failed (%s); nothing applied", mail.sender, mail.auth_failed)
    return InboundResult("refused", f"sender authentication failed: {mail.auth_failed}")


def machine_mail(engine: Engine, settings: Settings, mail: InboundMail, *, now: datetime) -> InboundResult | None:
    """An out-of-office robot or a bounce: never saved, never answered; a bounce marks its address failing and tells the
    admins (and the person on Slack). None when a person wrote the email."""
    verdict = mail.machine
    if verdict is None or verdict.is_person:
        return None
    if verdict.kind == "auto_reply":
        logger.info("inbound email from %r ignored: an automatic reply (%s)", mail.sender, verdict.reason)
        return InboundResult("ignored", "automatic reply")
    with session_scope(engine) as session:
        people = repo.people_by_email(session, emails=list(verdict.failed_recipients)) if verdict.failed_recipients else {}
        program = concerns(session, person=next(iter(people.values())), context="", settings=settings).program if people else None
        admins = admin_recipients(program, settings)
        marked = record_bounce(
            session, verdict=verdict, now=now, admin_emails=[r for channel, r in admins if channel == "email"],
            admin_slack_ids=[r for channel, r in admins if channel == "slack"],
        )  # fmt: skip
    logger.info("bounce for %d address(es) (%s); %d newly marked failing", len(verdict.failed_recipients), verdict.reason, len(marked))
    return InboundResult("ignored", "bounce", saved={"failing": marked})


def handle_mail(engine: Engine, settings: Settings, mail: InboundMail, *, now: datetime) -> InboundResult:
    """Every inbound email: refused when the sender fails authentication; a robot's or a bounce is never read as an
    answer; else a data request; a reply to a round's announcement joins or leaves it; anything else goes to the dialogs."""
    return (
        refuse_unauthenticated(mail)
        or machine_mail(engine, settings, mail, now=now)
        or data_rights_reply(engine, settings, mail, now=now)
        or signup_reply(engine, settings, mail, now=now)
        or handle_inbound(engine, settings, mail, now=now)
    )


async def read_limited(request: Request, max_bytes: int) -> bytes | None:
    """The request body, or None when it is over `max_bytes` (known from Content-Length, or counted as it streams in,
    so a huge post is never held in memory). The rest of a refused body is read and dropped, up to as much again,
    so the sender gets the answer instead of a reset connection."""
    declared = request.headers.get("content-length", "")
    chunks: list[bytes] = []
    total = 0
    too_big = declared.isdecimal() and int(declared) > max_bytes
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_bytes:
            too_big = True
        if too_big:
            chunks.clear()
            if total > 2 * max_bytes:
                break
            continue
        chunks.append(chunk)
    if too_big:
        return None
    return await asyncio.to_thread(b"".join, chunks)  # copying 20 MB takes the loop's thread ~10 ms


def sendgrid_key_of(request: Request) -> str | None:
    """The SendGrid key a post presents: the X-Mentorbot-Key header, an `Authorization: Bearer` one, or `?key=`."""
    header = request.headers.get(SENDGRID_KEY_HEADER)
    if header is not None:
        return header.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.query_params.get("key")


def email_router(settings: Settings, engine: Engine, *, clock: Callable[[], datetime]) -> APIRouter:
    """The email routes, bound to the app's settings, engine and clock."""
    router = APIRouter(tags=["email"])
    seen = _SeenTokens()

    limits = MimeLimits.from_settings(settings)

    def refusal(reason: str, *, mailgun: bool) -> JSONResponse:
        # Mailgun stops retrying on 406 only; SendGrid on any 2xx only. Either way the message is not wanted again.
        return JSONResponse({"status": "refused", "reason": reason}, status_code=406 if mailgun else 200)

    @router.post("/email/inbound")
    async def inbound(request: Request) -> JSONResponse:
        """A Mailgun route post or a SendGrid Inbound Parse post, verified, then handed to the one handler."""
        presented = sendgrid_key_of(request)
        sendgrid_url = presented is not None  # only SendGrid's posts carry the key (Mailgun's are signed)
        if sendgrid_url and not (settings.sendgrid_inbound_key and hmac.compare_digest(presented.encode(), settings.sendgrid_inbound_key.encode())):
            logger.warning("SendGrid inbound post refused: wrong key")
            return JSONResponse({"error": "bad key"}, status_code=401)
        body = await read_limited(request, limits.max_bytes)
        if body is None:
            reason = f"post over the {limits.max_bytes:,}-byte limit (INBOUND_MAX_MB)"
            logger.warning("inbound email refused unread: %s", reason)
            if sendgrid_url:
                return refusal(reason, mailgun=False)
            return JSONResponse({"status": "refused", "reason": reason}, status_code=413)
        try:
            fields = await asyncio.to_thread(parse_form, request.headers.get("content-type", ""), body)
        except BadForm as exc:
            logger.warning("inbound email post refused: %s", exc)
            return JSONResponse({"error": str(exc)}, status_code=400)
        del body
        form = lambda name: _text(fields.get(name))  # noqa: E731
        if "signature" in fields and "token" in fields:
            if not settings.mailgun_signing_key:
                return JSONResponse({"error": "Mailgun inbound is not set up (MAILGUN_SIGNING_KEY)"}, status_code=404)
            refused = verify_mailgun(
                settings.mailgun_signing_key, timestamp=form("timestamp"), token=form("token"), signature=form("signature"), now=time.time(), seen=seen,
            )  # fmt: skip
            if not refused and not await asyncio.to_thread(claim_webhook_token, engine, token=form("token"), now=clock()):
                refused = "token reused"  # seen by another instance sharing the database
            if refused:
                logger.warning("Mailgun inbound post refused: %s", refused)
                return JSONResponse({"error": refused}, status_code=401)
            mailgun, build = True, _mailgun_mail
        elif "envelope" in fields or "email" in fields or "headers" in fields:
            if not settings.sendgrid_inbound_key:
                return JSONResponse({"error": "SendGrid inbound is not set up (SENDGRID_INBOUND_KEY)"}, status_code=404)
            if not sendgrid_url:
                logger.warning("SendGrid inbound post refused: wrong key")
                return JSONResponse({"error": "bad key"}, status_code=401)
            mailgun, build = False, _sendgrid_mail
        else:
            return JSONResponse({"error": "not a Mailgun or SendGrid inbound post"}, status_code=400)
        try:
            size = sum(len(value) for value in fields.values())
            mail = await off_loop(build, fields, limits=limits, authserv_id=settings.inbound_authserv_id, size=size)
        except MailRefused as exc:
            logger.warning("inbound email refused unparsed: %s", exc)
            return refusal(str(exc), mailgun=mailgun)
        except Exception:  # the same bytes would fail the same way: a retry can't help
            logger.exception("inbound email could not be read; refused")
            return refusal("message could not be read", mailgun=mailgun)
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
