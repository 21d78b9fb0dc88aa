"""Nothing secret in a log line: every log record made in the process is scrubbed as it is made.

What is taken out: the values of secret query parameters (`?key=…` on the SendGrid webhook, `?k=…` on the guide links,
`token`, `signature`, an OAuth `code` and `state`…), the tokens that sit in a path (`/admin/link/<token>`,
`/email/unsubscribe/<token>`), anything shaped like a Slack token, and the configured secrets themselves
(SLACK_BOT_TOKEN, SENDGRID_INBOUND_KEY, SMTP_PASSWORD…) wherever they appear, as typed or URL-encoded.

It works through the log record factory rather than a filter on some loggers: a filter on a logger misses the
records its children pass up, and uvicorn replaces its loggers' handlers when it starts, so a factory is the one
place every record passes (uvicorn's access lines, the app's own, a library's, a traceback's text) before any handler
sees it. The scrubbing keeps the shape of a record's arguments, so uvicorn's access formatter still reads them.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from bot.settings import Settings

REDACTED = "[redacted]"
SECRET_PARAMS = (
    "key", "k", "token", "signature", "sig", "code", "state", "secret", "password", "passwd", "access_token", "refresh_token",
    "id_token", "client_secret", "api_key", "apikey", "auth", "x-mentorbot-key",
)  # fmt: skip
SECRET_SETTINGS = (
    "slack_bot_token", "slack_signing_secret", "slack_app_token", "slack_client_secret", "smtp_password", "imap_password",
    "email_token_secret", "mailgun_signing_key", "sendgrid_inbound_key", "admin_secret", "metrics_token",
)  # fmt: skip
KEPT_SECRET_FILES = ("admin-secret", "email-token-secret")  # the secrets made in DATA_DIR when the settings name none
REMEMBERED_TEXTS, REMEMBERED_TEXT_CHARS = 4096, 200  # how many short texts' scrubbed forms are kept, and how short
SHORTEST_SECRET = 8  # a configured "secret" shorter than this would blot out ordinary words; it is not looked for

_PARAM_RE = re.compile(r"(?i)(?<![\w-])(" + "|".join(re.escape(name) for name in SECRET_PARAMS) + r")=([^&\s\"'#]+)")
_PATH_RE = re.compile(r"(/admin/link/|/email/unsubscribe/)([^/?#\s\"']+)")
_SLACK_TOKEN_RE = re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{8,}")
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


class Redactor:
    """Takes secrets out of text: the known shapes, and the configured values it has been told of."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._values_re: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        # Short texts recur (an access line's method, path, protocol, a logger's fixed message): each is scrubbed once
        # and its result remembered, until the secrets looked for change.
        self._known: dict[str, str] = {}

    def add_secrets(self, values: Iterable[str | None]) -> None:
        """Look for these values too (as typed and URL-encoded); short or empty ones are ignored."""
        with self._lock:
            for value in values:
                if value and len(value) >= SHORTEST_SECRET:
                    self._values.update({value, quote(value, safe=""), quote(value)})
            self._known = {}
            if self._values:
                # Longest first, so a secret that contains another is taken out whole.
                self._values_re = re.compile("|".join(re.escape(v) for v in sorted(self._values, key=len, reverse=True)))

    def redact(self, text: str) -> str:
        """The text with every secret it holds replaced by [redacted]."""
        known = self._known
        done = known.get(text)
        if done is not None:
            return done
        done = self._redact(text)
        if len(text) <= REMEMBERED_TEXT_CHARS and len(known) < REMEMBERED_TEXTS:
            known[text] = done
        return done

    def _redact(self, text: str) -> str:
        if self._values_re is not None:
            text = self._values_re.sub(REDACTED, text)
        text = _PARAM_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
        text = _PATH_RE.sub(lambda m: m.group(1) + REDACTED, text)
        text = _SLACK_TOKEN_RE.sub(REDACTED, text)
        return _BEARER_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)

    def scrub(self, record: logging.LogRecord) -> None:
        """Redact a record in place: its message, each argument (keeping their shape), its traceback and stack."""
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {name: self._arg(value) for name, value in record.args.items()}
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            # Formatted now so the text handlers print is the redacted one (logging.Formatter reuses exc_text).
            record.exc_text = self.redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)

    def _arg(self, arg: Any) -> Any:
        if isinstance(arg, str):
            return self.redact(arg)
        if arg is None or isinstance(arg, (int, float, bytes)):
            return arg  # numbers keep %d; bytes are shown as their repr by %s and never carry our text secrets whole
        shown = str(arg)
        cleaned = self.redact(shown)
        return arg if cleaned == shown else cleaned  # an object whose text holds a secret is logged as its redacted text


REDACTOR = Redactor()
_installed = False
_install_lock = threading.Lock()


def secrets_of(settings: Settings) -> list[str]:
    """The secret values these settings configure, and the kept ones already made in DATA_DIR."""
    values = [getattr(settings, name) for name in SECRET_SETTINGS]
    for name in KEPT_SECRET_FILES:
        path = settings.data_dir / name
        try:
            values.append(path.read_text(encoding="utf-8").strip())
        except OSError:
            pass  # not made yet: it appears in no request, and is looked for once the next app starts
    return [value for value in values if value]


def install_log_redaction(settings: Settings) -> Redactor:
    """Scrub every log record made in this process from now on, these settings' secrets included (idempotent)."""
    global _installed
    REDACTOR.add_secrets(secrets_of(settings))
    with _install_lock:
        if not _installed:
            make_record = logging.getLogRecordFactory()

            def redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = make_record(*args, **kwargs)
                try:
                    REDACTOR.scrub(record)
                except Exception:  # a log line must never fail because of its scrubbing
                    record.msg, record.args = "(a log line was dropped: it could not be checked for secrets)", ()
                return record

            logging.setLogRecordFactory(redacted_record)
            _installed = True
    return REDACTOR
