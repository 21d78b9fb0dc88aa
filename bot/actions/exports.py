"""Exports: the same tables for the admin pages, the CLI and `/mentoring export`, with formula-safe cells."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot import exports
from bot.actions.access import Actor
from bot.actions.scope import program_for, round_for
from bot.errors import NotFound
from bot.settings import Settings
from storage import repo


def export_pairings(session: Session, *, actor: Actor, round_id: int, program: str | None = None) -> exports.Table:
    """A round's pairs (cancelled ones marked) with fit, reasons and proposed session times in the program's zone."""
    round_, _term, the_program = round_for(session, actor=actor, operation="export.pairings", round_id=round_id, requested=program)
    return exports.pairings_table(session, round_=round_, zone=ZoneInfo(the_program.timezone))


def export_people(session: Session, *, actor: Actor, settings: Settings, program: str | None = None) -> exports.Table:
    """Everyone in the program's pool as a roster file that `mentorbot import roster` reads back."""
    the_program = program_for(session, actor=actor, operation="export.people", requested=program, default=settings.program_name)
    return exports.people_table(session, program_name=the_program.name)


def export_participation(session: Session, *, actor: Actor, settings: Settings, term_id: int | None = None, program: str | None = None) -> exports.Table:
    """Everyone invited to a term (the open or latest one unless named): how they took part."""
    the_program = program_for(session, actor=actor, operation="export.people", requested=program, default=settings.program_name)
    return exports.participation_table(session, term=_term(session, program_id=the_program.id, term_id=term_id))


def export_survey(
    session: Session, *, actor: Actor, settings: Settings, round_id: int | None = None, term_id: int | None = None, program: str | None = None
) -> exports.Table:
    """Every survey answer of a round, or of a whole term."""
    if round_id is not None:
        round_, term, the_program = round_for(session, actor=actor, operation="export.pairings", round_id=round_id, requested=program)
        return exports.survey_table(session, term=term, round_=round_, zone=ZoneInfo(the_program.timezone))
    the_program = program_for(session, actor=actor, operation="export.pairings", requested=program, default=settings.program_name)
    term = _term(session, program_id=the_program.id, term_id=term_id)
    return exports.survey_table(session, term=term, round_=None, zone=ZoneInfo(the_program.timezone))


def _term(session: Session, *, program_id: int, term_id: int | None):
    terms = repo.list_terms(session, program_id=program_id)
    if term_id is not None:
        for term in terms:
            if term.id == term_id:
                return term
        raise NotFound(f"there is no term {term_id} in this program")
    open_terms = [t for t in terms if t.status == "open"]
    if open_terms:
        return open_terms[-1]
    if terms:
        return terms[-1]
    raise NotFound("there is no term to export yet")
