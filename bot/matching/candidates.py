"""Candidate generation: index mentors so each mentee tests only the mentors the index yields.

Every mentor set is a Python int used as a bitset over mentor positions. A mentee's candidates
are the AND of one set per hard rule, each built from a few dictionary lookups and ORs, so the
work grows with the size of the buckets touched, never with mentees x mentors. Sets for a list
of values or a run of free time are cached: rosters repeat the same few of each many times.
The bitsets of many mentees are turned into edge arrays in bulk with numpy.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

from .availability import WEEK_MINUTES
from .eligibility import HistoryIndex, Profile
from .model import RoundSettings

# The rules a mentee's candidate set is filtered by, in the order explanations walk them: the
# rules a round added first (they shape who is a candidate at all), then the defaults.
RULE_ORDER = ("interest", "cross_site", "same_subject", "grade_band", "subject", "strengths", "availability", "avoid")
# Mentees whose bitsets are unpacked together: big enough to amortise numpy calls, small
# enough that the block's bytes stay a few megabytes at 50k mentors.
_EDGE_BLOCK = 2048


class MentorIndex:
    """Mentors with capacity, bucketed by grade band, subject, strength and free time."""

    def __init__(self, mentors: list[Profile], settings: RoundSettings, history: HistoryIndex) -> None:
        self.mentors = mentors
        self.settings = settings
        self.all = (1 << len(mentors)) - 1
        self._nwords = (len(mentors) + 63) // 64
        self.position = {m.key: i for i, m in enumerate(mentors)}
        self._bands, self._band_wild = self._bucket(lambda m: m.bands)
        self._subjects, self._subject_wild = self._bucket(lambda m: m.subjects)
        self._strengths, _ = self._bucket(lambda m: m.strengths)  # no strengths meets no need
        # For the rules a round may add: mentors by site and by position (trimmed, case-folded),
        # indexed only when the round adds a rule that needs them.
        self._sites: dict[str, int] = {}
        self._site_known = 0
        self._positions: dict[str, int] = {}
        if settings.require & {"cross_site", "interest"}:
            self._sites, unknown_site = self._bucket(lambda m: (m.site_key,) if m.site_key else ())
            self._site_known = self.all & ~unknown_site
            self._positions, _ = self._bucket(lambda m: (m.position,) if m.position else ())
        self._cache: dict[tuple, int] = {}
        self._by_list: dict[int, tuple[object, int]] = {}   # id(a profile's list) -> (the list, mentors)
        self._run_masks: dict[tuple[int, int], int] = {}     # a run of start minutes -> mentors
        self._build_time_index()
        self._build_exclusions(history)

    def _bucket(self, values) -> tuple[dict[str, int], int]:
        # A mentor who lists nothing goes to the wildcard set: rule 3 only binds when both list.
        members: dict[str, list[int]] = {}
        wild = 0
        for i, mentor in enumerate(self.mentors):
            listed = values(mentor)
            if not listed:
                wild |= 1 << i
            for value in listed:
                members.setdefault(value, []).append(i)
        return {value: _bitset(positions) for value, positions in members.items()}, wild

    def _build_time_index(self) -> None:
        # Cut the week at every boundary of a mentor's feasible session starts; inside each
        # segment the set of mentors who could start a session is constant.
        length = self.settings.session_minutes
        events: dict[int, int] = {}
        wild: list[int] = []    # mentors free any time
        some: list[int] = []    # mentors with at least one feasible start
        for i, mentor in enumerate(self.mentors):
            if mentor.any_time:
                wild.append(i)
                some.append(i)
                continue
            found = mentor.start_runs(length)
            if found:
                some.append(i)
            # A mentor's runs never touch, so XOR toggles it in at a run's start and out at its end.
            for a, b in found:
                events[a] = events.get(a, 0) ^ (1 << i)
                events[b] = events.get(b, 0) ^ (1 << i)
        self._time_wild = _bitset(wild)
        self._time_any = _bitset(some)
        self._cuts = sorted(set(events) | {0, WEEK_MINUTES})
        self._segments: list[int] = []
        current = 0
        for cut in self._cuts[:-1]:
            current ^= events.get(cut, 0)
            self._segments.append(current)

    def _build_exclusions(self, history: HistoryIndex) -> None:
        # Rule 6 seen from the mentee: mentors who avoid them or were paired with them before.
        self._excluded: dict[str, int] = {}
        for i, mentor in enumerate(self.mentors):
            for key in mentor.avoid:
                self._excluded[key] = self._excluded.get(key, 0) | (1 << i)
        for a, b in history.past_pairs:
            for mentor_key, mentee_key in ((a, b), (b, a)):
                i = self.position.get(mentor_key)
                if i is not None:
                    self._excluded[mentee_key] = self._excluded.get(mentee_key, 0) | (1 << i)

    def _union(self, kind: str, buckets: dict[str, int], keys: Iterable[str]) -> int:
        if type(keys) is not tuple:
            keys = tuple(keys)
        cached = self._cache.get((kind, keys))
        if cached is None:
            cached = 0
            for key in keys:
                cached |= buckets.get(key, 0)
            self._cache[(kind, keys)] = cached
        return cached

    def _run_mask(self, a: int, b: int) -> int:
        """Mentors who could start a session at some minute of [a, b)."""
        first = bisect_right(self._cuts, a) - 1
        stop = bisect_left(self._cuts, b)
        mask = 0
        for segment in self._segments[first:stop]:
            mask |= segment
        return mask

    def time_mask(self, mentee: Profile) -> int:
        """Mentors sharing a free stretch of one session with the mentee."""
        if mentee.any_time:
            return self._time_any
        found = mentee.start_runs(self.settings.session_minutes)
        if not found:
            return 0  # the mentee's own windows are all shorter than a session
        mask = self._time_wild
        # Rosters repeat the same runs (slots on a grid): each run's mentors are worked out once,
        # looked up by the run itself (no key tuple to build: this runs for every mentee's runs).
        known = self._run_masks
        for run in found:
            cached = known.get(run)
            if cached is None:
                cached = known[run] = self._run_mask(*run)
            mask |= cached
        return mask

    def others(self, mentee: Profile) -> int:
        """Mentors with capacity other than the mentee themself (rules 1 and 2)."""
        i = self.position.get(mentee.key)
        return self.all if i is None else self.all & ~(1 << i)

    def _excluded_for(self, mentee: Profile) -> int:
        excluded = self._excluded.get(mentee.key, 0)
        for key in mentee.avoid:
            i = self.position.get(key)
            if i is not None:
                excluded |= 1 << i
        return excluded

    def cross_site_mask(self, mentee: Profile) -> int:
        """Mentors at a known site other than the mentee's (none when the mentee's site is unknown)."""
        if mentee.site_key is None:
            return 0
        return self._site_known & ~self._sites.get(mentee.site_key, 0)

    def interest_mask(self, mentee: Profile) -> int:
        """Mentors whose position or site is among the mentee's interests."""
        keys = tuple(mentee.interests)
        return self._union("position", self._positions, keys) | self._union("site", self._sites, keys)

    def strict_subject_mask(self, mentee: Profile) -> int:
        """Mentors who list a subject the mentee lists (mentors listing none do not count)."""
        return self._union("subject", self._subjects, mentee.subjects)

    def rule_masks(self, mentee: Profile) -> dict[str, int]:
        """For each rule in RULE_ORDER, the mentors it allows (all of them when relaxed, moot or not required)."""
        relax = self.settings.relax
        require = self.settings.require
        topic = self.settings.topic
        masks = dict.fromkeys(RULE_ORDER, self.all)
        if "interest" in require:
            masks["interest"] = self.interest_mask(mentee)
        if "cross_site" in require:
            masks["cross_site"] = self.cross_site_mask(mentee)
        if "same_subject" in require:
            masks["same_subject"] = self.strict_subject_mask(mentee)
        if "grade_band" not in relax and mentee.bands:
            masks["grade_band"] = self._union("band", self._bands, mentee.bands) | self._band_wild
        if "subject" not in relax and mentee.subjects:
            masks["subject"] = self._union("subject", self._subjects, mentee.subjects) | self._subject_wild
        if "strengths" not in relax:
            if topic:
                masks["strengths"] = self._strengths.get(topic.casefold(), 0)
            elif mentee.needs:
                masks["strengths"] = self._union("need", self._strengths, _need_keys(mentee.needs))
        if "availability" not in relax:
            masks["availability"] = self.time_mask(mentee)
        masks["avoid"] = self.all & ~self._excluded_for(mentee)
        return masks

    def _allowed_by(self, kind: str, index: dict[str, int], values, wild: int = 0, keys_of=None) -> int:
        """The mentors a list (grade bands, subjects, or needs with keys_of giving their keys) allows, remembered
        per list object (the list is kept with it)."""
        found = self._by_list.get(id(values))
        if found is None or found[0] is not values:
            keys = values if keys_of is None else keys_of(values)
            found = self._by_list[id(values)] = (values, self._union(kind, index, keys) | wild)
        return found[1]

    def candidates(self, mentee: Profile) -> int:
        """Bitset of mentors that pass every (unrelaxed) hard rule with this mentee."""
        # rule_masks, inlined without the dictionary: this runs once per mentee.
        relax = self.settings.relax
        mask = self.others(mentee)
        # Profiles with the same list share one object (see eligibility._folded): the mentors a
        # list allows are remembered per object, which is cheaper than hashing the list's keys.
        # Each entry keeps its object, so the id cannot be reused while the entry is there.
        if "grade_band" not in relax and mentee.bands:
            mask &= self._allowed_by("band", self._bands, mentee.bands, self._band_wild)
        if "subject" not in relax and mentee.subjects:
            mask &= self._allowed_by("subject", self._subjects, mentee.subjects, self._subject_wild)
        if "strengths" not in relax:
            topic = self.settings.topic
            needs = mentee.needs
            if topic:
                mask &= self._strengths.get(topic.casefold(), 0)
            elif needs:
                mask &= self._allowed_by("need", self._strengths, needs, keys_of=_need_keys)
        require = self.settings.require
        if require and mask:
            if "same_subject" in require:
                mask &= self.strict_subject_mask(mentee)
            if "cross_site" in require:
                mask &= self.cross_site_mask(mentee)
            if "interest" in require:
                mask &= self.interest_mask(mentee)
        if mask and "availability" not in relax:
            mask &= self.time_mask(mentee)
        if mask:
            mask &= ~self._excluded_for(mentee)
        return mask

    def positions(self, mask: int) -> np.ndarray:
        """Mentor positions set in `mask`, ascending."""
        if not mask:
            return np.empty(0, dtype=np.int64)
        raw = np.frombuffer(mask.to_bytes(self._nwords * 8, "little"), dtype=np.uint8)
        return np.flatnonzero(np.unpackbits(raw, bitorder="little"))

    def edges(self, masks: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(mentee position, mentor position) of every bit set in the mentees' candidate bitsets,
        ordered by mentee, then mentor."""
        nbytes = self._nwords * 8
        mentee_parts: list[np.ndarray] = []
        mentor_parts: list[np.ndarray] = []
        for first in range(0, len(masks) if nbytes else 0, _EDGE_BLOCK):
            block = masks[first:first + _EDGE_BLOCK]
            words = np.frombuffer(b"".join(m.to_bytes(nbytes, "little") for m in block), dtype="<u8")
            # Candidate sets are sparse: find the few non-zero words, then their non-zero bytes,
            # then read each byte's set bits from a table.
            word_at = np.flatnonzero(words)
            raw = words[word_at].view(np.uint8)
            byte_at = np.flatnonzero(raw)
            values = raw[byte_at]
            counts = _BIT_COUNT[values]
            owner = np.repeat(np.arange(len(values)), counts)
            nth = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
            global_byte = word_at[byte_at // 8] * 8 + byte_at % 8   # byte index in the block
            bit = global_byte[owner] * 8 + _BIT_POSITIONS[values[owner], nth]
            mentee_parts.append(first + bit // (nbytes * 8))
            mentor_parts.append(bit % (nbytes * 8))
        if not mentee_parts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(mentee_parts).astype(np.int64), np.concatenate(mentor_parts).astype(np.int64)


# For each byte value: how many bits are set, and their positions (lowest first).
_BIT_COUNT = np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)
_BIT_POSITIONS = np.array([[b for b in range(8) if v >> b & 1] + [0] * (8 - bin(v).count("1")) for v in range(256)],
                          dtype=np.int64)


@lru_cache(maxsize=8192)
def _need_keys(needs: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    # Profiles with the same needs share one tuple (see eligibility._folded_needs).
    return tuple(need for need, _ in needs)


def _bitset(positions: Iterable[int]) -> int:
    """An int with the given bits set, built in one pass (cheaper than OR-ing bits one by one)."""
    positions = list(positions)
    if not positions:
        return 0
    top = max(positions)
    flags = np.zeros(((top >> 6) + 1) * 64, dtype=np.uint8)
    flags[positions] = 1
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")
