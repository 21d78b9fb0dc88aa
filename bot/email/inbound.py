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
from sqlmodel import Session, select

from bot import dialogs, notify
from bot.email import tokens
from bot.email.availability import DEFAULT_LANGUAGES, BellTimes
from bot.email.forward import REASON_CHECK_IN_COMMENT, REASON_NOTHING_ASKED, REASON_QUESTION, hold_for_people
from bot.email.intent import confirmation, needs_person
from bot.email.limits import MailRefused, MimeLimits, check_parsed, structure_problem
from bot.email.machines import Verdict, classify, clear_failing
from bot.email.questions import NumberedQuestion, dialog_view, show_value
from bot.email.replies import Extraction, extract_answers, html_to_text, strip_quoted
from bot.email.sender_auth import from_authentication_results
from bot.email.understand import read_reply
from bot.notices import FlowReply, PassedOn
from bot.outbox import enqueue
from bot.programs.store import spec_of
from bot.settings import Settings
from storage.db import session_scope
from storage.models import OutboxMessage, Person, Program

logger = logging.getLogger(__name__)



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
    machine: Verdict | None = None  # an out-of-office robot or a bounce is never read as a person's answer

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
        text_part, html_part = _body_part(message, "plain"), _body_part(message, "html")
        for part in (text_part, html_part):
            if part is not None and transport_charset:
                cls._read_8bit_as(part, transport_charset)
        recipients = [address for _name, address in getaddresses([str(v) for key in ("To", "Cc", "Delivered-To", "X-Original-To") for v in message.get_all(key, [])])]
        auto = str(message.get("Auto-Submitted", "no")).strip().lower()
        precedence = str(message.get("Precedence", "")).strip().lower()
        sender = parseaddr(str(message.get("From", "")))[1].lower()
        checks = from_authentication_results([str(v) for v in message.get_all("Authentication-Results", [])], sender=sender, authserv_id=authserv_id)
        machine = classify(message)
        return cls(
            sender=sender,
            recipients=list(envelope_recipients or []) + recipients,
            subject=str(message.get("Subject", "")),
            text=_part_text(text_part),
            html=_part_text(html_part),
            message_id=_one_id(message.get("Message-ID")),
            in_reply_to=_one_id(message.get("In-Reply-To")),
            references=re.findall(r"<[^<>\s]+>", str(message.get("References", ""))),
            auto_submitted=(auto not in ("", "no")) or precedence in ("bulk", "junk", "auto_reply", "list") or not machine.is_person,
            auth_failed=checks.refusal(),
            machine=machine,
        )

    def answer_thread(self) -> dict[str, Any]:
        """Where our answer to this email goes in its thread: In-Reply-To it, References the last ten of the thread."""
        references = [*(self.references or ([self.in_reply_to] if self.in_reply_to else [])), *([self.message_id] if self.message_id else [])]
        return {"in_reply_to": self.message_id, "references": references[-10:]}

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


def _body_part(message: EmailMessage, subtype: str) -> EmailMessage | None:
    """The message's text/`subtype` body. The standard library's `get_body` raises on a multipart left empty (a
    boundary opened and never given a part); the first such leaf found by walking the tree is as good then."""
    try:
        return message.get_body(preferencelist=(subtype,))
    except (AttributeError, TypeError, KeyError, IndexError):
        for part in message.walk():
            if not part.is_multipart() and part.get_content_type() == f"text/{subtype}":
                return part
        return None


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
    proposals: dict[str, str] = field(default_factory=dict)  # read with low confidence: held until the person confirms
    doubts: dict[str, str] = field(default_factory=dict)  # asked about specifically, nothing saved
    passed_on: str | None = None  # what the sender was told when a person has to read their reply


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


def _reply_key(mail: InboundMail) -> str:
    basis = mail.message_id or hashlib.sha256(f"{mail.sender}\n{mail.subject}\n{mail.text or mail.html}".encode()).hexdigest()
    return "email.reply:" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def _reading_settings(session: Session, program_id: int | None, person_id: int) -> tuple[BellTimes, tuple[str, ...]]:
    """The program's school day, in the person's own time zone, and the languages replies may be written in."""
    program = session.get(Program, program_id) if program_id is not None else None
    person = session.get(Person, person_id)
    bell, languages = BellTimes(), tuple(DEFAULT_LANGUAGES)
    if program is not None:
        try:
            spec = spec_of(program)
            bell, languages = spec.bell_times.bell(), tuple(spec.languages)
        except ValueError:  # a stored definition that no longer validates must not stop a reply being read
            pass
    # Availability is kept in the person's zone, so "4pm ET" is their own time only when they live on Eastern time.
    zone = (person.timezone if person is not None else None) or (program.timezone if program is not None else None)
    return (replace(bell, time_zone=zone) if zone else bell), languages


def _last_proposals(session: Session, *, person_id: int, flow: str, context: str) -> list[list[str]]:
    """What the bot's last answer in this dialog proposed and asked the person to confirm: [flow, key, value, words] items."""
    recent = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.person_id == person_id, OutboxMessage.channel == "email", OutboxMessage.purpose.startswith("email.reply."))
        .order_by(OutboxMessage.id.desc())
        .limit(10)
    ).all()
    for message in recent:
        body = message.body
        # An opt-in answer that went on to the profile's questions was answered in the profile's dialog.
        if body.get("notice") == "flow_reply" and flow in (body.get("flow"), body.get("next_flow")) and body.get("context") == context:
            return [[*item, str(item[2])][:4] for item in body.get("proposals") or () if isinstance(item, (list, tuple)) and len(item) in (3, 4)]
    return []


def _labelled(questions: dict[str, NumberedQuestion], key: str, words: str) -> list[str]:
    item = questions.get(key)
    return [item.label if item is not None else key.replace("_", " ").capitalize(), words]


def _pass_on(engine: Engine, settings: Settings, *, person_id: int, text: str, subject: str, reason: str, flow: str | None, context: str, key: str, now: datetime) -> str:
    """Hold words a person must read for the program's admins (once per reply); the sentence telling the sender."""
    with session_scope(engine) as session:
        person = session.get(Person, person_id)
        held = hold_for_people(
            session, person=person, text=text, subject=subject, reason=reason, flow=flow, context=context,
            source_key=key, now=now, settings=settings,
        )  # fmt: skip
    logger.info("reply from person %s passed on to the program's admins (%s)", person_id, reason)
    return held.told


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
        clear_failing(session, person.id, now)  # they read and answer mail at this address, so it works
    body = strip_quoted(mail.text or html_to_text(mail.html))
    if located.flow is None:
        return _notice_reply(engine, settings, mail, located, body=body, key=key, now=now)

    flow, context = located.flow, located.context
    view = dialog_view(engine, person_id=located.person_id, flow=flow, context=context, now=now)
    # Numbers mean the questions as numbered in the email; answered ones may be answered again (an edit).
    pending_keys = [item.question.key for item in view.pending]
    default = pending_keys[0] if pending_keys else None
    extraction = extract_answers(body, [item.asked() for item in view.numbered], default)
    if pending_keys and len(extraction.answers) > 1 and not set(extraction.answers) & set(pending_keys):
        # Only answered questions were named, several of them: most likely a numbered list ("1. math 2. science")
        # answering the open question. One answered question named alone is a correction of it, as the echo invites.
        extraction = extract_answers(body, [item.asked() for item in view.pending], default)
    # An opt-in reply often says more than it was asked ("Mentee please. I need help with assessment"): the profile's
    # questions are read from it too, so what was volunteered is kept and not asked again.
    later = dialog_view(engine, person_id=located.person_id, flow="profile", context=context, now=now, every=True) if flow == "opt_in" else None
    # Every question of this dialog may be answered, even one asked only after another's answer ("mentor, two").
    whole = dialog_view(engine, person_id=located.person_id, flow=flow, context=context, now=now, every=True)
    own = {item.question.key: item for item in whole.numbered}
    questions = list(whole.numbered) + ([item for item in later.numbered if item.question.key not in own] if later else [])
    with session_scope(engine) as session:
        bell, languages = _reading_settings(session, view.ctx.program_id, located.person_id)
        earlier = _last_proposals(session, person_id=located.person_id, flow=flow, context=context)
    confirmed = confirmation(body) if earlier else None
    if confirmed is not None:  # a bare "yes" or "no" to what was proposed answers that, and no question of its own
        extraction = Extraction()
    reading = read_reply(extraction.answers, body if confirmed is None else "", questions, person_role=view.person_role, bell=bell, languages=languages)
    by_flow: dict[str, dict[str, str]] = {flow: {}, "profile": {}}
    for key_, value in reading.values.items():
        by_flow[flow if key_ in own else "profile"][key_] = value
    if confirmed:  # "yes" to what the last answer proposed: those readings become answers
        for proposal_flow, key_, value, _words in earlier:
            by_flow.setdefault(proposal_flow, {}).setdefault(key_, value)
    result = dialogs.answer(
        engine, person_id=located.person_id, flow=flow, context=context, channel="email", replies=by_flow[flow], now=now,
        require_approval_default=settings.require_principal_approval,
    )  # fmt: skip
    outcome = result.outcome
    events = list(result.events)
    errors: dict[str, str] = dict(outcome.errors)
    saved: dict[str, Any] = dict(outcome.saved)
    role = outcome.state.answers.get("role")
    volunteered = by_flow.get("profile") if flow == "opt_in" and role not in (None, "none") else None
    if volunteered:
        asked_later = {item.question.key for item in dialog_view(engine, person_id=located.person_id, flow="profile", context=context, now=now).numbered}
        volunteered = {key_: value for key_, value in volunteered.items() if key_ in asked_later}
        if volunteered:
            later_result = dialogs.answer(
                engine, person_id=located.person_id, flow="profile", context=context, channel="email", replies=volunteered,
                now=now, require_approval_default=settings.require_principal_approval,
            )  # fmt: skip
            events += later_result.events
            errors.update(later_result.outcome.errors)
            saved.update(later_result.outcome.saved)
    if events:
        notify.dispatch_events(engine, events, now=now)

    labels = {**({item.question.key: item for item in later.numbered} if later else {}), **own}
    understood = [
        _labelled(labels, saved_key, reading.understood.get(saved_key) or show_value(labels[saved_key].question, value, labels[saved_key].options))
        for saved_key, value in saved.items() if saved_key in labels
    ]  # fmt: skip
    still_open = {key_ for key_ in labels if key_ not in saved}
    proposals = [
        [flow if key_ in own else "profile", key_, value, reading.understood.get(key_) or value]
        for key_, value in reading.proposals.items() if key_ in still_open and key_ not in errors
    ]  # fmt: skip
    if confirmed is None:  # a reply about other things leaves what was proposed before open, still to confirm
        fresh = {item[1] for item in proposals} | set(reading.values) | set(reading.doubts) | set(extraction.answers)
        proposals += [item for item in earlier if item[1] not in fresh and item[1] not in saved and (item[0] != flow or item[1] in still_open)]
    proposed = [_labelled(labels, key_, words) for _flow, key_, _value, words in proposals]
    doubts = [_labelled(labels, key_, question) for key_, question in reading.doubts.items() if key_ in still_open]
    answered = bool(saved or proposals or doubts or confirmed is not None)
    reason = needs_person(body, answered=answered, flow=flow)
    if reason is None and not (saved or proposals or confirmed is not None) and len(body.split()) >= 8:
        # Only a question back came of a whole sentence ("I'm not her principal any more, please ask Dr. Reyes"):
        # the bot could use none of it, so a person reads it too.
        reason = REASON_NOTHING_ASKED
    remark = "\n".join(reading.remarks.values())
    if reason is None and remark:
        reason = REASON_CHECK_IN_COMMENT if flow == "check_in" else REASON_QUESTION
    passed_on = _pass_on(
        engine, settings, person_id=located.person_id, text=body, subject=mail.subject, reason=reason, flow=flow, context=context, key=key, now=now,
    ) if reason is not None and body.strip() else None  # fmt: skip

    next_flow = next_context = None
    if flow == "opt_in" and outcome.complete and role not in (None, "none"):
        next_flow, next_context = "profile", context
    done_message = None
    if flow == "opt_in" and outcome.complete and role == "none":
        done_message = "Thanks for letting us know. You won't be matched this term; we'll ask again next term."
    notice = FlowReply(
        flow=flow, context=context, subject=mail.subject,
        understood=understood, errors=errors, unplaced=extraction.unplaced[:3] if not answered else [],
        proposed=proposed, proposals=proposals, doubts=doubts, passed_on=passed_on,
        # "No" to what was proposed: nothing of it is saved, and the questions are asked again.
        dropped=[_labelled(labels, key_, words) for _flow, key_, _value, words in earlier] if confirmed is False else [],
        # The questions this answer asks about specifically: in doubt, or proposed and waiting for a yes.
        asks={item[1]: "confirm" for item in proposals} | {key_: question for key_, question in reading.doubts.items() if key_ in still_open},
        completed=outcome.complete and bool(outcome.saved), next_flow=next_flow, next_context=next_context,
        done_message=done_message, thread=mail.answer_thread(),
    )  # fmt: skip
    with session_scope(engine) as session:
        person = session.get(Person, located.person_id)
        enqueue(
            session, idempotency_key=key, channel="email", purpose=f"email.reply.{flow}", recipient=person.email,
            person_id=person.id, body=notice.addressed_to(person.name).to_payload(), now=now,
        )  # fmt: skip
    logger.info(
        "reply from person %s applied to %s/%s: saved %s, %d proposed, %d in doubt, %d problem(s)",
        located.person_id, flow, context, sorted(saved), len(proposals), len(doubts), len(errors),
    )  # fmt: skip
    return InboundResult(
        "applied", how, person_id=located.person_id, flow=flow, saved=saved, errors=errors,
        complete=outcome.complete, reply_key=key, proposals={item[1]: item[2] for item in proposals},
        doubts=dict(reading.doubts), passed_on=passed_on,
    )  # fmt: skip


def _notice_reply(engine: Engine, settings: Settings, mail: InboundMail, located: tokens.ReplyToken, *, body: str, key: str, now: datetime) -> InboundResult:
    """A reply to a notice that asked nothing (a pairing, a reminder): whatever it says goes to a person."""
    reason = needs_person(body, answered=False, flow=None)
    if reason is None:  # empty, or only "Thanks!": nobody needs to read it
        logger.info("reply from person %s to a notice only acknowledges it; nothing to pass on", located.person_id)
        return InboundResult("ignored", "reply to a notice", person_id=located.person_id)
    told = _pass_on(engine, settings, person_id=located.person_id, text=body, subject=mail.subject, reason=reason, flow=None, context=located.context, key=key, now=now)
    with session_scope(engine) as session:
        person = session.get(Person, located.person_id)
        enqueue(
            session, idempotency_key=key, channel="email", purpose="email.reply.notice", recipient=person.email, person_id=person.id,
            body=PassedOn(subject=mail.subject, text=told, thread=mail.answer_thread(), person_name=person.name).to_payload(), now=now,
        )  # fmt: skip
    return InboundResult("applied", "passed on", person_id=located.person_id, reply_key=key, passed_on=told)
