"""Log lines as text (the default) or one JSON object a line (LOG_FORMAT=json), each carrying its request or job id.

The ids live in context variables: the web middleware (`bot.web.observe`) sets the request id for everything a request
does, the scheduler's job wrapper (`bot.web.app`) sets a job id for a sweep or an outbox delivery. Work handed to a
thread with asyncio.to_thread copies the context, so lines logged there carry the same id. The secret redaction
(`bot.web.redaction`) runs when a record is made, so both formats print the scrubbed text.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("mentorbot_request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("mentorbot_job_id", default=None)

# An incoming X-Request-ID is kept only when it looks like an id: anything else (a newline, a 10 KB header, markup)
# would be written into every log line of the request, so it is replaced by one of ours.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


def request_id_from(header: str | None) -> str:
    """The caller's request id when it is a sane one, else a fresh one."""
    if header and _REQUEST_ID_RE.fullmatch(header):
        return header
    return uuid.uuid4().hex


def new_job_id(job: str) -> str:
    """An id for one run of a scheduler job, e.g. `deliver-outbox.3f2a9c1b`."""
    return f"{job}.{uuid.uuid4().hex[:8]}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the request_id or job_id in effect."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id, job_id = request_id_var.get(), job_id_var.get()
        if request_id:
            line["request_id"] = request_id
        if job_id:
            line["job_id"] = job_id
        if record.exc_info:
            # The redaction formatted (and scrubbed) the traceback when the record was made; reuse that text.
            line["exception"] = record.exc_text or self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter LOG_FORMAT names: `json` or `text`."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Send the root logger's lines to stderr in the chosen format, as logging.basicConfig would.

    Like basicConfig, it leaves a root logger that already has someone else's handlers alone (pytest's capture, an
    embedding program's); a handler it installed itself is given the new format, so it can be called again.
    """
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "mentorbot_handler", False)]
    if ours:
        for handler in ours:
            handler.setFormatter(formatter_for(log_format))
        root.setLevel(level.upper())
        return
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.mentorbot_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter_for(log_format))
    logging.basicConfig(level=level.upper(), handlers=[handler])


def uvicorn_log_config(level: str, log_format: str) -> dict[str, Any] | None:
    """The log_config to hand uvicorn: None (its own) for text, else its loggers sent to the root's JSON lines."""
    if log_format != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "bot.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {name: {"handlers": [], "propagate": True, "level": level.upper()} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
