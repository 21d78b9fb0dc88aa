"""The local mail sink's messages (DATA_DIR/mail/*.eml), read with the standard library for the Mail page.

A missing or empty folder is simply "no mail yet"; a file that cannot be parsed is listed with the problem
rather than breaking the page.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.eml$")
HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class MailItem:
    name: str
    date: datetime | None
    sender: str
    to: str
    subject: str
    size: int
    problem: str | None = None


@dataclass
class MailDetail:
    item: MailItem
    headers: list[tuple[str, str]]
    text: str | None
    has_html: bool
    attachments: list[tuple[str, str, int]] = field(default_factory=list)


def mail_folder(data_dir: Path) -> Path:
    return Path(data_dir) / "mail"


def _date(message: EmailMessage) -> datetime | None:
    try:
        return parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        return None


def _item(path: Path, message: EmailMessage | None, problem: str | None = None) -> MailItem:
    size = path.stat().st_size
    if message is None:
        return MailItem(path.name, None, "", "", "(could not be read)", size, problem)
    to = str(message["To"] or message["X-Sink-Envelope-To"] or "")
    return MailItem(path.name, _date(message), str(message["From"] or ""), to, str(message["Subject"] or "(no subject)"), size, problem)


def _listed(path: Path, message: Message) -> MailItem:
    """A list line from a message read with compat32: the same words `_item` gives."""
    try:
        when = parsedate_to_datetime(_plain(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        when = None
    to = _plain(message["To"]) or _plain(message["X-Sink-Envelope-To"])
    return MailItem(path.name, when, _plain(message["From"]), to, _plain(message["Subject"]) or "(no subject)", path.stat().st_size)


def _plain(raw: object) -> str:
    """A raw header's text: unfolded, its encoded words (=?utf-8?…?=) decoded."""
    if raw is None:
        return ""
    text = "".join(str(raw).splitlines()).strip()
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (LookupError, ValueError, UnicodeError):
        return text


def list_mail(folder: Path, *, limit: int = 200, skip: int = 0) -> tuple[list[MailItem], int]:
    """The newest `limit` messages after the newest `skip`, newest first, and how many there are in all.

    Only the messages listed are opened (a district's sink holds thousands; the page shows one page of them).
    """
    if not folder.is_dir():
        return [], 0
    # scandir's entries know whether they are files without a stat call each.
    with os.scandir(folder) as entries:
        names = sorted((entry.name for entry in entries if _NAME.match(entry.name) and entry.is_file()), reverse=True)
    paths = [folder / name for name in names[skip : skip + limit]]
    items = []
    for path in paths:
        try:
            with path.open("rb") as handle:
                # The list needs five headers: compat32 leaves them as text, decoded below only when they carry
                # encoded words (policy.default parses every address and date into objects: most of the page's time).
                message = BytesParser(policy=policy.compat32).parsebytes(handle.read(HEADER_BYTES), headersonly=True)
            items.append(_listed(path, message))
        except (OSError, ValueError, TypeError) as exc:
            items.append(_item(path, None, f"{type(exc).__name__}: {exc}"))
    return items, len(names)


def _path(folder: Path, name: str) -> Path | None:
    if not _NAME.match(name or ""):
        return None
    path = folder / name
    return path if path.is_file() else None


def _parse(path: Path) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


def read_mail(folder: Path, name: str) -> MailDetail | None:
    """One message with its headers, text part, and its attachments' names; None when there is no such file."""
    path = _path(folder, name)
    if path is None:
        return None
    message = _parse(path)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    attachments = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        attachments.append((part.get_filename() or "(unnamed)", part.get_content_type(), len(payload)))
    shown = ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "List-Unsubscribe")
    headers = [(key, str(message[key])) for key in shown if message[key]]
    return MailDetail(
        item=_item(path, message), headers=headers, text=text_part.get_content() if text_part is not None else None,
        has_html=html_part is not None, attachments=attachments,
    )  # fmt: skip


def read_html(folder: Path, name: str) -> str | None:
    """The HTML part of a message (served in a sandbox), or None."""
    path = _path(folder, name)
    if path is None:
        return None
    part = _parse(path).get_body(preferencelist=("html",))
    return part.get_content() if part is not None else None
