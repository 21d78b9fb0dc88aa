"""Roster uploads from the admin pages: the file is kept aside and checked; nothing is saved until the admin confirms.

An upload is written to DATA_DIR/admin-uploads under a random name and read with `bot.roster.read_roster`, so
the admin sees every bad row (line, column, value, what to write instead), every value that would be skipped
with a warning (and whether the value on file is kept), and what the good rows would do (new people, updates)
before anything touches the database. Confirming imports exactly that stored file with
`bot.importer.import_roster`; cancelling deletes it. Stale uploads are removed after a day.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.errors import UserError
from bot.importer import ImportReport, import_roster, warnings_on_file
from bot.roster import CSV_SUFFIXES, XLSX_SUFFIXES, RosterRow, RowError, RowWarning, read_roster
from bot.settings import Settings
from storage import repo
from storage.db import session_scope

STAGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class UploadProblem(UserError):
    """The upload cannot be used; the message says why and what to do."""


@dataclass
class Preview:
    """What importing a staged roster would do."""

    token: str
    filename: str
    data_rows: int
    rows: list[RosterRow]
    errors: list[RowError]
    warnings: list[RowWarning] = field(default_factory=list)
    new: int = 0
    updated: int = 0
    existing_emails: set[str] = field(default_factory=set)

    @property
    def bad_lines(self) -> int:
        return len({error.line for error in self.errors})


def upload_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "admin-uploads"


def stage(settings: Settings, *, filename: str, data: bytes) -> str:
    """Keep an uploaded roster aside under a random token; refuses other file kinds, empty and oversized files."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in CSV_SUFFIXES + XLSX_SUFFIXES:
        raise UploadProblem(f"'{filename or 'that file'}' is not a roster file: upload a .csv or .xlsx file.")
    if not data:
        raise UploadProblem(f"'{filename}' is empty.")
    limit = settings.admin_upload_mb * 1024 * 1024
    if len(data) > limit:
        raise UploadProblem(f"'{filename}' is larger than {settings.admin_upload_mb} MB; split it or raise ADMIN_UPLOAD_MB.")
    folder = upload_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    _sweep(folder)
    token = secrets.token_urlsafe(18)
    (folder / f"{token}{suffix}").write_bytes(data)
    return token


def staged_path(settings: Settings, token: str) -> Path:
    """The staged file for a token, or UploadProblem when it is gone (imported, cancelled or older than a day)."""
    if not _TOKEN.match(token or ""):
        raise UploadProblem("That upload is not known. Upload the file again.")
    for suffix in CSV_SUFFIXES + XLSX_SUFFIXES:
        path = upload_dir(settings) / f"{token}{suffix}"
        if path.is_file():
            return path
    raise UploadProblem("That upload is no longer here (it was imported, cancelled, or is older than a day). Upload the file again.")


def preview(engine: Engine, settings: Settings, *, token: str, filename: str) -> Preview:
    """Read the staged file and compare it with who is on file; writes nothing."""
    path = staged_path(settings, token)
    result = read_roster(path, default_timezone=settings.default_timezone)
    with session_scope(engine) as session:
        existing = set(repo.people_by_email(session, emails=(row.email for row in result.rows)))
        warnings = warnings_on_file(session, result)
    new = sum(1 for row in result.rows if row.email not in existing)
    return Preview(
        token=token, filename=filename, data_rows=result.data_rows, rows=result.rows, errors=result.errors,
        warnings=warnings, new=new, updated=len(result.rows) - new, existing_emails=existing,
    )  # fmt: skip


def confirm(engine: Engine, settings: Settings, *, token: str, now: datetime) -> ImportReport:
    """Import the good rows of the staged file, then delete it."""
    path = staged_path(settings, token)
    report = import_roster(engine, path, program_name=settings.program_name, default_timezone=settings.default_timezone, now=now)
    path.unlink(missing_ok=True)
    return report


def cancel(settings: Settings, *, token: str) -> None:
    """Forget a staged upload."""
    try:
        staged_path(settings, token).unlink(missing_ok=True)
    except UploadProblem:
        pass


def _sweep(folder: Path) -> None:
    cutoff = time.time() - STAGE_SECONDS
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue
