"""Plain-language reasons: why a pair fits, and why a mentee was left without a mentor."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from .availability import (
    _phrase_windows,
    circular_runs,
    circular_spans,
    intersect_spans,
    join_words,
    phrase_window_many,
    phrase_windows,
    shared_windows_many,
    usable_windows,
)
from .candidates import RULE_ORDER, MentorIndex
from .eligibility import Profile, _folded, display_name, interest_met, meets_strengths, shares
from .model import WEEK_MINUTES, RoundSettings

RULE_LABELS = {
    "grade_band": "grade band",
    "subject": "subject",
    "strengths": "strengths",
    "availability": "availability",
}
# How unmatched explanations name a rule the round added.
REQUIRED_LABELS = {
    "interest": "the interest rule (a mentor in a role or at a site the mentee wants to learn about)",
    "cross_site": "the cross-site rule",
    "same_subject": "the shared-subject rule",
}


def first_name(profile: Profile) -> str:
    """The first word of a person's name, or their key."""
    return _first_word(profile.person.name, profile.person.key)


@lru_cache(maxsize=65536)
def _first_word(name: str, key: str) -> str:
    return name.split()[0] if name.strip() else key


def pair_names(mentor: Profile, mentee: Profile) -> tuple[str, str]:
    """First names, unless both share one; then full names so the reasons stay unambiguous."""
    m = _first_word(mentor.person.name, mentor.person.key)
    e = _first_word(mentee.person.name, mentee.person.key)
    if m.casefold() == e.casefold():
        return display_name(mentor.person), display_name(mentee.person)
    return m, e


@lru_cache(maxsize=4096)
def natural_key(text: str) -> tuple:
    """Sort 'K-2' before '3-5' before '10-12'; other text alphabetically."""
    parts = []
    for token in re.findall(r"\d+|[a-z]+|[^a-z\d]+", text.casefold()):
        if token.isdecimal():
            parts.append((0, int(token), ""))
        elif token in ("pk", "tk"):
            parts.append((0, -1, ""))
        elif token == "k":
            parts.append((0, 0, ""))
        else:
            parts.append((1, 0, token))
    return tuple(parts)


def _shared(mentor: dict[str, str], mentee: dict[str, str]) -> list[str]:
    # Quote the mentee's spelling: the reasons are written for them first.
    shared = [text for key, text in mentee.items() if key in mentor]
    return sorted(shared, key=natural_key) if len(shared) > 1 else shared


@lru_cache(maxsize=65536)
def _both_teach(mentor_values: frozenset[str], mentee_values: frozenset[str]) -> str | None:
    # Rosters repeat the same few lists: phrase each combination once.
    shared = _shared(_folded(mentor_values), _folded(mentee_values))
    return f"both teach {join_words(shared)}" if shared else None


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def pair_reasons(
    mentor: Profile, mentee: Profile, settings: RoundSettings, load_rank: int, recent: int, load_unit: str = "mentee"
) -> tuple[str, ...]:
    """Why this pair fits, in a fixed order: interest, topic, needs, grade band, subject, time, site, load, relaxed rules."""
    return PairReasons(settings, load_unit)(mentor, mentee, load_rank, recent)


class PairReasons:
    """pair_reasons for many pairs of one round: what depends only on the round is worked out once."""

    def __init__(self, settings: RoundSettings, load_unit: str = "mentee") -> None:
        self.settings = settings
        self.load_unit = load_unit
        self.topic = settings.topic.casefold() if settings.topic else None
        self.length = settings.session_minutes
        self.week_of = settings.week_of
        self.no_window = f"no shared {self.length}-minute window (availability rule relaxed this round)"
        self.sites = "cross_site" in settings.require or settings.cross_site != "neutral"
        # A person's first name, its case-folded form and full name, once per person of the round.
        self._names: dict[int, tuple[str, str, Profile]] = {}

    def _name(self, profile: Profile) -> tuple[str, str, Profile]:
        first = _first_word(profile.person.name, profile.person.key)
        found = self._names[id(profile)] = (first, first.casefold(), profile)
        return found

    def __call__(self, mentor: Profile, mentee: Profile, load_rank: int, recent: int) -> tuple[str, ...]:
        """The reasons for one pair (see pair_reasons)."""
        names = self._names
        found = names.get(id(mentor))
        m, m_folded, _ = found if found is not None and found[2] is mentor else self._name(mentor)
        found = names.get(id(mentee))
        e, e_folded, _ = found if found is not None and found[2] is mentee else self._name(mentee)
        if m_folded == e_folded:  # first names, unless both share one (as pair_names)
            m, e = display_name(mentor.person), display_name(mentee.person)
        return self._reasons(mentor, mentee, m, e, self._schedule(mentor, mentee), load_rank, recent)

    def many(
        self, mentors: list[Profile], mentees: list[Profile], load_ranks: list[int], recents: list[int]
    ) -> list[tuple[str, ...]]:
        """The reasons for many pairs (mentors[k] with mentees[k]), equal to calling this per pair.

        Names are worked out once per person, not once per pair.
        """
        names: dict[int, tuple[str, str]] = {}
        for profile in (*mentors, *mentees):
            if id(profile) not in names:
                person = profile.person
                first = person.name.split()[0] if person.name.strip() else person.key
                names[id(profile)] = (first, first.casefold())
        out = []
        reasons_of = self._reasons
        for mentor, mentee, rank, recent, schedule in zip(mentors, mentees, load_ranks, recents,
                                                          self._schedules(mentors, mentees)):
            m, m_folded = names[id(mentor)]
            e, e_folded = names[id(mentee)]
            if m_folded == e_folded:
                m, e = display_name(mentor.person), display_name(mentee.person)
            out.append(reasons_of(mentor, mentee, m, e, schedule, rank, recent))
        return out

    def _schedules(self, mentors: list[Profile], mentees: list[Profile]) -> list[str]:
        """_schedule for many pairs, equal to calling it per pair: the shared windows of all pairs
        with numpy, each window phrased once, each pair's phrases put in local weekday order."""
        # Someone free any time shares all of the other's time; two such people need no windows
        # (they are said to be unlimited), so they get none to phrase.
        week = ((0, WEEK_MINUTES),)
        mentor_spans = [week if m.any_time else m.spans for m in mentors]
        mentee_spans = [(() if m.any_time else week) if e.any_time else e.spans for m, e in zip(mentors, mentees)]
        owner, start, end = shared_windows_many(mentor_spans, mentee_spans, self.length)
        zones = [mentee.person.timezone for mentee in mentees]
        owners = owner.tolist()
        local, phrases = phrase_window_many(start, end, [zones[k] for k in owners], self.week_of)
        # Local weekday order within each pair, as _phrase_windows sorts (key, text) tuples; a
        # clock going back can give two windows the same local start, then the text decides.
        order = np.lexsort((local, owner)).tolist()
        bounds = np.searchsorted(owner, np.arange(len(mentors) + 1)).tolist()
        texts = [phrases[i] for i in order]
        by_pair, by_time = owner[order], local[order]
        tied = set(by_pair[1:][(by_pair[1:] == by_pair[:-1]) & (by_time[1:] == by_time[:-1])].tolist())
        out = []
        for k, (mentor, mentee) in enumerate(zip(mentors, mentees)):
            if mentor.any_time and mentee.any_time:
                out.append("neither limited their availability")
                continue
            first, stop = bounds[k], bounds[k + 1]
            if first == stop:
                out.append(self.no_window)
                continue
            mine = texts[first:stop] if k not in tied else [t for _, t in sorted((local[i], phrases[i]) for i in order[first:stop])]
            if len(mine) > 3:
                mine = mine[:3] + [f"{len(mine) - 3} more"]
            out.append(f"both free {join_words(mine, 'and')} ({zones[k]})")
        return out

    def _reasons(
        self, mentor: Profile, mentee: Profile, m: str, e: str, schedule: str, load_rank: int, recent: int
    ) -> tuple[str, ...]:
        reasons: list[str] = []
        if mentee.interests:
            interest = _interest_reason(mentor, mentee, m, e)
            if interest:
                reasons.append(interest)
        strengths = mentor.strengths
        topic = self.topic
        if topic and topic in strengths:
            reasons.append(f"{m} lists the round topic '{strengths[topic]}' among strengths")
        top = True
        for need, _ in mentee.needs:
            if need in strengths:
                reasons.append(f"{m}'s strength '{strengths[need]}' meets {e}'s {'top need' if top else 'need'}")
            top = False
        if mentor.bands and mentee.bands:
            bands = _both_teach(mentor.person.grade_bands, mentee.person.grade_bands)
            if bands:
                reasons.append(bands)
        if mentor.subjects and mentee.subjects:
            subjects = _both_teach(mentor.person.subjects, mentee.person.subjects)
            if subjects:
                reasons.append(subjects)
        reasons.append(schedule)
        if self.sites:
            site_reason = _site_reason(mentor, mentee, self.settings)
            if site_reason:
                reasons.append(site_reason)
        if load_rank > 1:
            reasons.append(f"{m}'s {_ordinal(load_rank)} {self.load_unit} this round")
        if recent > 0:
            reasons.append(f"{m} mentored {recent} {'mentee' if recent == 1 else 'mentees'} recently")
        if self.settings.relax:
            reasons.extend(_relaxed_notes(mentor, mentee, self.settings, m, e))
        return tuple(reasons)

    def _schedule(self, mentor: Profile, mentee: Profile) -> str:
        if mentor.any_time:
            if mentee.any_time:
                return "neither limited their availability"
            shared = mentee.spans
        elif mentee.any_time:
            shared = mentor.spans
        else:
            shared = intersect_spans(mentor.spans, mentee.spans)
        length = self.length
        windows = tuple([(s, e) for s, e in circular_spans(shared) if e - s >= length])
        return self._schedule_text(windows, mentee.person.timezone)

    def _schedule_text(self, windows: tuple[tuple[int, int], ...], tz: str) -> str:
        if not windows:
            return self.no_window
        return f"both free {_phrase_windows(windows, tz, self.week_of, 'and', 3)} ({tz})"


def _article(text: str) -> str:
    return "an" if text[:1].casefold() in "aeiou" else "a"


def _interest_reason(mentor: Profile, mentee: Profile, m: str, e: str) -> str | None:
    # "Ben wants to learn about the role of instructional coach; Ana is an instructional coach at Lincoln"
    met = interest_met(mentor, mentee)
    if met is None:
        return None
    position = (mentor.person.position or "").strip()
    site = (mentor.person.site or "").strip()
    if met == "position":
        wanted = f"the role of {mentee.interests[mentor.position]}"
    else:
        wanted = mentee.interests[mentor.site_key]
    if position:
        about = f"{m} is {_article(position)} {position}" + (f" at {site}" if site else "")
    else:
        about = f"{m} works at {site}"
    return f"{e} wants to learn about {wanted}; {about}"


def _site_reason(mentor: Profile, mentee: Profile, settings: RoundSettings) -> str | None:
    if "cross_site" in settings.require:
        # Both sites are known and differ: the rule guarantees it.
        return f"cross-site pair: {mentor.person.site.strip()} and {mentee.person.site.strip()} (this round pairs across sites)"
    if settings.cross_site == "neutral" or not (mentor.site and mentee.site):
        return None
    m_site, e_site = mentor.person.site, mentee.person.site
    if mentor.site != mentee.site:
        wish = "cross-site" if settings.cross_site == "prefer" else "same-site"
        return f"cross-site pair: {m_site} and {e_site} (this round prefers {wish} pairs)"
    if settings.cross_site == "avoid":
        return f"both at {e_site} (this round prefers same-site pairs)"
    return None


def _relaxed_notes(mentor: Profile, mentee: Profile, settings: RoundSettings, m: str, e: str) -> list[str]:
    # Say when a pair only stands because the round relaxed a rule, so nobody is surprised.
    notes: list[str] = []
    relax = settings.relax
    if "grade_band" in relax and not shares(mentor.bands, mentee.bands):
        notes.append(
            f"grade band rule relaxed this round: {m} teaches {join_words(sorted(mentor.bands.values(), key=natural_key))}, "
            f"{e} teaches {join_words(sorted(mentee.bands.values(), key=natural_key))}"
        )
    if "subject" in relax and not shares(mentor.subjects, mentee.subjects):
        notes.append(
            f"subject rule relaxed this round: {m} teaches {join_words(sorted(mentor.subjects.values(), key=str.casefold))}, "
            f"{e} teaches {join_words(sorted(mentee.subjects.values(), key=str.casefold))}"
        )
    if "strengths" in relax and not meets_strengths(mentor, mentee, settings):
        if settings.topic:
            notes.append(f"strengths rule relaxed this round: {m} does not list the topic '{settings.topic}'")
        else:
            notes.append(f"strengths rule relaxed this round: none of {m}'s strengths meets {e}'s needs")
    # A relaxed availability rule is already said by the schedule reason.
    return notes


def _lowest_bits(mask: int, n: int) -> list[int]:
    """Positions of the n lowest set bits."""
    found = []
    while mask and len(found) < n:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


def _count(n: int, singular: str, plural: str) -> str:
    # "none of those shares", "1 of those shares", "3 of those share"
    return f"{'none' if n == 0 else n} {singular if n <= 1 else plural}"


class UnmatchedExplainer:
    """Builds the reasons a mentee has no mentor, from the same masks candidate generation used."""

    def __init__(self, index: MentorIndex, settings: RoundSettings, mentor_people: set[str]) -> None:
        self.index = index
        self.settings = settings
        self.mentor_people = mentor_people  # keys of everyone with a mentor role, capacity or not

    def reasons(self, mentee: Profile, eligible: int) -> tuple[str, ...]:
        """Reasons in a fixed order; `eligible` is the mentee's candidate bitset."""
        e = first_name(mentee)
        if eligible:
            return self.crowded_out(mentee, eligible.bit_count(), _lowest_bits(eligible, 3))
        others = self.index.others(mentee)
        if not others:
            if self.mentor_people - {mentee.key}:
                return ("no mentor has capacity left this round",)
            return ("no mentors are taking part in this round",)
        masks = self.index.rule_masks(mentee)
        texts = {rule: self._rule_text(rule, mentee, e) for rule in RULE_ORDER}
        # Rules that on their own rule out every mentor with capacity; failing that, a funnel.
        reasons = [
            self._lacking(rule, mentee, e) or f"no mentor with capacity {texts[rule][0]}"
            for rule in RULE_ORDER
            if not others & masks[rule]
        ]
        if not reasons:
            reasons.append(self._funnel(others, masks, texts))
        reasons.extend(self._relax_hints(others, masks))
        reasons.extend(self._require_hints(others, masks))
        return tuple(reasons)

    def _lacking(self, rule: str, mentee: Profile, e: str) -> str | None:
        """When the mentee's own profile rules everyone out, say that instead of blaming the mentors."""
        if rule == "availability" and not mentee.starts(self.settings.session_minutes):
            return self._short_windows(mentee, e)
        if rule == "interest" and not mentee.interests:
            return f"{e} lists no roles or sites to learn about, and this round is for informational interviews"
        if rule == "cross_site" and mentee.site_key is None:
            return f"{e}'s site is not known, and this round pairs people across sites"
        if rule == "same_subject" and not mentee.subjects:
            return f"{e} lists no subjects, and this round requires a shared subject"
        return None

    def crowded_out(self, mentee: Profile, count: int, first: list[int]) -> tuple[str]:
        """The reason for a mentee with `count` eligible mentors, the lowest positions `first`, who got none."""
        e = first_name(mentee)
        names = [display_name(self.index.mentors[i].person) for i in first[:3]]
        if count == 1:
            return (
                f"the only eligible mentor ({names[0]}) was needed for other mentees: "
                f"pairing them with {e} would leave another mentee without a mentor",
            )
        shown = names + ([f"{count - 3} more"] if count > 3 else [])
        return (
            f"all {count} eligible mentors ({join_words(shown)}) were needed for other mentees: "
            f"pairing any of them with {e} would leave another mentee without a mentor",
        )

    def _rule_text(self, rule: str, mentee: Profile, e: str) -> tuple[str, str, str]:
        """(phrase after 'no mentor with capacity', singular funnel verb phrase, plural one)."""
        length = self.settings.session_minutes
        if rule == "interest":
            wanted = join_words([f"'{text}'" for text in sorted(mentee.interests.values(), key=str.casefold)], "or")
            return (
                f"is in a role or at a site {e} wants to learn about ({wanted})",
                f"is in a role or at a site {e} wants to learn about",
                f"are in a role or at a site {e} wants to learn about",
            )
        if rule == "cross_site":
            site = (mentee.person.site or "").strip()
            return f"works at a site other than {site}", "works at another site", "work at another site"
        if rule == "same_subject":
            subjects = join_words(sorted(mentee.subjects.values(), key=str.casefold), "or")
            return f"lists {subjects} among subjects", f"lists {subjects}", f"list {subjects}"
        if rule == "grade_band":
            bands = sorted(mentee.bands.values(), key=natural_key)
            what = f"grade band{'s' if len(bands) > 1 else ''} {join_words(bands, 'or')}"
            return f"shares {what}", f"shares {what}", f"share {what}"
        if rule == "subject":
            subjects = join_words(sorted(mentee.subjects.values(), key=str.casefold), "or")
            return f"teaches {subjects}", f"teaches {subjects}", f"teach {subjects}"
        if rule == "strengths":
            if self.settings.topic:
                what = f"the round topic '{self.settings.topic}'"
                return f"lists {what} among strengths", f"lists {what}", f"list {what}"
            needs = ", ".join(text for _, text in mentee.needs)
            return (
                f"has a strength that meets {e}'s needs ({needs})",
                f"has a strength that meets {e}'s needs",
                f"have a strength that meets {e}'s needs",
            )
        if rule == "availability":
            if mentee.any_time:
                what = f"a free {length}-minute window"
                return f"lists {what}", f"lists {what}", f"list {what}"
            tz = mentee.person.timezone
            windows = phrase_windows(
                usable_windows(mentee.avail, length), tz, self.settings.week_of, "or"
            )
            what = f"a {length}-minute window with {windows} ({tz})"
            return f"shares {what}", f"shares {what}", f"share {what}"
        # avoid
        return (
            f"is free of avoid lists and earlier pairings with {e}",
            "is free of avoid lists and earlier pairings",
            "are free of avoid lists and earlier pairings",
        )

    def _short_windows(self, mentee: Profile, e: str) -> str:
        # The mentee's own windows are too short: say that instead of blaming the mentors.
        length = self.settings.session_minutes
        tz = mentee.person.timezone
        windows = phrase_windows(circular_runs(mentee.avail), tz, self.settings.week_of, "and")
        return f"{e}'s availability ({windows}, {tz}) has no {length}-minute window"

    def _funnel(self, others: int, masks: dict[str, int], texts: dict) -> str:
        # No single rule rules everyone out, so walk the rules in order and show the counts shrink.
        remaining = others
        parts = [f"of the {others.bit_count()} mentors with capacity"]
        for rule in RULE_ORDER:
            narrowed = remaining & masks[rule]
            if narrowed == remaining:
                continue  # this rule removed nobody; leave it out
            n = narrowed.bit_count()
            _, singular, plural = texts[rule]
            counted = _count(n, singular, plural)
            if len(parts) > 1:
                number, _, verb = counted.partition(" ")
                counted = f"{number} of those {verb}"
            parts.append(counted)
            remaining = narrowed
            if not remaining:
                break
        head, steps = parts[0], parts[1:]
        return f"{head}, {join_words(steps)}"

    @staticmethod
    def _kept_out_by(rule: str, others: int, masks: dict[str, int]) -> int:
        """How many mentors this rule alone keeps from the mentee (every other rule still holding)."""
        mask = others
        for other_rule, other_mask in masks.items():
            if other_rule != rule:
                mask &= other_mask
        return mask.bit_count()

    def _require_hints(self, others: int, masks: dict[str, int]) -> list[str]:
        # For each rule the round added: how many mentors it alone keeps from this mentee.
        hints = []
        for rule in RULE_ORDER:
            if rule in self.settings.require and (n := self._kept_out_by(rule, others, masks)):
                hints.append(f"without {REQUIRED_LABELS[rule]} {n} {'mentor' if n == 1 else 'mentors'} would be eligible")
        return hints

    def _relax_hints(self, others: int, masks: dict[str, int]) -> list[str]:
        hints = []
        for rule in RULE_ORDER:
            if rule in RULE_LABELS and rule not in self.settings.relax and (n := self._kept_out_by(rule, others, masks)):
                hints.append(f"relaxing the {RULE_LABELS[rule]} rule would make {n} {'mentor' if n == 1 else 'mentors'} eligible")
        return hints
