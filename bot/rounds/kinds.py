"""Round kinds: micro-mentoring, speed mentoring, topic events and informational interviews, one object each.

A round stores its kind by name (`Round.kind`); everything that differs between kinds is answered by that name's
`RoundKind` in `KINDS`:

- `validate(request, today=...)`: what a request for a round of this kind must hold, refused with the reason;
- `fields(request, ...)`: the round it makes, and `plan(round_, ...)`: the actions its creation schedules (the
  sign-up announcement, the match on the match date, the rotation plan the day before a speed event);
- `announces`: whether opening it invites its pool to sign up, and so whether it takes sign-ups;
- `matcher`: who makes its pairs (the solver over the term's enrollments, each topic from its sign-ups, or a
  rotation plan);
- `describe(round_)`, `label`, `topics(round_)`, `pairing_topic(...)`: how it reads.

The operations (`service.py` creates and matches, `events.py` opens and takes sign-ups, `schedule.py` runs what
`plan` scheduled) ask a round's kind rather than compare names, so a kind that reuses a matcher is one class here
and one entry in `KINDS`. This module sits below those operations: they import it and it imports none of them
(a contract in pyproject.toml says so), so a kind answers questions and leaves the session work to them.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from bot.rounds.lifecycle import RoundError
from storage.models import Pairing, Round

MATCH_ACTION = "round.match"
ANNOUNCE_ACTION = "round.announce"
SPEED_PLAN_ACTION = "speed.plan"
MAX_TOPICS = 10
TOPIC_LENGTH = 200


@dataclass(frozen=True)
class RoundRequest:
    """What an admin asks for when creating a round."""

    kind: str = "micro"
    topic: str | None = None
    sessions: int = 1
    start_on: date | None = None
    match_on: date | None = None
    end_on: date | None = None
    rotations: int | None = None
    rotation_minutes: int | None = None
    starts_at: datetime | None = None  # speed events: when the first rotation begins
    topics: str | None = None  # topic events: "SEL; assessment; family communication"
    relax: tuple[str, ...] = ()  # matching rules this round relaxes, on top of its program's (bot.matching.RELAXABLE_RULES)
    require: tuple[str, ...] = ()  # matching rules this round adds, on top of its program's (bot.matching.ADDABLE_RULES)


class Matcher(Enum):
    """Who makes a round's pairs."""

    SOLVER = "solver"  # service.match_in: the matching core over the term's enrollments, when an admin or the match date asks
    SIGNUPS = "signups"  # events.match_signups_in: each topic (or the interviews) from its sign-ups
    ROTATION = "rotation"  # schedule's speed.plan action: a rotation plan the day before the event, not the matcher


@dataclass(frozen=True)
class PlannedAction:
    """An action a new round schedules: its idempotency key, what it does, when, and its payload."""

    key: str
    action: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


class RoundKind(ABC):
    """One kind of round: what a request for it holds, the round it makes and plans, how it is opened and matched, how it reads."""

    name: ClassVar[str]  # as stored in Round.kind and typed after `round new`
    label: ClassVar[str]  # what it is called in a sentence: "topic event"
    noun: ClassVar[str]  # what a round of it is called when something about it is refused: "a topic event needs ..."
    announces: ClassVar[bool] = False  # opening it invites its pool to sign up; it takes sign-ups until matching
    asks_interest: ClassVar[bool] = False  # people sign up naming a position or site to learn about, all as mentees
    matcher: ClassVar[Matcher] = Matcher.SOLVER
    guide: ClassVar[str] = "micro"  # which guides its pairs get from bot.guides: "micro" (1-3 sessions) or "speed" cards

    @abstractmethod
    def describe(self, round_: Round) -> str:
        """One line on what the round is: "2-session micro-mentoring on SEL"."""

    @abstractmethod
    def validate(self, request: RoundRequest, *, today: date) -> None:
        """Refuse a request for a round of this kind that could not run, with the reason (RoundError)."""

    def fields(self, request: RoundRequest, *, timezone: str, now: datetime) -> dict[str, Any]:
        """The new round's columns from a request `validate` accepted."""
        return {
            "kind": self.name,
            "topic": (request.topic or "").strip() or None,
            "sessions": 1,
            "start_on": request.start_on,
            "match_on": request.match_on,
            "end_on": request.end_on,
            "rotations": request.rotations,
            "rotation_minutes": request.rotation_minutes,
        }

    def plan(self, round_: Round, *, timezone: str, now: datetime) -> list[PlannedAction]:
        """What creating the round schedules: its matching, at 06:00 program time on the match date, before the school day."""
        if round_.match_on is None:
            return []
        due = datetime.combine(round_.match_on, time(6, 0), ZoneInfo(timezone))
        return [PlannedAction(f"{MATCH_ACTION}:{round_.id}", MATCH_ACTION, due)]

    def topics(self, round_: Round) -> list[str]:
        """The topics the round offers (one unnamed topic, "", when it names none)."""
        stored = list((round_.settings or {}).get("topics") or ())
        return stored or ([round_.topic] if round_.topic else [""])

    def pairing_topic(self, round_: Round, pairing: Pairing) -> str | None:
        """What a pairing is about: its own topic when it has one, else the round's."""
        return pairing.topic or round_.topic

    def __repr__(self) -> str:
        return f"<round kind {self.name}>"


class MicroKind(RoundKind):
    """Micro-mentoring: 1-3 sessions per pair, matched by the solver over everyone taking part in the term."""

    name, label, noun = "micro", "micro-mentoring", "micro-mentoring round"

    def describe(self, round_: Round) -> str:
        return f"{round_.sessions}-session micro-mentoring{_on(round_.topic)}"

    def validate(self, request: RoundRequest, *, today: date) -> None:
        _check_sessions(self, request)
        _check_dates(request, today=today)

    def fields(self, request: RoundRequest, *, timezone: str, now: datetime) -> dict[str, Any]:
        return {**super().fields(request, timezone=timezone, now=now), "sessions": request.sessions}


class SpeedKind(RoundKind):
    """Speed mentoring: one afternoon of short rotations, planned the day before the event rather than matched."""

    name, label, noun = "speed", "speed mentoring", "speed-mentoring event"
    matcher = Matcher.ROTATION
    guide = "speed"

    def describe(self, round_: Round) -> str:
        return f"speed mentoring{_on(round_.topic)}, {round_.rotations or 1}\u00d7{round_.rotation_minutes or 10} min"

    def validate(self, request: RoundRequest, *, today: date) -> None:
        if not request.rotations or request.rotations < 1:
            raise RoundError("a speed-mentoring event needs --rotations (how many partners each mentee meets)")
        if not request.rotation_minutes or not 3 <= request.rotation_minutes <= 60:
            raise RoundError("each speed rotation lasts 3 to 60 minutes (--minutes)")
        _check_dates(request, today=today)

    def fields(self, request: RoundRequest, *, timezone: str, now: datetime) -> dict[str, Any]:
        fields = super().fields(request, timezone=timezone, now=now)
        if request.starts_at is not None:
            if request.starts_at < now:
                raise RoundError(f"{request.starts_at:%Y-%m-%d %H:%M} is already past")
            fields["settings"] = {"starts_at": request.starts_at.isoformat()}
            fields["start_on"] = fields["end_on"] = request.starts_at.astimezone(ZoneInfo(timezone)).date()
        return fields

    def plan(self, round_: Round, *, timezone: str, now: datetime) -> list[PlannedAction]:
        # The rotation schedule goes out the school day before the event (the sweep moves it out of quiet time).
        due = speed_start(round_, timezone_name=timezone) - timedelta(days=1)
        return [PlannedAction(f"{SPEED_PLAN_ACTION}:{round_.id}", SPEED_PLAN_ACTION, due, {"quiet_tz": timezone})]


class SignupKind(RoundKind):
    """A round that announces itself: its pool is invited when it opens, and it is matched from the sign-ups."""

    announces = True
    matcher = Matcher.SIGNUPS

    def validate(self, request: RoundRequest, *, today: date) -> None:
        # Sign-ups are collected from start_on until match_on; the sessions follow, by end_on.
        if request.match_on is None:
            raise RoundError(f"{_a(self.noun)} needs --match-on, the day sign-ups close and pairs are made")
        if request.match_on < today:
            raise RoundError(f"the match date {request.match_on} is already past")
        if request.start_on and request.start_on > request.match_on:
            raise RoundError("sign-ups open (--start-on) on or before the match date")
        if request.end_on and request.end_on < request.match_on:
            raise RoundError("the sessions (--end-on) come after the match date")

    def plan(self, round_: Round, *, timezone: str, now: datetime) -> list[PlannedAction]:
        # The announcement goes out when sign-ups open (08:00 program time; at once if that is now or past).
        opens = datetime.combine(round_.start_on or now.date(), time(8, 0), ZoneInfo(timezone))
        announce = PlannedAction(f"{ANNOUNCE_ACTION}:{round_.id}", ANNOUNCE_ACTION, max(opens, now), {"quiet_tz": timezone})
        return [announce, *super().plan(round_, timezone=timezone, now=now)]


class EventKind(SignupKind):
    """A topic event: a few topics, each a small micro-mentoring event of 1-3 sessions, joined with one click or reply."""

    name, label, noun = "event", "topic event", "topic event"

    def describe(self, round_: Round) -> str:
        topics = "; ".join(t for t in self.topics(round_) if t)
        per_topic = f", {round_.sessions} sessions per topic" if round_.sessions > 1 else ""
        return f"topic event{_on(topics)}{per_topic}"

    def validate(self, request: RoundRequest, *, today: date) -> None:
        _check_sessions(self, request)
        parse_topics(request.topics or request.topic)
        super().validate(request, today=today)

    def fields(self, request: RoundRequest, *, timezone: str, now: datetime) -> dict[str, Any]:
        topics = parse_topics(request.topics or request.topic)
        return {
            **super().fields(request, timezone=timezone, now=now),
            "topic": topics[0] if len(topics) == 1 else None,
            "sessions": request.sessions,
            "settings": {"topics": topics},
        }

    def pairing_topic(self, round_: Round, pairing: Pairing) -> str | None:
        # Pairings stored before pairings had a topic column carry their topic's number in `rotation`.
        if not pairing.topic and pairing.rotation:
            topics = self.topics(round_)
            if 0 < pairing.rotation <= len(topics):
                return topics[pairing.rotation - 1] or None
        return super().pairing_topic(round_, pairing)


class InterviewKind(SignupKind):
    """Informational interviews: one session with someone in the position, or at the site, a mentee wants to learn about."""

    name, label, noun = "interview", "informational interviews", "interview round"
    asks_interest = True

    def describe(self, round_: Round) -> str:
        return "informational interviews"

    def fields(self, request: RoundRequest, *, timezone: str, now: datetime) -> dict[str, Any]:
        return {**super().fields(request, timezone=timezone, now=now), "topic": None, "settings": {}}

    def topics(self, round_: Round) -> list[str]:
        return [""]  # one unnamed topic: what each mentee wants to learn about is their own

    def pairing_topic(self, round_: Round, pairing: Pairing) -> str | None:
        if pairing.topic:
            return pairing.topic
        interest = (pairing.breakdown or {}).get("interest")
        return interest if isinstance(interest, str) else None


KINDS: dict[str, RoundKind] = {kind.name: kind for kind in (MicroKind(), SpeedKind(), EventKind(), InterviewKind())}


def kind_of(round_or_name: Round | RoundRequest | str) -> RoundKind:
    """The kind of a round (or request, or a kind's name); an unknown name is refused with the names there are."""
    name = round_or_name if isinstance(round_or_name, str) else round_or_name.kind
    kind = KINDS.get(name)
    if kind is None:
        names = list(KINDS)
        raise RoundError(f"'{name}' is not a kind of round; use {', '.join(names[:-1])} or {names[-1]}")
    return kind


def describe(round_: Round) -> str:
    """One line on what a round is, as its kind says it: "topic event on SEL; assessment"."""
    return kind_of(round_).describe(round_)


def parse_topics(text: str | None) -> list[str]:
    """The topics of an event from "SEL; assessment; family communication" (semicolons or new lines)."""
    topics: list[str] = []
    for part in re.split(r"[;\n]", text or ""):
        topic = " ".join(part.split())
        if topic and topic.casefold() not in {t.casefold() for t in topics}:
            topics.append(topic)
    if not topics:
        raise RoundError('a topic event needs at least one topic, such as --topics "SEL; assessment; family communication"')
    if len(topics) > MAX_TOPICS:
        raise RoundError(f"a topic event offers at most {MAX_TOPICS} topics; this one lists {len(topics)}")
    long = [t for t in topics if len(t) > TOPIC_LENGTH]
    if long:
        raise RoundError(f"a topic is at most {TOPIC_LENGTH} characters; '{long[0][:40]}…' is longer")
    return topics


def speed_start(round_: Round, *, timezone_name: str) -> datetime:
    """When a speed event begins: the time it was created with, else 15:30 program time on its start date."""
    stored = (round_.settings or {}).get("starts_at")
    if stored:
        moment = datetime.fromisoformat(stored)
        return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone_name))
    day = round_.start_on or round_.created_at.date()
    return datetime.combine(day, time(15, 30), ZoneInfo(timezone_name))


def _check_sessions(kind: RoundKind, request: RoundRequest) -> None:
    if not 1 <= request.sessions <= 3:
        raise RoundError(f"{_a(kind.noun)} has 1, 2 or 3 sessions")


def _check_dates(request: RoundRequest, *, today: date) -> None:
    # A round matched on a date before it starts (micro-mentoring, speed): its dates in order, none already past.
    if request.starts_at is not None and request.starts_at.tzinfo is None:
        raise RoundError("the event time needs a time zone")
    if request.match_on and request.match_on < today:
        raise RoundError(f"the match date {request.match_on} is already past")
    if request.match_on and request.start_on and request.match_on > request.start_on:
        raise RoundError("the match date must come on or before the start date")
    if request.start_on and request.end_on and request.end_on < request.start_on:
        raise RoundError("the end date must come after the start date")


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _on(topic: str | None) -> str:
    return f" on {topic}" if topic else ""
