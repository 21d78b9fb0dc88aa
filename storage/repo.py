"""Keyword-only repository functions: the only place that writes SQL for the domain."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import (
    Enrollment,
    OutboxMessage,
    Pairing,
    Person,
    PlannedSession,
    ProfileAnswer,
    Program,
    Round,
    ScheduledAction,
    Term,
)

# Pairings in these states no longer use a mentor's capacity nor block a future repeat.
INACTIVE_PAIRING_STATES = ("cancelled",)


class NotFound(LookupError):
    """A record the caller named does not exist; the message says which."""


# --- programs ----------------------------------------------------------------------------------


def get_or_create_program(session: Session, *, name: str, timezone: str, now: datetime) -> Program:
    """The program called `name`, created on first use."""
    program = session.exec(select(Program).where(Program.name == name)).first()
    if program is None:
        program = Program(name=name, timezone=timezone, created_at=now)
        session.add(program)
        session.flush()
    return program


def find_program(session: Session, *, name: str) -> Program | None:
    """The program called `name`, if any."""
    return session.exec(select(Program).where(Program.name == name)).first()


def get_program(session: Session, *, name: str) -> Program:
    """The program called `name`, or NotFound."""
    program = find_program(session, name=name)
    if program is None:
        raise NotFound(f"there is no program called '{name}' yet; import a roster first")
    return program


# --- people ------------------------------------------------------------------------------------


def people_by_email(session: Session, *, emails: Iterable[str]) -> dict[str, Person]:
    """Existing people keyed by email, for the emails given."""
    wanted = sorted(set(emails))
    found: dict[str, Person] = {}
    # Chunked so a 50k-row roster does not build one giant IN clause.
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for person in session.exec(select(Person).where(col(Person.email).in_(chunk))):
            found[person.email] = person
    return found


def upsert_person(
    session: Session, *, existing: Person | None, fields: Mapping[str, Any], now: datetime
) -> tuple[Person, str]:
    """Create the person or update `existing` in place; returns the person and "created", "updated" or "unchanged"."""
    if existing is None:
        person = Person(**fields, created_at=now, updated_at=now)
        session.add(person)
        return person, "created"
    changed = [name for name, value in fields.items() if getattr(existing, name) != value]
    for name in changed:
        setattr(existing, name, fields[name])
    if "slack_user_id" in changed:
        existing.slack_failing_at, existing.slack_failure = None, None  # a new Slack ID gets its own chance
    if changed:
        existing.updated_at = now
    return existing, "updated" if changed else "unchanged"


def set_profile_answers(
    session: Session,
    *,
    person_id: int,
    answers: Mapping[str, Any],
    source: str,
    now: datetime,
    keep_answers_from: tuple[str, ...] = (),
    current: Mapping[str, ProfileAnswer] | None = None,
) -> bool:
    """Write the person's answers, replacing earlier ones except those from `keep_answers_from`; True if any changed.

    `current` is the person's stored answers when the caller already loaded them (see `profile_rows`).
    """
    if current is None:
        current = profile_rows(session, person_ids=[person_id]).get(person_id, {})
    changed = False
    for question, value in answers.items():
        row = current.get(question)
        if row is None:
            session.add(ProfileAnswer(person_id=person_id, question=question, value=value, source=source, updated_at=now))
            changed = True
        elif row.source in keep_answers_from:
            continue
        elif row.value != value or row.source != source:
            row.value, row.source, row.updated_at = value, source, now
            changed = True
    return changed


def profile_rows(session: Session, *, person_ids: Iterable[int]) -> dict[int, dict[str, ProfileAnswer]]:
    """The stored answer rows of the given people, as {person_id: {question: row}}, loaded in chunks."""
    ids = sorted(set(person_ids))
    result: dict[int, dict[str, ProfileAnswer]] = {person_id: {} for person_id in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for answer in session.exec(select(ProfileAnswer).where(col(ProfileAnswer.person_id).in_(chunk))):
            result[answer.person_id][answer.question] = answer
    return result


def profiles(session: Session, *, person_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Every profile answer of the given people, as {person_id: {question: value}}."""
    # Plain rows, not ORM objects: a term's pool is ~16,000 answers, and building objects was most of an admin page's time.
    rows = profile_answer_rows(session, person_ids=person_ids)
    return {person_id: {q: row.value for q, row in answers.items()} for person_id, answers in rows.items()}


# Person columns a roster import may rewrite, in the order an update statement lists them.
PERSON_ROSTER_COLUMNS = (
    "email", "name", "role", "slack_user_id", "site", "prep_program", "timezone", "capacity", "principal_email",
)  # fmt: skip
_IN_CHUNK = 500  # below SQLite's and PostgreSQL's bound-parameter limits, and keeps each IN list cheap to plan


def _reads_most_of(session: Session, table: sa.Table, wanted: int) -> bool:
    """Whether `wanted` keys are most of `table`'s rows (then one full read is cheaper than chunked IN lists)."""
    if wanted < _IN_CHUNK:
        return False
    return session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() <= 2 * wanted


def person_rows_by_email(session: Session, *, emails: Iterable[str]) -> dict[str, sa.Row]:
    """Existing people as plain rows (attribute access, no ORM objects) keyed by email, read in chunks."""
    table = Person.__table__
    wanted = sorted(set(emails))
    found: dict[str, sa.Row] = {}
    if wanted and _reads_most_of(session, table, len(wanted)):
        # A roster covering most people: one scan beats many IN lists (PostgreSQL may plan those as scans too).
        wanted_set = set(wanted)
        return {row.email: row for row in session.execute(sa.select(table)) if row.email in wanted_set}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        for row in session.execute(sa.select(table).where(table.c.email.in_(chunk))):
            found[row.email] = row
    return found


class StoredAnswer(NamedTuple):
    """One stored answer as the roster import compares it."""

    id: int
    value: Any
    source: str


class JsonTexts:
    """Decodes stored JSON texts, each distinct text once: a district's answers repeat a few hundred distinct values
    (grade bands, subject lists, slots) across tens of thousands of rows.

    The values it returns are shared between the rows that hold the same text: read them, never change them.
    """

    MAX_ENTRIES = 100_000  # distinct texts remembered at most; past that each is decoded as it comes

    def __init__(self) -> None:
        self._seen: dict[str, Any] = {}

    def __call__(self, text: str | None) -> Any:
        """The value of one stored JSON text (None for SQL NULL)."""
        if text is None:
            return None
        try:
            return self._seen[text]
        except KeyError:
            value = json.loads(text)
            if len(self._seen) < self.MAX_ENTRIES:
                self._seen[text] = value
            return value


def json_text(column: sa.ColumnElement) -> sa.ColumnElement:
    """A JSON column read as its text, for `JsonTexts` (PostgreSQL's driver would otherwise decode every row)."""
    return sa.cast(column, sa.Text)


def profile_answer_rows(session: Session, *, person_ids: Iterable[int]) -> dict[int, dict[str, StoredAnswer]]:
    """Stored answers as plain rows (id, value, source), {person_id: {question: row}}, read in chunks.

    Values are shared between rows holding the same answer (see `JsonTexts`): read them, never change them.
    """
    table = ProfileAnswer.__table__
    ids = sorted(set(person_ids))
    result: dict[int, dict[str, StoredAnswer]] = {person_id: {} for person_id in ids}
    columns = (table.c.id, table.c.person_id, table.c.question, json_text(table.c.value), table.c.source)
    decoded = JsonTexts()
    if ids and _reads_most_of(session, Person.__table__, len(ids)):
        for answer_id, person_id, question, value, source in session.execute(sa.select(*columns)):
            if person_id in result:
                result[person_id][question] = StoredAnswer(answer_id, decoded(value), source)
        return result
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        for answer_id, person_id, question, value, source in session.execute(sa.select(*columns).where(table.c.person_id.in_(chunk))):
            result[person_id][question] = StoredAnswer(answer_id, decoded(value), source)
    return result


def _copy_rows(cursor: Any, target: str, table: sa.Table, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """COPY rows into `target` (the table itself or a scratch copy of it), each value as its column's type binds it
    (UTC datetimes checked and converted, JSON serialized)."""
    dialect = postgresql.dialect()
    processors = [
        _json_text if isinstance(table.c[name].type, sa.JSON) else table.c[name].type.bind_processor(dialect) or _as_is for name in columns
    ]
    names = ", ".join(f'"{name}"' for name in columns)
    with cursor.copy(f'COPY "{target}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([process(row[name]) for process, name in zip(processors, columns)])


def _copy_into(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY of rows that all hold the same columns, in the session's transaction: several times faster
    than an executemany of INSERTs for tens of thousands of rows."""
    with session.connection().connection.driver_connection.cursor() as cursor:
        _copy_rows(cursor, table.name, table, list(rows[0]), rows)


def _can_copy(session: Session) -> bool:
    """Whether the session's driver offers COPY as psycopg 3 does (PostgreSQL through another driver falls back)."""
    driver = session.connection().connection.driver_connection
    return session.get_bind().dialect.name == "postgresql" and type(driver).__module__.split(".")[0] == "psycopg"


# From this many rows on, PostgreSQL takes new rows by COPY rather than by INSERT.
COPY_FROM_ROWS = 1_000


def _insert_bound(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """One driver-level executemany of rows that all hold the same columns, each distinct value bound once.

    SQLAlchemy's executemany converts every value of every row (JSON to text, a datetime to SQLite's text); a roster's
    answers repeat a few hundred distinct values, so converting each once takes most of the cost of the insert away.
    """
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    converters = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]  # None: as it is
    bound: list[dict[Any, Any]] = [{} for _ in columns]
    params = []
    for row in rows:
        values = []
        for name, convert, seen in zip(columns, converters, bound):
            value = row[name]
            if convert is not None:
                # The type is part of the key: 1 and True (or a list and a tuple) are equal but bind differently.
                key = (type(value), tuple(value) if isinstance(value, list) else value)
                try:
                    value = seen[key]
                except KeyError:
                    value = seen[key] = convert(value)
                except TypeError:  # an unhashable value (a nested list or a dict): converted on its own
                    value = convert(value)
            values.append(value)
        params.append(tuple(values))
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    marks = ", ".join("?" for _ in columns)
    session.connection().exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", params)


def _copies(session: Session, rows: list[dict[str, Any]]) -> bool:
    return len(rows) >= COPY_FROM_ROWS and _can_copy(session)


def insert_people(session: Session, *, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert new people in one executemany; their ids by email."""
    if not rows:
        return {}
    table = Person.__table__
    if _copies(session, rows):
        _copy_into(session, table, rows)
        emails = sa.bindparam("emails", [row["email"] for row in rows], type_=postgresql.ARRAY(sa.String))
        return {email: person_id for person_id, email in session.execute(sa.select(table.c.id, table.c.email).where(table.c.email == sa.any_(emails)))}
    inserted = session.execute(sa.insert(table).returning(table.c.id, table.c.email), rows)
    return {email: person_id for person_id, email in inserted}


def update_people(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """Rewrite people in one executemany; each row holds `_id` and the same set of columns."""
    if not rows:
        return
    table = Person.__table__
    columns = [name for name in rows[0] if name != "_id"]
    statement = sa.update(table).where(table.c.id == sa.bindparam("_id")).values({c: sa.bindparam(c) for c in columns})
    session.connection().execute(statement, rows)


def insert_profile_answers(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """Insert answers (person_id, question, value, source, updated_at) in one executemany (COPY on PostgreSQL)."""
    if not rows:
        return
    if _copies(session, rows):
        _copy_into(session, ProfileAnswer.__table__, rows)
    elif session.get_bind().dialect.paramstyle == "qmark":  # SQLite
        _insert_bound(session, ProfileAnswer.__table__, rows)
    else:
        session.execute(sa.insert(ProfileAnswer.__table__), rows)


def update_profile_answers(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """Rewrite answers' value, source and updated_at by `_id` in one executemany."""
    if not rows:
        return
    table = ProfileAnswer.__table__
    statement = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("_id"))
        .values(value=sa.bindparam("value"), source=sa.bindparam("source"), updated_at=sa.bindparam("updated_at"))
    )
    session.connection().execute(statement, rows)


def count_people(session: Session) -> int:
    """How many people are on file."""
    return session.exec(select(sa.func.count()).select_from(Person)).one()


def list_people(session: Session) -> list[Person]:
    """Everyone on file, by name."""
    return list(session.exec(select(Person).order_by(Person.name, Person.email)))


# --- terms and enrollment ----------------------------------------------------------------------


def create_term(session: Session, *, program_id: int, name: str, opt_in_by: date | None, now: datetime) -> Term:
    """A new open term."""
    term = Term(program_id=program_id, name=name, opt_in_by=opt_in_by, status="open", opened_at=now)
    session.add(term)
    session.flush()
    return term


def find_term(session: Session, *, program_id: int, name: str) -> Term | None:
    """The program's term called `name`, if any."""
    return session.exec(select(Term).where(Term.program_id == program_id, Term.name == name)).first()


def get_term(session: Session, *, program_id: int, name: str | None = None) -> Term:
    """The named term, or the program's most recently opened open term; NotFound otherwise."""
    if name is not None:
        term = find_term(session, program_id=program_id, name=name)
        if term is None:
            raise NotFound(f"there is no term called '{name}'")
        return term
    term = session.exec(
        select(Term).where(Term.program_id == program_id, Term.status == "open").order_by(col(Term.id).desc())
    ).first()
    if term is None:
        raise NotFound("no term is open; open one with `mentorbot term open NAME`")
    return term


def list_terms(session: Session, *, program_id: int) -> list[Term]:
    """All of the program's terms, oldest first."""
    return list(session.exec(select(Term).where(Term.program_id == program_id).order_by(Term.id)))


def upsert_enrollment(
    session: Session,
    *,
    term_id: int,
    person_id: int,
    role: str,
    capacity: int,
    status: str,
    approval: str,
    now: datetime,
) -> Enrollment:
    """Record a person's opt-in for the term, replacing an earlier answer."""
    enrollment = session.exec(
        select(Enrollment).where(Enrollment.term_id == term_id, Enrollment.person_id == person_id)
    ).first()
    if enrollment is None:
        enrollment = Enrollment(term_id=term_id, person_id=person_id, updated_at=now, role=role)
        session.add(enrollment)
    enrollment.role, enrollment.capacity, enrollment.status, enrollment.approval = role, capacity, status, approval
    enrollment.updated_at = now
    return enrollment


def enrollments(session: Session, *, term_id: int) -> list[tuple[Enrollment, Person]]:
    """The term's enrollments with their people, by name."""
    statement = (
        select(Enrollment, Person)
        .join(Person, col(Person.id) == Enrollment.person_id)
        .where(Enrollment.term_id == term_id)
        .order_by(Person.name, Person.email)
    )
    return list(session.exec(statement).all())


def get_enrollment(session: Session, *, term_id: int, person_id: int) -> Enrollment:
    """The person's enrollment in the term, or NotFound."""
    enrollment = session.exec(
        select(Enrollment).where(Enrollment.term_id == term_id, Enrollment.person_id == person_id)
    ).first()
    if enrollment is None:
        raise NotFound("that person has not been invited to this term")
    return enrollment


# --- rounds ------------------------------------------------------------------------------------


def create_round(session: Session, *, term_id: int, fields: Mapping[str, Any], now: datetime) -> Round:
    """A new draft round in the term."""
    round_ = Round(term_id=term_id, status="draft", created_at=now, status_changed_at=now, **fields)
    session.add(round_)
    session.flush()
    return round_


def get_round(session: Session, *, round_id: int, for_update: bool = False) -> Round:
    """The round with this id, or NotFound; `for_update` locks the row on PostgreSQL."""
    statement = select(Round).where(Round.id == round_id)
    if for_update:
        statement = statement.with_for_update()
    round_ = session.exec(statement).first()
    if round_ is None:
        raise NotFound(f"there is no round {round_id}")
    return round_


def list_rounds(session: Session, *, term_id: int) -> list[Round]:
    """The term's rounds, oldest first."""
    return list(session.exec(select(Round).where(Round.term_id == term_id).order_by(Round.id)))


def replace_pairings(session: Session, *, round_id: int, pairings: Iterable[Mapping[str, Any]], now: datetime) -> list[Pairing]:
    """Swap the round's proposed pairings for a new set (a re-run of the matcher replaces the last one)."""
    session.execute(sa.delete(Pairing).where(col(Pairing.round_id) == round_id))
    rows = [Pairing(round_id=round_id, created_at=now, **fields) for fields in pairings]
    session.add_all(rows)
    session.flush()
    return rows


def round_pairings(session: Session, *, round_id: int) -> list[Pairing]:
    """The round's pairings, best score first."""
    statement = (
        select(Pairing)
        .where(Pairing.round_id == round_id)
        .order_by(Pairing.rotation, col(Pairing.score).desc(), Pairing.id)
    )
    return list(session.exec(statement))


def round_pair_rows(session: Session, *, round_id: int) -> list[sa.Row]:
    """The round's pairings as plain rows (id, mentor_id, mentee_id, status), in `round_pairings`' order: no ORM objects."""
    table = Pairing.__table__
    statement = (
        sa.select(table.c.id, table.c.mentor_id, table.c.mentee_id, table.c.status)
        .where(table.c.round_id == round_id)
        .order_by(table.c.rotation, table.c.score.desc(), table.c.id)
    )
    return list(session.execute(statement))


def group_pairings(session: Session, *, round_id: int, group_no: int) -> list[Pairing]:
    """The pairings of one small group of a round, in `round_pairings`' order."""
    statement = (
        select(Pairing)
        .where(Pairing.round_id == round_id, Pairing.group_no == group_no)
        .order_by(Pairing.rotation, col(Pairing.score).desc(), Pairing.id)
    )
    return list(session.exec(statement))


def people_by_id(session: Session, *, ids: Iterable[int]) -> dict[int, Person]:
    """These people by id, read in chunks (and so in the session's identity map for later `session.get`s)."""
    wanted = sorted(set(ids))
    found: dict[int, Person] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        for person in session.exec(select(Person).where(col(Person.id).in_(wanted[start : start + _IN_CHUNK]))):
            found[person.id] = person
    return found


def enrolled_availability(session: Session, *, term_id: int) -> dict[int, tuple[str, Any]]:
    """Everyone enrolled in the term: their time zone and stored availability answer (None without one), by person id."""
    person, answer, enrollment = Person.__table__, ProfileAnswer.__table__, Enrollment.__table__
    statement = (
        sa.select(person.c.id, person.c.timezone, answer.c.value)
        .join(enrollment, enrollment.c.person_id == person.c.id)
        .outerjoin(answer, sa.and_(answer.c.person_id == person.c.id, answer.c.question == "availability"))
        .where(enrollment.c.term_id == term_id)
    )
    return {person_id: (timezone, value) for person_id, timezone, value in session.execute(statement)}


def planned_sessions_of(session: Session, *, pairing_ids: Iterable[int]) -> dict[int, list[PlannedSession]]:
    """The planned sessions of these pairings, by pairing and in number order, read in chunks."""
    ids = sorted(set(pairing_ids))
    found: dict[int, list[PlannedSession]] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        statement = (
            select(PlannedSession)
            .where(col(PlannedSession.pairing_id).in_(ids[start : start + _IN_CHUNK]))
            .order_by(PlannedSession.pairing_id, PlannedSession.number)
        )
        for planned in session.exec(statement):
            found.setdefault(planned.pairing_id, []).append(planned)
    return found


def add_planned_sessions(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """Insert planned sessions (pairing_id, number, starts_at, ends_at) in bulk; a session already planned stays as it is."""
    table = PlannedSession.__table__
    _bulk_upsert(session, table, [{"status": "proposed", **row} for row in rows], conflict=("pairing_id", "number"), update=())


def set_pairing_status(session: Session, *, round_id: int, status: str, only_from: tuple[str, ...]) -> int:
    """Move the round's pairings that are in one of `only_from` to `status`; returns how many moved."""
    result = session.execute(
        sa.update(Pairing).where(Pairing.round_id == round_id, col(Pairing.status).in_(only_from)).values(status=status)
    )
    return result.rowcount


def cancel_planned_sessions(session: Session, *, pairing_ids: Iterable[int]) -> int:
    """Mark the pairings' sessions that have not happened (proposed or confirmed) as cancelled; returns how many."""
    ids = list(pairing_ids)
    if not ids:
        return 0
    result = session.execute(
        sa.update(PlannedSession)
        .where(col(PlannedSession.pairing_id).in_(ids), col(PlannedSession.status).in_(("proposed", "confirmed")))
        .values(status="cancelled")
    )
    return result.rowcount or 0


def earlier_pairings_in_term(session: Session, *, term_id: int, before_round_id: int) -> list[Pairing]:
    """Live pairings from the term's other rounds created before this one."""
    statement = (
        select(Pairing)
        .join(Round, col(Round.id) == Pairing.round_id)
        .where(
            Round.term_id == term_id,
            col(Round.id) < before_round_id,
            col(Pairing.status).not_in(INACTIVE_PAIRING_STATES),
        )
    )
    return list(session.exec(statement))


def mentor_load(pairings: Iterable[Pairing]) -> Counter[int]:
    """How many distinct mentees each mentor has across the pairings."""
    return Counter(mentor for mentor, _mentee in {(p.mentor_id, p.mentee_id) for p in pairings})


# --- scheduled actions -------------------------------------------------------------------------


def schedule_action(
    session: Session,
    *,
    idempotency_key: str,
    kind: str,
    due_at: datetime,
    round_id: int | None = None,
    person_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
) -> ScheduledAction:
    """Schedule an action once: the same key returns the existing action (moving its time if still pending)."""
    action = session.exec(select(ScheduledAction).where(ScheduledAction.idempotency_key == idempotency_key)).first()
    if action is None:
        action = ScheduledAction(
            idempotency_key=idempotency_key,
            kind=kind,
            due_at=due_at,
            round_id=round_id,
            person_id=person_id,
            payload=dict(payload or {}),
        )
        session.add(action)
    elif action.status == "pending":
        action.due_at = due_at
    session.flush()
    return action


def schedule_actions(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """`schedule_action` for many actions at once: a new key is inserted, a known pending one has its time moved.

    Each row holds idempotency_key, kind, due_at, round_id and payload. One upsert keyed on the idempotency key keeps
    every action once, however often the same plan is written."""
    table = ScheduledAction.__table__
    rows = [{"status": "pending", **row} for row in {row["idempotency_key"]: row for row in rows}.values()]  # a key once per statement
    _bulk_upsert(session, table, rows, conflict=("idempotency_key",), update=("due_at",), only_if_pending=True)


def _bulk_upsert(
    session: Session, table: sa.Table, rows: list[dict[str, Any]], *, conflict: tuple[str, ...], update: tuple[str, ...], only_if_pending: bool = False
) -> None:
    """INSERT the rows; on a `conflict` key, set the `update` columns (only on a pending row if asked) or leave the row.

    PostgreSQL gets COPY: an executemany there costs a round trip per row, and a multi-row VALUES is re-parsed by the
    driver for every batch. SQLite's executemany runs in C and is fast as is (and so is the fallback for a PostgreSQL
    driver without COPY)."""
    if not rows:
        return
    columns = list(rows[0])
    dialect = session.get_bind().dialect
    if not _can_copy(session):
        insert = (sqlite_insert if dialect.name == "sqlite" else postgresql_insert)(table)
        if update:
            where = table.c.status == "pending" if only_if_pending else None
            statement = insert.on_conflict_do_update(index_elements=list(conflict), set_={c: insert.excluded[c] for c in update}, where=where)
        else:
            statement = insert.on_conflict_do_nothing(index_elements=list(conflict))
        session.execute(statement, rows)
        return
    # PostgreSQL: COPY the rows into a scratch table shaped like these columns, then one INSERT … SELECT … ON CONFLICT.
    scratch = f"bulk_{table.name}"
    on_conflict = f"ON CONFLICT ({', '.join(conflict)}) "
    if update:
        on_conflict += "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in update)
        on_conflict += f" WHERE {table.name}.status = 'pending'" if only_if_pending else ""
    else:
        on_conflict += "DO NOTHING"
    names = ", ".join(columns)
    with session.connection().connection.driver_connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE {scratch} AS SELECT {names} FROM {table.name} WITH NO DATA")
        _copy_rows(cursor, scratch, table, columns, rows)
        cursor.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {scratch} {on_conflict}")
        cursor.execute(f"DROP TABLE {scratch}")


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _as_is(value: Any) -> Any:
    return value


def due_action_ids(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Ids of pending actions due at or before `now`, earliest first."""
    statement = (
        select(ScheduledAction.id)
        .where(ScheduledAction.status == "pending", col(ScheduledAction.due_at) <= now)
        .order_by(ScheduledAction.due_at, ScheduledAction.id)
        .limit(limit)
    )
    return list(session.exec(statement))


def claim_action(session: Session, *, action_id: int) -> bool:
    """Atomically move a pending action to running; False when another worker got it first."""
    result = session.execute(
        sa.update(ScheduledAction)
        .where(ScheduledAction.id == action_id, ScheduledAction.status == "pending")
        .values(status="running")
    )
    return result.rowcount == 1


def finish_action(session: Session, *, action_id: int, status: str, result: str, now: datetime) -> None:
    """Record how a claimed action ended: done, skipped or failed, with a reason."""
    session.execute(
        sa.update(ScheduledAction)
        .where(ScheduledAction.id == action_id)
        .values(status=status, result=result, done_at=now)
    )


def drop_pending_actions(session: Session, *, round_id: int, why: str, now: datetime, kind: str | None = None) -> int:
    """Mark the round's actions (of one `kind`, or all) that have not run yet as skipped, with the reason; returns how many."""
    statement = sa.update(ScheduledAction).where(ScheduledAction.round_id == round_id, ScheduledAction.status == "pending")
    if kind is not None:
        statement = statement.where(ScheduledAction.kind == kind)
    result = session.execute(statement.values(status="skipped", result=why, done_at=now))
    return result.rowcount or 0


def round_actions(session: Session, *, round_id: int) -> list[ScheduledAction]:
    """The round's scheduled actions in time order."""
    statement = select(ScheduledAction).where(ScheduledAction.round_id == round_id).order_by(ScheduledAction.due_at, ScheduledAction.id)
    return list(session.exec(statement))


def get_action(session: Session, *, action_id: int) -> ScheduledAction:
    """The scheduled action with this id."""
    action = session.get(ScheduledAction, action_id)
    if action is None:
        raise NotFound(f"there is no scheduled action {action_id}")
    return action


# --- the outbox, counted -------------------------------------------------------------------------


def outbox_status_counts(session: Session) -> Counter[str]:
    """Messages in the outbox by status."""
    return Counter(session.exec(select(OutboxMessage.status)))


def messages_to(session: Session, *, person_ids: Iterable[int], purposes: Iterable[str]) -> list[OutboxMessage]:
    """The outbox messages of these purposes to these people, oldest first (callers read each body for what it is about)."""
    ids, wanted = list(person_ids), list(purposes)
    if not ids or not wanted:
        return []
    statement = (
        select(OutboxMessage)
        .where(col(OutboxMessage.person_id).in_(ids), col(OutboxMessage.purpose).in_(wanted))
        .order_by(OutboxMessage.id)
    )
    return list(session.exec(statement))


def message_channels(session: Session, *, purpose: str, key_prefix: str) -> Counter[str]:
    """How many messages of `purpose` whose idempotency key starts with `key_prefix` went to each channel."""
    statement = select(OutboxMessage.channel).where(OutboxMessage.purpose == purpose, col(OutboxMessage.idempotency_key).startswith(key_prefix))
    return Counter(session.exec(statement))
