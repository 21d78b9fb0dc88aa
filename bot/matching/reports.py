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
from dataclasses import asdict, dataclass, fields, replace

from .candidates import RULE_ORDER, MentorIndex
from .eligibility import HistoryIndex, Profile
from .explain import natural_key
from .graph import profiles_of
from .match import match_round
from .model import RELAXABLE_RULES, History, MatchResult, Participant, RoundSettings, Unmatched

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
    flagged: bool               # ratio under the healthy level (thin, but not necessarily short)
    forecast_unmatched: int     # of its mentees, how many the forecast leaves unmatched
    short: bool = False         # fewer places than mentees, or no mentor at all: where recruiting would help


@dataclass(frozen=True)
class PoolHealth:
    """Health of a pool per area, and a forecast of who would go unmatched if a round ran now."""

    mentors: int
    seats: int
    mentees: int
    areas: tuple[AreaHealth, ...]
    forecast: tuple[Unmatched, ...]
    healthy_ratio: float
    lead: MatchLead | None = None   # the forecast's lead: what binds, and what relaxing it would gain

    @property
    def short_areas(self) -> tuple[AreaHealth, ...]:
        """The areas short of places (or without any mentor), most mentees left unmatched first."""
        return tuple(sorted((a for a in self.areas if a.short), key=lambda a: (-a.forecast_unmatched, a.seats - a.mentees)))

    def advice(self) -> str:
        """Where recruiting would help (areas short of places), else what really holds the forecast back."""
        short = self.short_areas
        parts = []
        if short:
            shown = [
                f"{a.rule} {a.area} ({'no mentor' if a.mentors == 0 else _plural(a.seats, 'place')} for {_plural(a.mentees, 'mentee')})"
                for a in short[:5]
            ]
            more = f" and {len(short) - 5} more" if len(short) > 5 else ""
            parts.append(f"Recruit mentors for {', '.join(shown)}{more}: there are fewer places than mentees.")
        elif self.mentees:
            parts.append("No grade band, subject or topic is short of places.")
        binding = self.lead.binding_sentence() if self.lead is not None else ""
        if binding:
            parts.append(f"What holds the forecast back: {binding}")
        elif not short and self.forecast and self.lead is not None and self.lead.crowded_out:
            parts.append(f"{self.lead.crowded_out} would-be unmatched had eligible mentors whose seats went to others.")
        return " ".join(parts)


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
    forecast_result = match_round(participants, settings, history)
    forecast = forecast_result.unmatched
    left = {u.key.casefold() for u in forecast}

    areas: list[AreaHealth] = []

    def add(rule: str, area: str, serving: list[Profile], needing: list[Profile]) -> None:
        ratio = len(serving) / len(needing) if needing else None
        seats = sum(m.person.capacity for m in serving)
        areas.append(AreaHealth(
            rule=rule, area=area, mentors=len(serving), seats=seats,
            mentees=len(needing), ratio=ratio, flagged=ratio is not None and ratio < healthy_ratio,
            forecast_unmatched=sum(1 for e in needing if e.key in left), short=bool(needing) and seats < len(needing),
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
        lead=match_lead(participants, settings, forecast_result, history) if forecast else None,
    )


# --- the lead paragraph of a match result ---------------------------------------------------------

# How the lead names a rule that keeps unmatched mentees from mentors who otherwise fit (a plural
# verb phrase: "22 of 30 unmatched share no ..."), and what relaxing or dropping it is called.
_RELAXING = {
    "grade_band": "relaxing the grade band rule",
    "subject": "relaxing the subject rule",
    "strengths": "relaxing the strengths rule",
    "availability": "relaxing availability",
    "interest": "dropping the interest rule",
    "cross_site": "dropping the cross-site rule",
    "same_subject": "dropping the shared-subject rule",
}
NO_SEAT = "found no mentor with a seat left"
# Without --all a result shows this many pairs; the lead and the unmatched by cause say the rest.
SHOWN_PAIRS = 20
# A cause names this many of its mentees, then "and N more".
NAMES_PER_CAUSE = 4
CROWDED_OUT = "had eligible mentors, but their seats went to other mentees"
SEVERAL_RULES = "are ruled out by several rules at once (relaxing any one alone finds them no mentor)"


def _rule_phrase(rule: str, settings: RoundSettings) -> str:
    """What a rule that alone keeps mentees from every mentor who otherwise fits does, as a plural verb phrase."""
    if rule == "availability":
        return f"share no {settings.session_minutes}-minute window with any mentor who otherwise fits"
    if rule == "grade_band":
        return "share no grade band with any mentor who otherwise fits"
    if rule == "subject":
        return "share no subject with any mentor who otherwise fits"
    if rule == "strengths":
        if settings.topic:
            return f"find no mentor who otherwise fits and lists the round topic '{settings.topic}'"
        return "find no mentor who otherwise fits and has a strength that meets their needs"
    if rule == "interest":
        return "find no mentor who otherwise fits in a role or at a site they want to learn about"
    if rule == "cross_site":
        return "find no mentor who otherwise fits at another site"
    if rule == "same_subject":
        return "find no mentor who otherwise fits and lists a subject they list"
    return "are kept from every mentor who otherwise fits by avoid lists or earlier pairings"


def names_and_more(names: Sequence[str], shown: int = NAMES_PER_CAUSE) -> str:
    """The first few names, then how many more: "Ana Usman, Ben Morales and 12 more"."""
    names = list(names)
    if len(names) > shown:
        return f"{', '.join(names[:shown])} and {len(names) - shown} more"
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _more(count: int) -> str:
    return "no more" if count == 0 else f"{count} more"


@dataclass(frozen=True)
class CauseGroup:
    """Unmatched mentees who share one cause, in plain words ("share no 30-minute window with ...")."""

    cause: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class MatchLead:
    """The one paragraph a match result leads with: matched and seats, the rule that binds most and what
    relaxing it would gain, what approving the waiting mentors would gain, and the unmatched grouped by cause.

    Plain values only, so a stored copy (`as_dict`, `from_dict`) renders the same later.
    """

    mentees: int
    matched: int
    mentors: int
    seats: int
    binding_rule: str | None = None     # the rule that alone keeps the most unmatched from a mentor who otherwise fits
    binding_count: int = 0              # how many unmatched it keeps so
    binding_phrase: str = ""
    binding_gain: int = 0               # how many more a match with that rule relaxed (or dropped) places
    crowded_out: int = 0                # unmatched who had eligible mentors whose seats went to others
    awaiting: int = 0                   # mentors awaiting their principal's approval
    awaiting_gain: int = 0              # how many more a match with them approved places
    groups: tuple[CauseGroup, ...] = ()

    @property
    def unmatched(self) -> int:
        return self.mentees - self.matched

    def paragraph(self, command: str = "mentorbot") -> str:
        """The lead in words; `command` starts the commands it suggests ("mentorbot", "/mentoring")."""
        if self.mentees == 0:
            text = "No mentees are taking part in this round."
        elif self.seats == 0:
            text = f"Matched 0 of {_plural(self.mentees, 'mentee')}: no mentor has a seat this round."
        elif self.unmatched == 0:
            text = (f"Matched all {_plural(self.mentees, 'mentee')}, using {self.matched} of {_plural(self.seats, 'seat')} "
                    f"of {_plural(self.mentors, 'mentor')}.")
        else:
            text = (f"Matched {self.matched} of {_plural(self.mentees, 'mentee')}, using {self.matched} of "
                    f"{_plural(self.seats, 'seat')} of {_plural(self.mentors, 'mentor')}; {self.unmatched} unmatched.")
        sentences = [text]
        if self.binding_rule is not None and self.matched < self.seats:  # with every seat taken, seats bind, not a rule
            sentences.append(self.binding_sentence())
        if self.crowded_out and self.matched < self.seats:  # with every seat taken, the seats sentence says it
            sentences.append(
                f"{self.crowded_out} of {self.unmatched} unmatched had eligible mentors whose seats went to others: "
                "more mentors, or more capacity, would place them."
            )
        if self.awaiting:
            they = "it" if self.awaiting == 1 else "them"
            sentences.append(
                f"{_plural(self.awaiting, 'mentor')} {'awaits' if self.awaiting == 1 else 'await'} their principal's approval; "
                f"approving {they} would match {_more(self.awaiting_gain)} (`{command} term approve --all`), "
                f"or turn approval off for later terms (`{command} program set require_approval off`)."
            )
        elif self.unmatched and self.seats < self.mentees and self.seats:
            sentences.append(
                f"There are {_plural(self.seats, 'seat')} for {_plural(self.mentees, 'mentee')}: "
                f"only recruiting mentors (or more capacity) can place the other {self.mentees - self.seats}."
            )
        return " ".join(sentences)

    def binding_sentence(self) -> str:
        """The rule that binds most and what relaxing it would gain, or "" when no single rule binds."""
        if self.binding_rule is None:
            return ""
        if self.binding_gain == 0:  # the rule binds, yet dropping it alone places nobody: something else binds them too
            return (f"{self.binding_count} of {self.unmatched} unmatched {self.binding_phrase}, "
                    f"though {_RELAXING[self.binding_rule]} alone would place none of them.")
        return (f"{self.binding_count} of {self.unmatched} unmatched {self.binding_phrase}; "
                f"{_RELAXING[self.binding_rule]} would match {_more(self.binding_gain)}.")

    def as_dict(self) -> dict:
        """Plain JSON-ready values, for storing with a round."""
        data = asdict(self)
        data["groups"] = [{"cause": g.cause, "keys": list(g.keys)} for g in self.groups]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> MatchLead:
        """A lead stored by `as_dict`."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["groups"] = tuple(CauseGroup(g["cause"], tuple(g["keys"])) for g in data.get("groups") or ())
        return cls(**values)


def match_lead(
    participants: Sequence[Participant],
    settings: RoundSettings,
    result: MatchResult,
    history: History = History(),
    awaiting: Sequence[Participant] = (),
) -> MatchLead:
    """The lead of a match result: the rule that binds most in aggregate, with its counterfactual (the matcher run
    again with that rule relaxed), and what approving the `awaiting` mentors (given as if approved) would gain.

    Costs one candidate-index build and at most two more runs of the matcher.
    """
    profiles = profiles_of(participants)
    mentors = [p for p in profiles if p.is_mentor and p.person.capacity > 0]
    mentees = {p.person.key: p for p in profiles if p.is_mentee}
    index = MentorIndex(mentors, settings, HistoryIndex(history))
    matched = len({pair.mentee for pair in result.pairs})
    # Which rules can give way: those the round has not relaxed, and those it added.
    movable = [r for r in RULE_ORDER if (r in RELAXABLE_RULES and r not in settings.relax) or r in settings.require]
    binds: dict[str, list[str]] = {rule: [] for rule in movable}
    kept_by: dict[str, dict[str, int]] = {}
    no_seat: list[str] = []
    crowded: list[str] = []
    own_time: list[str] = []
    several: list[str] = []
    length = settings.session_minutes
    for entry in result.unmatched:
        mentee = mentees.get(entry.key)
        if mentee is None:
            continue
        others = index.others(mentee)
        if not others:
            no_seat.append(entry.key)
            continue
        if index.candidates(mentee):
            crowded.append(entry.key)
            continue
        if "availability" not in settings.relax and not mentee.any_time and not mentee.starts(length):
            own_time.append(entry.key)  # their own windows are too short: no mentor is to blame
            continue
        masks = index.rule_masks(mentee)
        counts = {}
        for rule in movable:
            mask = others
            for other, other_mask in masks.items():
                if other != rule:
                    mask &= other_mask
            if mask:
                counts[rule] = mask.bit_count()
                binds[rule].append(entry.key)
        kept_by[entry.key] = counts
    binding = max(movable, key=lambda r: len(binds[r]), default=None)
    if binding is not None and not binds[binding]:
        binding = None
    gain = 0
    if binding is not None and matched < sum(m.person.capacity for m in mentors):  # no seat left: nothing to gain
        relaxed = (replace(settings, relax=settings.relax | {binding}) if binding in RELAXABLE_RULES
                   else replace(settings, require=settings.require - {binding}))
        gain = max(0, len(match_round(participants, relaxed, history).pairs) - matched)
    awaiting_gain = 0
    if awaiting:
        waiting = {p.key for p in awaiting}
        pool = [p for p in participants if p.key not in waiting] + list(awaiting)
        awaiting_gain = max(0, len(match_round(pool, settings, history).pairs) - matched)
    # Each unmatched mentee in one group: the binding rule first, else the rule that alone frees the most mentors.
    by_cause: dict[str, list[str]] = {}
    for key, counts in kept_by.items():
        if not counts:
            several.append(key)
            continue
        rule = binding if binding in counts else max(counts, key=lambda r: (counts[r], -RULE_ORDER.index(r)))
        by_cause.setdefault(_rule_phrase(rule, settings), []).append(key)
    groups = [CauseGroup(cause, tuple(keys)) for cause, keys in by_cause.items()]
    for cause, keys in ((CROWDED_OUT, crowded), (f"list no {length}-minute window of their own", own_time),
                        (SEVERAL_RULES, several), (NO_SEAT, no_seat)):
        if keys:
            groups.append(CauseGroup(cause, tuple(keys)))
    groups.sort(key=lambda g: -len(g.keys))
    return MatchLead(
        mentees=len(mentees), matched=matched, mentors=len(mentors), seats=sum(m.person.capacity for m in mentors),
        binding_rule=binding, binding_count=len(binds[binding]) if binding else 0,
        binding_phrase=_rule_phrase(binding, settings) if binding else "", binding_gain=gain,
        crowded_out=len(crowded), awaiting=len(awaiting), awaiting_gain=awaiting_gain, groups=tuple(groups),
    )
