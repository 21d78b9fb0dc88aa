"""Rounds that announce themselves: topic events and informational interviews.

A topic event (round kind ``event``) offers a few topics, each a small micro-mentoring event of 1-3 sessions;
an informational interview round (kind ``interview``) offers one session with someone in the position, or at
the site, a mentee wants to learn about. When the round opens, its pool is invited once (Slack buttons, or an
email with numbered topics); people join with one click or one reply and may leave again until matching.
Sign-ups live in ``round_signup`` (unique per round, person and topic), so a repeated click or reply changes
nothing. At match time each topic is matched on its own from its sign-ups with the matching core.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.errors import UserError
from bot.matching import MatchResult, match_round
from bot.notices import RoundAnnouncement
from bot.notify import channel_for, send_notice
from bot.outbox import enqueue
from bot.rounds.kinds import ANNOUNCE_ACTION, KINDS, TOPIC_LENGTH, kind_of, parse_topics
from bot.rounds.lifecycle import RoundError
from bot.rounds.moves import move_round_in
from bot.rounds.participants import MENTOR_READY_APPROVALS, ProgramRules, history_from, round_settings, to_participant
from storage import repo
from storage.db import in_transaction, session_scope
from storage.models import Enrollment, OutboxMessage, Pairing, Person, Pool, PoolMember, Program, Round, RoundSignup, Term

EVENT_KINDS = tuple(name for name, kind in KINDS.items() if kind.announces)  # the kinds that announce themselves
DEFAULT_EVENT_CAP = 3
POSITION_ANSWER = "custom:position"  # the roster column "position", kept as a custom profile answer


def position_of(answers: dict[str, Any]) -> str:
    """A person's position from their profile answers ("position", or the roster's custom column)."""
    return str(answers.get("position") or answers.get(POSITION_ANSWER) or "").strip()

_JOIN_WORDS = ("join", "in", "yes", "sign me up", "sign up", "add me", "count me in", "i'm in", "im in")
_LEAVE_WORDS = ("leave", "drop", "cancel", "withdraw", "remove me", "out", "not going", "stop")


class SignupError(UserError):
    """A request about a sign-up that cannot be carried out; the message is meant for the person."""


# --- topics ------------------------------------------------------------------------------------


def topics_of(round_: Round) -> list[str]:
    """The topics a round offers; an interview round has one unnamed topic ("")."""
    return kind_of(round_).topics(round_)


def pairing_topic(round_: Round, pairing: Pairing) -> str | None:
    """The topic a pairing is about: its own for event and interview pairings, else the round's."""
    return kind_of(round_).pairing_topic(round_, pairing)


def topic_guide_note(program: Program | None, topic: str | None) -> str | None:
    """The program's own words for a topic's conversation guide (Program.settings["topic_guides"]), if any."""
    if program is None or not topic:
        return None
    guides = (program.settings or {}).get("topic_guides") or {}
    for name, note in guides.items():
        if str(name).casefold() == topic.casefold():
            return str(note)
    return None


def _day(value: date | None) -> str:
    return f"{value:%a %b} {value.day}" if value else ""


def _short_day(value: date | None) -> str:
    return f"{value:%b} {value.day}" if value else ""


# --- the pool and the announcement --------------------------------------------------------------


def program_of_round(session: Session, round_: Round) -> Program:
    """The program a round belongs to."""
    return session.get(Program, session.get(Term, round_.term_id).program_id)


def pool_people(session: Session, round_: Round) -> list[tuple[Person, Enrollment | None]]:
    """Who a round invites: its pool's members when it has a pool, else everyone taking part in the term."""
    enrollments = {person.id: enrollment for enrollment, person in repo.enrollments(session, term_id=round_.term_id)}
    if round_.pool_id is not None:
        people = session.exec(
            select(Person).join(PoolMember, col(PoolMember.person_id) == Person.id).where(PoolMember.pool_id == round_.pool_id).order_by(Person.id)
        ).all()
        return [(person, enrollments.get(person.id)) for person in people if person.role != "none"]
    found = []
    for enrollment, person in repo.enrollments(session, term_id=round_.term_id):
        if enrollment.status == "opted_in" and enrollment.role != "none":
            found.append((person, enrollment))
    return sorted(found, key=lambda pair: pair[0].id)


def interview_choices(session: Session, round_: Round) -> list[str]:
    """The positions and sites present in the round's pool, for the interview select."""
    people = [person for person, _ in pool_people(session, round_)]
    answers = repo.profiles(session, person_ids=[p.id for p in people])
    positions = {position_of(answers[p.id]) for p in people}
    sites = {(p.site or "").strip() for p in people}
    seen: dict[str, str] = {}
    for value in sorted(positions) + sorted(sites):
        if value and value.casefold() not in seen:
            seen[value.casefold()] = value
    return list(seen.values())


def announcement(session: Session, round_: Round) -> RoundAnnouncement:
    """The channel-neutral announcement of a round (each channel renders it with its own buttons or numbers)."""
    program = program_of_round(session, round_)
    topics = topics_of(round_)
    if kind_of(round_).asks_interest:
        choices = interview_choices(session, round_)
        text = (
            f"Informational interviews in {program.name}: spend one session with someone in a position, or at a site, "
            "you'd like to learn about. Tell me which one to join"
            + (f" (you'll hear who you're meeting on {_short_day(round_.match_on)})" if round_.match_on else "")
            + "."
        )
    else:
        choices = []
        lines = [f"{n}. {topic}" for n, topic in enumerate(topics, start=1)]
        text = (
            f"{program.name} is running a topic event: {round_.sessions} session(s) per topic"
            + (f", by {_day(round_.end_on)}" if round_.end_on else "")
            + ". Join the topics you'd like:\n" + "\n".join(lines)
            + (f"\nYou'll get your match on {_short_day(round_.match_on)}." if round_.match_on else "")
        )
    return RoundAnnouncement(
        round_id=round_.id,
        program_id=program.id,
        program_name=program.name,
        round_kind=round_.kind,
        topics=topics,
        choices=choices,
        sessions=round_.sessions,
        match_on=round_.match_on.isoformat() if round_.match_on else None,
        end_on=round_.end_on.isoformat() if round_.end_on else None,
        text=text,
    )


def announce_in(session: Session, *, round_id: int, now: datetime) -> int:
    """Invite the round's pool once: a post in the program's announce channel or a DM each, and email for the rest."""
    round_ = repo.get_round(session, round_id=round_id)
    program = program_of_round(session, round_)
    notice = announcement(session, round_)
    channel = str((program.settings or {}).get("announce_channel") or "").strip()
    queued = 0
    if channel:
        _message, created = enqueue(
            session, idempotency_key=f"round.announce:{round_.id}:channel:{channel}", channel="slack", purpose="round.announce",
            recipient=channel, body=notice.to_payload(), now=now,
        )  # fmt: skip
        queued += created
    for person, _enrollment in pool_people(session, round_):
        channel_name = channel_for(person)
        if channel and channel_name == "slack":
            continue  # they read the channel post and click there
        if channel_name == "email" and person.unsubscribed_at is not None:
            continue
        if session.exec(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == f"round.announce:{round_.id}:{person.id}:{channel_name}")).first():
            continue  # announced already (the key below is the one `send_notice` gives it)
        queued += len(send_notice(session, person=person, purpose="round.announce", key=f"{round_.id}:{person.id}", notice=notice, now=now))
    return queued


def open_round_in(session: Session, *, round_id: int, now: datetime) -> int:
    """Open a draft round for sign-ups and announce it (again, harmlessly, when it is already collecting)."""
    round_ = repo.get_round(session, round_id=round_id, for_update=True)
    if round_.status == "draft":
        move_round_in(session, round_id=round_id, target="collecting", now=now)
    elif round_.status != "collecting":
        raise RoundError(f"round {round_id} is {round_.status}; only a draft or collecting round can be announced")
    if not kind_of(round_).announces:
        return 0
    return announce_in(session, round_id=round_id, now=now)


open_round = in_transaction(open_round_in)


# --- joining and leaving ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignupOutcome:
    """What a join or leave did, with the sentence to tell the person."""

    status: str  # joined | already | left | not_joined | full | closed | not_in_pool | unknown_topic | needs_interest
    text: str
    round_id: int | None = None
    topic: str | None = None
    role: str | None = None

    @property
    def changed(self) -> bool:
        return self.status in ("joined", "left")


def _event_cap(program: Program) -> int:
    try:
        return max(int((program.settings or {}).get("event_cap", DEFAULT_EVENT_CAP)), 1)
    except (TypeError, ValueError):
        return DEFAULT_EVENT_CAP


def _label(round_: Round, topic: str, interest: str | None = None) -> str:
    if kind_of(round_).asks_interest:
        return f"an informational interview about {interest}" if interest else "informational interviews"
    return f"'{topic}'" if topic else f"round {round_.id}"


def current_signups(session: Session, *, person_id: int, term_id: int) -> list[tuple[Round, RoundSignup]]:
    """A person's live sign-ups in a term's rounds that announce themselves."""
    rows = session.exec(
        select(Round, RoundSignup)
        .join(RoundSignup, col(RoundSignup.round_id) == Round.id)
        .where(Round.term_id == term_id, RoundSignup.person_id == person_id, RoundSignup.status == "joined")
        .order_by(RoundSignup.id)
    ).all()
    return [(round_, signup) for round_, signup in rows if round_.status not in ("closed",)]


def _role_for(round_: Round, topic: str, person: Person, enrollment: Enrollment | None, strengths: Iterable[str], mentor_load: int) -> str:
    if kind_of(round_).asks_interest or enrollment is None:
        return "mentee"
    ready = enrollment.role in ("mentor", "both") and enrollment.approval in MENTOR_READY_APPROVALS
    covers = topic.casefold() in {str(s).strip().casefold() for s in strengths}
    return "mentor" if ready and enrollment.capacity - mentor_load > 0 and covers else "mentee"


def _when_text(round_: Round) -> str:
    parts = []
    if round_.end_on:
        parts.append(f" on {_day(round_.end_on)}" if round_.sessions == 1 else f" (sessions by {_day(round_.end_on)})")
    if round_.match_on:
        parts.append(f"; you'll get your match on {_short_day(round_.match_on)}")
    return "".join(parts)


def join_in(
    session: Session, *, round_id: int, person_id: int, topic: str | None = None, interest: str | None = None, source: str = "admin", now: datetime
) -> SignupOutcome:
    """Sign a person up for a topic (or, interviews, with what they want to learn about), once."""
    round_ = session.get(Round, round_id)
    if round_ is None:
        return SignupOutcome("closed", "Sorry, that round no longer exists; your program admin can tell you what's coming next.", round_id)
    # One person's joins are serialised, so two quick clicks can't both slip under the event cap. A no-op UPDATE locks
    # the person's row on PostgreSQL and takes SQLite's write lock before anything below is read.
    session.execute(sa.update(Person).where(col(Person.id) == person_id).values(updated_at=Person.updated_at))
    person = session.exec(select(Person).where(Person.id == person_id)).one()
    if not kind_of(round_).announces:
        return SignupOutcome("closed", f"Round {round_id} doesn't take sign-ups.", round_id)
    if round_.status != "collecting":
        state = "hasn't opened yet" if round_.status == "draft" else "has closed its sign-ups"
        return SignupOutcome("closed", f"Sorry, {_label(round_, topic or '')} {state}.", round_id, topic)
    pool = dict((p.id, e) for p, e in pool_people(session, round_))
    if person.id not in pool:
        return SignupOutcome("not_in_pool", "Sorry, this round is for its program's pool, and you're not in it this term.", round_id)
    if kind_of(round_).asks_interest:
        topic, interest = "", " ".join((interest or "").split())[:TOPIC_LENGTH]
        if not interest:
            return SignupOutcome("needs_interest", "Which position or site would you like to learn about? Name one (for example \"assistant principal\" or \"Lincoln\").", round_id)
    else:
        topic = resolve_topic(round_, topic)
        if topic is None:
            listed = "; ".join(f"{n}. {t}" for n, t in enumerate(topics_of(round_), start=1))
            return SignupOutcome("unknown_topic", f"I couldn't tell which topic you meant. The topics are: {listed}.", round_id)
    existing = session.exec(select(RoundSignup).where(RoundSignup.round_id == round_id, RoundSignup.person_id == person.id, RoundSignup.topic == topic)).first()
    label = _label(round_, topic, interest)
    if existing is not None and existing.status == "joined" and (not kind_of(round_).asks_interest or existing.interest == interest):
        return SignupOutcome("already", f"You're already in for {label}{_when_text(round_)}.", round_id, topic, existing.role)
    if existing is None or existing.status != "joined":
        program = program_of_round(session, round_)
        cap = _event_cap(program)
        mine = current_signups(session, person_id=person.id, term_id=round_.term_id)
        if len(mine) >= cap:
            names = "; ".join(_label(r, s.topic, s.interest) for r, s in mine)
            return SignupOutcome(
                "full",
                f"You've already joined {len(mine)} events this term, which is the most {program.name} allows ({cap}): {names}. "
                "Leave one first if you'd rather do this one.",
                round_id, topic,
            )  # fmt: skip
    enrollment = pool[person.id]
    strengths = repo.profiles(session, person_ids=[person.id])[person.id].get("strengths") or ()
    mentor_load = sum(
        1 for s in session.exec(select(RoundSignup).where(RoundSignup.round_id == round_id, RoundSignup.person_id == person.id, RoundSignup.status == "joined", RoundSignup.role == "mentor"))
    )
    role = existing.role if existing is not None and existing.status == "joined" else _role_for(round_, topic, person, enrollment, strengths, mentor_load)
    if existing is None:
        try:
            with session.begin_nested():
                session.add(RoundSignup(round_id=round_id, person_id=person.id, role=role, topic=topic, interest=interest, source=source, created_at=now, updated_at=now))
        except IntegrityError:  # the same join arrived twice at once; the other one counts
            return SignupOutcome("already", f"You're already in for {label}{_when_text(round_)}.", round_id, topic, role)
    else:
        existing.status, existing.role, existing.interest, existing.source, existing.updated_at = "joined", role, interest, source, now
    as_mentor = " as a mentor" if role == "mentor" else ""
    return SignupOutcome("joined", f"You're in for {label}{as_mentor}{_when_text(round_)}.", round_id, topic, role)


join = in_transaction(join_in)


def leave_in(session: Session, *, round_id: int, person_id: int, topic: str | None = None, now: datetime) -> SignupOutcome:
    """Withdraw a person's sign-up before matching."""
    round_ = session.get(Round, round_id)
    if round_ is None:
        return SignupOutcome("closed", "Sorry, that round no longer exists; your program admin can tell you what's coming next.", round_id)
    if kind_of(round_).asks_interest:
        topic = ""
    else:
        topic = resolve_topic(round_, topic)
        if topic is None:
            listed = "; ".join(f"{n}. {t}" for n, t in enumerate(topics_of(round_), start=1))
            return SignupOutcome("unknown_topic", f"I couldn't tell which topic you meant. The topics are: {listed}.", round_id)
    signup = session.exec(
        select(RoundSignup).where(RoundSignup.round_id == round_id, RoundSignup.person_id == person_id, RoundSignup.topic == topic).with_for_update()
    ).first()
    label = _label(round_, topic, signup.interest if signup else None)
    if signup is None or signup.status != "joined":
        return SignupOutcome("not_joined", f"You weren't signed up for {label}, so there's nothing to leave.", round_id, topic)
    if round_.status != "collecting":
        return SignupOutcome("closed", f"Matching for {label} has already run; ask your program admin if you can't take part.", round_id, topic)
    signup.status, signup.updated_at = "withdrawn", now
    return SignupOutcome("left", f"Done: you've left {label}.", round_id, topic)


leave = in_transaction(leave_in)


def resolve_topic(round_: Round, wanted: str | None) -> str | None:
    """The topic a person meant: its number, its name, or a unique part of its name; the only topic when there is one."""
    topics = topics_of(round_)
    text = " ".join((wanted or "").split()).strip(" .!'\"").casefold()
    if not text:
        return topics[0] if len(topics) == 1 else None
    if text.isdecimal():
        number = int(text)
        return topics[number - 1] if 1 <= number <= len(topics) else None
    exact = [t for t in topics if t.casefold() == text]
    if exact:
        return exact[0]
    partial = [t for t in topics if text in t.casefold() or t.casefold() in text]
    return partial[0] if len(partial) == 1 else None


@dataclass(frozen=True)
class ReplyIntent:
    """What a typed or emailed reply to an announcement asks for."""

    action: str  # join | leave
    topic: str | None = None
    interest: str | None = None


def read_reply(round_: Round, text: str) -> ReplyIntent:
    """Read "2", "SEL", "join assessment", "leave 2" (events) or "assistant principal" (interviews)."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    words = " ".join(line.split()).strip(" .!")
    lowered = words.casefold()
    action = "join"
    for verb, name in [(w, "leave") for w in _LEAVE_WORDS] + [(w, "join") for w in _JOIN_WORDS]:
        if lowered == verb or lowered.startswith(verb + " ") or lowered.startswith(verb + ":"):
            action, words = name, words[len(verb):].lstrip(" :-")
            break
    words = re.sub(r"^(?:for|the|me)\s+", "", words, flags=re.IGNORECASE).strip()
    if kind_of(round_).asks_interest:
        return ReplyIntent(action, topic="", interest=words or None)
    return ReplyIntent(action, topic=words)


def apply_reply_in(session: Session, *, round_id: int, person_id: int, text: str, source: str, now: datetime) -> SignupOutcome:
    """Apply a typed or emailed reply to a round's announcement (join or leave), in the caller's transaction."""
    round_ = session.get(Round, round_id)
    if round_ is None:
        return SignupOutcome("closed", "Sorry, that round no longer exists; your program admin can tell you what's coming next.", round_id)
    intent = read_reply(round_, text)
    if intent.action == "leave":
        return leave_in(session, round_id=round_id, person_id=person_id, topic=intent.topic, now=now)
    interest = intent.interest
    if kind_of(round_).asks_interest and interest:
        # Spell it the way the pool does when it names a position or site we know.
        known = {choice.casefold(): choice for choice in interview_choices(session, round_)}
        interest = known.get(interest.casefold(), interest)
    return join_in(session, round_id=round_id, person_id=person_id, topic=intent.topic, interest=interest, source=source, now=now)


apply_reply = in_transaction(apply_reply_in)


# --- matching ----------------------------------------------------------------------------------


@dataclass
class TopicResult:
    """One topic's match: its pairs and who was left out, and why."""

    topic: str
    number: int
    mentors: int
    mentees: int
    result: MatchResult
    names: dict[str, str] = field(default_factory=dict)


def _signups(session: Session, round_id: int) -> list[tuple[RoundSignup, Person]]:
    return list(
        session.exec(
            select(RoundSignup, Person)
            .join(Person, col(Person.id) == RoundSignup.person_id)
            .where(RoundSignup.round_id == round_id, RoundSignup.status == "joined")
            .order_by(RoundSignup.id)
        ).all()
    )


def _ready_enrollment(enrollment: Enrollment | None, person: Person, role: str) -> Enrollment:
    if enrollment is not None:
        return enrollment
    # Pool members who are not enrolled in the term take part with their roster role and capacity.
    return Enrollment(term_id=0, person_id=person.id, role=role, capacity=person.capacity, approval="not_required", status="opted_in")


def match_signups_in(session: Session, *, round_: Round, session_minutes: int, now: datetime) -> list[TopicResult]:
    """Match each topic of an event (or the interviews) from its sign-ups, and store the pairs with their topic."""
    program = program_of_round(session, round_)
    week_of = round_.start_on or round_.match_on or now.date()
    pool = {person.id: enrollment for person, enrollment in pool_people(session, round_)}
    signups = _signups(session, round_.id)
    everyone = {person.id: person for _, person in signups}
    enrolled = repo.enrollments(session, term_id=round_.term_id)
    earlier = repo.earlier_pairings_in_term(session, term_id=round_.term_id, before_round_id=round_.id)
    email_of = {person.id: person.email for _, person in enrolled} | {p.id: p.email for p in everyone.values()}
    history = history_from(earlier, email_of)
    relax = frozenset((round_.settings or {}).get("relax", ()))
    results: list[TopicResult] = []
    rows: list[dict[str, Any]] = []
    if kind_of(round_).asks_interest:
        hosts_pool = [(person, enrollment) for person, enrollment in pool_people(session, round_)]
        answers = repo.profiles(session, person_ids=[p.id for p, _ in hosts_pool] + list(everyone))
        mentees = [(s, p) for s, p in signups if s.interest]
        seekers = {p.id for _, p in mentees}
        participants = []
        for signup, person in mentees:
            base = to_participant(_ready_enrollment(pool.get(person.id), person, "mentee"), person, answers[person.id], capacity_left=0, week_of=week_of)
            participants.append(replace(base, role="mentee", interests=frozenset({signup.interest}), needs=()))
        hosts = 0
        for person, enrollment in hosts_pool:
            position = position_of(answers[person.id])
            if not position or person.id in seekers:
                continue
            base = to_participant(_ready_enrollment(enrollment, person, "mentor"), person, answers[person.id], capacity_left=person.capacity, week_of=week_of)
            # Any role may host: a mentor hosts up to their roster capacity; anyone else (the roster keeps no capacity for
            # them) hosts one interview.
            capacity = max(person.capacity, 0) if person.role in ("mentor", "both") else 1
            participants.append(replace(base, role="mentor", capacity=capacity, position=position, strengths=frozenset()))
            everyone[person.id] = person
            hosts += capacity > 0
        rules = round_settings(round_.settings or {}, ProgramRules.of(program.settings), topic=None, sessions=1, session_minutes=session_minutes, reference_date=week_of)
        # An interview is about a position or a site, across sites: grade band, subject and strengths don't apply.
        settings = replace(
            rules, relax=rules.relax | {"grade_band", "subject", "strengths"} | relax, require=rules.require | {"cross_site", "interest"}
        )  # fmt: skip
        result = match_round(participants, settings, history)
        interest_of = {p.email: s.interest for s, p in mentees}
        id_of = {p.email: p.id for p in everyone.values()}
        for pair in result.pairs:
            rows.append(_pair_row(pair, id_of, rotation=0, topic=interest_of.get(pair.mentee), extra={"interest": interest_of.get(pair.mentee)}))
        results.append(TopicResult("", 0, hosts, len(mentees), result, {p.email: p.name for p in everyone.values()}))
    else:
        fallback = bool((program.settings or {}).get("event_fallback_mentors", False))
        answers = repo.profiles(session, person_ids=set(everyone) | {p.id for _, p in enrolled})
        load = dict(repo.mentor_load(earlier))
        for number, topic in enumerate(topics_of(round_), start=1):
            signed = [(s, p) for s, p in signups if s.topic == topic]
            mentee_rows = [(s, p) for s, p in signed if s.role == "mentee"]
            mentor_ids = [p.id for s, p in signed if s.role == "mentor"]
            if fallback:
                taken = {p.id for _, p in mentee_rows} | set(mentor_ids)
                for enrollment, person in enrolled:
                    strengths = {str(x).strip().casefold() for x in answers[person.id].get("strengths") or ()}
                    if (person.id not in taken and enrollment.status == "opted_in" and enrollment.role in ("mentor", "both")
                            and topic.casefold() in strengths):  # fmt: skip
                        mentor_ids.append(person.id)
                        everyone[person.id] = person
            people = {p.id: p for p in everyone.values()}
            participants = []
            for _signup, person in mentee_rows:
                base = to_participant(_ready_enrollment(pool.get(person.id), person, "mentee"), person, answers[person.id], capacity_left=0, week_of=week_of)
                participants.append(replace(base, role="mentee"))
            mentors = 0
            for person_id in mentor_ids:
                person = people[person_id]
                enrollment = _ready_enrollment(pool.get(person_id) or next((e for e, p in enrolled if p.id == person_id), None), person, "mentor")
                left = enrollment.capacity - load.get(person_id, 0)
                # A mentor who signed up for several topics shares their places fairly among them.
                ahead = sum(1 for s, p in signups if p.id == person_id and s.role == "mentor" and s.topic in topics_of(round_)[number - 1:])
                base = to_participant(enrollment, person, answers[person_id], capacity_left=-(-left // max(ahead, 1)), week_of=week_of)
                participants.append(replace(base, role="mentor"))
                mentors += base.capacity > 0
            # The program's rules (require, relax), unless the round sets its own.
            settings = round_settings(
                round_.settings or {}, ProgramRules.of(program.settings), topic=topic, sessions=round_.sessions,
                session_minutes=session_minutes, reference_date=week_of,
            )  # fmt: skip
            result = match_round(participants, settings, history)
            id_of = {p.email: p.id for p in people.values()}
            for pair in result.pairs:
                rows.append(_pair_row(pair, id_of, rotation=number, topic=topic))
                load[id_of[pair.mentor]] = load.get(id_of[pair.mentor], 0) + 1  # a mentor's capacity is shared by the topics
            results.append(TopicResult(topic, number, mentors, len(mentee_rows), result, {p.email: p.name for p in people.values()}))
    repo.replace_pairings(session, round_id=round_.id, pairings=rows, now=now)
    round_.match_summary = summary_of(results, now=now)
    return results


def _pair_row(pair: Any, id_of: dict[str, int], *, rotation: int, topic: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    breakdown: dict[str, Any] = {part.factor: part.points for part in pair.breakdown}
    breakdown.update({k: v for k, v in (extra or {}).items() if v is not None})
    return {
        "mentor_id": id_of[pair.mentor], "mentee_id": id_of[pair.mentee], "rotation": rotation, "topic": topic,
        "score": pair.score, "breakdown": breakdown, "reasons": list(pair.reasons),
    }  # fmt: skip


def summary_of(results: list[TopicResult], *, now: datetime) -> dict[str, Any]:
    """The round's match summary with one entry per topic, as `round show` and `/mentoring preview` print it."""
    topics = []
    for item in results:
        topics.append({
            "topic": item.topic, "number": item.number, "mentors": item.mentors, "mentees": item.mentees,
            "matched": len(item.result.pairs),
            "unmatched": [{"email": u.key, "name": item.names.get(u.key, u.key), "reasons": list(u.reasons)} for u in item.result.unmatched],
        })  # fmt: skip
    return {
        "ran_at": now.isoformat(),
        "mentors": sum(t["mentors"] for t in topics),
        "mentees": sum(t["mentees"] for t in topics),
        "matched": sum(t["matched"] for t in topics),
        "total_score": sum(item.result.total_score for item in results),
        "solve_seconds": sum(item.result.solve_seconds for item in results),
        "candidate_edges": sum(item.result.candidate_edges for item in results),
        "unmatched": [u for t in topics for u in t["unmatched"]],
        "topics": topics,
    }


def merged_result(results: list[TopicResult]) -> MatchResult:
    """All topics' results as one, for callers that count pairs and unmatched people."""
    return MatchResult(
        pairs=tuple(p for r in results for p in r.result.pairs),
        unmatched=tuple(u for r in results for u in r.result.unmatched),
        total_score=sum(r.result.total_score for r in results),
        solve_seconds=sum(r.result.solve_seconds for r in results),
        candidate_edges=sum(r.result.candidate_edges for r in results),
    )


def topic_lines(summary: dict[str, Any]) -> list[str]:
    """One line per topic of a match summary: 'SEL: 2 of 3 matched (2 mentors)'."""
    lines = []
    for item in summary.get("topics") or ():
        name = item["topic"] or "informational interviews"
        lines.append(f"{name}: {item['matched']} of {item['mentees']} matched ({item['mentors']} mentor(s) or host(s))")
    return lines


# --- what a person sees ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignupView:
    """A person's sign-up as their Home tab shows it."""

    round_id: int
    kind: str
    label: str
    role: str
    status: str
    match_on: date | None


def signup_views(session: Session, *, person_id: int, term_ids: Iterable[int]) -> list[SignupView]:
    """A person's live sign-ups in the given terms."""
    views = []
    for term_id in term_ids:
        for round_, signup in current_signups(session, person_id=person_id, term_id=term_id):
            label = _label(round_, signup.topic, signup.interest).strip("'")
            views.append(SignupView(round_.id, round_.kind, label, signup.role, round_.status, round_.match_on))
    return views


def open_rounds_for(session: Session, *, person_id: int, term_ids: Iterable[int]) -> list[tuple[Round, list[str]]]:
    """Collecting rounds in the given terms whose pool includes the person, with the topics they have not joined."""
    found = []
    for term_id in term_ids:
        for round_ in repo.list_rounds(session, term_id=term_id):
            if not kind_of(round_).announces or round_.status != "collecting":
                continue
            if person_id not in {p.id for p, _ in pool_people(session, round_)}:
                continue
            joined = {s.topic for r, s in current_signups(session, person_id=person_id, term_id=term_id) if r.id == round_.id}
            found.append((round_, [t for t in topics_of(round_) if t not in joined]))
    return found


def count_signups(session: Session, *, round_id: int) -> dict[str, int]:
    """Live sign-ups per topic of a round."""
    rows = session.exec(
        select(RoundSignup.topic, sa.func.count()).where(RoundSignup.round_id == round_id, RoundSignup.status == "joined").group_by(RoundSignup.topic)
    ).all()
    return {topic: int(count) for topic, count in rows}


__all__ = [
    "ANNOUNCE_ACTION", "EVENT_KINDS", "SignupError", "SignupOutcome", "TopicResult", "announce_in", "apply_reply",
    "count_signups", "join", "leave", "match_signups_in", "open_round", "open_round_in", "pairing_topic", "parse_topics",
    "read_reply", "resolve_topic", "signup_views", "summary_of", "topic_lines", "topics_of",
]  # fmt: skip


def latest_open_round_for(engine: Engine, *, person_id: int) -> int | None:
    """The newest collecting round that announces itself and invites this person (for typed "join 2")."""
    with session_scope(engine) as session:
        terms = session.exec(select(Term.id).where(Term.status == "open")).all()
        found = open_rounds_for(session, person_id=person_id, term_ids=terms)
        return max((round_.id for round_, _topics in found), default=None)


# --- one Home section per program ---------------------------------------------------------------


@dataclass
class ProgramSection:
    """What one program holds for a person: where they stand, their sign-ups, rounds they may join, their pairings."""

    program_id: int
    name: str
    status: str
    signups: list[SignupView] = field(default_factory=list)
    open_rounds: list[tuple[int, str, list[tuple[int, str]]]] = field(default_factory=list)  # round, title, (number, topic) left
    pairing_ids: set[int] = field(default_factory=set)
    topics: dict[int, str] = field(default_factory=dict)  # pairing id -> topic


_STATUS_WORDS = {"mentor": "a mentor", "mentee": "a mentee", "both": "a mentor and a mentee"}


def program_sections(engine: Engine, *, slack_user_id: str) -> list[ProgramSection]:
    """One section per program the person takes part in (an open term's enrollment, a pool, or a pairing)."""
    with session_scope(engine) as session:
        person = session.exec(select(Person).where(Person.slack_user_id == slack_user_id)).first()
        if person is None:
            return []
        sections: dict[int, ProgramSection] = {}
        for program in session.exec(select(Program).order_by(Program.id)).all():
            terms = session.exec(select(Term).where(Term.program_id == program.id, Term.status == "open")).all()
            enrollment = next(
                (e for t in terms for e in session.exec(select(Enrollment).where(Enrollment.term_id == t.id, Enrollment.person_id == person.id))), None
            )  # fmt: skip
            in_pool = session.exec(
                select(PoolMember.person_id).join(Pool, col(Pool.id) == PoolMember.pool_id).where(PoolMember.person_id == person.id, Pool.program_id == program.id)
            ).first() is not None
            term_ids = [t.id for t in terms]
            pairings = session.exec(
                select(Pairing, Round).join(Round, col(Round.id) == Pairing.round_id).join(Term, col(Term.id) == Round.term_id)
                .where(Term.program_id == program.id, sa.or_(Pairing.mentor_id == person.id, Pairing.mentee_id == person.id),
                       col(Pairing.status).in_(("published", "active", "stalled")))
            ).all()  # fmt: skip
            if enrollment is None and not in_pool and not pairings:
                continue
            if enrollment is not None and enrollment.status == "opted_in":
                status = f"You're taking part as {_STATUS_WORDS.get(enrollment.role, enrollment.role)}."
            elif enrollment is not None and enrollment.status == "opted_out":
                status = "You're not taking part this term."
            else:
                status = "You're in this program's pool." if in_pool else "You haven't said yet whether you'll take part."
            section = ProgramSection(program.id, program.name, status)
            section.signups = signup_views(session, person_id=person.id, term_ids=term_ids)
            for round_, left in open_rounds_for(session, person_id=person.id, term_ids=term_ids):
                numbered = [(n, t) for n, t in enumerate(topics_of(round_), start=1) if t in left]
                title = "Informational interviews" if kind_of(round_).asks_interest else f"Topic event (sign-ups close {_short_day(round_.match_on)})"
                section.open_rounds.append((round_.id, title, numbered))
            for pairing, round_ in pairings:
                section.pairing_ids.add(pairing.id)
                topic = pairing_topic(round_, pairing)
                if topic:
                    section.topics[pairing.id] = topic
            sections[program.id] = section
        return list(sections.values())
