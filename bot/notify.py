"""Who hears what, on which channel: turns dialog events and campaigns into outbox messages.

A notice is channel-neutral data, one typed model per kind (`bot.notices`); the outbox stores its payload and the
Slack and email channels each render it when they send. People with a working Slack ID are reached on Slack, everyone else
by email (and the outbox moves a Slack message to email when Slack can't carry it); a few notices (pairings) go by email
too so nobody depends on one channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.dialogs import Event, context_key, current_state_in
from bot.notices import ApprovalDecided, FlowPrompt, Notice, model_for_purpose
from bot.outbox import enqueue
from bot.programs.pools import pool_member_ids
from bot.rounds.lifecycle import check_term_accepts_rounds
from storage import repo
from storage.db import in_transaction
from storage.models import Enrollment, OutboxMessage, Person, Term


def channel_for(person: Person) -> str:
    """The channel a person is reached on: Slack when they have a Slack ID that works, else email.

    A Slack account that refused the bot for good (`slack_failing_at`, set by the outbox) is skipped until Slack
    works for them again; when Slack isn't set up at all, the outbox moves their Slack messages to email.
    """
    return "slack" if person.slack_user_id and person.slack_failing_at is None else "email"


def send_notice(
    session: Session,
    *,
    person: Person,
    purpose: str,
    key: str,
    notice: Notice,
    now: datetime,
    email_copy: bool = False,
) -> list[OutboxMessage]:
    """Queue a notice for a person once per key (on their channel, plus email when `email_copy`)."""
    if not isinstance(notice, model_for_purpose(purpose)):
        raise TypeError(f"a {notice.kind!r} notice can't go out as {purpose!r} (bot.notices.PURPOSES)")
    payload = notice.addressed_to(person.name).to_payload()
    channels = [channel_for(person)]
    if email_copy and "email" not in channels:
        channels.append("email")
    queued = []
    for channel in channels:
        recipient = person.slack_user_id if channel == "slack" else person.email
        message, _created = enqueue(
            session,
            idempotency_key=f"{purpose}:{key}:{channel}",
            channel=channel,
            purpose=purpose,
            recipient=recipient,
            person_id=person.id,
            body=payload,
            now=now,
        )
        queued.append(message)
    return queued


def prompt_flow(session: Session, *, person: Person, flow: str, context: str, now: datetime, extra: Mapping[str, Any] | None = None, attempt: str = "1") -> list[OutboxMessage]:
    """Ask a person to start or continue a dialog (the channel renders the questions still pending); `extra`: more `FlowPrompt` fields."""
    notice = FlowPrompt(flow=flow, context=context, **(extra or {}))
    return send_notice(session, person=person, purpose=f"prompt.{flow}", key=f"{context}:{person.id}:{attempt}", notice=notice, now=now)


def principal_for(session: Session, *, mentor: Person, now: datetime) -> Person | None:
    """The mentor's principal as a person we can write to (added on first use if not on the roster)."""
    if not mentor.principal_email:
        return None
    found = repo.people_by_email(session, emails=[mentor.principal_email]).get(mentor.principal_email)
    if found is not None:
        return found
    principal, _ = repo.upsert_person(
        session,
        existing=None,
        fields={"email": mentor.principal_email, "name": mentor.principal_email.split("@")[0], "role": "none", "site": mentor.site, "timezone": mentor.timezone, "capacity": 0},
        now=now,
    )
    session.flush()
    return principal


def dispatch_events_in(session: Session, events: Iterable[Event], *, now: datetime) -> int:
    """Queue the messages that dialog events call for; returns how many were queued."""
    queued = 0
    for event in events:
        person = session.get(Person, event.person_id)
        if person is None:
            continue
        if event.kind == "approval_requested":
            principal = principal_for(session, mentor=person, now=now)
            term_id = event.data["term_id"]
            if principal is None:
                # No principal on file: the program admins decide instead (they see pending mentors in `status`).
                continue
            context = context_key(flow="approval", term_id=term_id, subject_id=person.id)
            queued += len(
                prompt_flow(
                    session, person=principal, flow="approval", context=context, now=now,
                    extra={"mentor_name": person.name, "mentor_email": person.email, "capacity": event.data["capacity"]},
                )
            )  # fmt: skip
        elif event.kind == "approval_decided":
            notice = ApprovalDecided(**event.data)
            queued += len(send_notice(session, person=person, purpose="approval.decided", key=f"{event.data['term_id']}:{person.id}:{event.data['approval']}:{event.data['capacity']}", notice=notice, now=now))
    return queued


dispatch_events = in_transaction(dispatch_events_in)


def invite_to_term_in(session: Session, *, term_id: int, now: datetime) -> int:
    """Send the term's opt-in question to everyone on file who has not answered it yet; returns how many were asked."""
    asked = 0
    term = session.get(Term, term_id)
    if term is None:
        raise repo.NotFound(f"there is no term {term_id}")
    check_term_accepts_rounds(term.status)
    answered = {
        e.person_id for e in session.exec(select(Enrollment).where(Enrollment.term_id == term_id)) if e.status != "invited"
    }
    members = pool_member_ids(session, program_id=term.program_id)
    for person in repo.list_people(session):
        if person.id in answered or person.role == "none" or person.unsubscribed_at is not None:
            continue
        if members is not None and person.id not in members:
            continue  # only the program's pool is invited to its terms
        repo.upsert_enrollment(
            session, term_id=term_id, person_id=person.id, role=person.role, capacity=person.capacity,
            status="invited", approval="not_required", now=now,
        )  # fmt: skip
        context = context_key(flow="opt_in", term_id=term_id)
        asked += bool(prompt_flow(session, person=person, flow="opt_in", context=context, now=now, extra={"term_name": term.name}))
    return asked


invite_to_term = in_transaction(invite_to_term_in)


@dataclass
class Reminded:
    """How many people a reminder asked again, by what they had left unanswered."""

    opt_in: int = 0
    profile: int = 0
    approval: int = 0

    @property
    def total(self) -> int:
        return self.opt_in + self.profile + self.approval

    def summary(self) -> str:
        """One plain line saying who was asked again."""
        return (
            f"Nudged {self.opt_in} people about opting in, {self.profile} about their profile and "
            f"{self.approval} principals about a mentor waiting for them."
        )


def remind_unanswered(session: Session, *, term: Term, now: datetime, attempt: str, principals: bool) -> Reminded:
    """Ask again everyone in the term who hasn't answered: the opt-in, an unfinished profile and, with `principals`,
    a principal's decision on a mentor waiting for them.

    The scheduled term reminders and an admin's nudge are this one function; `attempt` keys the messages, so a
    reminder repeated with the same attempt (a retried job, a double click) is sent once.
    """
    counts = Reminded()
    enrollments = session.exec(select(Enrollment).where(Enrollment.term_id == term.id, col(Enrollment.status).in_(("invited", "opted_in"))))
    for enrollment in list(enrollments):
        person = session.get(Person, enrollment.person_id)
        if person is None or person.unsubscribed_at is not None:
            continue
        if enrollment.status == "invited":
            context = context_key(flow="opt_in", term_id=term.id)
            prompt_flow(session, person=person, flow="opt_in", context=context, now=now, extra={"term_name": term.name, "reminder": True}, attempt=attempt)
            counts.opt_in += 1
            continue
        context = context_key(flow="profile", term_id=term.id)
        state = current_state_in(session, person_id=person.id, flow="profile", context=context)
        if state is None or state.status != "complete":
            prompt_flow(session, person=person, flow="profile", context=context, now=now, extra={"term_name": term.name, "reminder": True}, attempt=attempt)
            counts.profile += 1
        if principals and enrollment.approval == "pending":
            principal = principal_for(session, mentor=person, now=now)
            if principal is not None:
                context = context_key(flow="approval", term_id=term.id, subject_id=person.id)
                extra = {"mentor_name": person.name, "mentor_email": person.email, "capacity": enrollment.capacity, "reminder": True}
                prompt_flow(session, person=principal, flow="approval", context=context, now=now, extra=extra, attempt=attempt)
                counts.approval += 1
    return counts
