"""A program's pool: the people its filters select, kept in `pool`/`pool_member` as the pool named "members".

The pool is resolved when a definition is applied and after every roster import. A program that has no
"members" pool (one set up before definitions existed) draws on everyone, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select

from bot.programs.spec import PoolSpec, ProgramSpec
from storage.models import Person, Pool, PoolMember, ProfileAnswer, Program, Term
from storage.repo import JsonTexts, json_text

MEMBERS_POOL = "members"
logger = logging.getLogger(__name__)


def _folded(values: Iterable[Any]) -> set[str]:
    return {str(value).strip().lower() for value in values or () if str(value).strip()}


def _position(answers: Mapping[str, Any]) -> set[str]:
    value = answers.get("position") or answers.get("custom:position")
    return _folded(value if isinstance(value, (list, tuple)) else [value] if value else [])


def in_pool(pool: PoolSpec, person: Person | sa.Row, answers: Mapping[str, Any]) -> bool:
    """True when the person (a Person or a plain row with email, role and site) belongs to a pool with these filters
    (every filter given must match)."""
    return PoolFilter(pool).admits(person, answers)


class PoolFilter:
    """A pool's filters, folded once, to test tens of thousands of people against (`in_pool` for one person)."""

    def __init__(self, pool: PoolSpec) -> None:
        self.pool = pool
        self.sites, self.grade_bands = _folded(pool.sites), _folded(pool.grade_bands)
        self.subjects, self.positions = _folded(pool.subjects), _folded(pool.positions)
        # The answers of a roster repeat a few dozen distinct lists: each is folded once.
        self._folded_answers: dict[Any, set[str]] = {}

    def _folded_answer(self, value: Any) -> set[str]:
        try:
            key = (type(value), tuple(value) if isinstance(value, list) else value)
            folded = self._folded_answers.get(key)
            if folded is None:
                folded = self._folded_answers[key] = _folded(value)
            return folded
        except TypeError:  # an unhashable answer (a dict, a nested list): folded on its own
            return _folded(value)

    def admits(self, person: Person | sa.Row, answers: Mapping[str, Any]) -> bool:
        """True when the person belongs to the pool (every filter given must match)."""
        pool = self.pool
        email = person.email.lower()
        if email in pool.exclude:
            return False
        if email in pool.people:
            return True
        if person.role == "none":
            return False  # principals and others added for messages only, never by a filter
        if not pool.has_filters:
            return not pool.people  # an explicit list alone means only those people
        if pool.sites and (person.site or "").strip().lower() not in self.sites:
            return False
        if pool.roles and person.role not in pool.roles and not (person.role == "both" and {"mentor", "mentee"} & set(pool.roles)):
            return False
        if pool.grade_bands and not self.grade_bands & self._folded_answer(answers.get("grade_bands")):
            return False
        if pool.subjects and not self.subjects & self._folded_answer(answers.get("subjects")):
            return False
        if pool.positions and not self.positions & _position(answers):
            return False
        return True


def members_pool(session: Session, *, program_id: int) -> Pool | None:
    """The program's "members" pool, if it has one."""
    return session.exec(select(Pool).where(Pool.program_id == program_id, Pool.name == MEMBERS_POOL)).first()


# The answers pool filters read; nothing else is loaded to resolve a pool.
FILTER_ANSWERS = ("grade_bands", "subjects", "position", "custom:position")


# The person columns pool filters read.
_FILTER_COLUMNS = (Person.id, Person.email, Person.role, Person.site)
RosterSnapshot = tuple[list[sa.Row], dict[int, dict[str, Any]]]


def roster_snapshot(session: Session) -> RosterSnapshot:
    """Everyone on file (id, email, role, site) with the answers pool filters read, loaded once for however many pools
    are resolved from it."""
    # Plain rows, not ORM objects: tens of thousands of people and answers load several times faster this way.
    people = list(session.execute(sa.select(*_FILTER_COLUMNS).order_by(Person.id)))
    answers: dict[int, dict[str, Any]] = {person.id: {} for person in people}
    decoded = JsonTexts()  # a few dozen distinct grade-band and subject lists, decoded once each
    rows = session.execute(
        sa.select(ProfileAnswer.person_id, ProfileAnswer.question, json_text(ProfileAnswer.value)).where(
            col(ProfileAnswer.question).in_(FILTER_ANSWERS)
        )
    )
    for person_id, question, value in rows:
        if person_id in answers:
            answers[person_id][question] = decoded(value)
    return people, answers


def refresh_pool(
    session: Session, *, program: Program, spec: ProgramSpec, roster: RosterSnapshot | None = None, pool: Pool | None = None
) -> tuple[int, int]:
    """Resolve the program's filters into its "members" pool (`pool`, when the caller has it); returns (people added,
    people removed)."""
    pool = pool if pool is not None else members_pool(session, program_id=program.id)
    if pool is None:
        pool = Pool(program_id=program.id, name=MEMBERS_POOL, description="Everyone the program's pool filters select")
        session.add(pool)
        session.flush()
    people, answers = roster if roster is not None else roster_snapshot(session)
    admits = PoolFilter(spec.pool).admits
    wanted = {person.id for person in people if admits(person, answers[person.id])}
    current = set(session.exec(select(PoolMember.person_id).where(PoolMember.pool_id == pool.id)))
    added, removed = wanted - current, current - wanted
    if removed:
        session.execute(sa.delete(PoolMember).where(col(PoolMember.pool_id) == pool.id, col(PoolMember.person_id).in_(sorted(removed))))
    if added:
        # One executemany rather than an ORM object per member: a district roster is tens of thousands of people.
        session.execute(sa.insert(PoolMember), [{"pool_id": pool.id, "person_id": person_id} for person_id in sorted(added)])
    session.flush()
    return len(added), len(removed)


def refresh_all_pools(session: Session) -> dict[str, tuple[int, int]]:
    """Re-resolve the pool of every program that has one (after a roster import); {program: (added, removed)}."""
    changes: dict[str, tuple[int, int]] = {}
    # Every program with a pool, in one query; the roster is read once, only when some program has a pool.
    pooled = session.exec(
        select(Program, Pool).join(Pool, col(Pool.program_id) == Program.id).where(Pool.name == MEMBERS_POOL).order_by(Program.id)
    ).all()
    roster = roster_snapshot(session) if pooled else None
    for program, pool in pooled:
        try:
            spec = ProgramSpec.from_settings(name=program.name, timezone=program.timezone, settings=program.settings)
        except ValidationError as exc:
            # A definition edited by hand into something invalid must not stop a roster import; its pool waits.
            logger.warning("pool of %s not refreshed: its stored definition is invalid (%s)", program.name, exc.error_count())
            continue
        changes[program.name] = refresh_pool(session, program=program, spec=spec, roster=roster, pool=pool)
    return changes


def pool_member_ids(session: Session, *, program_id: int) -> frozenset[int] | None:
    """Ids of the people in the program's pool, or None when the program draws on everyone."""
    pool = members_pool(session, program_id=program_id)
    if pool is None:
        return None
    return frozenset(session.exec(select(PoolMember.person_id).where(PoolMember.pool_id == pool.id)))


def pool_ids_for_term(session: Session, *, term_id: int) -> frozenset[int] | None:
    """The pool of the program a term belongs to (None: everyone)."""
    term = session.get(Term, term_id)
    return None if term is None else pool_member_ids(session, program_id=term.program_id)
