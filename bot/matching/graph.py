"""The candidate graph every solver works on: who may meet whom (hard rules) and how well (fit)."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np

from .candidates import MentorIndex
from .eligibility import HistoryIndex, Profile
from .explain import UnmatchedExplainer, pair_reasons
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
            gc.enable()


def profiles_of(participants: Sequence[Participant]) -> list[Profile]:
    """Profiles sorted by key, which makes results independent of input order and breaks ties by key."""
    profiles = sorted((Profile(p) for p in participants), key=lambda p: (p.key, p.person.key))
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
        out: list[Pair] = []
        parts = self.parts
        for rank, load, edge in zip(load_rank.tolist(), load_points.tolist(), chosen.tolist()):
            mentor = self.mentors[int(self.edge_mentor[edge])]
            mentee = self.mentees[int(self.edge_mentee[edge])]
            points = parts[:, edge].tolist()
            breakdown = tuple(_score_part(f, p) for f, p in zip(FIT_FACTORS, points)) + (_score_part("load", -load),)
            reasons = pair_reasons(mentor, mentee, self.settings, rank, int(self.recent[self.edge_mentor[edge]]), load_unit)
            if notes is not None:
                reasons = reasons + tuple(notes(edge))
            out.append(Pair(
                mentor=mentor.person.key,
                mentee=mentee.person.key,
                score=float(sum(points) - load),
                breakdown=breakdown,
                reasons=reasons,
            ))
        out.sort(key=lambda p: (p.mentor.casefold(), p.mentee.casefold()))
        return out

    def unmatched(self, matched_mentees: np.ndarray) -> list[Unmatched]:
        """Unmatched entries, with reasons, for every mentee not in matched_mentees."""
        explainer = UnmatchedExplainer(self.index, self.settings, {p.key for p in self.profiles if p.is_mentor})
        left = np.ones(len(self.mentees), dtype=bool)
        left[matched_mentees] = False
        return [
            Unmatched(key=self.mentees[i].person.key, reasons=explainer.reasons(self.mentees[i], self.index.candidates(self.mentees[i])))
            for i in np.flatnonzero(left).tolist()
        ]


@lru_cache(maxsize=8192)
def _score_part(factor: str, points: int) -> ScorePart:
    # Frozen and equal by value, so pairs can share them; building 250k of them is not free.
    return ScorePart(factor, float(points))


def build_graph(participants: Sequence[Participant], settings: RoundSettings, history: History) -> CandidateGraph:
    """Profiles, the mentor index, every candidate edge and its fit points."""
    profiles = profiles_of(participants)
    hist = HistoryIndex(history)
    mentors = [p for p in profiles if p.is_mentor and p.person.capacity > 0]
    mentees = [p for p in profiles if p.is_mentee]
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
