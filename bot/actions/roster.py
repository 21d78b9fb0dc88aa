"""The roster: people in from a roster file, once read, for every program at once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from bot import importer
from bot.actions.access import Actor, authorize
from bot.actions.scope import program_name_for
from bot.roster import RosterReadResult
from bot.settings import Settings


def import_roster(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, roster: RosterReadResult, path: Path, strict: bool = False,
    program: str | None = None,
) -> importer.ImportReport:  # fmt: skip
    """Add or update everyone on a roster already read (with `strict`, nothing when a row is bad); every pool follows.

    People are kept for the whole district, so the roster serves every program's pool: without a program named, the
    default program (else the first one) is the one created if none exists yet, never a refusal.
    """
    authorize(actor, "roster.import", None)
    program_name = program_name_for(session, requested=program, default=settings.program_name, district_wide=True)
    return importer.store_roster_in(
        session, roster, path=path, program_name=program_name, default_timezone=settings.default_timezone, now=now, strict=strict
    )
