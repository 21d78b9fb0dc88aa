"""match_round: candidates from the index, fit scores, exact flow solve, reasons."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from .graph import CandidateGraph, build_graph, load_costs, without_gc_pauses
from .model import History, MatchResult, Participant, RoundSettings, SolveReport
from .solver import solve_flow

__all__ = ["match_round", "flow_choice", "load_ranks", "result_from_choice"]


def flow_choice(graph: CandidateGraph) -> np.ndarray:
    """Indices of the edges of a maximum matching with the best total fit minus load (exact)."""
    seats = np.minimum(graph.capacity, graph.degree())  # never more seat arcs than candidate edges
    seat_mentor, seat_cost = graph.seat_arcs(seats, load_costs)
    chosen = solve_flow(len(graph.mentees), len(graph.mentors), graph.edge_mentee, graph.edge_mentor,
                        graph.fit, seat_mentor, seat_cost)
    return np.flatnonzero(chosen)


def load_ranks(graph: CandidateGraph, chosen: np.ndarray) -> np.ndarray:
    """Which of its mentor's mentees each chosen edge is (1-based).

    Which one is "first" only matters for how load is reported: the best fit (then the smallest
    key, i.e. the lower mentee position) takes the cheapest seat.
    """
    mentor = graph.edge_mentor[chosen]
    order = np.lexsort((graph.edge_mentee[chosen], -graph.fit[chosen], mentor))
    ranks = np.empty(len(chosen), dtype=np.int64)
    sorted_mentor = mentor[order]
    group_start = np.r_[0, np.flatnonzero(np.diff(sorted_mentor)) + 1]
    starts = np.repeat(group_start, np.diff(np.r_[group_start, len(order)]))
    ranks[order] = np.arange(len(order)) - starts + 1
    return ranks


def result_from_choice(
    graph: CandidateGraph, chosen: np.ndarray, started: float, solver: SolveReport | None = None
) -> MatchResult:
    """A MatchResult for chosen edges, one mentor seat per mentee."""
    ranks = load_ranks(graph, chosen)
    load = load_costs(ranks - 1, graph.recent[graph.edge_mentor[chosen]])
    pairs = graph.pairs(chosen, ranks, load)
    unmatched = graph.unmatched(graph.edge_mentee[chosen])
    return MatchResult(
        pairs=tuple(pairs),
        unmatched=tuple(unmatched),
        total_score=float(sum(p.score for p in pairs)),
        solve_seconds=time.perf_counter() - started,
        candidate_edges=len(graph.fit),
        solver=solver,
    )


@without_gc_pauses
def match_round(
    participants: Sequence[Participant], settings: RoundSettings, history: History = History()
) -> MatchResult:
    """Pair mentees to mentors: maximum number of matched mentees first, then maximum total fit."""
    started = time.perf_counter()
    graph = build_graph(participants, settings, history)
    solve_started = time.perf_counter()
    chosen = flow_choice(graph)
    report = SolveReport(method="min-cost flow", status="optimal", seconds=time.perf_counter() - solve_started)
    return result_from_choice(graph, chosen, started, report)
