"""The conversation guide of a pairing, built from storage for one reader and rendered for each channel."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.guides import GuideContext, Mentee, Mentor, SessionTime, guide_kind, render_email, render_slack_message
from bot.rounds.events import pairing_topic, topic_guide_note
from bot.rounds.kinds import kind_of
from storage import repo
from storage.db import session_scope
from storage.models import Pairing, Person, PlannedSession, Program, Round, Term

logger = logging.getLogger(__name__)


def guide_link_key(secret: str, pairing_id: int) -> str:
    """The key a guide's address carries: only the pair's own messages have it, so pairing numbers can't be guessed."""
    return hmac.new(secret.encode(), f"guide:{pairing_id}".encode(), hashlib.sha256).hexdigest()[:32]


def guide_url(base_url: str, pairing_id: int, secret: str | None = None) -> str:
    """The printable guide's address (signed with `secret`, which the guides page then requires)."""
    url = f"{base_url.rstrip('/')}/guides/pairing/{pairing_id}"
    return f"{url}?k={guide_link_key(secret, pairing_id)}" if secret else url


def program_of(session: Session, round_: Round) -> Program:
    """The program a round belongs to."""
    return session.get(Program, session.get(Term, round_.term_id).program_id)


def guide_context(
    session: Session, *, pairing: Pairing, round_: Round, reader: Person | None, base_url: str, session_minutes: int,
    link_secret: str | None = None, known: GuideRows | None = None,
) -> GuideContext:
    """The guide for one pairing as `reader` sees it (times in their zone); None reader = the mentee's view.

    `known`: the answers and planned sessions read ahead for many pairings at once (`guide_rows`)."""
    if known is None or pairing.id not in known.sessions or pairing.group_no is not None:
        known = guide_rows(session, [pairing])
    answers = known.answers
    mentor, mentee = session.get(Person, pairing.mentor_id), session.get(Person, pairing.mentee_id)
    program = program_of(session, round_)
    sessions = known.sessions.get(pairing.id, ())
    # Only a small group's pairings: reading the whole round here made a round's notices quadratic in its pairs.
    group = repo.group_pairings(session, round_id=round_.id, group_no=pairing.group_no) if pairing.group_no is not None else []
    mentees = [mentee] if not group else [session.get(Person, p.mentee_id) for p in group]
    group_answers = answers if all(m.id in answers for m in mentees) else repo.profiles(session, person_ids=[m.id for m in mentees])
    # An event's pairing is about one of the round's topics; the program may add its own words for that topic.
    topic = pairing_topic(round_, pairing)
    custom_message = (round_.settings or {}).get("message")
    kind = kind_of(round_)
    if kind.announces:
        custom_message = "\n\n".join(x for x in (custom_message, topic_guide_note(program, topic)) if x) or None
    return GuideContext(
        program_name=program.name,
        mentor=Mentor(name=mentor.name, offers=tuple(answers[mentor.id].get("strengths") or ()), site=mentor.site),
        mentees=tuple(Mentee(name=m.name, asked_for=tuple(group_answers[m.id].get("needs") or ()), site=m.site) for m in mentees),
        topic=topic,
        sessions=round_.sessions,
        kind=guide_kind(round_kind=kind.guide, mentees_in_group=len(mentees)),
        reasons=tuple(pairing.reasons),
        times=tuple(SessionTime(s.number, s.starts_at, s.ends_at) for s in sessions if s.number <= round_.sessions),
        timezone=(reader or mentee).timezone,
        session_minutes=session_minutes,
        custom_message=custom_message,
        guide_url=guide_url(base_url, pairing.id, link_secret),
    )


@dataclass(frozen=True)
class GuideRows:
    """What the guides of some pairings read besides the pairing and its people: profile answers, planned sessions."""

    answers: Mapping[int, Mapping[str, Any]]
    sessions: Mapping[int, tuple[PlannedSession, ...]]


def guide_rows(session: Session, pairings: Sequence[Pairing]) -> GuideRows:
    """The answers of every mentor and mentee of `pairings` and their planned sessions, in two queries."""
    people = {p.mentor_id for p in pairings} | {p.mentee_id for p in pairings}
    answers = repo.profiles(session, person_ids=sorted(people))
    found: dict[int, list[PlannedSession]] = {p.id: [] for p in pairings}
    if found:
        statement = select(PlannedSession).where(col(PlannedSession.pairing_id).in_(list(found))).order_by(PlannedSession.pairing_id, PlannedSession.number)
        for planned in session.exec(statement):
            found[planned.pairing_id].append(planned)
    return GuideRows(answers={person: answers.get(person, {}) for person in people}, sessions={k: tuple(v) for k, v in found.items()})


def overrides_of(program: Program) -> Mapping[str, str] | None:
    """The program's own versions of guide templates, if it has any."""
    return (program.settings or {}).get("guide_overrides") or None


def guide_renderings(ctx: GuideContext, *, overrides: Mapping[str, str] | None) -> dict[str, Any]:
    """The guide rendered for Slack and email, to travel inside a pairing notice."""
    slack = render_slack_message(ctx, overrides=overrides)
    subject, text, html = render_email(ctx, overrides=overrides)
    return {"slack_text": slack["text"], "slack_blocks": slack["blocks"], "email_subject": subject, "email_text": text, "email_html": html}


def print_context_loader(engine: Engine, *, base_url: str, session_minutes: int, link_secret: str | None = None) -> Callable[[int], GuideContext | None]:
    """A function the guides page uses to turn a pairing id into its guide context (None if unknown)."""

    def load(pairing_id: int) -> GuideContext | None:
        with session_scope(engine) as session:
            pairing = session.get(Pairing, pairing_id)
            if pairing is None or pairing.status == "cancelled":
                return None
            round_ = repo.get_round(session, round_id=pairing.round_id)
            return guide_context(session, pairing=pairing, round_=round_, reader=None, base_url=base_url, session_minutes=session_minutes, link_secret=link_secret)

    return load


def overrides_loader(engine: Engine) -> Callable[[GuideContext], Mapping[str, str] | None]:
    """The program overrides for the guides page, looked up by the context's program name."""

    def load(ctx: GuideContext) -> Mapping[str, str] | None:
        with session_scope(engine) as session:
            program = session.exec(select(Program).where(Program.name == ctx.program_name)).first()
            return overrides_of(program) if program else None

    return load
