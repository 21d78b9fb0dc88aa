"""The edges every action shares: one unit of work per request, and which program (and term) it acts on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.actions.access import Actor, authorize, may
from bot.errors import Conflict, NotFound, UserError
from bot.programs.store import choose_program_name
from storage import repo
from storage.db import session_scope
from storage.models import Pairing, Program, Round, Term


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction for one request, command or job: committed when the block ends, rolled back when it raises.

    A record the storage layer cannot find becomes a `NotFound` user error here, once, so front ends need catch
    only `UserError`.
    """
    try:
        with session_scope(engine) as session:
            yield session
    except repo.NotFound as exc:
        if isinstance(exc, UserError):
            raise
        raise NotFound(str(exc)) from exc


def program_name_for(session: Session, *, requested: str | None, default: str, district_wide: bool = False) -> str:
    """The name of the program a request means: the one named, else the only program, else `default`."""
    return choose_program_name(session, requested=requested, default=default, district_wide=district_wide)


def program_for(session: Session, *, actor: Actor, operation: str, requested: str | None, default: str) -> Program:
    """The program a request acts on, once the actor is allowed `operation` on it."""
    program = repo.get_program(session, name=program_name_for(session, requested=requested, default=default))
    authorize(actor, operation, program)
    return program


def may_act_on(session: Session, *, actor: Actor, operation: str, requested: str | None, default: str) -> bool:
    """Whether `actor` may run `operation` on the program a request means (a program that can't be resolved: site admins only)."""
    try:
        name = program_name_for(session, requested=requested, default=default)
    except UserError:
        return may(actor, operation, None)
    return may(actor, operation, repo.find_program(session, name=name))


def open_term_of(session: Session, *, program: Program, name: str | None = None) -> Term:
    """The term an operation means: the one named, else the program's one open term.

    No open term is a `NotFound` with code "no_open_term"; two or more open at once (opened with `--alongside`) is a
    `Conflict` with code "several_open_terms" naming them, since guessing would act on the wrong one.
    """
    if name is not None and name.strip():
        # Typed as people type it: "summer academy " is the term called "Summer Academy".
        folded = [t for t in repo.list_terms(session, program_id=program.id) if t.name.casefold() == " ".join(name.split()).casefold()]
        return folded[0] if len(folded) == 1 else repo.get_term(session, program_id=program.id, name=name.strip())
    opened = open_terms(session, program=program)
    if not opened:
        raise NotFound("no term is open; open one with `mentorbot term open NAME`", code="no_open_term")
    if len(opened) > 1:
        names = ", ".join(term.name for term in opened)
        raise Conflict(f"{len(opened)} terms are open ({names}): name one with --term", code="several_open_terms")
    return opened[0]


def open_terms(session: Session, *, program: Program) -> list[Term]:
    """The program's open terms, oldest first."""
    return [term for term in repo.list_terms(session, program_id=program.id) if term.status == "open"]


def program_of_term(session: Session, term: Term) -> Program:
    """The program a term belongs to."""
    program = session.get(Program, term.program_id)
    if program is None:
        raise NotFound(f"term {term.name} has no program")
    return program


def round_for(session: Session, *, actor: Actor, operation: str, round_id: int, requested: str | None = None) -> tuple[Round, Term, Program]:
    """A round, its term and program, once the actor may run `operation` there.

    The round's own program is the one acted on; a program named on the request must be that one, so an admin
    of two programs never acts on the wrong one by a mistyped number.
    """
    round_ = session.get(Round, round_id)
    term = session.get(Term, round_.term_id) if round_ is not None else None
    if round_ is None or term is None:
        raise NotFound(f"there is no round {round_id}")
    program = program_of_term(session, term)
    if requested and requested.strip().lower() != program.name.lower():
        raise NotFound(f"round {round_id} belongs to {program.name}, not {requested}; add --program \"{program.name}\" if you run that program")
    authorize(actor, operation, program)
    return round_, term, program


def pairing_for(session: Session, *, actor: Actor, operation: str, pairing_id: int, requested: str | None = None) -> tuple[Pairing, Round, Program]:
    """A pairing, its round and program, once the actor may run `operation` there."""
    pairing = session.get(Pairing, pairing_id)
    if pairing is None:
        raise NotFound(f"there is no pairing {pairing_id}")
    try:
        round_, _term, program = round_for(session, actor=actor, operation=operation, round_id=pairing.round_id, requested=requested)
    except NotFound as exc:
        raise NotFound(str(exc).replace(f"round {pairing.round_id} belongs", f"pairing {pairing_id} belongs")) from None
    return pairing, round_, program

