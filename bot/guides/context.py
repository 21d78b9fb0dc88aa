"""What a guide is rendered from: one frozen `GuideContext` per pairing (or speed rotation) and reader.

The context holds plain values only (names, topics, aware datetimes, a time zone name), so the rounds
code builds it from storage and the guides never touch the database. `template_variables` turns it into
the names the templates see; times are phrased here, in the reader's time zone, not in the templates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

GuideKind = Literal["one_to_one", "small_group", "speed"]

GUIDE_TEMPLATES: Mapping[int, str] = {1: "one_session.html", 2: "two_sessions.html", 3: "three_sessions.html"}
SPEED_TEMPLATE = "speed_card.html"
BASE_TEMPLATES = ("guide.html", "_macros.html")
GUIDE_NAMES = (*GUIDE_TEMPLATES.values(), SPEED_TEMPLATE)
SHIPPED_TEMPLATES = (*GUIDE_NAMES, *BASE_TEMPLATES)

DEFAULT_CONFIDENTIALITY = (
    "What you talk about stays between the people in the conversation. Mentoring is not evaluation: "
    "nothing said here goes to a principal or into anyone's evaluation. The program only hears whether you "
    "met and what you tell us in the short survey at the end. One exception: if a student's safety is at "
    "risk, or the law or district policy asks for a report, that duty still comes first."
)


def _strings(value: object, field_name: str) -> tuple[str, ...]:
    # A bare string would become a tuple of characters; refuse it like the matching core does.
    if isinstance(value, str):
        raise TypeError(f"{field_name} must be a collection of strings, not a string")
    items = tuple(value)  # type: ignore[arg-type]
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{field_name} must hold strings, not {type(item).__name__}")
    return tuple(item.strip() for item in items if item.strip())


def _aware(value: datetime, field_name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field_name} must be an aware datetime")
    return value


@dataclass(frozen=True)
class Mentor:
    """The mentor (or the coach of a small group) and what they offer."""

    name: str
    offers: tuple[str, ...] = ()
    site: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise ValueError("mentor name must not be empty")
        object.__setattr__(self, "offers", _strings(self.offers, "offers"))


@dataclass(frozen=True)
class Mentee:
    """One mentee and what they asked for."""

    name: str
    asked_for: tuple[str, ...] = ()
    site: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise ValueError("mentee name must not be empty")
        object.__setattr__(self, "asked_for", _strings(self.asked_for, "asked_for"))


@dataclass(frozen=True)
class SessionTime:
    """A proposed meeting: session number and aware start and end."""

    number: int
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 3:
            raise ValueError("session number must be 1, 2 or 3")
        _aware(self.starts_at, "starts_at")
        _aware(self.ends_at, "ends_at")
        if self.ends_at <= self.starts_at:
            raise ValueError("a session must end after it starts")


@dataclass(frozen=True)
class GuideContext:
    """Everything one guide needs, for one reader.

    `kind` is one_to_one, small_group (one mentor, several mentees) or speed (one rotation of a speed
    event; `rotation`, `rotation_minutes` and `rotation_starts_at` are then required). `times` are the
    proposed sessions as aware datetimes; they are shown in `timezone`, the reader's IANA zone.
    `guide_url` is the printable page; Slack links to it when a guide is too long to show whole.
    """

    program_name: str
    mentor: Mentor
    mentees: tuple[Mentee, ...]
    topic: str | None = None
    sessions: int = 1
    kind: GuideKind = "one_to_one"
    reasons: tuple[str, ...] = ()
    times: tuple[SessionTime, ...] = ()
    timezone: str = "UTC"
    session_minutes: int = 30
    confidentiality: str = DEFAULT_CONFIDENTIALITY
    custom_message: str | None = None
    guide_url: str | None = None
    rotation: int | None = None
    rotation_minutes: int | None = None
    rotation_starts_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.program_name or not self.program_name.strip():
            raise ValueError("program_name must not be empty")
        if not 1 <= self.sessions <= 3:
            raise ValueError("sessions must be 1, 2 or 3")
        if self.kind not in get_args(GuideKind):
            raise ValueError(f"kind must be one_to_one, small_group or speed, not {self.kind!r}")
        if isinstance(self.mentees, Mentee):
            object.__setattr__(self, "mentees", (self.mentees,))
        object.__setattr__(self, "mentees", tuple(self.mentees))
        if not self.mentees:
            raise ValueError("a guide needs at least one mentee")
        if self.kind != "small_group" and len(self.mentees) != 1:
            raise ValueError(f"a {self.kind} guide has exactly one mentee; use kind='small_group' for several")
        object.__setattr__(self, "reasons", _strings(self.reasons, "reasons"))
        times = tuple(sorted(self.times, key=lambda t: t.number))
        if len({t.number for t in times}) != len(times):
            raise ValueError("each session number may have one proposed time")
        if any(t.number > self.sessions for t in times):
            raise ValueError(f"a time is proposed for a session beyond the round's {self.sessions}")
        object.__setattr__(self, "times", times)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        if not 5 <= self.session_minutes <= 240:
            raise ValueError("session_minutes must be between 5 and 240")
        if self.kind == "speed":
            if self.rotation is None or self.rotation < 1:
                raise ValueError("a speed card needs its rotation number (1 or more)")
            if self.rotation_minutes is None or not 1 <= self.rotation_minutes <= 120:
                raise ValueError("a speed card needs rotation_minutes between 1 and 120")
            if self.rotation_starts_at is None:
                raise ValueError("a speed card needs rotation_starts_at")
            _aware(self.rotation_starts_at, "rotation_starts_at")
        if self.guide_url is not None and not self.guide_url.startswith(("https://", "http://")):
            raise ValueError("guide_url must be an http(s) address")

    @property
    def template_name(self) -> str:
        """The shipped guide this context renders with."""
        return pick_guide(round_kind="speed" if self.kind == "speed" else "micro", sessions=self.sessions)


def pick_guide(*, round_kind: str, sessions: int = 1) -> str:
    """The guide template for a round: its kind (micro | speed) and number of sessions (1..3)."""
    if round_kind == "speed":
        return SPEED_TEMPLATE
    if round_kind != "micro":
        raise ValueError(f"round kind must be micro or speed, not {round_kind!r}")
    if sessions not in GUIDE_TEMPLATES:
        raise ValueError("sessions must be 1, 2 or 3")
    return GUIDE_TEMPLATES[sessions]


def guide_kind(*, round_kind: str, mentees_in_group: int = 1) -> GuideKind:
    """one_to_one, small_group or speed, from the round's kind and how many mentees share a mentor."""
    if round_kind == "speed":
        return "speed"
    return "small_group" if mentees_in_group > 1 else "one_to_one"


# --- phrasing times -------------------------------------------------------------------------------


def _clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _day(moment: datetime) -> str:
    return f"{moment:%a}, {moment:%b} {moment.day}, {moment.year}"


def _zone_label(moment: datetime, zone: str) -> str:
    name = moment.tzname() or zone
    # Zones without a letter abbreviation report "+03"; the IANA name reads better then.
    return zone.replace("_", " ") if name[:1] in "+-" else name


def format_span(starts_at: datetime, ends_at: datetime, zone: str) -> str:
    """`Tue, Feb 3, 2026, 3:30–4:00 PM PST` in `zone`."""
    tz = ZoneInfo(zone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    start_zone, end_zone = _zone_label(start, zone), _zone_label(end, zone)
    if start.date() != end.date():
        return f"{_day(start)}, {_clock(start)} {start_zone} – {_day(end)}, {_clock(end)} {end_zone}"
    if start_zone != end_zone:
        return f"{_day(start)}, {_clock(start)} {start_zone} – {_clock(end)} {end_zone}"
    start_clock = _clock(start)
    if (start.hour < 12) == (end.hour < 12):
        start_clock = start_clock[:-3]  # 3:30–4:00 PM, not 3:30 PM–4:00 PM
    return f"{_day(start)}, {start_clock}–{_clock(end)} {end_zone}"


def format_moment(moment: datetime, zone: str) -> str:
    """`Tue, Feb 3, 2026, 3:30 PM PST` in `zone`."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{_day(local)}, {_clock(local)} {_zone_label(local, zone)}"


# --- what the templates see -----------------------------------------------------------------------


@dataclass(frozen=True)
class PersonView:
    """A person as the templates see them."""

    name: str
    site: str
    wants: tuple[str, ...]  # mentor: what they offer; mentee: what they asked for


@dataclass(frozen=True)
class TimeView:
    number: int
    label: str


@dataclass(frozen=True)
class SpeedView:
    rotation: int
    minutes: int
    starts: str
    ends: str


def split_minutes(total: int, weights: Iterable[float]) -> list[int]:
    """Split `total` minutes by `weights` into whole minutes that add up to `total` (each at least 1)."""
    shares = [float(w) for w in weights]
    if not shares or any(w <= 0 for w in shares):
        raise ValueError("weights must be positive")
    total = int(total)
    if total < len(shares):
        raise ValueError("not enough minutes for every item")
    whole = sum(shares)
    exact = [total * w / whole for w in shares]
    minutes = [max(1, int(x)) for x in exact]
    # Largest remainder first, then take back from the largest items if the floor of 1 overshot.
    order = sorted(range(len(shares)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    i = 0
    while sum(minutes) < total:
        minutes[order[i % len(order)]] += 1
        i += 1
    while sum(minutes) > total:
        biggest = max(range(len(minutes)), key=lambda k: minutes[k])
        minutes[biggest] -= 1
    return minutes


def and_list(items: Iterable[Any], conjunction: str = "and") -> str:
    """`a`, `a and b`, `a, b and c`."""
    words = [str(item) for item in items if str(item).strip()]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def template_variables(ctx: GuideContext) -> dict[str, Any]:
    """The names every guide template may use (and the only ones `validate_override` accepts)."""
    mentees = tuple(PersonView(m.name.strip(), (m.site or "").strip(), m.asked_for) for m in ctx.mentees)
    mentor = PersonView(ctx.mentor.name.strip(), (ctx.mentor.site or "").strip(), ctx.mentor.offers)
    first_ask = next((ask for m in ctx.mentees for ask in m.asked_for), "")
    topic = (ctx.topic or "").strip()
    by_number = {t.number: format_span(t.starts_at, t.ends_at, ctx.timezone) for t in ctx.times}
    session_when = [by_number.get(n, "to be agreed") for n in range(1, ctx.sessions + 1)]
    speed = None
    if ctx.kind == "speed":
        assert ctx.rotation is not None and ctx.rotation_minutes is not None and ctx.rotation_starts_at is not None
        ends = ctx.rotation_starts_at + timedelta(minutes=ctx.rotation_minutes)
        speed = SpeedView(
            rotation=ctx.rotation,
            minutes=ctx.rotation_minutes,
            starts=format_moment(ctx.rotation_starts_at, ctx.timezone),
            ends=format_moment(ends, ctx.timezone).split(", ")[-1],
        )
    paragraphs = [p.strip() for p in (ctx.custom_message or "").replace("\r\n", "\n").split("\n\n") if p.strip()]
    return {
        "program": ctx.program_name.strip(),
        "topic": topic,
        "focus": topic or first_ask or "the focus you choose together",
        "sessions": ctx.sessions,
        "kind": ctx.kind,
        "small_group": ctx.kind == "small_group",
        "mentor": mentor,
        "mentees": mentees,
        "mentee": mentees[0],
        "mentee_names": and_list(m.name for m in mentees),
        "reasons": ctx.reasons,
        "times": tuple(TimeView(n, label) for n, label in sorted(by_number.items())),
        "session_when": session_when,
        "timezone": ctx.timezone,
        "session_minutes": ctx.session_minutes,
        "confidentiality": ctx.confidentiality.strip() or DEFAULT_CONFIDENTIALITY,
        "custom_message": [" ".join(p.split()) for p in paragraphs],
        "guide_url": ctx.guide_url or "",
        "speed": speed,
    }


TEMPLATE_VARIABLES = frozenset(
    {
        "program", "topic", "focus", "sessions", "kind", "small_group", "mentor", "mentees", "mentee",
        "mentee_names", "reasons", "times", "session_when", "timezone", "session_minutes",
        "confidentiality", "custom_message", "guide_url", "speed",
    }
)  # fmt: skip


def sample_contexts() -> list[GuideContext]:
    """A context for every guide shape, with and without the optional parts; used to check overrides."""
    start = datetime(2027, 2, 2, 23, 30, tzinfo=timezone.utc)
    mentor = Mentor("Ana Chen", offers=("classroom management", "family engagement"), site="Lincoln Elementary")
    one = (Mentee("Ben Ortiz", asked_for=("classroom management",), site="Rosa Parks Middle"),)
    group = (*one, Mentee("Cara Diaz", asked_for=("lesson planning",)), Mentee("Dev Patel"))
    contexts: list[GuideContext] = []
    for sessions in (1, 2, 3):
        times = tuple(
            SessionTime(n, start + timedelta(days=7 * (n - 1)), start + timedelta(days=7 * (n - 1), minutes=30))
            for n in range(1, sessions + 1)
        )
        for kind, mentees in (("one_to_one", one), ("small_group", group)):
            contexts.append(
                GuideContext(
                    program_name="District Mentoring",
                    mentor=mentor,
                    mentees=mentees,
                    topic="classroom management",
                    sessions=sessions,
                    kind=kind,  # type: ignore[arg-type]
                    reasons=("You both teach grades 6-8.", "Ana's strengths meet Ben's first need."),
                    times=times,
                    timezone="America/Los_Angeles",
                    custom_message="Welcome to the spring round!\n\nReply to this message with any question.",
                    guide_url="https://mentoring.example/guides/pairing/1",
                )
            )
            contexts.append(
                GuideContext(
                    program_name="District Mentoring",
                    mentor=Mentor("Ana Chen"),
                    mentees=tuple(Mentee(m.name) for m in mentees),
                    sessions=sessions,
                    kind=kind,  # type: ignore[arg-type]
                )
            )
    for custom, url in ((None, None), ("Find your next table when the chime sounds.", "https://mentoring.example/g/2")):
        contexts.append(
            GuideContext(
                program_name="District Mentoring",
                mentor=mentor,
                mentees=one,
                topic="family engagement" if url else None,
                kind="speed",
                reasons=("Ana's strengths meet Ben's first need.",) if url else (),
                timezone="America/New_York",
                custom_message=custom,
                guide_url=url,
                rotation=2,
                rotation_minutes=8,
                rotation_starts_at=start,
            )
        )
    return contexts


__all__ = [
    "DEFAULT_CONFIDENTIALITY",
    "GUIDE_NAMES",
    "GuideContext",
    "GuideKind",
    "Mentee",
    "Mentor",
    "SHIPPED_TEMPLATES",
    "SessionTime",
    "TEMPLATE_VARIABLES",
    "and_list",
    "format_moment",
    "format_span",
    "guide_kind",
    "pick_guide",
    "sample_contexts",
    "split_minutes",
    "template_variables",
]
