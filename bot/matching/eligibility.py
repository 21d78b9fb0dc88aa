"""The minimal-match hard rules of roster-format.md, over normalised participant profiles."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from .availability import FULL_WEEK, merge_spans, runs_mask, start_runs
from .model import WEEK_MINUTES, History, Participant, RoundSettings


class Profile:
    """A participant with its lists case-folded and its availability as merged UTC spans, computed once."""

    __slots__ = (
        "person", "key", "bands", "subjects", "strengths", "needs", "spans", "any_time",
        "avoid", "site", "weights", "_avail", "_starts", "_runs", "_runs_length", "_last_runs", "site_key",
        "position", "interests",
    )

    def __init__(self, person: Participant) -> None:
        # Runs once per person (75k at the largest roster): shared, cached values where it can.
        self.person = person
        self.key = person.key.casefold()
        # casefold -> the spelling the person used (reasons quote people in their own words);
        # sorted first so that which spelling wins among case variants is deterministic.
        self.bands = _folded(person.grade_bands)
        self.subjects = _folded(person.subjects)
        self.strengths = _folded(person.strengths)
        self.needs: tuple[tuple[str, str], ...] = _folded_needs(person.needs) if person.needs else ()
        availability = person.availability
        if availability:
            spans = tuple(map(_WINDOW_SPAN, availability))   # (start, end) of each, read in C
            # weekly_windows_utc already returns merged windows; merge only what isn't (a span
            # that starts before the previous one has ended). A plain loop: this runs per person.
            if len(spans) > 1:
                previous_end = -1
                for start, end in spans:
                    if start <= previous_end:
                        spans = merge_spans(spans)
                        break
                    previous_end = end
            self.spans = spans
            self.any_time = spans == ((0, WEEK_MINUTES),)
        else:
            self.spans = ()
            self.any_time = True
        self.avoid = frozenset(k.casefold() for k in person.avoid) if person.avoid else frozenset()
        site = person.site
        self.site = _casefolded(site) if site else None
        # The added rules compare sites, positions and interests trimmed and case-insensitively.
        self.site_key = _trimmed_key(site) if site else None
        self.position = _trimmed_key(person.position) if person.position else None
        self.interests = _folded_trimmed(person.interests) if person.interests else _NOTHING
        self.weights = dict(person.weights) if person.weights else _NOTHING
        # Bitmasks are only needed to phrase reasons and for the per-pair rules: made on demand.
        self._avail: int | None = None
        self._starts: dict[int, int] | None = None
        self._runs: dict[int, tuple[tuple[int, int], ...]] | None = None
        self._runs_length = 0  # the session length asked last, and its runs: a round asks one
        self._last_runs: tuple[tuple[int, int], ...] = ()

    @property
    def is_mentor(self) -> bool:
        return self.person.role in ("mentor", "both")

    @property
    def is_mentee(self) -> bool:
        return self.person.role in ("mentee", "both")

    @property
    def avail(self) -> int:
        """Bitmask of free minutes (all of them when no availability is listed)."""
        if self._avail is None:
            self._avail = FULL_WEEK if self.any_time else runs_mask(self.spans)
        return self._avail

    def start_runs(self, length: int) -> tuple[tuple[int, int], ...]:
        """Runs [a, b) of minutes at which a session of `length` minutes could start."""
        if length == self._runs_length:
            return self._last_runs
        if self._runs is None:
            self._runs = {}
        found = self._runs.get(length)
        if found is None:
            found = self._runs[length] = _start_runs(self.spans, length)
        self._runs_length, self._last_runs = length, found
        return found

    def starts(self, length: int) -> int:
        """Minutes at which a session of `length` minutes could start, as a bitmask."""
        if self._starts is None:
            self._starts = {}
        found = self._starts.get(length)
        if found is None:
            found = self._starts[length] = runs_mask(self.start_runs(length))
        return found


_WINDOW_SPAN = attrgetter("start", "end")

# People with the same availability share its start runs.
_start_runs = lru_cache(maxsize=65536)(start_runs)


@lru_cache(maxsize=8192)
def _folded(values: frozenset[str]) -> dict[str, str]:
    # Shared between profiles with the same list (common in rosters); callers never mutate it.
    out: dict[str, str] = {}
    for value in sorted(values):
        out.setdefault(value.casefold(), value)
    return out


# An empty mapping profiles share for "no interests" and "no weights"; read-only so sharing is safe.
_NOTHING: Mapping[str, Any] = MappingProxyType({})


@lru_cache(maxsize=8192)
def _casefolded(value: str) -> str:
    return value.casefold()


@lru_cache(maxsize=8192)
def _trimmed_key(value: str | None) -> str | None:
    value = value.strip().casefold() if value else None
    return value or None


@lru_cache(maxsize=8192)
def _folded_trimmed(values: frozenset[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in sorted(v.strip() for v in values):
        if value:
            out.setdefault(value.casefold(), value)
    return out


@lru_cache(maxsize=8192)
def _folded_needs(needs: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    folded: dict[str, str] = {}
    for need in needs:
        folded.setdefault(need.casefold(), need)  # keep the first (most central) mention
    return tuple(folded.items())


def display_name(person: Participant) -> str:
    """The person's name, or their key when no name is known."""
    return person.name.strip() or person.key


class HistoryIndex:
    """History with case-folded keys, for quick lookups."""

    def __init__(self, history: History) -> None:
        self.past_pairs = frozenset((a.casefold(), b.casefold()) for a, b in history.past_pairs)
        load: dict[str, int] = {}
        for key, count in history.recent_load:
            load[key.casefold()] = load.get(key.casefold(), 0) + max(0, int(count))
        self.recent_load = load

    def paired_before(self, a: str, b: str) -> bool:
        # Either orientation counts: two "both" people who were paired once are not paired again.
        return (a, b) in self.past_pairs or (b, a) in self.past_pairs


def shares(mine: dict[str, str], theirs: dict[str, str]) -> bool:
    """Rule 3 for one list: true when either side lists nothing or they share an entry."""
    return not mine or not theirs or not mine.keys().isdisjoint(theirs.keys())


def meets_strengths(mentor: Profile, mentee: Profile, settings: RoundSettings) -> bool:
    """Rule 5: the round topic (or, outside topic rounds, one of the mentee's needs) is a mentor strength."""
    if settings.topic:
        return settings.topic.casefold() in mentor.strengths
    return not mentee.needs or any(need in mentor.strengths for need, _ in mentee.needs)


def shares_window(mentor: Profile, mentee: Profile, settings: RoundSettings) -> bool:
    """Rule 4: a common free stretch of at least one session length."""
    length = settings.session_minutes
    return (mentor.starts(length) & mentee.starts(length)) != 0


def shares_subject_strictly(mentor: Profile, mentee: Profile) -> bool:
    """Added rule same_subject: both list subjects and share one."""
    return bool(mentor.subjects) and bool(mentee.subjects) and not mentor.subjects.keys().isdisjoint(mentee.subjects.keys())


def across_sites(mentor: Profile, mentee: Profile) -> bool:
    """Added rule cross_site: both sites are known and differ."""
    return mentor.site_key is not None and mentee.site_key is not None and mentor.site_key != mentee.site_key


def interest_met(mentor: Profile, mentee: Profile) -> str | None:
    """Added rule interest: which of the mentee's interests the mentor's position or site is ("position"
    or "site"), or None."""
    if mentor.position is not None and mentor.position in mentee.interests:
        return "position"
    if mentor.site_key is not None and mentor.site_key in mentee.interests:
        return "site"
    return None


def avoided(mentor: Profile, mentee: Profile) -> bool:
    """Rule 6, first half: either lists the other under avoid."""
    return mentee.key in mentor.avoid or mentor.key in mentee.avoid


def profile_reasons(
    mentor: Profile, mentee: Profile, settings: RoundSettings, history: HistoryIndex
) -> list[str]:
    """ineligibility_reasons over prepared profiles."""
    m_name, e_name = display_name(mentor.person), display_name(mentee.person)
    relax = settings.relax
    reasons: list[str] = []
    # Rule 1
    if mentor.key == mentee.key:
        reasons.append(f"{m_name} cannot be paired with themselves")
    if not mentor.is_mentor:
        reasons.append(f"{m_name} is not taking part as a mentor")
    if not mentee.is_mentee:
        reasons.append(f"{e_name} is not taking part as a mentee")
    # Rule 2
    if mentor.person.capacity <= 0:
        reasons.append(f"{m_name} has no mentoring capacity left this term")
    # Rule 3
    if "grade_band" not in relax and not shares(mentor.bands, mentee.bands):
        reasons.append(
            f"no shared grade band ({m_name}: {_listing(mentor.bands)}; {e_name}: {_listing(mentee.bands)})"
        )
    require = settings.require
    if "same_subject" in require and not shares_subject_strictly(mentor, mentee):
        reasons.append(_same_subject_reason(mentor, mentee, m_name, e_name))
    elif "subject" not in relax and not shares(mentor.subjects, mentee.subjects):
        reasons.append(
            f"no shared subject ({m_name}: {_listing(mentor.subjects)}; {e_name}: {_listing(mentee.subjects)})"
        )
    # Rule 4
    if "availability" not in relax and not shares_window(mentor, mentee, settings):
        reasons.append(f"no shared {settings.session_minutes}-minute window")
    # Rule 5
    if "strengths" not in relax and not meets_strengths(mentor, mentee, settings):
        if settings.topic:
            reasons.append(f"{m_name} does not list the round topic '{settings.topic}' among strengths")
        else:
            needs = ", ".join(text for _, text in mentee.needs)
            reasons.append(f"none of {m_name}'s strengths meets {e_name}'s needs ({needs})")
    # Rules the round added
    if "cross_site" in require and not across_sites(mentor, mentee):
        reasons.append(_cross_site_reason(mentor, mentee, m_name, e_name))
    if "interest" in require and interest_met(mentor, mentee) is None:
        reasons.append(_interest_reason(mentor, mentee, m_name, e_name))
    # Rule 6
    if mentee.key in mentor.avoid:
        reasons.append(f"{m_name} asked not to be paired with {e_name}")
    if mentor.key in mentee.avoid:
        reasons.append(f"{e_name} asked not to be paired with {m_name}")
    if history.paired_before(mentor.key, mentee.key):
        reasons.append(f"{m_name} and {e_name} were already paired this term")
    return reasons


def _same_subject_reason(mentor: Profile, mentee: Profile, m_name: str, e_name: str) -> str:
    missing = [name for name, p in ((m_name, mentor), (e_name, mentee)) if not p.subjects]
    if missing:
        return f"this round requires a shared subject, and {' and '.join(missing)} {'lists' if len(missing) == 1 else 'list'} none"
    return (f"this round requires a shared subject: none shared ({m_name}: {_listing(mentor.subjects)}; "
            f"{e_name}: {_listing(mentee.subjects)})")


def _cross_site_reason(mentor: Profile, mentee: Profile, m_name: str, e_name: str) -> str:
    missing = [name for name, p in ((m_name, mentor), (e_name, mentee)) if p.site_key is None]
    if missing:
        return f"this round pairs people across sites, and no site is known for {' or '.join(missing)}"
    return f"this round pairs people across sites, and both are at {(mentee.person.site or '').strip()}"


def _interest_reason(mentor: Profile, mentee: Profile, m_name: str, e_name: str) -> str:
    if not mentee.interests:
        return f"this round is for informational interviews, and {e_name} lists no roles or sites to learn about"
    wanted = _listing(mentee.interests)
    position = (mentor.person.position or "").strip() or "no position listed"
    site = (mentor.person.site or "").strip() or "no site listed"
    return f"{m_name}'s role ({position}) and site ({site}) are not among what {e_name} wants to learn about ({wanted})"


def _listing(values: dict[str, str]) -> str:
    return ", ".join(sorted(values.values(), key=str.casefold))


def ineligibility_reasons(
    mentor: Participant, mentee: Participant, settings: RoundSettings, history: History
) -> list[str]:
    """Empty list when the pair obeys every (unrelaxed) hard rule; otherwise one plain-language reason per failed rule."""
    return profile_reasons(Profile(mentor), Profile(mentee), settings, HistoryIndex(history))
