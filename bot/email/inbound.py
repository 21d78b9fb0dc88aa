"""The one handler every inbound email goes through, whether it came by IMAP or by webhook.

verify the reply token -> strip the quoted thread -> find the answers -> `bot.dialogs.answer` (saved at once,
in one transaction) -> pass on dialog events -> queue a short reply in the same thread that echoes what was
understood and asks only for what is still missing. Anything that can't be tied to a person and a dialog
(no token, a forged or expired one, an auto-reply, a bounce) is logged and ignored, never applied.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import dialogs, notify
from bot.email import tokens
from bot.email.availability import format_slots, parse_availability
from bot.email.limits import MailRefused, MimeLimits, check_parsed, structure_problem
from bot.email.questions import DialogView, dialog_view, show_value
from bot.email.replies import extract_answers, html_to_text, strip_quoted
from bot.email.sender_auth import from_authentication_results
from bot.flows.parsers import AnswerError
from bot.outbox import enqueue
from bot.settings import Settings
from storage.db import session_scope
from storage.models import OutboxMessage, Person

logger = logging.getLogger(__name__)

_YES = {"yes", "y", "yep", "yeah", "sure", "ok", "okay", "absolutely", "of course", "yes please", "oui", "ja", "si", "sí"}
_NO = {"no", "n", "nope", "no thanks", "not now", "not this term", "non", "nein"}
_NUMBER_WORDS = "zero|one|two|three|four|five|six|seven|eight|nine|ten|none|no"


@dataclass
class InboundMail:
    """The parts of an inbound email the handler needs, whichever way it arrived."""

    sender: str
    recipients: list[str]
    subject: str = ""
    text: str = ""
    html: str = ""
    message_id: str | None = None
    in_reply_to: str | None = None  # for threading our answer only: a Message-ID proves nothing about the sender
    references: list[str] = field(default_factory=list)
    auto_submitted: bool = False
    auth_failed: str | None = None  # why the receiving server's SPF/DKIM/DMARC checks refuse the sender, if they do

    @classmethod
    def from_bytes(
        cls, raw: bytes, *, envelope_recipients: list[str] | None = None, limits: MimeLimits | None = None,
        authserv_id: str | None = None, transport_charset: str | None = None,
    ) -> InboundMail:  # fmt: skip
        """Parse raw MIME within `limits` (MailRefused when over one; checked before parsing, so a hostile message
        costs a scan, not a parse). `transport_charset`: the charset the bytes came in, when the carrier says
        (SendGrid's `charsets`)."""
        limits = limits or MimeLimits()
        problem = structure_problem(raw, limits)
        if problem is None:
            try:
                message = message_from_bytes(raw, policy=policy.default)
            except RecursionError:  # a structure the scan could not see (an encoded boundary) nested very deep
                problem = "message nests multiparts too deep to read"
            else:
                problem = check_parsed(message, limits)
        if problem is not None:
            raise MailRefused(problem)
        return cls.from_message(message, envelope_recipients=envelope_recipients, authserv_id=authserv_id, transport_charset=transport_charset)

    @classmethod
    def from_message(
        cls, message: EmailMessage, *, envelope_recipients: list[str] | None = None, authserv_id: str | None = None,
        transport_charset: str | None = None,
    ) -> InboundMail:  # fmt: skip
        """The handler's view of a parsed message, with the verdict of the topmost Authentication-Results header."""
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        for part in (text_part, html_part):
            if part is not None and transport_charset:
                cls._read_8bit_as(part, transport_charset)
        recipients = [address for _name, address in getaddresses([str(v) for key in ("To", "Cc", "Delivered-To", "X-Original-To") for v in message.get_all(key, [])])]
        auto = str(message.get("Auto-Submitted", "no")).strip().lower()
        precedence = str(message.get("Precedence", "")).strip().lower()
        sender = parseaddr(str(message.get("From", "")))[1].lower()
        checks = from_authentication_results([str(v) for v in message.get_all("Authentication-Results", [])], sender=sender, authserv_id=authserv_id)
        return cls(
            sender=sender,
            recipients=list(envelope_recipients or []) + recipients,
            subject=str(message.get("Subject", "")),
            text=_part_text(text_part),
            html=_part_text(html_part),
            message_id=_one_id(message.get("Message-ID")),
            in_reply_to=_one_id(message.get("In-Reply-To")),
            references=re.findall(r"<[^<>\s]+>", str(message.get("References", ""))),
            auto_submitted=(auto not in ("", "no")) or precedence in ("bulk", "junk", "auto_reply", "list"),
            auth_failed=checks.refusal(),
        )

    @staticmethod
    def _read_8bit_as(part: EmailMessage, charset: str) -> None:
        """Read an unencoded 8-bit text part in the charset its carrier declared, when its own label can't be right.

        A part with no charset gets the carrier's. A carrier that re-encoded the message (SendGrid declaring
        UTF-8 for a body labelled ISO-8859-1) would otherwise turn "français" into "franÃ§ais"; a body whose
        bytes don't fit its own label but fit the carrier's is read with the carrier's too.
        """
        own = part.get_param("charset")
        if own is None:
            part.set_param("charset", charset)
            return
        if str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower() not in ("7bit", "8bit", "binary"):
            return  # base64 or quoted-printable bytes are in the part's own charset, whatever carried them
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or payload.isascii():
            return

        def fits(name: str) -> bool:
            try:
                payload.decode(name)
            except (LookupError, UnicodeError):
                return False
            return True

        if fits(charset) and (charset.lower().replace("_", "-") in ("utf-8", "utf8") or not fits(str(own))):
            part.set_param("charset", charset)


def _part_text(part: EmailMessage | None) -> str:
    """A body part as text; a charset that lies or that Python doesn't know is read as UTF-8, damaged bytes replaced."""
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, UnicodeError, ValueError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)


def _one_id(value: object) -> str | None:
    found = re.findall(r"<[^<>\s]+>", str(value or ""))
    return found[0] if found else None


@dataclass
class InboundResult:
    """What happened to one inbound email (for logs, the webhook's answer and tests)."""

    status: str  # applied | ignored | duplicate
    reason: str = ""
    person_id: int | None = None
    flow: str | None = None
    saved: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    complete: bool = False
    reply_key: str | None = None


def _locate(engine: Engine, settings: Settings, mail: InboundMail, now: datetime) -> tuple[tokens.ReplyToken | None, str]:
    """The dialog a reply belongs to, from the signed token in the address it was sent to (the handler then checks
    that it came from the token's person). In-Reply-To and References decide nothing: a Message-ID is no secret, and
    a matching From is trivially forged."""
    token = tokens.token_from_address(*mail.recipients)
    if token is None:
        return None, "no reply token (In-Reply-To alone is not trusted)"
    try:
        return tokens.read_reply_token(settings.token_secret, token, now=now), "token"
    except tokens.BadToken as exc:
        return None, f"reply token rejected ({exc})"


def _normalise(view: DialogView, key: str, raw: str) -> tuple[str | None, str | None]:
    """Email-only leniency before the flow's own parser: yes/no, "2 mentees", plain-words availability."""
    item = next((n for n in view.numbered if n.question.key == key), None)
    if item is None:
        return raw, None
    question, text = item.question, raw.strip()
    words = re.sub(r"[.!]+$", "", " ".join(text.lower().split()))
    lead = re.split(r"[,.;:!(\-–]", words, maxsplit=1)[0].strip()  # "Yes, approved." -> "yes"
    if lead in _YES | _NO and question.kind == "choice":
        words = lead
    if question.kind == "choice":
        if key == "role" and words in _NO:
            return "none", None
        if key == "role" and words in _YES and view.person_role in ("mentor", "mentee", "both"):
            return view.person_role, None
        if key == "decision" and words in _YES:
            return "approve", None
        if key == "decision" and words in _NO:
            return "decline", None
        return re.sub(r"[.!]+$", "", text), None
    if question.kind == "number":
        if words in _NO or words == "none":
            return "0", None
        numbers = re.findall(rf"\b(\d+|{_NUMBER_WORDS})\b", words)
        if len(numbers) == 1 and len(words) <= 60:
            return {"none": "0", "no": "0"}.get(numbers[0], numbers[0]), None
        return text, None
    if question.kind == "slots":
        try:
            return format_slots(parse_availability(text)), None
        except AnswerError as exc:
            return None, str(exc)
    if question.kind == "grade_bands":
        return re.sub(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+grade\b|\bgrade\s+(\d{1,2})\b", lambda m: m[1] or m[2], text, flags=re.IGNORECASE), None
    return text, None


def _reply_key(mail: InboundMail) -> str:
    basis = mail.message_id or hashlib.sha256(f"{mail.sender}\n{mail.subject}\n{mail.text or mail.html}".encode()).hexdigest()
    return "email.reply:" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def handle_inbound(engine: Engine, settings: Settings, mail: InboundMail, *, now: datetime) -> InboundResult:
    """Apply one inbound email to the dialog it answers, and queue the follow-up. Never raises for bad input."""
    # NUL never means anything in mail text, and PostgreSQL cannot store it: drop it before anything is saved.
    mail = replace(mail, subject=mail.subject.replace("\x00", ""), text=mail.text.replace("\x00", ""), html=mail.html.replace("\x00", ""))
    if mail.auto_submitted or not mail.sender or mail.sender.startswith(("mailer-daemon@", "postmaster@")):
        logger.info("inbound email from %r ignored: automatic message", mail.sender)
        return InboundResult("ignored", "automatic message")
    located, how = _locate(engine, settings, mail, now)
    if located is None:
        logger.warning("inbound email from %r ignored: %s", mail.sender, how)
        return InboundResult("ignored", how)
    key = _reply_key(mail)
    with session_scope(engine) as session:
        person = session.get(Person, located.person_id)
        if person is None:
            logger.warning("inbound email ignored: reply token names person %s, who does not exist", located.person_id)
            return InboundResult("ignored", "unknown person")
        if how == "token" and person.email.lower() != mail.sender.strip().lower():
            # A reply address is a bearer token: someone else's (a forwarded email, a guessed address) must not
            # answer for its owner.
            logger.warning("inbound email from %r ignored: its reply token belongs to person %s", mail.sender, person.id)
            return InboundResult("ignored", "reply token belongs to someone else")
        if session.exec(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).first() is not None:
            return InboundResult("duplicate", "already handled", person_id=person.id, flow=located.flow, reply_key=key)
    if located.flow is None:
        logger.info("reply from person %s to a notice that asks nothing; nothing to apply", located.person_id)
        return InboundResult("ignored", "reply to a notice", person_id=located.person_id)

    flow, context = located.flow, located.context
    view = dialog_view(engine, person_id=located.person_id, flow=flow, context=context, now=now)
    body = strip_quoted(mail.text or html_to_text(mail.html))
    # Numbers mean the questions as numbered in the email; answered ones may be answered again (an edit).
    pending_keys = [item.question.key for item in view.pending]
    default = pending_keys[0] if pending_keys else None
    extraction = extract_answers(body, [item.asked() for item in view.numbered], default)
    if pending_keys and extraction.answers and not set(extraction.answers) & set(pending_keys):
        # Only answered questions were named: most likely a numbered list answering the open question.
        extraction = extract_answers(body, [item.asked() for item in view.pending], default)
    replies: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key_, raw in extraction.answers.items():
        value, error = _normalise(view, key_, raw)
        if error:
            errors[key_] = error
        elif value is not None:
            replies[key_] = value
    result = dialogs.answer(
        engine, person_id=located.person_id, flow=flow, context=context, channel="email", replies=replies, now=now,
        require_approval_default=settings.require_principal_approval,
    )  # fmt: skip
    outcome = result.outcome
    errors.update(outcome.errors)
    if result.events:
        notify.dispatch_events(engine, result.events, now=now)
    options = {item.question.key: item for item in view.numbered}
    understood = []
    for saved_key, value in outcome.saved.items():
        item = options.get(saved_key)
        if item is not None:
            understood.append([item.label, show_value(item.question, value, item.options)])
    next_flow = next_context = None
    if flow == "opt_in" and outcome.complete and outcome.state.answers.get("role") not in (None, "none"):
        next_flow, next_context = "profile", context
    done_message = None
    if flow == "opt_in" and outcome.complete and outcome.state.answers.get("role") == "none":
        done_message = "Thanks for letting us know. You won't be matched this term; we'll ask again next term."
    references = [*(mail.references or ([mail.in_reply_to] if mail.in_reply_to else [])), *([mail.message_id] if mail.message_id else [])]
    notice = {
        "notice": "flow_reply", "flow": flow, "context": context, "subject": mail.subject,
        "understood": understood, "errors": errors, "unplaced": extraction.unplaced[:3] if not understood else [],
        "completed": outcome.complete and bool(outcome.saved), "next_flow": next_flow, "next_context": next_context,
        "done_message": done_message,
        "thread": {"in_reply_to": mail.message_id, "references": references[-10:]},
    }  # fmt: skip
    with session_scope(engine) as session:
        person = session.get(Person, located.person_id)
        enqueue(
            session, idempotency_key=key, channel="email", purpose=f"email.reply.{flow}", recipient=person.email,
            person_id=person.id, body={**notice, "person_name": person.name}, now=now,
        )  # fmt: skip
    logger.info("reply from person %s applied to %s/%s: saved %s, %d problem(s)", located.person_id, flow, context, sorted(outcome.saved), len(errors))
    return InboundResult(
        "applied", how, person_id=located.person_id, flow=flow, saved=dict(outcome.saved), errors=errors,
        complete=outcome.complete, reply_key=key,
    )  # fmt: skip
