"""Equity and pool-health reports.

For a result: match rate and mean fit per site and per mentee program, and how load spreads over
mentors. For a pool (before a round): per minimal-match area (grade band, subject, topic), how many
mentors with capacity there are for its mentees, flagged under 1.5 per mentee, and a forecast of
who would go unmatched if the round ran now, to guide recruiting.

"Fit" here is a pair's points before load (the breakdown without its load part): how well the
pair suits the mentee, which is what equity across sites and programs is about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .eligibility import Profile
from .explain import natural_key
from .match import match_round
from .model import History, MatchResult, Participant, RoundSettings, Unmatched

NONE_LISTED = "(none)"
HEALTHY_RATIO = 1.5


@dataclass(frozen=True)
class GroupStats:
    """How one site's or program's mentees fared."""

    name: str
    mentees: int
    matched: int
    match_rate: float
    mean_fit: float | None      # None when nobody in the group was matched


@dataclass(frozen=True)
class LoadCount:
    """How many mentors got this many mentees."""

    mentees: int
    mentors: int


@dataclass(frozen=True)
class ResultReport:
    """Equity of one result: overall, per site, per mentee program, and mentor load."""

    mentees: int
    matched: int
    match_rate: float
    mean_fit: float | None
    by_site: tuple[GroupStats, ...]
    by_program: tuple[GroupStats, ...]
    mentor_load: tuple[LoadCount, ...]     # from 0 mentees up to the most any mentor got
    seats: int                              # total capacity of mentors with capacity
    seats_used: int


@dataclass(frozen=True)
class AreaHealth:
    """Supply and demand in one minimal-match area, e.g. grade band 6-8 or topic 'SEL'."""

    rule: str                   # "grade band", "subject" or "topic"
    area: str
    mentors: int                # mentors with capacity who can serve it
    seats: int                  # their capacity summed
    mentees: int                # mentees who need it
    ratio: float | None         # mentors : mentees; None when no mentee needs it
    flagged: bool               # ratio under the healthy level
    forecast_unmatched: int     # of its mentees, how many the forecast leaves unmatched


@dataclass(frozen=True)
class PoolHealth:
    """Health of a pool per area, and a forecast of who would go unmatched if a round ran now."""

    mentors: int
    seats: int
    mentees: int
    areas: tuple[AreaHealth, ...]
    forecast: tuple[Unmatched, ...]
    healthy_ratio: float


def _fit_points(pair) -> float:
    return sum(part.points for part in pair.breakdown if part.factor != "load")


def _label(value: str | None) -> str:
    return value.strip() if value and value.strip() else NONE_LISTED


def _group_stats(groups: dict[str, list[str]], matched_fit: dict[str, float]) -> tuple[GroupStats, ...]:
    out = []
    for name, keys in groups.items():
        fits = [matched_fit[k] for k in keys if k in matched_fit]
        out.append(GroupStats(
            name=name,
            mentees=len(keys),
            matched=len(fits),
            match_rate=len(fits) / len(keys),
            mean_fit=sum(fits) / len(fits) if fits else None,
        ))
    # Worst first: that is what an equity report is read for.
    return tuple(sorted(out, key=lambda g: (g.match_rate, g.mean_fit if g.mean_fit is not None else -1.0, natural_key(g.name))))


def _by_case(values: list[tuple[str, str]]) -> dict[str, list[str]]:
    # Group case-insensitively, showing the first spelling met in key order.
    shown: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for label, key in sorted(values, key=lambda v: v[1].casefold()):
        folded = label.casefold()
        groups.setdefault(shown.setdefault(folded, label), []).append(key)
    return groups


def result_report(result: MatchResult, participants: Sequence[Participant]) -> ResultReport:
    """Match rate and mean fit per site and per mentee program, and the mentor load distribution."""
    mentees = [p for p in participants if p.role in ("mentee", "both")]
    mentors = [p for p in participants if p.role in ("mentor", "both") and p.capacity > 0]
    matched_fit = {pair.mentee.casefold(): _fit_points(pair) for pair in result.pairs}
    keys = [(p, p.key.casefold()) for p in mentees]
    by_site = _by_case([(_label(p.site), key) for p, key in keys])
    by_program = _by_case([(_label(p.program), key) for p, key in keys])
    load: dict[str, int] = {}
    for pair in result.pairs:
        load[pair.mentor.casefold()] = load.get(pair.mentor.casefold(), 0) + 1
    counts = [load.get(m.key.casefold(), 0) for m in mentors]
    most = max(counts, default=0)
    fits = list(matched_fit.values())
    return ResultReport(
        mentees=len(mentees),
        matched=len(matched_fit),
        match_rate=len(matched_fit) / len(mentees) if mentees else 0.0,
        mean_fit=sum(fits) / len(fits) if fits else None,
        by_site=_group_stats(by_site, matched_fit),
        by_program=_group_stats(by_program, matched_fit),
        mentor_load=tuple(LoadCount(n, counts.count(n)) for n in range(most + 1)),
        seats=sum(m.capacity for m in mentors),
        seats_used=len(result.pairs),
    )


def pool_health(
    participants: Sequence[Participant],
    settings: RoundSettings,
    history: History = History(),
    healthy_ratio: float = HEALTHY_RATIO,
) -> PoolHealth:
    """Mentors with capacity per mentee in every minimal-match area (flagged under `healthy_ratio`),
    and who a round run now would leave unmatched, and why."""
    profiles = [Profile(p) for p in participants]
    mentors = [p for p in profiles if p.is_mentor and p.person.capacity > 0]
    mentees = [p for p in profiles if p.is_mentee]
    forecast = match_round(participants, settings, history).unmatched
    left = {u.key.casefold() for u in forecast}

    areas: list[AreaHealth] = []

    def add(rule: str, area: str, serving: list[Profile], needing: list[Profile]) -> None:
        ratio = len(serving) / len(needing) if needing else None
        areas.append(AreaHealth(
            rule=rule, area=area, mentors=len(serving), seats=sum(m.person.capacity for m in serving),
            mentees=len(needing), ratio=ratio, flagged=ratio is not None and ratio < healthy_ratio,
            forecast_unmatched=sum(1 for e in needing if e.key in left),
        ))

    # Rule 3: a mentor who lists no grade band (or subject) can serve any.
    for rule, field in (("grade band", "bands"), ("subject", "subjects")):
        relaxed = ("grade_band" if field == "bands" else "subject") in settings.relax
        if relaxed:
            continue
        shown: dict[str, str] = {}
        for e in sorted(mentees, key=lambda p: p.key):
            for folded, text in getattr(e, field).items():
                shown.setdefault(folded, text)
        for folded, text in sorted(shown.items(), key=lambda kv: natural_key(kv[1])):
            needing = [e for e in mentees if folded in getattr(e, field)]
            serving = [m for m in mentors if not getattr(m, field) or folded in getattr(m, field)]
            add(rule, text, serving, needing)
    # Rule 5: the round topic, or each need.
    if "strengths" not in settings.relax:
        if settings.topic:
            topic = settings.topic.casefold()
            add("topic", settings.topic, [m for m in mentors if topic in m.strengths], mentees)
        else:
            shown = {}
            for e in sorted(mentees, key=lambda p: p.key):
                for folded, text in e.needs:
                    shown.setdefault(folded, text)
            for folded, text in sorted(shown.items(), key=lambda kv: kv[1].casefold()):
                needing = [e for e in mentees if any(folded == n for n, _ in e.needs)]
                add("topic", text, [m for m in mentors if folded in m.strengths], needing)
    return PoolHealth(
        mentors=len(mentors),
        seats=sum(m.person.capacity for m in mentors),
        mentees=len(mentees),
        areas=tuple(areas),
        forecast=forecast,
        healthy_ratio=healthy_ratio,
    )
