"""match_round: candidates from the index, fit scores, exact flow solve, reasons."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from .candidates import MentorIndex
from .eligibility import HistoryIndex, Profile
from .explain import UnmatchedExplainer, pair_reasons
from .model import History, MatchResult, Pair, Participant, RoundSettings, ScorePart, Unmatched
from .scoring import FIT_FACTORS, fit_parts, load_cost
from .solver import solve_assignment


def _profiles(participants: Sequence[Participant]) -> list[Profile]:
    # Sorting by key makes the result independent of input order and breaks ties by key.
    profiles = sorted((Profile(p) for p in participants), key=lambda p: (p.key, p.person.key))
    for a, b in zip(profiles, profiles[1:]):
        if a.key == b.key:
            raise ValueError(f"duplicate participant key: {b.person.key!r}")
    return profiles


def match_round(
    participants: Sequence[Participant], settings: RoundSettings, history: History = History()
) -> MatchResult:
    """Pair mentees to mentors: maximum number of matched mentees first, then maximum total fit."""
    started = time.perf_counter()
    profiles = _profiles(participants)
    hist = HistoryIndex(history)
    mentors = [p for p in profiles if p.is_mentor and p.person.capacity > 0]
    mentees = [p for p in profiles if p.is_mentee]
    index = MentorIndex(mentors, settings, hist)

    edge_mentee: list[int] = []
    edge_mentor: list[int] = []
    edge_fit: list[int] = []
    eligible: list[int] = []
    for i, mentee in enumerate(mentees):
        mask = index.candidates(mentee)
        eligible.append(mask)
        for j in index.positions(mask).tolist():
            edge_mentee.append(i)
            edge_mentor.append(j)
            edge_fit.append(sum(fit_parts(mentors[j], mentee, settings)))

    e_mentee = np.asarray(edge_mentee, dtype=np.int64)
    e_mentor = np.asarray(edge_mentor, dtype=np.int64)
    e_fit = np.asarray(edge_fit, dtype=np.int64)
    degree = np.bincount(e_mentor, minlength=len(mentors))
    recent = [hist.recent_load.get(m.key, 0) for m in mentors]
    # A mentor never needs more unit arcs than candidate edges, which keeps the network small.
    arc_costs = [
        [load_cost(k, recent[j]) for k in range(1, min(m.person.capacity, int(degree[j])) + 1)]
        for j, m in enumerate(mentors)
    ]
    chosen = solve_assignment(len(mentees), len(mentors), e_mentee, e_mentor, e_fit, arc_costs)

    # Which of a mentor's mentees is "first" only matters for how load is reported: the best fit
    # (then the smallest key) takes the cheapest arc.
    by_mentor: dict[int, list[int]] = {}
    for edge in np.flatnonzero(chosen).tolist():
        by_mentor.setdefault(edge_mentor[edge], []).append(edge)
    pairs: list[Pair] = []
    matched: set[int] = set()
    for j, edges in by_mentor.items():
        edges.sort(key=lambda ed: (-edge_fit[ed], mentees[edge_mentee[ed]].key))
        for rank, edge in enumerate(edges, start=1):
            mentor, mentee = mentors[j], mentees[edge_mentee[edge]]
            matched.add(edge_mentee[edge])
            parts = fit_parts(mentor, mentee, settings)
            load = load_cost(rank, recent[j])
            breakdown = tuple(ScorePart(f, float(p)) for f, p in zip(FIT_FACTORS, parts)) + (
                ScorePart("load", float(-load)),
            )
            pairs.append(Pair(
                mentor=mentor.person.key,
                mentee=mentee.person.key,
                score=float(sum(parts) - load),
                breakdown=breakdown,
                reasons=pair_reasons(mentor, mentee, settings, rank, recent[j]),
            ))
    pairs.sort(key=lambda p: (p.mentor.casefold(), p.mentee.casefold()))

    explainer = UnmatchedExplainer(index, settings, {p.key for p in profiles if p.is_mentor})
    unmatched = tuple(
        Unmatched(key=mentee.person.key, reasons=explainer.reasons(mentee, eligible[i]))
        for i, mentee in enumerate(mentees)
        if i not in matched
    )
    return MatchResult(
        pairs=tuple(pairs),
        unmatched=unmatched,
        total_score=float(sum(p.score for p in pairs)),
        solve_seconds=time.perf_counter() - started,
        candidate_edges=len(edge_fit),
    )
