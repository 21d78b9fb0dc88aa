"""Frozen value types shared by the matching core and its callers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import chain
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Role = Literal["mentor", "mentee", "both"]
CrossSite = Literal["prefer", "avoid", "neutral"]

WEEK_MINUTES = 7 * 24 * 60
# Factors a participant may weight ("what matters to me").
WEIGHT_FACTORS = frozenset({"grade_band", "subject", "schedule", "needs", "cross_site"})
# Hard rules a round may relax (roster-format.md rules 3, 4 and 5).
RELAXABLE_RULES = frozenset({"grade_band", "subject", "availability", "strengths"})
# Hard rules a round may add on top of the defaults:
#   same_subject - both list subjects and share one (the default rule binds only when both list);
#   cross_site   - mentor and mentee are at different, known sites;
#   interest     - the mentor's position or site is among the mentee's interests (informational interviews).
ADDABLE_RULES = frozenset({"same_subject", "cross_site", "interest"})
DEFAULT_REFERENCE_DATE = date(2026, 1, 5)


def rule_names(values: Iterable[str], *, option: Literal["relax", "require"]) -> frozenset[str]:
    """Rule names as people type them (" Availability", "same-subject", "grade_band,subject") in the matcher's spelling.

    An unknown name is a ValueError whose message lists the rules `--relax` (or `--require`) takes.
    """
    known = RELAXABLE_RULES if option == "relax" else ADDABLE_RULES
    names = frozenset(
        "_".join(part.strip().lower().replace("-", "_").split()) for value in values for part in str(value).split(",") if part.strip()
    )
    unknown = sorted(names - known)
    if unknown:
        what = "a rule a round can relax" if option == "relax" else "a rule a round can add"
        raise ValueError(f"'{unknown[0]}' is not {what}; --{option} takes {', '.join(sorted(known))}")
    return names


def _frozenset_of_str(value: object, field: str) -> frozenset[str]:
    # A bare string would silently become a set of characters; refuse it.
    if isinstance(value, str):
        raise TypeError(f"{field} must be a collection of strings, not a string")
    return frozenset(value)  # type: ignore[arg-type]


def _tuple_of(value: object, field: str) -> tuple:
    if isinstance(value, str):
        raise TypeError(f"{field} must be a collection, not a string")
    return tuple(value)  # type: ignore[arg-type]


def _pairs(value: object, field: str) -> tuple:
    # Accept a mapping for convenience; store sorted pairs so equal inputs hash equally.
    if isinstance(value, Mapping):
        return tuple(sorted(value.items()))
    return _tuple_of(value, field)


@dataclass(frozen=True)
class WeeklyWindow:
    """A weekly time window in UTC, minutes from Monday 00:00 UTC."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end <= WEEK_MINUTES):
            raise ValueError(f"window must satisfy 0 <= start < end <= {WEEK_MINUTES}: {self}")


@dataclass(frozen=True)
class Participant:
    """One person in a round: a mentor, a mentee, or both."""

    key: str
    name: str
    role: Role
    site: str | None = None
    program: str | None = None
    grade_bands: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()
    strengths: frozenset[str] = frozenset()
    needs: tuple[str, ...] = ()
    availability: tuple[WeeklyWindow, ...] = ()
    timezone: str = "UTC"
    capacity: int = 1
    avoid: frozenset[str] = frozenset()
    weights: tuple[tuple[str, float], ...] = ()
    position: str | None = None          # job title or role at work, e.g. "instructional coach"
    interests: frozenset[str] = frozenset()  # positions or sites a mentee wants to learn about

    def __post_init__(self) -> None:
        # Runs once per person of a roster (75k at the largest): values that already have the
        # right type, the usual case, pass through without being copied.
        if not self.key:
            raise ValueError("participant key (email) must not be empty")
        if self.role not in _ROLES:
            raise ValueError(f"{self.key}: role must be mentor, mentee or both, not {self.role!r}")
        if not _known_zone(self.timezone):  # fail here, not later while phrasing reasons
            raise ValueError(f"{self.key}: unknown time zone {self.timezone!r}")
        # Callers often hold lists or sets; normalise so the dataclass stays hashable.
        for field in ("grade_bands", "subjects", "strengths", "avoid", "interests"):
            value = getattr(self, field)
            if type(value) is not frozenset:
                object.__setattr__(self, field, _frozenset_of_str(value, field))
        if type(self.needs) is not tuple:
            object.__setattr__(self, "needs", _tuple_of(self.needs, "needs"))
        if self.position is not None and not isinstance(self.position, str):
            raise TypeError(f"{self.key}: position must be text")
        if type(self.availability) is not tuple:
            object.__setattr__(self, "availability", _tuple_of(self.availability, "availability"))
        for window in self.availability:
            if type(window) is not WeeklyWindow and not isinstance(window, WeeklyWindow):
                raise TypeError(f"{self.key}: availability must hold WeeklyWindow values")
        if self.weights:
            weights = _pairs(self.weights, "weights")
            for factor, value in weights:
                if factor not in WEIGHT_FACTORS:
                    raise ValueError(f"{self.key}: unknown weight factor {factor!r}")
                if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1):
                    raise ValueError(f"{self.key}: weight for {factor!r} must be within 0..1")
            object.__setattr__(self, "weights", weights)
        elif type(self.weights) is not tuple:
            object.__setattr__(self, "weights", ())


_ROLES = frozenset(get_args(Role))
_PARTICIPANT_DEFAULTS = {
    "site": None, "program": None, "grade_bands": frozenset(), "subjects": frozenset(), "strengths": frozenset(),
    "needs": (), "availability": (), "timezone": "UTC", "capacity": 1, "avoid": frozenset(), "weights": (),
    "position": None, "interests": frozenset(),
}


def participants_from_columns(columns: dict[str, list]) -> list[Participant]:
    """Participants for a whole roster at once, from one list per field (all the same length).

    The checks Participant.__post_init__ makes per person are made here once per column or per
    distinct value (a roster repeats a few roles and time zones thousands of times), so each
    person is then built without them. Values must already have the field's type: frozensets for
    the sets, tuples for needs and of WeeklyWindow for availability, no weights.
    """
    count = len(columns["key"])
    unknown = set(columns) - set(_PARTICIPANT_DEFAULTS) - {"key", "name", "role"}
    if unknown:
        raise ValueError(f"unknown participant fields: {sorted(unknown)}")
    if any(len(values) != count for values in columns.values()):
        raise ValueError("every participant column must have one value per person")
    if "weights" in columns and any(columns["weights"]):
        raise ValueError("participants_from_columns takes no weights; build those participants one by one")
    # Set comprehensions over map() keep these checks at C speed: they run over every person.
    if not all(columns["key"]):
        raise ValueError("participant key (email) must not be empty")
    for role in set(columns["role"]) - _ROLES:
        raise ValueError(f"role must be mentor, mentee or both, not {role!r}")
    for zone in set(columns.get("timezone", ())):
        if not _known_zone(zone):
            raise ValueError(f"unknown time zone {zone!r}")
    for field in ("grade_bands", "subjects", "strengths", "avoid", "interests", "needs", "availability"):
        wanted = tuple if field in ("needs", "availability") else frozenset
        if not set(map(type, columns.get(field, ()))) <= {wanted}:
            raise TypeError(f"{field} must be given as {wanted.__name__} values")
    if not set(map(type, chain.from_iterable(columns.get("availability", ())))) <= {WeeklyWindow}:
        raise TypeError("availability must hold WeeklyWindow values")
    if not set(map(type, columns.get("position", ()))) <= {str, type(None)}:
        raise TypeError("position must be text")
    names = ["key", "name", "role", *(f for f in _PARTICIPANT_DEFAULTS if f in columns)]
    defaults = {f: v for f, v in _PARTICIPANT_DEFAULTS.items() if f not in columns}
    new = object.__new__
    out = []
    for values in zip(*(columns[f] for f in names)):
        # A frozen dataclass keeps its fields in __dict__; filling it directly skips the
        # per-field object.__setattr__ calls and the checks made above for the whole column.
        person = new(Participant)
        state = person.__dict__
        state.update(defaults)
        state.update(zip(names, values))
        out.append(person)
    return out


@lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class RoundSettings:
    """How a round matches: topic, session shape, cross-site preference, relaxed and added rules."""

    topic: str | None = None
    sessions: int = 1
    session_minutes: int = 30
    cross_site: CrossSite = "neutral"
    relax: frozenset[str] = frozenset()
    reference_date: date | None = None
    require: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not 1 <= self.sessions <= 3:
            raise ValueError("sessions must be 1, 2 or 3")
        if not 1 <= self.session_minutes <= 24 * 60:
            raise ValueError("session_minutes must be between 1 and 1440")
        if self.cross_site not in get_args(CrossSite):
            raise ValueError(f"cross_site must be prefer, avoid or neutral, not {self.cross_site!r}")
        relax = _frozenset_of_str(self.relax, "relax")
        unknown = relax - RELAXABLE_RULES
        if unknown:
            raise ValueError(f"cannot relax unknown rules: {sorted(unknown)}")
        object.__setattr__(self, "relax", relax)
        require = _frozenset_of_str(self.require, "require")
        unknown = require - ADDABLE_RULES
        if unknown:
            raise ValueError(f"cannot require unknown rules: {sorted(unknown)} (known: {sorted(ADDABLE_RULES)})")
        object.__setattr__(self, "require", require)

    @property
    def week_of(self) -> date:
        """The week used to phrase UTC windows in local time."""
        return self.reference_date or DEFAULT_REFERENCE_DATE


@dataclass(frozen=True)
class History:
    """What happened earlier this term: past pairs and recent mentor load."""

    past_pairs: frozenset[tuple[str, str]] = frozenset()
    recent_load: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "past_pairs", frozenset(tuple(p) for p in self.past_pairs))
        object.__setattr__(self, "recent_load", _pairs(self.recent_load, "recent_load"))


@dataclass(frozen=True)
class ScorePart:
    """Points one factor contributed to a pair's fit."""

    factor: str
    points: float


@dataclass(frozen=True)
class Pair:
    """A mentor-mentee pairing with its score, breakdown and plain-language reasons."""

    mentor: str
    mentee: str
    score: float
    breakdown: tuple[ScorePart, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Unmatched:
    """A mentee left without a mentor and why."""

    key: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class SolveReport:
    """How a result was solved: the method, its status and time, and for CP-SAT the bound and gap."""

    method: str                          # "min-cost flow" or "CP-SAT"
    status: str                          # "optimal" or "feasible" (stopped at the time limit)
    seconds: float                       # time in the solver itself
    objective: float | None = None       # CP-SAT: fit minus load minus the price of any shortfall below a floor
    bound: float | None = None           # CP-SAT: the best bound proven
    gap: float = 0.0                     # (bound - objective) / |objective|; 0 when proven optimal
    warm_start_score: float | None = None  # CP-SAT: total score of the flow solution it started from
    notes: tuple[str, ...] = ()          # plain-language notes: adjusted quotas, unmet floors


@dataclass(frozen=True)
class Group:
    """One small-group session: a mentor and the mentees who meet together, and when."""

    mentor: str
    number: int                          # which of the mentor's groups, from 1
    mentees: tuple[str, ...]
    time: str                            # the common session time, phrased for the mentor
    starts_at: int | None = None         # UTC minutes from Monday 00:00; None when the group picks its time


@dataclass(frozen=True)
class MatchResult:
    """The outcome of one matching round; solve_seconds is the wall time of match_round."""

    pairs: tuple[Pair, ...]
    unmatched: tuple[Unmatched, ...]
    total_score: float
    solve_seconds: float
    candidate_edges: int
    solver: SolveReport | None = None
    groups: tuple[Group, ...] = ()       # small-group rounds only
