"""Programs in storage: apply definitions (saying what changed), read them back, and pick the program a command means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.errors import NotFound
from bot.programs.pools import members_pool, pool_member_ids, refresh_pool, roster_snapshot
from bot.programs.spec import DERIVED_KEYS, PoolSpec, ProgramSpec
from storage import repo
from storage.db import in_transaction, session_scope
from storage.models import PoolMember, Program


class UnknownProgram(repo.NotFound, NotFound):
    """A program name that does not exist; the message lists the programs there are."""


@dataclass
class ProgramChange:
    """What applying one definition did (or would do, in a dry run)."""

    name: str
    action: str  # created | updated | unchanged
    fields: list[str] = field(default_factory=list)  # top-level settings that changed
    pool_added: int = 0
    pool_removed: int = 0
    pool_size: int | None = 0  # None: the program has no pool of its own and draws on everyone

    def describe(self) -> str:
        """One line for the admin."""
        if self.pool_size is None:
            pool = "pool everyone"
        else:
            pool = f"pool {self.pool_size}" + (f" (+{self.pool_added} -{self.pool_removed})" if self.pool_added or self.pool_removed else "")
        if self.action == "updated":
            return f"{self.name}: updated {', '.join(self.fields)}; {pool}"
        return f"{self.name}: {self.action}; {pool}"


def spec_of(program: Program) -> ProgramSpec:
    """The definition a stored program holds (settings from before definitions are read too)."""
    return ProgramSpec.from_settings(name=program.name, timezone=program.timezone, settings=program.settings)


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(key for key in set(old) | set(new) if key not in DERIVED_KEYS and old.get(key) != new.get(key))


def _kept(program: Program) -> dict[str, Any]:
    """Keys other features keep on the program: they survive an apply; the definition's own keys are replaced."""
    return {key: value for key, value in (program.settings or {}).items() if key not in ProgramSpec.model_fields and key not in DERIVED_KEYS}


def apply_specs_in(session: Session, specs: Sequence[ProgramSpec], *, now: datetime, dry_run: bool = False) -> list[ProgramChange]:
    """Create or update each program and resolve its pool, all in one transaction (none of it on a dry run)."""
    changes: list[ProgramChange] = []
    roster = roster_snapshot(session)  # people are the same for every program of the file
    for spec in specs:
        program = session.exec(select(Program).where(Program.name == spec.name)).first()
        new_settings = spec.settings_dict()
        if program is None:
            program = Program(name=spec.name, timezone=spec.timezone, settings=new_settings, created_at=now)
            session.add(program)
            session.flush()
            change = ProgramChange(spec.name, "created")
        else:
            old = spec_of(program)
            fields = _diff(old.settings_dict(), new_settings)
            if program.timezone != spec.timezone:
                fields = sorted([*fields, "timezone"])
            had_pool = members_pool(session, program_id=program.id) is not None
            if not had_pool and spec.pool == PoolSpec():
                # A program from before definitions draws on everyone, which is what a pool with no filters says: its
                # own exported definition applied again must change nothing, so no pool is made for it.
                if fields:  # nothing changed: the stored settings stay as they were written, byte for byte
                    program.timezone, program.settings = spec.timezone, {**_kept(program), **new_settings}
                changes.append(ProgramChange(spec.name, "updated" if fields else "unchanged", fields, pool_size=None))
                continue
            change = ProgramChange(spec.name, "updated" if fields or not had_pool else "unchanged", fields or ([] if had_pool else ["pool"]))
            if fields:
                program.timezone, program.settings = spec.timezone, {**_kept(program), **new_settings}
        change.pool_added, change.pool_removed = refresh_pool(session, program=program, spec=spec, roster=roster)
        pool = members_pool(session, program_id=program.id)
        change.pool_size = len(session.exec(select(PoolMember.person_id).where(PoolMember.pool_id == pool.id)).all())
        if change.action == "unchanged" and (change.pool_added or change.pool_removed):
            change.action, change.fields = "updated", ["pool members"]
        changes.append(change)
    if dry_run:
        session.rollback()  # the plan is reported; nothing is kept
    return changes


apply_specs = in_transaction(apply_specs_in)


def list_programs_in(session: Session) -> list[tuple[Program, ProgramSpec, int | None]]:
    """Every program with its definition and pool size (None: no pool, everyone takes part), by name."""
    out = []
    for program in session.exec(select(Program).order_by(Program.name)):
        members = pool_member_ids(session, program_id=program.id)
        out.append((program, spec_of(program), None if members is None else len(members)))
    return out


list_programs = in_transaction(list_programs_in)


def export_specs_in(session: Session, *, names: Sequence[str] | None = None) -> list[ProgramSpec]:
    """The stored definitions of the named programs (all of them when no names are given)."""
    programs = list(session.exec(select(Program).order_by(Program.name)))
    if names:
        by_name = {program.name: program for program in programs}
        for name in names:
            if name not in by_name:
                raise UnknownProgram(unknown_program_message(name, [p.name for p in programs]))
        programs = [by_name[name] for name in names]
    return [spec_of(program) for program in programs]


export_specs = in_transaction(export_specs_in)


def unknown_program_message(name: str, known: Sequence[str]) -> str:
    """A friendly line for a program name that does not exist."""
    if not known:
        return f"there is no program called '{name}' yet; import a roster or run `mentorbot program apply FILE` first"
    return f"there is no program called '{name}'; the programs are: {', '.join(sorted(known))}"


def choose_program_name(session: Session, *, requested: str | None, default: str, district_wide: bool = False) -> str:
    """The program a command means: the one named, else the only program, else `default` (settings.program_name).

    A name that does not exist is refused with the list of programs. `district_wide` commands (a roster import
    serves every program) take the default, or else the first program, rather than refusing.
    """
    names = list(session.exec(select(Program.name).order_by(Program.name)))
    if requested:
        if requested in names:
            return requested
        folded = [name for name in names if name.lower() == requested.strip().lower()]
        if len(folded) == 1:
            return folded[0]
        raise UnknownProgram(unknown_program_message(requested, names))
    if len(names) == 1:
        return names[0]
    if names and default not in names and district_wide:
        return names[0]
    if names and default not in names:
        # Several programs and none is the default: guessing would act on (or create) the wrong one.
        raise UnknownProgram(f"there are several programs; name one with --program: {', '.join(names)}")
    return default


def resolve_program_name(engine: Engine, *, requested: str | None, default: str, district_wide: bool = False) -> str:
    """`choose_program_name` in its own transaction."""
    with session_scope(engine) as session:
        return choose_program_name(session, requested=requested, default=default, district_wide=district_wide)


def program_admin(program: Program, *, slack_user_id: str | None = None, email: str | None = None) -> bool:
    """True when the person is one of this program's own admins (by Slack ID or email)."""
    spec = spec_of(program)
    return bool((slack_user_id and slack_user_id in spec.admin_slack_ids) or (email and email.lower() in spec.admin_emails))
