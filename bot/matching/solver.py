"""Exact assignment by min-cost max-flow (OR-Tools SimpleMinCostFlow)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ortools.graph.python import min_cost_flow


def solve_assignment(
    n_mentees: int,
    n_mentors: int,
    edge_mentee: np.ndarray,
    edge_mentor: np.ndarray,
    edge_fit: np.ndarray,
    arc_costs: Sequence[Sequence[int]],
) -> np.ndarray:
    """Choose edges: the most mentees matched, then the highest fit minus load; returns a bool mask over edges.

    Network: source -> mentee (capacity 1) -> mentor (one arc per candidate edge, cost -fit) ->
    sink through the mentor's unit arcs, the k-th costing arc_costs[mentor][k-1]. Because those
    costs grow with k, a mentor's arcs fill cheapest first, so any flow pays exactly the load of
    the mentees it gives each mentor.
    """
    n_edges = len(edge_fit)
    if n_edges == 0:
        return np.zeros(0, dtype=bool)
    source, sink = 0, n_mentees + n_mentors + 1
    mentee_node = 1 + np.arange(n_mentees, dtype=np.int64)
    mentor_node = 1 + n_mentees + np.arange(n_mentors, dtype=np.int64)

    # Max flow first (cardinality), min cost among max flows second (fit): exact, no big-M.
    # Shifting every edge cost by the same constant leaves that optimum unchanged (each max flow
    # uses the same number of edges) and keeps costs non-negative.
    shift = int(edge_fit.max())
    edge_cost = shift - edge_fit.astype(np.int64)

    unit_tails: list[int] = []
    unit_costs: list[int] = []
    for mentor, costs in enumerate(arc_costs):
        unit_tails.extend([int(mentor_node[mentor])] * len(costs))
        unit_costs.extend(int(c) for c in costs)

    tails = np.concatenate([
        np.full(n_mentees, source, dtype=np.int64),
        mentee_node[edge_mentee],
        np.asarray(unit_tails, dtype=np.int64),
    ])
    heads = np.concatenate([
        mentee_node,
        mentor_node[edge_mentor],
        np.full(len(unit_tails), sink, dtype=np.int64),
    ])
    capacities = np.ones(len(tails), dtype=np.int64)
    costs = np.concatenate([
        np.zeros(n_mentees, dtype=np.int64),
        edge_cost,
        np.asarray(unit_costs, dtype=np.int64),
    ])

    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    flow.set_nodes_supplies(np.array([source, sink]), np.array([n_mentees, -n_mentees]))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    edge_arcs = arcs[n_mentees:n_mentees + n_edges]
    return flow.flows(edge_arcs) > 0
