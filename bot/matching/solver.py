"""Exact assignment by min-cost max-flow (OR-Tools SimpleMinCostFlow)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ortools.graph.python import min_cost_flow


def solve_flow(
    n_mentees: int,
    n_mentors: int,
    edge_mentee: np.ndarray,
    edge_mentor: np.ndarray,
    edge_gain: np.ndarray,
    seat_mentor: np.ndarray,
    seat_cost: np.ndarray,
    mentee_seat_owner: np.ndarray | None = None,
    mentee_seat_cost: np.ndarray | None = None,
) -> np.ndarray:
    """The most edges first, then the highest gain minus seat costs; returns a bool mask over edges.

    Network: source -> mentee (one unit arc each, or the given mentee seats) -> mentor (one unit
    arc per candidate edge, cost -gain) -> sink through the mentor's unit seat arcs. When a
    mentor's (or mentee's) seat costs grow with the seat, its arcs fill cheapest first, so any
    flow pays exactly the load of what it gives each person.
    """
    n_edges = len(edge_gain)
    if n_edges == 0:
        return np.zeros(0, dtype=bool)
    source, sink = 0, n_mentees + n_mentors + 1
    mentee_node = 1 + np.arange(n_mentees, dtype=np.int64)
    mentor_node = 1 + n_mentees + np.arange(n_mentors, dtype=np.int64)
    if mentee_seat_owner is None:
        mentee_seat_owner = np.arange(n_mentees, dtype=np.int64)
        mentee_seat_cost = np.zeros(n_mentees, dtype=np.int64)
    n_source = len(mentee_seat_owner)

    # Max flow first (cardinality), min cost among max flows second (fit): exact, no big-M.
    # Shifting every edge cost by the same constant leaves that optimum unchanged (each max flow
    # uses the same number of edges) and keeps costs non-negative.
    gain = np.asarray(edge_gain, dtype=np.int64)
    edge_cost = int(gain.max()) - gain

    tails = np.concatenate([np.full(n_source, source, dtype=np.int64), mentee_node[edge_mentee], mentor_node[seat_mentor]])
    heads = np.concatenate([mentee_node[mentee_seat_owner], mentor_node[edge_mentor], np.full(len(seat_mentor), sink, dtype=np.int64)])
    costs = np.concatenate([np.asarray(mentee_seat_cost, dtype=np.int64), edge_cost, np.asarray(seat_cost, dtype=np.int64)])

    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, np.ones(len(tails), dtype=np.int64), costs)
    supply = min(n_source, len(seat_mentor))
    flow.set_nodes_supplies(np.array([source, sink]), np.array([supply, -supply]))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    return flow.flows(arcs[n_source:n_source + n_edges]) > 0


def solve_assignment(
    n_mentees: int,
    n_mentors: int,
    edge_mentee: np.ndarray,
    edge_mentor: np.ndarray,
    edge_fit: np.ndarray,
    arc_costs: Sequence[Sequence[int]],
) -> np.ndarray:
    """Choose edges: the most mentees matched, then the highest fit minus load; returns a bool mask over edges.

    arc_costs[mentor] lists the cost of the mentor's 1st, 2nd, ... mentee (non-decreasing).
    """
    seat_mentor = np.repeat(np.arange(n_mentors, dtype=np.int64), [len(c) for c in arc_costs])
    seat_cost = np.asarray([c for costs in arc_costs for c in costs], dtype=np.int64)
    return solve_flow(n_mentees, n_mentors, edge_mentee, edge_mentor, edge_fit, seat_mentor, seat_cost)
