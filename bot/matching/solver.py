"""Exact assignment by min-cost max-flow (OR-Tools SimpleMinCostFlow).

Large rounds are solved on a shortlist of each person's best edges first, and the answer is then
proven optimal over every edge (node potentials under which no left-out edge could improve it);
edges that could are added and the shortlist solved again, so the result is always the optimum
of the whole candidate graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

# Below this many edges the whole graph is solved at once: the shortlist saves only milliseconds
# there, and the many flows of a CP-SAT multiplier search (2k mentees: 100k edges) keep their choice
# among equal optima.
SHORTLIST_FROM = 200_000
# How many of its best edges each mentee and each mentor keeps in the first solve. A mentor's
# list matters more: mentees crowd the popular mentors, and the optimum sends many of them down
# their lists to whichever mentor has room, and those edges are usually near the top of that
# mentor's own list.
MENTEE_SHORTLIST = 10
MENTOR_SHORTLIST = 50
# Shortlist solves before falling back to one solve over every edge.
MOST_ROUNDS = 3
# Bellman-Ford passes before the proof gives up (and the whole graph is solved instead).
MOST_PASSES = 1_000


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
    shortlist_from: int | None = None,
    shortlist: tuple[int, int] | None = None,
) -> np.ndarray:
    """The most edges first, then the highest gain minus seat costs; returns a bool mask over edges.

    Network: source -> mentee (one unit arc each, or the given mentee seats) -> mentor (one unit
    arc per candidate edge, cost -gain) -> sink through the mentor's unit seat arcs. When a
    mentor's (or mentee's) seat costs grow with the seat, its arcs fill cheapest first, so any
    flow pays exactly the load of what it gives each person. From `shortlist_from` edges on
    (SHORTLIST_FROM), the solve starts from each mentee's and each mentor's best `shortlist` edges
    (MENTEE_SHORTLIST, MENTOR_SHORTLIST); see the module.
    """
    n_edges = len(edge_gain)
    if n_edges == 0:
        return np.zeros(0, dtype=bool)
    network = FlowNetwork(n_mentees, n_mentors, edge_mentee, edge_mentor, edge_gain, seat_mentor, seat_cost,
                          mentee_seat_owner, mentee_seat_cost)
    if n_edges < (SHORTLIST_FROM if shortlist_from is None else shortlist_from):
        return network.solve(np.arange(n_edges)).chosen_mask()
    gain = network.edge_gain
    per_mentee, per_mentor = shortlist or (MENTEE_SHORTLIST, MENTOR_SHORTLIST)
    kept = (top_by_group(network.edge_mentee, gain, n_mentees, per_mentee)
            | top_by_group(network.edge_mentor, gain, n_mentors, per_mentor))
    margin = max(1, int(network.edge_cost.max()) // 32)
    for round_ in range(MOST_ROUNDS):
        solved = network.solve(np.flatnonzero(kept))
        reduced = solved.reduced_costs()
        if reduced is None:
            break  # no proof within MOST_PASSES: solve the whole graph
        if not (reduced[~kept] < 0).any():
            return solved.chosen_mask()
        # Some left-out edge would improve the flow. Under these potentials the optimum's edges
        # have reduced costs near zero, so the next shortlist is the edges within a margin (the
        # flow's own edges are at or below zero), widened each time. The first widening takes them
        # alone: a fifth the size of the first shortlist, and usually enough. Every later one adds
        # them to the shortlist it has: on a dense roster the margin alone dropped edges the last
        # shortlist held, and the solve failed again.
        near = reduced <= margin
        kept = near if round_ == 0 else kept | near
        margin *= 4
    return network.solve(np.arange(n_edges)).chosen_mask()


def top_by_group(group: np.ndarray, gain: np.ndarray, n_groups: int, k: int) -> np.ndarray:
    """Mask of each group's k highest-gain edges (ties at the k-th broken by edge order)."""
    if k <= 0:
        return np.zeros(len(gain), dtype=bool)
    low = int(gain.min())
    span = int(gain.max()) - low + 1
    if n_groups * span > 4 * len(gain) + 4096:
        # Gains too spread for a histogram per group: sort instead.
        order = np.lexsort((np.arange(len(gain)), -gain, group))
        ordered_group = group[order]
        place = np.arange(len(order)) - np.searchsorted(ordered_group, ordered_group)
        kept = np.zeros(len(gain), dtype=bool)
        kept[order[place < k]] = True
        return kept
    # counts[g, r]: edges of group g whose gain is r below the highest; the running sum of a
    # row reaches k at the group's k-th best gain, its threshold.
    counts = np.bincount(group * span + (span - 1 - (gain - low)), minlength=n_groups * span).reshape(n_groups, span)
    at_least = np.cumsum(counts, axis=1)
    reached = at_least >= k
    rank = np.where(reached[:, -1], reached.argmax(axis=1), span - 1)
    rows = np.arange(n_groups)
    room_at_threshold = k - (at_least[rows, rank] - counts[rows, rank])
    threshold = (low + span - 1 - rank)[group]
    kept = gain > threshold
    # Of the edges at the threshold, the group's first ones in edge order fill its remaining room.
    tied = np.flatnonzero(gain == threshold)
    tied = tied[np.argsort(group[tied], kind="stable")]
    tied_group = group[tied]
    place = np.arange(len(tied)) - np.searchsorted(tied_group, tied_group)
    kept[tied[place < room_at_threshold[tied_group]]] = True
    return kept


@dataclass
class FlowNetwork:
    """The arcs of the assignment network, numbered source, mentees, mentors, sink."""

    n_mentees: int
    n_mentors: int
    edge_mentee: np.ndarray
    edge_mentor: np.ndarray
    edge_gain: np.ndarray
    seat_mentor: np.ndarray
    seat_cost: np.ndarray
    mentee_seat_owner: np.ndarray | None = None
    mentee_seat_cost: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.mentee_seat_owner is None:
            self.mentee_seat_owner = np.arange(self.n_mentees, dtype=np.int64)
            self.mentee_seat_cost = np.zeros(self.n_mentees, dtype=np.int64)
        self.sink = self.n_mentees + self.n_mentors + 1
        self.edge_mentee = np.asarray(self.edge_mentee, dtype=np.int64)
        self.edge_mentor = np.asarray(self.edge_mentor, dtype=np.int64)
        self.edge_gain = np.asarray(self.edge_gain, dtype=np.int64)
        # Max flow first (cardinality), min cost among max flows second (fit): exact, no big-M.
        # Shifting every edge cost by the same constant leaves that optimum unchanged (each max
        # flow uses the same number of edges) and keeps costs non-negative.
        self.edge_cost = int(self.edge_gain.max()) - self.edge_gain
        self.edge_tail = 1 + self.edge_mentee
        self.edge_head = 1 + self.n_mentees + self.edge_mentor
        n_source = len(self.mentee_seat_owner)
        self.supply = min(n_source, len(self.seat_mentor))
        self.source_arcs = (np.zeros(n_source, dtype=np.int64), 1 + np.asarray(self.mentee_seat_owner, dtype=np.int64),
                            np.asarray(self.mentee_seat_cost, dtype=np.int64))
        self.sink_arcs = (1 + self.n_mentees + np.asarray(self.seat_mentor, dtype=np.int64),
                          np.full(len(self.seat_mentor), self.sink, dtype=np.int64), np.asarray(self.seat_cost, dtype=np.int64))

    def solve(self, edges: np.ndarray) -> SolvedFlow:
        """The optimum over the given edges (indices) and every seat arc."""
        source_tail, source_head, source_cost = self.source_arcs
        sink_tail, sink_head, sink_cost = self.sink_arcs
        tails = np.concatenate([source_tail, self.edge_tail[edges], sink_tail])
        heads = np.concatenate([source_head, self.edge_head[edges], sink_head])
        costs = np.concatenate([source_cost, self.edge_cost[edges], sink_cost])
        flow = min_cost_flow.SimpleMinCostFlow()
        arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, np.ones(len(tails), dtype=np.int64), costs)
        flow.set_nodes_supplies(np.array([0, self.sink]), np.array([self.supply, -self.supply]))
        status = flow.solve_max_flow_with_min_cost()
        if status != flow.OPTIMAL:
            raise RuntimeError(f"min-cost flow failed with status {status}")
        used = flow.flows(arcs) > 0
        return SolvedFlow(self, edges, tails, heads, costs, used, int(used[:len(source_tail)].sum()))


@dataclass
class SolvedFlow:
    """An optimal flow over some of the network's edges, and the arcs it was solved on."""

    network: FlowNetwork
    edges: np.ndarray
    tails: np.ndarray
    heads: np.ndarray
    costs: np.ndarray
    used: np.ndarray
    flow_value: int

    def chosen_mask(self) -> np.ndarray:
        """Bool mask over all the network's edges: those this flow uses."""
        n_source = len(self.network.source_arcs[0])
        mask = np.zeros(len(self.network.edge_gain), dtype=bool)
        mask[self.edges[self.used[n_source:n_source + len(self.edges)]]] = True
        return mask

    def reduced_costs(self) -> np.ndarray | None:
        """Every edge's reduced cost under potentials that prove this flow optimal over its own
        edges; None when the proof did not finish. A flow over all edges is then optimal as well
        exactly when no left-out edge has a negative reduced cost.

        The flow is the best over its own edges, so its residual network has no negative cycle and
        Bellman-Ford finds potentials under which every residual arc has a non-negative reduced
        cost. An unused left-out edge with a non-negative reduced cost under them closes no
        negative cycle either; when every one does, no flow over all edges is better. A sink ->
        source arc costing more than any path could gain (while the flow is under the supply)
        makes a longer flow a negative cycle too, so the proof covers cardinality as well.
        """
        network = self.network
        tails = np.where(self.used, self.heads, self.tails)
        heads = np.where(self.used, self.tails, self.heads)
        costs = np.where(self.used, -self.costs, self.costs)
        n_nodes = network.sink + 1
        if self.flow_value < network.supply:
            longest = int(max(np.abs(self.costs).max(), network.edge_cost.max()))
            tails = np.r_[tails, network.sink]
            heads = np.r_[heads, 0]
            costs = np.r_[costs, -(n_nodes + 1) * (longest + 1)]
        potential = _distances_through_mentees(tails, heads, costs, n_nodes, network.n_mentees)
        if potential is None:
            return None
        return network.edge_cost + potential[network.edge_tail] - potential[network.edge_head]


def _distances_through_mentees(
    tails: np.ndarray, heads: np.ndarray, costs: np.ndarray, n_nodes: int, n_mentees: int
) -> np.ndarray | None:
    """_shortest_distances, with each mentee folded into the one arc that enters it when every
    mentee has exactly one (a single seat each: from its mentor, or from the source when it is
    unplaced). Paths then step mentor to mentor, so Bellman-Ford settles in half the passes."""
    into_mentee = (heads >= 1) & (heads <= n_mentees)
    entering = np.flatnonzero(into_mentee)
    if len(entering) != n_mentees or np.bincount(heads[entering], minlength=n_mentees + 1)[1:].min() != 1:
        return _shortest_distances(tails, heads, costs, n_nodes, np.zeros(n_nodes, dtype=np.int64))
    entry = np.zeros(n_mentees + 1, dtype=np.int64)  # [0] unused: mentee i is node i
    entry[heads[entering]] = entering
    before, step = tails[entry], costs[entry]          # who enters mentee i, and at what cost
    from_mentee = (tails >= 1) & (tails <= n_mentees)
    rest = ~into_mentee & ~from_mentee
    leaving = tails[from_mentee]
    # The virtual root reaches each mentee at 0, and through it whatever the mentee's arcs reach.
    start = np.zeros(n_nodes, dtype=np.int64)
    np.minimum.at(start, heads[from_mentee], costs[from_mentee])
    distance = _shortest_distances(
        np.concatenate([tails[rest], before[leaving]]), np.concatenate([heads[rest], heads[from_mentee]]),
        np.concatenate([costs[rest], step[leaving] + costs[from_mentee]]), n_nodes, start)
    if distance is not None:
        mentees = np.arange(1, n_mentees + 1)
        distance[mentees] = np.minimum(0, distance[before[mentees]] + step[mentees])
    return distance


def _shortest_distances(
    tails: np.ndarray, heads: np.ndarray, costs: np.ndarray, n_nodes: int, start: np.ndarray
) -> np.ndarray | None:
    """Bellman-Ford from a virtual root joined to every node v at cost start[v] (at most 0): each
    node's shortest distance, or None when MOST_PASSES passes did not settle (a negative cycle,
    or a long path)."""
    if not len(tails):
        return start.copy()
    # 32-bit distances when no path can leave that range: half the memory traffic per pass.
    bound = (n_nodes + 1) * (int(np.abs(costs).max(initial=0)) + 1) - int(start.min(initial=0))
    kind = np.int32 if bound < 2**30 else np.int64
    order = np.argsort(heads, kind="stable")
    tails, heads, costs = tails[order], heads[order], costs[order].astype(kind)
    starts = np.flatnonzero(np.r_[True, heads[1:] != heads[:-1]])
    targets = heads[starts]
    distance = start.astype(kind)
    for _ in range(MOST_PASSES):
        current = distance[targets]
        relaxed = np.minimum(current, np.minimum.reduceat(distance[tails] + costs, starts))
        if np.array_equal(relaxed, current):
            return distance.astype(np.int64)
        distance[targets] = relaxed
    return None
