"""SQLModel tables for the mentoring domain.

Times are aware UTC datetimes (`UTCDateTime`); lists and answers are JSON. Status fields are plain
strings checked by the domain (see `bot.rounds.lifecycle`), so adding a state never needs a database enum change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from storage.types import JSONType, UTCDateTime


def _utc_column(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


def _json_column(default_factory: Any) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSONType, nullable=False))


# --- programs and pools -------------------------------------------------------------------------


class ProgramBase(SQLModel):
    name: str = Field(max_length=200)
    timezone: str = Field(default="America/Los_Angeles", max_length=64)


class Program(ProgramBase, table=True):
    """A mentoring program run by a district or educator-preparation program."""

    __tablename__ = "program"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_program_name"),)
    id: int | None = Field(default=None, primary_key=True)
    settings: dict = _json_column(dict)
    created_at: datetime | None = _utc_column(nullable=False)


class Pool(SQLModel, table=True):
    """A named group of people inside a program that rounds can draw from."""

    __tablename__ = "pool"
    __table_args__ = (sa.UniqueConstraint("program_id", "name", name="uq_pool_program_name"),)
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    name: str = Field(max_length=200)
    description: str | None = None


class PoolMember(SQLModel, table=True):
    __tablename__ = "pool_member"
    pool_id: int = Field(foreign_key="pool.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)


# --- people and profiles ------------------------------------------------------------------------


class PersonBase(SQLModel):
    email: str = Field(max_length=320)
    name: str = Field(max_length=200)
    role: str = Field(default="mentee", max_length=16)  # roster default: mentor | mentee | both
    slack_user_id: str | None = Field(default=None, max_length=32)
    site: str | None = Field(default=None, max_length=200)
    prep_program: str | None = Field(default=None, max_length=200)  # roster column "program"
    timezone: str = Field(default="America/Los_Angeles", max_length=64)
    capacity: int = Field(default=1)  # roster default for each term's enrollment
    principal_email: str | None = Field(default=None, max_length=320)


class Person(PersonBase, table=True):
    """One teacher, keyed by email; created and updated by roster import."""

    __tablename__ = "person"
    __table_args__ = (sa.UniqueConstraint("email", name="uq_person_email"),)
    id: int | None = Field(default=None, primary_key=True)
    unsubscribed_at: datetime | None = _utc_column()
    email_failing_at: datetime | None = _utc_column()  # set by a permanent bounce, cleared by the person's next reply
    email_failure: str | None = Field(default=None, max_length=300)  # the bounce's short diagnostic, for admins
    slack_failing_at: datetime | None = _utc_column()  # set when Slack refuses their DM for good, cleared when Slack works for them again
    slack_failure: str | None = Field(default=None, max_length=300)  # Slack's error (user_not_found, account_inactive…), for admins
    created_at: datetime | None = _utc_column(nullable=False)
    updated_at: datetime | None = _utc_column(nullable=False)


class PersonPublic(PersonBase):
    id: int


class ProfileAnswer(SQLModel, table=True):
    """One answer of a person's profile: strengths, needs, availability, preferences or a custom question."""

    __tablename__ = "profile_answer"
    __table_args__ = (sa.UniqueConstraint("person_id", "question", name="uq_profile_answer_person_question"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    question: str = Field(max_length=100)  # e.g. strengths, needs, availability, grade_bands, match_weights, custom:<name>
    value: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    source: str = Field(default="roster", max_length=16)  # roster | slack | email | admin
    updated_at: datetime | None = _utc_column(nullable=False)


# --- terms and enrollment -----------------------------------------------------------------------


class TermBase(SQLModel):
    name: str = Field(max_length=100)
    opt_in_by: date | None = None


class Term(TermBase, table=True):
    """A semester of the program; people enroll per term."""

    __tablename__ = "term"
    __table_args__ = (sa.UniqueConstraint("program_id", "name", name="uq_term_program_name"),)
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    status: str = Field(default="open", max_length=16)  # open | closed
    opened_at: datetime | None = _utc_column()
    closed_at: datetime | None = _utc_column()


class Enrollment(SQLModel, table=True):
    """A person's answer to a term's opt-in: role, capacity, and their principal's approval."""

    __tablename__ = "enrollment"
    __table_args__ = (sa.UniqueConstraint("term_id", "person_id", name="uq_enrollment_term_person"),)
    id: int | None = Field(default=None, primary_key=True)
    term_id: int = Field(foreign_key="term.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=16)  # mentor | mentee | both | none
    capacity: int = Field(default=0)
    status: str = Field(default="invited", max_length=16)  # invited | opted_in | opted_out
    approval: str = Field(default="not_required", max_length=16)  # not_required | pending | approved | declined
    approved_by: str | None = Field(default=None, max_length=320)
    decided_at: datetime | None = _utc_column()
    updated_at: datetime | None = _utc_column(nullable=False)


# --- rounds, pairings, sessions -----------------------------------------------------------------


class RoundBase(SQLModel):
    kind: str = Field(default="micro", max_length=16)  # micro | speed
    topic: str | None = Field(default=None, max_length=200)
    sessions: int = Field(default=1, ge=1, le=3)
    start_on: date | None = None
    match_on: date | None = None
    end_on: date | None = None
    rotations: int | None = None  # speed rounds
    rotation_minutes: int | None = None  # speed rounds


class Round(RoundBase, table=True):
    """A micro-mentoring round or a speed-mentoring event inside a term."""

    __tablename__ = "round"
    id: int | None = Field(default=None, primary_key=True)
    term_id: int = Field(foreign_key="term.id", index=True)
    pool_id: int | None = Field(default=None, foreign_key="pool.id")
    status: str = Field(default="draft", max_length=16)
    settings: dict = _json_column(dict)  # rule relaxations, cross-site preference, custom message
    match_summary: dict = _json_column(dict)  # last match run: unmatched with reasons, totals
    created_at: datetime | None = _utc_column(nullable=False)
    status_changed_at: datetime | None = _utc_column(nullable=False)


class RoundPublic(RoundBase):
    id: int
    term_id: int
    status: str


class Pairing(SQLModel, table=True):
    """A mentor and a mentee paired in a round (speed rounds: one row per rotation)."""

    __tablename__ = "pairing"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "mentor_id", "mentee_id", "rotation", name="uq_pairing_round_pair_rotation"),
    )
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    mentor_id: int = Field(foreign_key="person.id", index=True)
    mentee_id: int = Field(foreign_key="person.id", index=True)
    rotation: int = Field(default=0)  # speed rounds: the rotation; topic events: the topic's number; else 0
    topic: str | None = Field(default=None, max_length=200)  # topic events and interviews: what this pair meets about
    group_no: int | None = None  # small-group sessions share a number
    score: float = 0.0
    breakdown: dict = _json_column(dict)
    reasons: list = _json_column(list)
    status: str = Field(default="proposed", max_length=16)  # proposed | published | active | stalled | completed | cancelled
    created_at: datetime | None = _utc_column(nullable=False)


class PlannedSession(SQLModel, table=True):
    """One proposed or agreed meeting of a pairing."""

    __tablename__ = "planned_session"
    __table_args__ = (sa.UniqueConstraint("pairing_id", "number", name="uq_planned_session_pairing_number"),)
    id: int | None = Field(default=None, primary_key=True)
    pairing_id: int = Field(foreign_key="pairing.id", index=True)
    number: int = Field(ge=1, le=3)
    starts_at: datetime | None = _utc_column(nullable=False)
    ends_at: datetime | None = _utc_column(nullable=False)
    status: str = Field(default="proposed", max_length=16)  # proposed | confirmed | held | missed | cancelled


# --- dialogs, messages, scheduled actions -------------------------------------------------------


class DialogState(SQLModel, table=True):
    """Where a person is in a guided dialog, persisted so a restart loses nothing."""

    __tablename__ = "dialog_state"
    __table_args__ = (sa.UniqueConstraint("person_id", "flow", "context", name="uq_dialog_person_flow_context"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    flow: str = Field(max_length=64)
    context: str = Field(default="", max_length=64)  # e.g. "term:3" so each term has its own dialog
    channel: str = Field(default="slack", max_length=16)
    step: str | None = Field(default=None, max_length=64)
    answers: dict = _json_column(dict)
    status: str = Field(default="active", max_length=16)  # active | complete | expired
    updated_at: datetime | None = _utc_column(nullable=False)
    expires_at: datetime | None = _utc_column()


class OutboxMessage(SQLModel, table=True):
    """A message written before it is sent, so it is sent exactly once."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),)
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=255)
    channel: str = Field(max_length=16)  # slack | email
    purpose: str = Field(max_length=64)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    recipient: str = Field(max_length=320)
    subject: str | None = Field(default=None, max_length=300)
    body: dict = _json_column(dict)
    status: str = Field(default="pending", max_length=16, index=True)  # pending | sending | committing | sent | failed | dropped
    attempts: int = 0
    next_attempt_at: datetime | None = _utc_column()
    last_error: str | None = None
    provider_id: str | None = Field(default=None, max_length=255)
    created_at: datetime | None = _utc_column(nullable=False)
    sent_at: datetime | None = _utc_column()


class ScheduledAction(SQLModel, table=True):
    """Something the program promised to do at a time; the scheduler only drives the clock."""

    __tablename__ = "scheduled_action"
    __table_args__ = (sa.UniqueConstraint("idempotency_key", name="uq_scheduled_action_idempotency_key"),)
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=255)
    kind: str = Field(max_length=64)
    due_at: datetime | None = _utc_column(nullable=False)
    status: str = Field(default="pending", max_length=16, index=True)  # pending | running | done | skipped | failed
    person_id: int | None = Field(default=None, foreign_key="person.id")
    round_id: int | None = Field(default=None, foreign_key="round.id")
    pairing_id: int | None = Field(default=None, foreign_key="pairing.id")
    payload: dict = _json_column(dict)
    result: str | None = None
    done_at: datetime | None = _utc_column()


class CheckIn(SQLModel, table=True):
    """A mid-round "did you meet?" question and its answer."""

    __tablename__ = "check_in"
    __table_args__ = (sa.UniqueConstraint("pairing_id", "person_id", "number", name="uq_check_in_pairing_person_number"),)
    id: int | None = Field(default=None, primary_key=True)
    pairing_id: int = Field(foreign_key="pairing.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    number: int = 1
    asked_at: datetime | None = _utc_column(nullable=False)
    answer: str | None = Field(default=None, max_length=32)  # met | rescheduled | need_help | not_happening
    answered_at: datetime | None = _utc_column()


class SurveyAnswer(SQLModel, table=True):
    """One answer to the end-of-round reflection and survey."""

    __tablename__ = "survey_answer"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "person_id", "question", name="uq_survey_answer_round_person_question"),
    )
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    pairing_id: int | None = Field(default=None, foreign_key="pairing.id")
    person_id: int = Field(foreign_key="person.id")
    question: str = Field(max_length=100)
    value: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    answered_at: datetime | None = _utc_column(nullable=False)


# --- round sign-ups and data rights -------------------------------------------------------------


class RoundSignup(SQLModel, table=True):
    """A person joining a round that announces itself: which topic or session, or what they want to learn about."""

    __tablename__ = "round_signup"
    __table_args__ = (sa.UniqueConstraint("round_id", "person_id", "topic", name="uq_round_signup_round_person_topic"),)
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(default="mentee", max_length=16)  # mentee | mentor
    topic: str = Field(default="", max_length=200)  # "" when the round offers one topic
    interest: str | None = Field(default=None, max_length=200)  # informational interviews: the role or site to learn about
    source: str = Field(default="slack", max_length=16)  # slack | email | admin
    status: str = Field(default="joined", max_length=16)  # joined | withdrawn
    created_at: datetime | None = _utc_column(nullable=False)
    updated_at: datetime | None = _utc_column(nullable=False)


class DataRequest(SQLModel, table=True):
    """A person's request to see or erase their data, and what was done; the admin's log of data rights."""

    __tablename__ = "data_request"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # export | erasure
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    requested_by: str = Field(max_length=320)  # Slack user ID, email address or "admin:<who>"
    channel: str = Field(default="slack", max_length=16)  # slack | email | admin | cli
    status: str = Field(default="done", max_length=16)  # pending | done | failed
    detail: dict = _json_column(dict)  # counts of what was sent or removed; never the personal data itself
    created_at: datetime | None = _utc_column(nullable=False)
    completed_at: datetime | None = _utc_column()


class SlackDelivery(SQLModel, table=True):
    """A Slack request acknowledged at once and handled after: the durable inbox between the ack and its effect.

    Its unique delivery key (event ID, click, command trigger) makes a retried delivery a no-op. The raw body is kept
    only until the delivery is handled, then cleared: done rows are receipts, not a copy of what people typed.
    """

    __tablename__ = "slack_delivery"
    __table_args__ = (
        sa.UniqueConstraint("delivery_key", name="uq_slack_delivery_key"),
        sa.Index("ix_slack_delivery_status_received", "status", "received_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    delivery_key: str | None = Field(default=None, max_length=255)  # None for kinds Slack never retries (a closed modal)
    kind: str = Field(max_length=32)  # event | action | command | view_closed
    slack_user_id: str | None = Field(default=None, max_length=64, index=True)
    content_type: str = Field(default="application/json", max_length=100)
    body: str = Field(default="", sa_column=Column(sa.Text, nullable=False))
    status: str = Field(default="new", max_length=16)  # new | taken | done | failed
    attempts: int = Field(default=0)
    # Replies its handler has sent; a handler that takes the request after one died skips that many.
    replies_sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    received_at: datetime | None = _utc_column(nullable=False)
    taken_until: datetime | None = _utc_column()
    done_at: datetime | None = _utc_column()
    error: str | None = Field(default=None, max_length=500)


class HeldReply(SQLModel, table=True):
    """Words a person wrote that the bot could not place (a question, a comment, an answer to nothing asked), kept
    for the program's admins to read and answer; one row per inbound reply, so a redelivered one changes nothing."""

    __tablename__ = "held_reply"
    __table_args__ = (
        sa.UniqueConstraint("source_key", name="uq_held_reply_source_key"),
        sa.Index("ix_held_reply_status_created", "status", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(max_length=255)  # the inbound reply's own key (e.g. its Message-ID's digest)
    person_id: int = Field(foreign_key="person.id", index=True)
    program_id: int | None = Field(default=None, foreign_key="program.id", index=True)
    round_id: int | None = Field(default=None, foreign_key="round.id")
    pairing_id: int | None = Field(default=None, foreign_key="pairing.id")
    flow: str | None = Field(default=None, max_length=64)  # the dialog the reply answered, if any
    context: str = Field(default="", max_length=64)
    channel: str = Field(default="email", max_length=16)  # email | slack
    reason: str = Field(max_length=100)  # a question for a person | check-in comment | answered nothing asked
    subject: str = Field(default="", max_length=300)
    text: str = Field(default="", sa_column=Column(sa.Text, nullable=False))  # verbatim, quotes already stripped
    notified: list = _json_column(list)  # who was told: "email:<address>" and "slack:<user ID>"
    status: str = Field(default="open", max_length=16)  # open | done
    created_at: datetime | None = _utc_column(nullable=False)
    handled_at: datetime | None = _utc_column()
    handled_by: str | None = Field(default=None, max_length=320)


class AdminSessionRecord(SQLModel, table=True):
    """A signed-in admin session, kept server-side so signing out ends it: the cookie names the row by a random key,
    and a session whose row is missing, ended or past its expiry is refused (with its CSRF token)."""

    __tablename__ = "admin_session"
    __table_args__ = (sa.UniqueConstraint("key_hash", name="uq_admin_session_key_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64)  # SHA-256 of the cookie's random key: the table alone opens no session
    account: str = Field(max_length=255, index=True)  # whose sessions "sign out everywhere" ends: a Slack user ID, or "link"
    via: str = Field(max_length=16)  # slack | link
    created_at: datetime | None = _utc_column(nullable=False)
    expires_at: datetime | None = _utc_column(nullable=False)
    ended_at: datetime | None = _utc_column()
    ended_why: str | None = Field(default=None, max_length=64)  # signed out | signed out everywhere
