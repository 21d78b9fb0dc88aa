"""Machines are not people: tell vacation responders and bounces apart from a teacher's own reply.

`classify` (a parsed message) and `classify_fields` (a webhook post that carries only some headers) give a
`Verdict`: a person, an auto-reply, or a bounce. Header evidence is trusted over the subject, because a person may
well write "Re: Out of office tomorrow?"; a subject alone counts only when it *starts* with a responder's phrase and
a colon, as Exchange and Outlook write it. Bounces are read with flufl.bounce (DSNs and the older MTA formats) plus
the DSN's own per-recipient fields, and only a permanent failure (5.x.x) marks an address as failing: a delay
(4.x.x) is a machine message that changes nothing.

`record_bounce` marks the people a permanent bounce names, once, and tells the admins (and the person on Slack)
through the outbox; `clear_failing` lifts the mark when the person writes in again.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.iterators import body_line_iterator
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import parseaddr
from typing import Literal

import sqlalchemy as sa
from flufl.bounce import all_failures
from sqlmodel import Session, col, func, select

from bot.email.replies import html_to_text
from bot.notices import EmailFailing, EmailFailingYou
from bot.notify import send_notice
from bot.outbox import enqueue
from storage.models import Person

logger = logging.getLogger(__name__)

FAILURE_MAX = 300  # Person.email_failure's length
_DIAGNOSTIC_MAX = 200
_SCAN_MAX = 200_000  # enough for any real bounce; keeps a hostile message from making the regexes slow

# --- what the evidence looks like --------------------------------------------------------------------------------

# Phrases responders put at the start of the subject, followed by a colon ("Automatic reply: Re: ...").
_AUTO_SUBJECT_PHRASES = (
    "automatic reply", "auto-reply", "auto reply", "autoreply", "auto response", "auto-response", "autoresponse",
    "out of office autoreply", "out of office", "out of the office", "abwesenheitsnotiz", "abwesend",
    "automatische antwort", "réponse automatique", "respuesta automática", "risposta automatica", "fuori sede",
    "resposta automática", "automatisch antwoord", "afwezig", "frånvaro", "automatiskt svar", "automatisk svar",
    "autosvar", "automaattinen vastaus", "automatyczna odpowiedź", "auto:", "absence", "absent", "ausente",
    "fuera de la oficina", "assente", "ausência", "ausente do escritório",
)  # fmt: skip
_AUTO_SUBJECT = re.compile(
    r"^(?:" + "|".join(re.escape(p.rstrip(":")) for p in sorted(_AUTO_SUBJECT_PHRASES, key=len, reverse=True)) + r")\s*:",
)
# Reply and forward prefixes in the languages teachers write in ("Re:", "AW:", "SV:", "RE[2]:", "Antw:").
_REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|aw|sv|vs|wg|antw|antwort|ref|rif|r|res|tr|fw|fwd|enc)\s*(?:\[\d+\])?\s*:)+\s*", re.IGNORECASE)
_PRECEDENCE_AUTO = {"bulk", "junk", "list", "auto_reply"}
# Exchange puts these on the replies it generates; "All"/"OOF"/"AutoReply" is what an out-of-office carries.
_SUPPRESS_AUTO = {"all", "oof", "autoreply"}
_RESPONDER_MAILER = re.compile(r"vacation|auto-?respon|auto-?reply|out of office", re.IGNORECASE)
_NO_REPLY_SENDER = re.compile(r"^(?:no-?reply|do-?not-?reply|donotreply)(?:[+.\-_].*)?$", re.IGNORECASE)
_DAEMON_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)$", re.IGNORECASE)
# Subjects of non-delivery reports; matched at the very start (a person's "Re: Undeliverable:" is a person).
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered mail returned to sender|undelivered mail|delivery status notification|"
    r"mail delivery failed|mail delivery failure|delivery failure|returned mail|failure notice|"
    r"delivery has failed|message not delivered|non remis|unzustellbar|nicht zustellbar|onbestelbaar|"
    r"no se puede entregar|non recapitabile|warning: message .* delayed|delayed mail|"
    r"mail system error - returned mail)\b",
    re.IGNORECASE,
)
# Words only a delivery report says; alone (a person may paste one into a reply) they need a null sender too.
_BOUNCE_BODY = re.compile(
    r"delivery has failed to these recipients|could not be delivered to one or more recipients|"
    r"this is the mail system at host|your message couldn't be delivered|message wasn't delivered|"
    r"the following addresses had permanent fatal errors|delivery to the following recipients? failed|"
    r"address not found|the email account that you tried to reach does not exist",
    re.IGNORECASE,
)
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_REPLY = re.compile(r"(?<!\d)([45]\d\d)[ \-]+([45]\.\d{1,3}\.\d{1,3})?")
_DSN_FIELDS = re.compile(r"^(?:final-recipient|original-recipient)\s*:", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Verdict:
    """Who wrote a message: a person, an auto-reply, or a bounce (with the addresses that failed for good)."""

    kind: Literal["person", "auto_reply", "bounce"]
    reason: str  # for the log
    failed_recipients: tuple[str, ...] = ()  # permanent failures only, lower-case addresses
    diagnostic: str = ""  # short, for admins: "550 5.1.1 <ana@…>: user unknown"
    delayed_recipients: tuple[str, ...] = ()  # temporary failures (4.x.x): still being tried, not failing

    @property
    def is_person(self) -> bool:
        return self.kind == "person"


@dataclass(frozen=True)
class _Mail:
    """The parts of a message that classification reads, whichever way it arrived."""

    headers: Mapping[str, str]  # lower-case names, first value of each
    subject: str
    text: str  # the readable text, bounded
    content_type: str
    status_blocks: str  # the DSN's delivery-status fields as text, blank-line separated
    message: Message  # for flufl.bounce
    has_status_part: bool = False  # a message/delivery-status part: only a delivery report has one


# --- classification ----------------------------------------------------------------------------------------------


def classify(message: EmailMessage) -> Verdict:
    """Whether a parsed email is a person's reply, an auto-reply or a bounce. Never raises for malformed mail."""
    try:
        return _classify(_from_message(message))
    except Exception:
        return _unclassified()


def _unclassified() -> Verdict:
    # Mail too broken to classify goes on as a person's: the reply handler's own checks decide, and a teacher's
    # answer is never dropped because of it.
    logger.exception("classifying an email failed; handling it as a person's")
    return Verdict("person", "could not be classified")


def classify_fields(*, headers: Mapping[str, str], subject: str, text: str, content_type: str = "") -> Verdict:
    """`classify` for a webhook post that gives the subject, the text and only some of the headers."""
    try:
        return _classify(_from_fields(headers=headers, subject=subject, text=text, content_type=content_type))
    except Exception:
        return _unclassified()


def _from_fields(*, headers: Mapping[str, str], subject: str, text: str, content_type: str) -> _Mail:
    lowered = {str(name).strip().lower(): _clean(str(value)) for name, value in (headers or {}).items()}
    content_type = content_type or lowered.get("content-type", "")
    text = (text or "")[:_SCAN_MAX]
    # flufl.bounce reads Message objects: give it the text as the one body part the post had.
    message = Message()
    for name, value in lowered.items():
        if name not in ("content-type", "content-transfer-encoding", "mime-version"):
            message[name] = value
    message["Subject"] = subject or ""
    message["Content-Type"] = "text/plain; charset=utf-8"
    message.set_payload(text)
    blocks = "\n\n".join(_status_paragraphs(text)) if _DSN_FIELDS.search(text) else ""
    return _Mail(headers=lowered, subject=_clean(subject or ""), text=text, content_type=content_type.lower(), status_blocks=blocks, message=message)


def _classify(mail: _Mail) -> Verdict:
    bounce_why = _bounce_evidence(mail)
    if bounce_why:
        return _read_bounce(mail, bounce_why)
    auto_why = _auto_reply_evidence(mail)
    if auto_why:
        return Verdict("auto_reply", auto_why)
    return Verdict("person", "no sign of an automatic sender")


def _bounce_evidence(mail: _Mail) -> str:
    """Why the message is a delivery report, or "" when it is not one."""
    # Field lines in a post's text alone prove nothing (a person may forward a report); a status part does.
    if "report-type=delivery-status" in mail.content_type.replace('"', "").replace(" ", "") or mail.has_status_part:
        return "delivery status notification"
    for name in ("x-ms-exchange-message-is-ndr", "x-failed-recipients"):
        if name in mail.headers:
            return name
    sender_name, sender = parseaddr(mail.headers.get("from", ""))
    local = sender.partition("@")[0]
    if _DAEMON_SENDER.match(local) or sender_name.strip().lower() == "mail delivery subsystem":
        return f"from {sender or sender_name}"
    if _BOUNCE_SUBJECT.match(mail.subject):
        return f"non-delivery subject {mail.subject[:60]!r}"
    null_sender = mail.headers.get("return-path", "").strip() == "<>"
    if null_sender and _BOUNCE_BODY.search(mail.text):
        return "null sender and a non-delivery report's wording"
    return ""


def _auto_reply_evidence(mail: _Mail) -> str:
    """Why the message is an automatic reply, or "" when nothing says so (headers first, then the subject)."""
    headers = mail.headers
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in _PRECEDENCE_AUTO:
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        value = headers.get(name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            return f"{name}: {value.strip()[:40]}"
    if headers.get("x-autogenerated", "").strip().lower() == "reply":
        return "X-Autogenerated: Reply"
    # Challenge-response spam filters ("verify you are a real person") are robots too; answering one would verify us.
    for name in ("x-challenge", "x-boxtrapper", "x-spam-challenge"):
        if name in headers:
            return f"{name}: challenge-response filter"
    suppress = {token.strip().lower() for token in headers.get("x-auto-response-suppress", "").split(",")}
    if suppress & _SUPPRESS_AUTO:
        return f"X-Auto-Response-Suppress: {headers['x-auto-response-suppress'].strip()[:40]}"
    if "x-ms-exchange-generated-message-source" in headers:
        return f"generated by Exchange ({headers['x-ms-exchange-generated-message-source'].strip()[:40]})"
    mailer = headers.get("x-mailer", "")
    if _RESPONDER_MAILER.search(mailer):
        return f"X-Mailer: {mailer.strip()[:40]}"
    if headers.get("return-path", "").strip() == "<>":
        return "null return path"
    sender = parseaddr(headers.get("from", ""))[1]
    if _NO_REPLY_SENDER.match(sender.partition("@")[0]):
        return f"from {sender}"
    subject = _normal_subject(mail.subject)
    if _AUTO_SUBJECT.match(subject):
        return f"responder's subject {mail.subject[:60]!r}"
    if "disposition-notification" in mail.content_type or (_RECEIPT_SUBJECT.match(subject) and _RECEIPT_TEXT.search(mail.text[:2000])):
        return "read receipt"
    return ""


# A read receipt: "Read: <subject>" over "Your message ... was read on <date>", in the languages teachers write in.
_RECEIPT_SUBJECT = re.compile(r"^(?:read|gelesen|lu|leído|leido|lida|lido|gelezen|letto)\s*:", re.IGNORECASE)
_RECEIPT_TEXT = re.compile(
    r"\bwas read on\b|\bwurde am .{0,40} gelesen|\ba été lu\b|\bfue leído\b|\bfoi lida\b|\bis gelezen op\b|\bè stato letto\b", re.IGNORECASE
)


def _normal_subject(subject: str) -> str:
    """The subject without reply prefixes, case-folded and composed, for phrase matching."""
    folded = unicodedata.normalize("NFC", subject).casefold().strip()
    return _REPLY_PREFIX.sub("", folded)


# --- bounces -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Recipient:
    address: str
    permanent: bool
    status: str
    diagnostic: str


def _read_bounce(mail: _Mail, why: str) -> Verdict:
    """The failed and delayed addresses of a delivery report, from its DSN fields and flufl.bounce's detectors."""
    recipients = _dsn_recipients(mail.status_blocks)
    temporary: set[str] = {r.address for r in recipients if not r.permanent}
    permanent: set[str] = {r.address for r in recipients if r.permanent}
    try:
        flufl_temporary, flufl_permanent = all_failures(mail.message)
    except Exception:  # a heuristic detector tripping over odd mail must not lose what the DSN fields said
        logger.warning("flufl.bounce could not read a bounce (%s)", why, exc_info=True)
        flufl_temporary, flufl_permanent = frozenset(), frozenset()
    if not (flufl_temporary or flufl_permanent):
        flufl_temporary, flufl_permanent = ExchangeRecipientList().process(mail.message)
    permanent |= {_address(a) for a in flufl_permanent} - {""}
    temporary |= {_address(a) for a in flufl_temporary} - {""}
    text_status = _first_status(mail.text)
    if not recipients and text_status.startswith("4"):
        # A plain-text report whose only status is 4.x.x is a delay, whatever a heuristic made of it.
        temporary |= permanent
        permanent = set()
    # The DSN's own status wins: "Action: failed" with 4.4.7 means the tries ran out, not that the address is wrong.
    permanent -= {r.address for r in recipients if not r.permanent}
    temporary -= permanent
    failed = tuple(sorted(permanent))
    delayed = tuple(sorted(temporary))
    diagnostic = _diagnostic(recipients, failed, mail.text)
    if failed:
        status = next((r.status for r in recipients if r.address in permanent and r.status), text_status)
        reason = f"bounce ({why}): permanent failure for {', '.join(failed)}" + (f" ({status})" if status else "")
    elif delayed:
        status = next((r.status for r in recipients if r.status), text_status)
        reason = f"delay report ({why}) for {', '.join(delayed)}" + (f" ({status})" if status else "") + "; still being tried, not failing"
    else:
        reason = f"bounce ({why}) naming no address that could be read"
    return Verdict("bounce", reason, failed_recipients=failed, diagnostic=diagnostic, delayed_recipients=delayed)


class ExchangeRecipientList:
    """A flufl.bounce detector for Exchange's plain-text report, which flufl.bounce does not know.

    "Delivery has failed to these recipients or groups:" is followed by the failed addresses, each alone on a
    line ("Frank Moss (frank.moss@district.example)" or the bare address), up to the original's headers.
    """

    _start = re.compile(r"delivery has failed to these recipients or groups|your message did not reach some or all of the intended recipients", re.IGNORECASE)
    _end = re.compile(r"^\s*original message headers\s*:", re.IGNORECASE)
    _line = re.compile(r"^\s*(?:[^@<>():]*[(<])?'?([^\s@()<>']+@[^\s@()<>']+\.[^\s@()<>']+?)'?[)>]?\s*$")

    def process(self, msg: Message) -> tuple[frozenset[bytes], frozenset[bytes]]:
        """Addresses as flufl.bounce reports them: (temporary, permanent), as ASCII bytes."""
        addresses: set[bytes] = set()
        started = False
        for line in body_line_iterator(msg):
            if not started:
                started = bool(self._start.search(line))
                continue
            if self._end.search(line):
                break
            match = self._line.match(line)
            if match and match[1].isascii():
                addresses.add(match[1].encode("ascii"))
        return frozenset(), frozenset(addresses)


def _dsn_recipients(blocks: str) -> list[_Recipient]:
    """The per-recipient fields of a DSN (RFC 3464): address, action, status and the far server's words."""
    found: list[_Recipient] = []
    for paragraph in blocks.split("\n\n"):
        fields = HeaderParser().parsestr(paragraph.strip() + "\n")
        addresses = [_typed_address(fields.get(name, "")) for name in ("original-recipient", "final-recipient", "x-actual-recipient")]
        addresses = [a for a in dict.fromkeys(addresses) if a]
        if not addresses:
            continue
        action = _clean(fields.get("action", "")).lower()
        diagnostic = re.sub(r"^\s*(?:smtp|x-[\w-]+)\s*;\s*", "", _clean(fields.get("diagnostic-code", "")), flags=re.IGNORECASE)
        status_match = _STATUS.search(_clean(fields.get("status", ""))) or _STATUS.search(diagnostic)
        status = ".".join(status_match.groups()) if status_match else ""
        if action.startswith(("delivered", "relayed", "expanded")):
            continue  # delivered or handed on: nothing failed
        if action.startswith("delayed"):
            permanent = False
        elif status:
            permanent = status.startswith("5")
        else:
            permanent = action.startswith(("failed", "error"))
        for address in addresses:
            found.append(_Recipient(address, permanent, status, diagnostic))
    return found


def _typed_address(value: str) -> str:
    """The address of a DSN recipient field ("rfc822; ana@district.example"); "" for other address types."""
    kind, _, address = _clean(value).partition(";")
    if not address:
        address, kind = kind, "rfc822"
    return _address(address) if kind.strip().lower() == "rfc822" else ""


def _address(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    address = parseaddr(value.strip())[1].strip().lower()
    return address if "@" in address and len(address) <= 320 else ""


def _first_status(text: str) -> str:
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else ""


def _diagnostic(recipients: Sequence[_Recipient], failed: Sequence[str], text: str) -> str:
    """A short line for admins: the far server's words for the first failed address, or the report's status line."""
    chosen = next((r for r in recipients if r.address in failed and r.diagnostic), None)
    chosen = chosen or next((r for r in recipients if r.diagnostic), None)
    if chosen is not None:
        return _shorten(chosen.diagnostic)
    for line in text.splitlines():
        if _SMTP_REPLY.search(line) and _STATUS.search(line):
            return _shorten(line.strip(" >-'\""))
    for line in text.splitlines():
        if _STATUS.search(line):
            return _shorten(line.strip(" >-'\""))
    status = next((r.status for r in recipients if r.status), "")
    return status


def _shorten(text: str, limit: int = _DIAGNOSTIC_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- reading a message -------------------------------------------------------------------------------------------


def _from_message(message: Message) -> _Mail:
    headers: dict[str, str] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.strip().lower(), _decoded(value))
    texts: list[str] = []
    html: list[str] = []
    blocks: list[str] = []
    for part in _parts_outside_attached_messages(message):
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            blocks.append(_status_text(part))
        elif kind == "text/plain" and not part.is_attachment():
            texts.append(_part_text(part))
        elif kind == "text/html" and not part.is_attachment():
            html.append(_part_text(part))
    text = "\n".join(texts) or html_to_text("\n".join(html))
    return _Mail(
        headers=headers, subject=headers.get("subject", ""), text=text[:_SCAN_MAX], content_type=headers.get("content-type", "").lower(),
        status_blocks="\n\n".join(blocks), message=message, has_status_part=bool(blocks),
    )  # fmt: skip


def _parts_outside_attached_messages(message: Message) -> Iterable[Message]:
    """Every part of the message except those inside an attached original (message/rfc822), which is not the report."""
    yield message
    if message.get_content_type() in ("message/rfc822", "message/delivery-status"):
        return  # the returned original is not the report; a status part's blocks are read by `_status_text`
    payload = message.get_payload()
    if isinstance(payload, list):
        for part in payload:
            if isinstance(part, Message):
                yield from _parts_outside_attached_messages(part)


def _status_text(part: Message) -> str:
    """A message/delivery-status part's field blocks as text (the email package parses them into header blocks)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n\n".join("\n".join(f"{name}: {_decoded(value)}" for name, value in block.items()) for block in payload if isinstance(block, Message))
    raw = part.get_payload(decode=True)
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload or "")


def _status_paragraphs(text: str) -> list[str]:
    """Paragraphs of a flattened report that hold DSN fields (a webhook's text may carry them inline)."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    return [p for p in paragraphs if _DSN_FIELDS.search(p)]


def _part_text(part: Message) -> str:
    """A body part as text; a charset that lies or that Python doesn't know is read as UTF-8, damaged bytes replaced."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (AttributeError, LookupError, UnicodeError, ValueError, KeyError):
        pass
    payload = part.get_payload(decode=True) or b""
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)


def _decoded(value: object) -> str:
    """A header's value as readable text: encoded words decoded, folding undone; raw text when it won't decode."""
    text = str(value)
    try:
        text = str(make_header(decode_header(text)))
    except (LookupError, UnicodeError, ValueError, TypeError):
        pass
    return _clean(text)


def _clean(value: str) -> str:
    return " ".join(value.replace("\x00", "").split())[:2000]


# --- storage -----------------------------------------------------------------------------------------------------


def record_bounce(
    session: Session, *, verdict: Verdict, now: datetime, admin_emails: Sequence[str], admin_slack_ids: Sequence[str]
) -> list[int]:
    """Mark the known people a permanent bounce names as failing and tell the admins (and the person on Slack), once.

    Returns the ids of people newly marked; a person already failing is neither marked again nor notified again.
    """
    if verdict.kind != "bounce" or not verdict.failed_recipients:
        return []
    wanted = sorted({a.strip().lower() for a in verdict.failed_recipients if a.strip()})
    people = list(session.exec(select(Person).where(func.lower(Person.email).in_(wanted)).order_by(col(Person.id))))
    failure = (verdict.diagnostic or "the receiving server refused the address")[:FAILURE_MAX]
    marked: list[int] = []
    for person in people:
        # Compare-and-set, so two copies of one bounce handled at once notify once: only the writer that finds
        # the flag clear marks it and queues the notices.
        won = session.execute(
            sa.update(Person)
            .where(col(Person.id) == person.id, col(Person.email_failing_at).is_(None))
            .values(email_failing_at=now, email_failure=failure)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            continue
        session.refresh(person)
        marked.append(person.id)
        _tell_admins(session, person=person, failure=failure, now=now, admin_emails=admin_emails, admin_slack_ids=admin_slack_ids)
        if person.slack_user_id:
            text = (
                f"We couldn't reach you by email at {person.email}: {failure}. "
                "Please check your address with your program coordinator."
            )
            notice = EmailFailingYou(subject="We couldn't reach you by email", text=text)
            send_notice(session, person=person, purpose="email.failing.person", key=_episode(person), notice=notice, now=now)
        logger.info("mail to person %s is failing: %s", person.id, failure)
    return marked


def _episode(person: Person) -> str:
    """One failure episode of one person: a later bounce after a clear is a new episode and is told again."""
    assert person.email_failing_at is not None
    return f"{person.id}:{person.email_failing_at.isoformat()}"


def _tell_admins(
    session: Session, *, person: Person, failure: str, now: datetime, admin_emails: Sequence[str], admin_slack_ids: Sequence[str]
) -> None:
    text = f"Mail to {person.name} <{person.email}> is failing: {failure} — check the roster address."
    subject = f"Mail to {person.name} is failing"
    body = EmailFailing(subject=subject, text=text, failing_person_id=person.id, failing_email=person.email, failure=failure).to_payload()
    recipients = [("slack", user) for user in admin_slack_ids if user] + [("email", address) for address in admin_emails if address]
    for channel, recipient in dict.fromkeys(recipients):
        enqueue(
            session, idempotency_key=f"email.failing:{_episode(person)}:{channel}:{recipient}", channel=channel,
            purpose="email.failing", recipient=recipient, subject=subject, body=body, now=now,
        )  # fmt: skip


def clear_failing(session: Session, person_id: int, now: datetime) -> bool:
    """Lift a person's failing mark (they wrote in, so their address works). True if it was set."""
    person = session.get(Person, person_id)
    if person is None or person.email_failing_at is None:
        return False
    person.email_failing_at, person.email_failure, person.updated_at = None, None, now
    session.add(person)
    return True
