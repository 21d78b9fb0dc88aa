"""The candidate graph every solver works on: who may meet whom (hard rules) and how well (fit)."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import TypeVar

import numpy as np

from .candidates import MentorIndex
from .eligibility import HistoryIndex, Profile
from .explain import PairReasons, UnmatchedExplainer
from .model import History, Pair, Participant, RoundSettings, ScorePart, Unmatched
from .scoring import FIT_FACTORS, LOAD_STEP, edge_fit_parts

F = TypeVar("F", bound=Callable)


def without_gc_pauses(solve: F) -> F:
    """Run `solve` inside no_gc_pauses."""

    @functools.wraps(solve)
    def wrapper(*args, **kwargs):
        with no_gc_pauses():
            return solve(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a solve builds its many small objects.

    Matching allocates hundreds of thousands of tuples and dataclasses that never form cycles;
    with a large roster in memory each automatic full collection rescans all of it, which cost
    about a fifth of the run. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _age_young_objects()
            gc.enable()


def _age_young_objects() -> None:
    """Move what was allocated meanwhile to the oldest generation without scanning it.

    With the collector off, everything the solve allocated piles up in the youngest generation,
    and the first collection after re-enabling it would scan all of it at once (a quarter of a
    second at 10k mentees) only to promote it. freeze() then unfreeze() moves the objects to the
    oldest generation in constant time; they are still collected there like any long-lived data.
    Skipped when the application froze objects itself, whose freeze unfreeze() would undo.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def profiles_of(participants: Sequence[Participant]) -> list[Profile]:
    """Profiles sorted by key, which makes results independent of input order and breaks ties by key."""
    profiles = sorted([Profile(p) for p in participants], key=attrgetter("key"))
    if len({p.key for p in profiles}) < len(profiles):
        # Name the same duplicate whatever the input order: the later of the two in key order.
        profiles.sort(key=lambda p: (p.key, p.person.key))
        for a, b in zip(profiles, profiles[1:]):
            if a.key == b.key:
                raise ValueError(f"duplicate participant key: {b.person.key!r}")
    return profiles


@dataclass
class CandidateGraph:
    """Mentors with capacity, mentees, and one edge per pair that passes every hard rule.

    Edges are parallel arrays ordered by mentee, then mentor; `parts` holds the edges' fit points
    with one row per factor (FIT_FACTORS order) and `fit` their sum.
    """

    settings: RoundSettings
    history: HistoryIndex
    profiles: list[Profile]
    mentors: list[Profile]
    mentees: list[Profile]
    index: MentorIndex
    edge_mentee: np.ndarray
    edge_mentor: np.ndarray
    parts: np.ndarray
    fit: np.ndarray
    recent: np.ndarray

    @property
    def capacity(self) -> np.ndarray:
        """Each mentor's capacity this round."""
        return np.array([m.person.capacity for m in self.mentors], dtype=np.int64)

    def degree(self) -> np.ndarray:
        """Candidate edges per mentor."""
        return np.bincount(self.edge_mentor, minlength=len(self.mentors))

    def seat_arcs(self, seats_per_mentor: np.ndarray, cost_of_seat) -> tuple[np.ndarray, np.ndarray]:
        """(owner mentor, cost) of every seat arc: mentor j gets seats_per_mentor[j] seats, the
        s-th (0-based) costing cost_of_seat(s, recent load)."""
        owner = np.repeat(np.arange(len(self.mentors), dtype=np.int64), seats_per_mentor)
        starts = np.cumsum(seats_per_mentor) - seats_per_mentor
        seat = np.arange(len(owner), dtype=np.int64) - np.repeat(starts, seats_per_mentor)
        return owner, cost_of_seat(seat, self.recent[owner])

    def degree_of_mentees(self) -> np.ndarray:
        """Candidate edges per mentee."""
        return np.bincount(self.edge_mentee, minlength=len(self.mentees))

    def pairs(
        self, chosen: np.ndarray, load_rank: np.ndarray, load_points: np.ndarray, notes=None, load_unit: str = "mentee"
    ) -> list[Pair]:
        """Pairs for the chosen edges; load_rank[k] is which of its mentor's mentees (or groups,
        per load_unit) edge k is, load_points[k] what that costs, notes(edge) any extra reasons."""
        # Mentors and mentees are in key order, so ordering by their positions is the order by
        # key callers see (Profile keys are the people's keys case-folded), with no sort of objects.
        order = np.lexsort((self.edge_mentee[chosen], self.edge_mentor[chosen]))
        chosen, load_rank, load_points = chosen[order], load_rank[order], load_points[order]
        # One pass over plain Python lists: numpy indexing per pair costs more than the pair itself.
        mentors, mentees = self.mentors, self.mentees
        pair_mentors = [mentors[j] for j in self.edge_mentor[chosen].tolist()]
        pair_mentees = [mentees[i] for i in self.edge_mentee[chosen].tolist()]
        recent = self.recent[self.edge_mentor[chosen]].tolist()
        points_of = self.parts[:, chosen].T.tolist()
        scores = (self.fit[chosen] - load_points).tolist()
        all_reasons = PairReasons(self.settings, load_unit).many(pair_mentors, pair_mentees, load_rank.tolist(), recent)
        if notes is not None:
            all_reasons = [reasons + tuple(notes(edge)) for reasons, edge in zip(all_reasons, chosen.tolist())]
        new = object.__new__
        out: list[Pair] = []
        for mentor, mentee, points, load, score, reasons in zip(
                pair_mentors, pair_mentees, points_of, load_points.tolist(), scores, all_reasons):
            # Pair's fields filled directly, as participants_from_columns does: a frozen
            # dataclass's __init__ sets each field through object.__setattr__.
            pair = new(Pair)
            pair.__dict__.update(mentor=mentor.person.key, mentee=mentee.person.key, score=float(score),
                                 breakdown=_breakdown(tuple(points), load), reasons=reasons)
            out.append(pair)
        return out

    def unmatched(self, matched_mentees: np.ndarray) -> list[Unmatched]:
        """Unmatched entries, with reasons, for every mentee not in matched_mentees."""
        explainer = UnmatchedExplainer(self.index, self.settings, {p.key for p in self.profiles if p.is_mentor})
        left = np.ones(len(self.mentees), dtype=bool)
        left[matched_mentees] = False
        # A mentee's candidates are its run of edges (ordered by mentee, then mentor position):
        # how many there are and the first few is all a crowded-out explanation needs.
        degree = self.degree_of_mentees()
        first_edge = (np.cumsum(degree) - degree).tolist()
        degree = degree.tolist()
        out = []
        for i in np.flatnonzero(left).tolist():
            mentee = self.mentees[i]
            if degree[i]:
                first = self.edge_mentor[first_edge[i]:first_edge[i] + 3].tolist()
                reasons = explainer.crowded_out(mentee, degree[i], first)
            else:
                reasons = explainer.reasons(mentee, 0)
            out.append(Unmatched(key=mentee.person.key, reasons=reasons))
        return out


@lru_cache(maxsize=8192)
def _score_part(factor: str, points: int) -> ScorePart:
    # Frozen and equal by value, so pairs can share them; building 250k of them is not free.
    return ScorePart(factor, float(points))


@lru_cache(maxsize=65536)
def _breakdown(points: tuple[int, ...], load: int) -> tuple[ScorePart, ...]:
    # A few thousand distinct combinations of points cover a 50k-mentee round.
    return tuple(_score_part(f, p) for f, p in zip(FIT_FACTORS, points)) + (_score_part("load", -load),)


def build_graph(participants: Sequence[Participant], settings: RoundSettings, history: History) -> CandidateGraph:
    """Profiles, the mentor index, every candidate edge and its fit points."""
    profiles = profiles_of(participants)
    hist = HistoryIndex(history)
    # Profile.is_mentor and is_mentee, inlined: this runs over every person.
    mentors = [p for p in profiles if p.person.role in ("mentor", "both") and p.person.capacity > 0]
    mentees = [p for p in profiles if p.person.role in ("mentee", "both")]
    index = MentorIndex(mentors, settings, hist)
    edge_mentee, edge_mentor = index.edges([index.candidates(m) for m in mentees])
    parts = edge_fit_parts(mentors, mentees, edge_mentee, edge_mentor, settings)
    recent = np.array([hist.recent_load.get(m.key, 0) for m in mentors], dtype=np.int64)
    return CandidateGraph(
        settings=settings, history=hist, profiles=profiles, mentors=mentors, mentees=mentees, index=index,
        edge_mentee=edge_mentee, edge_mentor=edge_mentor, parts=parts, fit=parts.sum(axis=0), recent=recent,
    )


def load_costs(seat: np.ndarray, recent: np.ndarray) -> np.ndarray:
    """load_cost(seat + 1, recent) for arrays: the cost of a mentor's (seat+1)-th mentee."""
    return LOAD_STEP * (seat + recent)
