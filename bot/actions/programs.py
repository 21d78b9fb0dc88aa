"""Program operations: list, show, change one setting, add or remove a custom question, apply definition files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from bot import dialogs
from bot.actions.access import Actor, authorize, may
from bot.actions.scope import program_for
from bot.errors import NotFound, UserError
from bot.programs.spec import EMAIL_RE, CustomQuestion, Effective, ProgramSpec, approval_rule
from bot.programs.store import ProgramChange, apply_specs_in, export_specs_in, list_programs_in
from bot.settings import Settings
from storage import repo
from storage.models import Program

# The settings `program set` changes, with what each means.
SETTABLE = {
    "require_approval": "on or off: mentors need their principal's confirmation",
    "max_capacity": "1 to 10: most mentees one mentor may take",
    "topics": 'the topic list, separated by ";"',
    "subjects": 'the subject list, separated by ";"',
    "admin_emails": 'who hears about stalled pairs by email, separated by ";"',
    "allow_weekends": "on or off: nudges and sessions on weekends",
}


@dataclass(frozen=True)
class ProgramView:
    """A program's settings as an admin reads them."""

    name: str
    require_approval: bool
    max_capacity: int
    topics: tuple[str, ...]
    subjects: tuple[str, ...]
    admin_emails: tuple[str, ...]
    allow_weekends: bool
    custom_questions: tuple[Any, ...]
    approval: Effective  # whether approval is required, and whether the program or REQUIRE_PRINCIPAL_APPROVAL said so


def list_programs(session: Session, *, actor: Actor) -> list[tuple[Program, ProgramSpec, int | None]]:
    """Every program the actor may see, with its definition and pool size, by name; refused to whoever runs none."""
    rows = [row for row in list_programs_in(session) if _may_see(actor, row[0])]
    if not rows:
        authorize(actor, "program.list", None)  # a site admin sees that there are none; anyone else is refused
    return rows


@dataclass(frozen=True)
class ProgramSummary:
    """One program in a list: its definition, pool size (None: everyone takes part) and the terms open now."""

    program: Program
    spec: ProgramSpec
    pool_size: int | None
    open_terms: tuple[str, ...]


def program_summaries(session: Session, *, actor: Actor) -> list[ProgramSummary]:
    """Every program the actor may see, by name, with its pool size and open terms."""
    return [
        ProgramSummary(program, spec, size, tuple(t.name for t in repo.list_terms(session, program_id=program.id) if t.status == "open"))
        for program, spec, size in list_programs(session, actor=actor)
    ]


def export_programs(session: Session, *, actor: Actor, names: Sequence[str] | None = None) -> list[ProgramSpec]:
    """The definitions of the named programs (all the actor may see when none are named), as `apply_programs` takes them."""
    specs = export_specs_in(session, names=names or None)
    shown = []
    for spec in specs:
        program = repo.get_program(session, name=spec.name)
        if names:
            authorize(actor, "program.show", program)  # a program asked for by name and not allowed is refused, not left out
        if may(actor, "program.show", program):
            shown.append(spec)
    return shown


def show_program(session: Session, *, actor: Actor, now: datetime, settings: Settings, program: str | None = None) -> ProgramView:
    """The program's settings: approvals, capacity, topics, subjects, who hears of stalled pairs, weekends, questions."""
    the_program = program_for(session, actor=actor, operation="program.show", requested=program, default=settings.program_name)
    options = dialogs.ProgramOptions.of(the_program, require_approval_default=settings.require_principal_approval)
    raw = dict(the_program.settings or {})
    return ProgramView(
        name=the_program.name, require_approval=options.require_approval, max_capacity=options.max_capacity,
        topics=tuple(options.topics), subjects=tuple(options.subjects), admin_emails=tuple(raw.get("admin_emails") or ()),
        allow_weekends=bool(raw.get("allow_weekends")), custom_questions=tuple(options.custom_questions),
        approval=approval_rule(the_program.name, raw, setting=settings.require_principal_approval),
    )  # fmt: skip


def set_option(session: Session, *, actor: Actor, settings: Settings, key: str, value: str, program: str | None = None) -> Any:
    """Change one program setting from its typed text ("on", "3", "SEL; assessment"); returns the value stored."""
    if key not in SETTABLE:
        raise UserError(f"'{key}' is not a setting that can be changed here; these can: {', '.join(sorted(SETTABLE))}")
    if key in ("require_approval", "allow_weekends"):
        stored: Any = _switch(value)
    elif key == "max_capacity":
        if not value.strip().isdecimal() or not 1 <= int(value) <= 10:
            raise UserError("max_capacity must be a whole number from 1 to 10")
        stored = int(value)
    else:
        stored = [item.strip() for item in value.split(";") if item.strip()]
        if not stored:
            raise UserError(f"{key} needs at least one item")
        # The definition leaves a wrong address out of its admins without a word; here the admin who typed it hears.
        wrong = [item for item in stored if not EMAIL_RE.match(item)] if key == "admin_emails" else []
        if wrong:
            raise UserError(f"admin_emails takes email addresses separated by \";\"; not an address: {', '.join(wrong)}")
    _change(session, actor=actor, settings=settings, program=program, change=lambda current: {**current, key: stored}, operation="program.set")
    return stored


def add_question(
    session: Session, *, actor: Actor, settings: Settings, key: str, prompt: str, kind: str = "text", options: str | None = None,
    minimum: int | None = None, maximum: int | None = None, required: bool = False, program: str | None = None,
) -> CustomQuestion:  # fmt: skip
    """Add (or replace) a custom profile question; everyone's profile asks it from now on."""
    key = _question_key(key)
    if not prompt.strip():
        raise UserError("the question needs a prompt")
    choices = [item.strip() for item in (options or "").split(";") if item.strip()]
    try:
        question = CustomQuestion(key=key, prompt=prompt.strip()[:300], kind=kind or "text", options=choices, min=minimum, max=maximum, required=required)
    except ValidationError as exc:
        raise UserError("; ".join(_problem(error) for error in exc.errors())) from None

    def change(current: dict[str, Any]) -> dict[str, Any]:
        kept = [q for q in current.get("custom_questions") or () if q["key"] != key]
        return {**current, "custom_questions": [*kept, question.model_dump(mode="json")]}

    _change(session, actor=actor, settings=settings, program=program, change=change, operation="program.question")
    return question


def remove_question(session: Session, *, actor: Actor, settings: Settings, key: str, program: str | None = None) -> None:
    """Remove a custom profile question (answers already given stay in people's data)."""
    key = _question_key(key)

    def change(current: dict[str, Any]) -> dict[str, Any]:
        questions = [q for q in current.get("custom_questions") or () if q["key"] != key]
        if len(questions) == len(current.get("custom_questions") or ()):
            raise NotFound(f"there is no custom question '{key}'")
        return {**current, "custom_questions": questions}

    _change(session, actor=actor, settings=settings, program=program, change=change, operation="program.question")


def apply_programs(session: Session, *, actor: Actor, now: datetime, specs: Sequence[ProgramSpec], dry_run: bool = False) -> list[ProgramChange]:
    """Create or update programs from their definitions, and resolve their pools (nothing kept on a dry run)."""
    authorize(actor, "program.apply", None)
    return apply_specs_in(session, specs, now=now, dry_run=dry_run)


def _change(
    session: Session, *, actor: Actor, settings: Settings, program: str | None, change: Callable[[dict[str, Any]], dict[str, Any]],
    operation: str,
) -> None:
    """Write a program's settings through its definition: a change the definition refuses is refused, nothing stored."""
    the_program = program_for(session, actor=actor, operation=operation, requested=program, default=settings.program_name)
    updated = change(dict(the_program.settings or {}))
    try:
        ProgramSpec.from_settings(name=the_program.name, timezone=the_program.timezone, settings=updated)
    except ValidationError as exc:
        raise UserError("; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())) from None
    the_program.settings = updated  # a new dict, so the JSON column is written


def _may_see(actor: Actor, program: Program) -> bool:
    return may(actor, "program.list", program)


def _problem(error: Any) -> str:
    """One problem of a question as the admin reads it: the option it is about (when one is), then what is wrong."""
    message = error["msg"].removeprefix("Value error, ")
    where = ".".join(str(part) for part in error.get("loc") or ())
    return f"{where}: {message}" if where else message


def _switch(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("on", "yes", "true", "1"):
        return True
    if lowered in ("off", "no", "false", "0"):
        return False
    raise UserError(f"'{value}' is not on or off")


def _question_key(key: str) -> str:
    key = key.strip().lower()
    if not key.replace("_", "").isalnum() or len(key) > 40:
        raise UserError("a question key is one word of letters, digits and _ (at most 40), e.g. coaching_style")
    return key

