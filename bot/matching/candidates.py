"""Candidate generation: index mentors so each mentee tests only the mentors the index yields.

Every mentor set is a Python int used as a bitset over mentor positions. A mentee's candidates
are the AND of one set per hard rule, each built from a few dictionary lookups and ORs, so the
work grows with the size of the buckets touched, never with mentees x mentors.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np

from .availability import FULL_WEEK, WEEK_MINUTES, runs
from .eligibility import HistoryIndex, Profile
from .model import RoundSettings

# The rules a mentee's candidate set is filtered by, in the order explanations walk them.
RULE_ORDER = ("grade_band", "subject", "strengths", "availability", "avoid")


class MentorIndex:
    """Mentors with capacity, bucketed by grade band, subject, strength and free time."""

    def __init__(self, mentors: list[Profile], settings: RoundSettings, history: HistoryIndex) -> None:
        self.mentors = mentors
        self.settings = settings
        self.all = (1 << len(mentors)) - 1
        self._nbytes = (len(mentors) + 7) // 8
        self.position = {m.key: i for i, m in enumerate(mentors)}
        self._bands, self._band_wild = self._bucket(lambda m: m.bands)
        self._subjects, self._subject_wild = self._bucket(lambda m: m.subjects)
        self._strengths, _ = self._bucket(lambda m: m.strengths)  # no strengths meets no need
        self._build_time_index()
        self._build_exclusions(history)

    def _bucket(self, values) -> tuple[dict[str, int], int]:
        # A mentor who lists nothing goes to the wildcard set: rule 3 only binds when both list.
        buckets: dict[str, int] = {}
        wild = 0
        for i, mentor in enumerate(self.mentors):
            listed = values(mentor)
            if not listed:
                wild |= 1 << i
            for value in listed:
                buckets[value] = buckets.get(value, 0) | (1 << i)
        return buckets, wild

    def _build_time_index(self) -> None:
        # Cut the week at every boundary of a mentor's feasible session starts; inside each
        # segment the set of mentors who could start a session is constant.
        length = self.settings.session_minutes
        events: dict[int, int] = {}
        self._time_wild = 0     # mentors free any time
        self._time_any = 0      # mentors with at least one feasible start
        for i, mentor in enumerate(self.mentors):
            starts = mentor.starts(length)
            if starts == FULL_WEEK:
                self._time_wild |= 1 << i
            elif starts:
                # A mentor's maximal runs never touch, so XOR toggles it in at a run's start and
                # out at its end.
                for a, b in runs(starts):
                    events[a] = events.get(a, 0) ^ (1 << i)
                    events[b] = events.get(b, 0) ^ (1 << i)
            if starts:
                self._time_any |= 1 << i
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

    def _union(self, buckets: dict[str, int], keys) -> int:
        mask = 0
        for key in keys:
            mask |= buckets.get(key, 0)
        return mask

    def time_mask(self, mentee: Profile) -> int:
        """Mentors sharing a free stretch of one session with the mentee."""
        if mentee.any_time:
            return self._time_any
        starts = mentee.starts(self.settings.session_minutes)
        if not starts:
            return 0  # the mentee's own windows are all shorter than a session
        mask = self._time_wild
        for a, b in runs(starts):
            first = bisect_right(self._cuts, a) - 1
            stop = bisect_left(self._cuts, b)
            for segment in self._segments[first:stop]:
                mask |= segment
        return mask

    def others(self, mentee: Profile) -> int:
        """Mentors with capacity other than the mentee themself (rules 1 and 2)."""
        i = self.position.get(mentee.key)
        return self.all if i is None else self.all & ~(1 << i)

    def rule_masks(self, mentee: Profile) -> dict[str, int]:
        """For each rule in RULE_ORDER, the mentors it allows (all of them when relaxed or moot)."""
        relax = self.settings.relax
        topic = self.settings.topic
        masks = dict.fromkeys(RULE_ORDER, self.all)
        if "grade_band" not in relax and mentee.bands:
            masks["grade_band"] = self._union(self._bands, mentee.bands) | self._band_wild
        if "subject" not in relax and mentee.subjects:
            masks["subject"] = self._union(self._subjects, mentee.subjects) | self._subject_wild
        if "strengths" not in relax:
            if topic:
                masks["strengths"] = self._strengths.get(topic.casefold(), 0)
            elif mentee.needs:
                masks["strengths"] = self._union(self._strengths, (need for need, _ in mentee.needs))
        if "availability" not in relax:
            masks["availability"] = self.time_mask(mentee)
        excluded = self._excluded.get(mentee.key, 0)
        for key in mentee.avoid:
            i = self.position.get(key)
            if i is not None:
                excluded |= 1 << i
        masks["avoid"] = self.all & ~excluded
        return masks

    def candidates(self, mentee: Profile) -> int:
        """Bitset of mentors that pass every (unrelaxed) hard rule with this mentee."""
        mask = self.others(mentee)
        for rule_mask in self.rule_masks(mentee).values():
            mask &= rule_mask
            if not mask:
                break
        return mask

    def positions(self, mask: int) -> np.ndarray:
        """Mentor positions set in `mask`, ascending."""
        if not mask:
            return np.empty(0, dtype=np.int64)
        raw = np.frombuffer(mask.to_bytes(self._nbytes, "little"), dtype=np.uint8)
        return np.flatnonzero(np.unpackbits(raw, bitorder="little"))
