"""Rules a round adds on top of the hard rules: quotas, caps and a fairness floor.

- at least n placements for mentees of a high-need site,
- at most n placements for mentees of a site or of a program,
- a fairness floor: the mean fit of every site's (or program's) matched mentees at least F points.

Cardinality still comes first. Site quotas alone are exact as one min-cost flow: first as many
of each minimum as the pool allows, then the most mentees, then the best fit. Program caps cross
the sites and the floor averages over a group; no flow expresses those, so they go to CP-SAT:

1. the flow solution, trimmed to the program caps, is the warm start; with program caps CP-SAT
   first looks for more placements under them;
2. the placement count is then fixed, and the objective is fit minus load minus a steep price on
   every point a group falls short of the floor (so the floor holds wherever the pool allows);
3. a few dozen flows with Lagrange multipliers on the floors find a strong start and an upper
   bound fast (each flow is exact for its prices, so each gives a valid bound);
4. in a large round, CP-SAT first searches only the edges those flows chose (a few per mentee
   where the whole round has dozens): the flows near the best multipliers hold most of the
   optimum, and a model that small finds it in seconds where the whole one would not;
5. CP-SAT, hinted with the best solution so far, searches until the time limit.

A group still under the floor is noted as out of reach only when the result is proven optimal;
otherwise the note says it is the best found within the time limit and how far from the bound.

The result reports status, objective, the best bound (CP-SAT's or the Lagrangian one, whichever
is tighter) and the gap between them.

Group rounds (groups.py) go through the same steps: a mentee then takes a seat in one of a
mentor's groups (group_size seats each, at the group's fixed time) instead of one of the mentor's
own seats, and the plain group flow is the warm start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from .graph import CandidateGraph, build_graph, load_costs, without_gc_pauses
from .groups import GroupNetwork, group_flow_choice, group_network, group_result
from .match import flow_choice, result_from_choice
from .model import History, MatchResult, Participant, RoundSettings, SolveReport
from .solver import solve_flow

FairnessBy = Literal["site", "program"]
# Each point a group's matched mentees fall short of the floor costs this many points of fit:
# far more than any one pair can gain, so the floor wins wherever it can be met.
SHORTFALL_PRICE = 1000
NO_GROUP = "(none)"
LAGRANGE_SCALE = 8           # multipliers move in steps of 1/8 (flows need integer costs)
LAGRANGE_SHARE = 0.3         # of the time limit, at most, for the multiplier search
RESTRICTED_SHARE = 0.5       # of the time left after it, at most, for CP-SAT over the flows' edges
RESTRICTED_MOST = 0.1        # and only when those are at most this share of all edges
PROOF_SECONDS = 2.0          # CP-SAT's try at proving optimality once already within gap_limit


def _quota(value: object, field: str) -> tuple[tuple[str, int], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    out = []
    for name, count in items:  # type: ignore[union-attr]
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"{field}: {name!r} needs a whole number of placements, not {count!r}")
        out.append((str(name), count))
    return tuple(sorted(out))


@dataclass(frozen=True)
class SideConstraints:
    """Quotas, caps and a fairness floor a round adds, and how long CP-SAT may take."""

    site_minimums: tuple[tuple[str, int], ...] = ()   # (site, at least this many of its mentees placed)
    site_caps: tuple[tuple[str, int], ...] = ()       # (site, at most this many of its mentees placed)
    program_caps: tuple[tuple[str, int], ...] = ()    # (program, at most this many of its mentees placed)
    fairness_floor: int | None = None                 # points: every group's mean fit at least this
    fairness_by: FairnessBy = "site"
    time_limit_seconds: float = 30.0
    gap_limit: float = 0.001                          # stop once within this relative gap of the bound
    workers: int = 0                                  # CP-SAT search workers; 0 = 8

    def __post_init__(self) -> None:
        for field in ("site_minimums", "site_caps", "program_caps"):
            object.__setattr__(self, field, _quota(getattr(self, field), field))
        if self.fairness_by not in get_args(FairnessBy):
            raise ValueError(f"fairness_by must be site or program, not {self.fairness_by!r}")
        if self.time_limit_seconds <= 0:
            raise ValueError("time_limit_seconds must be positive")
        if not 0 <= self.gap_limit < 1:
            raise ValueError("gap_limit must be within 0..1")
        minimums = {k.casefold(): n for k, n in self.site_minimums}
        for site, cap in self.site_caps:
            if minimums.get(site.casefold(), 0) > cap:
                raise ValueError(f"site {site!r} has a minimum of {minimums[site.casefold()]} but a cap of {cap}")

    @property
    def active(self) -> bool:
        """Whether there is anything beyond the hard rules to enforce."""
        return bool(self.site_minimums or self.site_caps or self.program_caps or self.fairness_floor is not None)


def _folded_groups(graph: CandidateGraph, attribute: str) -> tuple[np.ndarray, dict[str, str]]:
    """Per mentee, the case-folded site or program (NO_GROUP when blank), and how to show each."""
    folded, shown = [], {}
    for mentee in graph.mentees:
        value = (getattr(mentee.person, attribute) or "").strip()
        key = value.casefold() if value else NO_GROUP
        folded.append(key)
        shown.setdefault(key, value or NO_GROUP)
    return np.array(folded, dtype=object), shown


@dataclass(frozen=True)
class _Network:
    """What the solvers place mentees into: "hosts" with ordered seats, one edge per (mentee, host)
    a mentee may take a seat of. One to one, a host is a mentor and its seats are its capacity;
    in a group round, a host is one of a mentor's groups and its seats are the group's places."""

    edge_mentee: np.ndarray
    edge_host: np.ndarray
    fit: np.ndarray
    n_hosts: int
    seat_host: np.ndarray        # per seat, its host; a host's seats are contiguous
    seat_cost: np.ndarray        # non-decreasing within a host, so seats fill cheapest first


def _mentor_network(graph: CandidateGraph) -> _Network:
    """One to one: each mentor hosts min(capacity, candidates) seats, its k-th costing the k-th mentee's load."""
    seats = np.minimum(graph.capacity, graph.degree())
    seat_mentor, seat_cost = graph.seat_arcs(seats, load_costs)
    return _Network(graph.edge_mentee, graph.edge_mentor, graph.fit.astype(np.int64), len(graph.mentors),
                    seat_mentor, seat_cost)


def _group_hosts(graph: CandidateGraph, groups: GroupNetwork) -> _Network:
    """Group rounds: each group hosts up to group_size of the mentees who can make its time."""
    degree = np.bincount(groups.node_of, minlength=len(groups.node_mentor))
    keep = np.arange(len(groups.seat_node)) - np.repeat(
        np.arange(len(groups.node_mentor)) * groups.group_size, groups.group_size) < degree[groups.seat_node]
    fit = graph.fit[groups.edge_index] if len(groups.edge_index) else np.zeros(0, dtype=np.int64)
    return _Network(groups.edge_mentee, groups.node_of, fit.astype(np.int64), len(groups.node_mentor),
                    groups.seat_node[keep], groups.seat_cost[keep])


class _Problem:
    """The round with its added rules, over the network's edges."""

    def __init__(self, graph: CandidateGraph, constraints: SideConstraints, network: _Network) -> None:
        self.graph = graph
        self.network = network
        self.constraints = constraints
        self.sites, self.site_names = _folded_groups(graph, "site")
        self.programs, self.program_names = _folded_groups(graph, "program")
        self.edge_site = self.sites[network.edge_mentee]
        self.edge_program = self.programs[network.edge_mentee]
        self.minimums = {site.casefold(): n for site, n in constraints.site_minimums}
        self.site_caps = {site.casefold(): n for site, n in constraints.site_caps}
        self.program_caps = {program.casefold(): n for program, n in constraints.program_caps}
        self.floor = constraints.fairness_floor
        self.edge_group = self.edge_site if constraints.fairness_by == "site" else self.edge_program
        self.group_names = self.site_names if constraints.fairness_by == "site" else self.program_names
        self.fit = network.fit
        self.seat_host, self.seat_cost = network.seat_host, network.seat_cost
        seats = np.bincount(self.seat_host, minlength=network.n_hosts)
        self.seat_index = np.arange(len(self.seat_host)) - np.repeat(np.cumsum(seats) - seats, seats)
        self.target = 0                      # placements every solution must reach (set by phase 1)
        self.fill_target = 0                 # and how much of the minimums (set by phase 1)

    def load(self, chosen: np.ndarray) -> int:
        """Total load of the hosts' mentees in a solution (a host's cheapest seats first)."""
        count = np.bincount(self.network.edge_host[chosen], minlength=self.network.n_hosts)
        return int(self.seat_cost[self.seat_index < count[self.seat_host]].sum())

    def shortfalls(self, chosen: np.ndarray) -> dict[str, int]:
        """Per group below the floor: the points its matched mentees fall short in total."""
        if self.floor is None or not len(chosen):
            return {}
        below = self.floor - self.fit[chosen]
        groups = self.edge_group[chosen]
        out = {}
        for name in set(groups.tolist()):
            missing = int(below[groups == name].sum())
            if missing > 0:
                out[name] = missing
        return out

    def objective(self, chosen: np.ndarray) -> int:
        """Fit minus load minus the price of every point below the floor."""
        return int(self.fit[chosen].sum()) - self.load(chosen) - SHORTFALL_PRICE * sum(self.shortfalls(chosen).values())

    def fill(self, chosen: np.ndarray) -> int:
        """How much of the site minimums a solution meets: the sum of min(placed, minimum)."""
        sites = self.edge_site[chosen]
        return sum(min(int((sites == s).sum()), n) for s, n in self.minimums.items())

    def feasible(self, chosen: np.ndarray) -> bool:
        """Whether a solution meets the minimums (as far as phase 1 could), the placement target and the caps."""
        if len(chosen) < self.target or self.fill(chosen) < self.fill_target:
            return False
        sites = self.edge_site[chosen]
        programs = self.edge_program[chosen]
        return (all(int((sites == s).sum()) <= n for s, n in self.site_caps.items())
                and all(int((programs == p).sum()) <= n for p, n in self.program_caps.items()))

    def best_matching(self, gain: np.ndarray, seat_scale: int = 1) -> np.ndarray:
        """Edges of the exact optimum for these edge gains: site minimums first, then the most
        mentees, then gain minus seat_scale x load (site quotas kept, program caps ignored)."""
        if self.minimums or self.site_caps:
            return self._quota_flow(gain, seat_scale)
        network = self.network
        chosen = solve_flow(len(self.graph.mentees), network.n_hosts, network.edge_mentee,
                            network.edge_host, gain, self.seat_host, self.seat_cost * seat_scale)
        return np.flatnonzero(chosen)

    def _quota_flow(self, gain: np.ndarray, seat_scale: int) -> np.ndarray:
        # Source -> site node (one arc the size of the minimum at a very low cost, one for the rest
        # up to the cap) -> the site's mentees -> mentors -> seats -> sink, and a source -> sink
        # arc for mentees left unplaced at a high cost. The prices are far enough apart that no
        # amount of fit outweighs a placement and no number of placements outweighs a minimum.
        network = self.network
        n_e, n_m = len(self.graph.mentees), network.n_hosts
        seat_cost = self.seat_cost * seat_scale
        shift = int(gain.max()) if len(gain) else 0
        path_cost = shift - int(gain.min(initial=0)) + int(seat_cost.max(initial=0)) + 1
        unplaced = path_cost * (n_e + 1)
        below_minimum = unplaced * (n_e + 1)
        source, sink = 0, n_e + n_m + 1
        mentee_node = 1 + np.arange(n_e, dtype=np.int64)
        mentor_node = 1 + n_e + np.arange(n_m, dtype=np.int64)
        constrained = sorted(set(self.minimums) | set(self.site_caps))
        columns: list[list[np.ndarray]] = [[], [], [], []]

        def arc(tail, head, capacity, cost) -> None:
            for out, column in zip(columns, np.broadcast_arrays(
                    *(np.atleast_1d(np.asarray(v, dtype=np.int64)) for v in (tail, head, capacity, cost)))):
                out.append(column)

        entry = np.full(n_e, source, dtype=np.int64)
        for k, site in enumerate(constrained):
            node = sink + 1 + k
            members = self.sites == site
            entry[members] = node
            count = int(members.sum())
            minimum = min(self.minimums.get(site, 0), count)
            arc(source, node, minimum, -below_minimum)
            arc(source, node, max(min(self.site_caps.get(site, count), count) - minimum, 0), 0)
        arc(entry, mentee_node, 1, 0)
        first_edge = sum(len(c) for c in columns[0])
        arc(mentee_node[network.edge_mentee], mentor_node[network.edge_host], 1, shift - gain)
        arc(mentor_node[self.seat_host], sink, 1, seat_cost)
        arc(source, sink, n_e, unplaced)
        flow = min_cost_flow.SimpleMinCostFlow()
        arcs = flow.add_arcs_with_capacity_and_unit_cost(*(np.concatenate(c) for c in columns))
        flow.set_nodes_supplies(np.array([source, sink]), np.array([n_e, -n_e]))
        status = flow.solve()
        if status != flow.OPTIMAL:
            raise RuntimeError(f"min-cost flow failed with status {status}")
        return np.flatnonzero(flow.flows(arcs[first_edge:first_edge + len(gain)]) > 0)

    def trim_to_program_caps(self, chosen: np.ndarray) -> np.ndarray:
        """Drop the fewest, weakest pairs so every program stays under its cap, keeping site
        minimums where there is a choice."""
        keep = np.ones(len(chosen), dtype=bool)
        placed = dict(zip(*np.unique(self.edge_site[chosen], return_counts=True)))
        for program, cap in sorted(self.program_caps.items()):
            mine = np.flatnonzero(self.edge_program[chosen] == program).tolist()
            excess = len(mine) - cap
            # Pairs whose site is above its minimum go first, weakest fit first.
            spare = lambda k: placed[self.edge_site[chosen[k]]] <= self.minimums.get(self.edge_site[chosen[k]], 0)  # noqa: E731
            for k in sorted(mine, key=lambda k: (spare(k), self.fit[chosen[k]])):
                if excess <= 0:
                    break
                keep[k] = False
                placed[self.edge_site[chosen[k]]] -= 1
                excess -= 1
        return chosen[keep]


def _solver(limit: float, workers: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    # Stop a little early: the result still has to be assembled within the caller's limit.
    solver.parameters.max_time_in_seconds = max(0.05, limit - 1.0)
    # Eight workers even on small machines: the portfolio's neighbourhood-search workers are what
    # improve on the warm start, and with fewer they hardly get a turn.
    solver.parameters.num_workers = workers or 8
    # A matching plus a few long rows: heavy presolve (probing, symmetry) costs seconds at 100k
    # variables and finds little.
    solver.parameters.cp_model_probing_level = 0
    solver.parameters.symmetry_level = 0
    solver.parameters.max_presolve_iterations = 1
    return solver


class _Model:
    """The CP-SAT model: one Boolean per edge, ordered seats per host, quotas and caps."""

    def __init__(self, problem: _Problem) -> None:
        network = problem.network
        self.problem = problem
        self.model = model = cp_model.CpModel()
        n_edges = len(problem.fit)
        self.x = x = [model.new_bool_var(f"x{e}") for e in range(n_edges)]
        for group in _groups_of(network.edge_mentee):
            if len(group) > 1:
                model.add_at_most_one(x[e] for e in group.tolist())
        # A host's k-th seat costs its k-th seat cost: seat variables that fill in order. When all
        # its seats cost the same (a group's do), one capacity row and a cost per edge say the same
        # with fewer variables and no symmetric seat orders.
        self.seats: list[cp_model.IntVar] = []
        self.seat_owner: list[int] = []
        seat_costs: list[int] = []
        seat_groups = dict(zip(np.unique(problem.seat_host).tolist(), _groups_of(problem.seat_host)))
        self.edge_load = np.zeros(n_edges, dtype=np.int64)   # seat costs folded into the edges
        for group in _groups_of(network.edge_host):
            j = int(network.edge_host[group[0]])
            costs = problem.seat_cost[seat_groups[j]].tolist() if j in seat_groups else []
            if len(set(costs)) <= 1:
                model.add(sum(x[e] for e in group.tolist()) <= len(costs))
                self.edge_load[group] = costs[0] if costs else 0
                continue
            ys = [model.new_bool_var(f"y{j}_{s}") for s in range(len(costs))]
            model.add(sum(x[e] for e in group.tolist()) == sum(ys))
            for a, b in zip(ys, ys[1:]):
                model.add_implication(b, a)
            self.seats.extend(ys)
            self.seat_owner.extend([j] * len(costs))
            seat_costs.extend(costs)
        # Minimums may be more than the pool can meet: maximise how much of them is met instead,
        # fill = sum over sites of min(placed, minimum), and then hold that.
        self.met: list[tuple[cp_model.IntVar, str, int]] = []
        for site, minimum in sorted(problem.minimums.items()):
            met = model.new_int_var(0, minimum, f"met_{site}")
            model.add(met <= self.placements(problem.edge_site == site))
            self.met.append((met, site, minimum))
        self.fill = cp_model.LinearExpr.sum([met for met, _, _ in self.met])
        for site, cap in problem.site_caps.items():
            model.add(self.placements(problem.edge_site == site) <= cap)
        for program, cap in problem.program_caps.items():
            model.add(self.placements(problem.edge_program == program) <= cap)
        self.count = self.placements(np.ones(n_edges, dtype=bool))
        self.shortfall: dict[str, cp_model.IntVar] = {}
        self.objective_terms = (list(x) + self.seats, (problem.fit - self.edge_load).tolist() + [-c for c in seat_costs])

    def placements(self, mask: np.ndarray) -> cp_model.LinearExpr:
        return cp_model.LinearExpr.sum([self.x[e] for e in np.flatnonzero(mask).tolist()])

    def hold_targets(self) -> None:
        """Every solution places at least the problem's target and meets as much of the minimums (phase 1's)."""
        self.model.add(self.count >= self.problem.target)
        self.model.add(self.fill >= self.problem.fill_target)

    def add_floor(self) -> None:
        """Shortfall variables: sum over a group's pairs of (fit - floor) + shortfall >= 0."""
        problem, fit = self.problem, self.problem.fit
        for name in sorted(set(problem.edge_group.tolist())):
            members = np.flatnonzero(problem.edge_group == name)
            below = np.maximum(0, problem.floor - fit[members])
            if not below.any():
                continue  # every pair this group could get already reaches the floor
            # A mentee has one pair at most, so the shortfall is at most the sum of each one's worst.
            worst = np.zeros(len(problem.graph.mentees), dtype=np.int64)
            np.maximum.at(worst, problem.network.edge_mentee[members], below)
            short = self.model.new_int_var(0, int(worst.sum()), f"short_{name}")
            self.model.add(cp_model.LinearExpr.weighted_sum([self.x[e] for e in members.tolist()],
                                                            (fit[members] - problem.floor).tolist()) + short >= 0)
            self.shortfall[name] = short
            self.objective_terms[0].append(short)
            self.objective_terms[1].append(-SHORTFALL_PRICE)

    def hint(self, chosen: np.ndarray) -> None:
        """A complete hint, so CP-SAT holds a full solution from the start."""
        model = self.model
        model.clear_hints()
        picked = np.zeros(len(self.x), dtype=bool)
        picked[chosen] = True
        for var, value in zip(self.x, picked.tolist()):
            model.add_hint(var, value)
        load = np.bincount(self.problem.network.edge_host[chosen], minlength=self.problem.network.n_hosts)
        used: dict[int, int] = {}
        for var, j in zip(self.seats, self.seat_owner):
            model.add_hint(var, used.get(j, 0) < load[j])
            used[j] = used.get(j, 0) + 1
        missing = self.problem.shortfalls(chosen)
        for name, var in self.shortfall.items():
            model.add_hint(var, missing.get(name, 0))
        sites = self.problem.edge_site[chosen]
        for var, site, minimum in self.met:
            model.add_hint(var, min(int((sites == site).sum()), minimum))

    def solve(self, limit: float, workers: int, on_solution: Callable[[], None] | None = None) -> tuple[cp_model.CpSolver, int]:
        solver = _solver(limit, workers)
        if on_solution is None:
            return solver, solver.solve(self.model)
        return solver, solver.solve(self.model, _OnSolution(on_solution))

    def chosen(self, solver: cp_model.CpSolver) -> np.ndarray:
        return np.array([e for e, var in enumerate(self.x) if solver.boolean_value(var)], dtype=np.int64)


class _OnSolution(cp_model.CpSolverSolutionCallback):
    """Calls back on every solution CP-SAT finds (to report progress)."""

    def __init__(self, call: Callable[[], None]) -> None:
        super().__init__()
        self._call = call

    def on_solution_callback(self) -> None:
        self._call()


def _groups_of(keys: np.ndarray) -> list[np.ndarray]:
    """Edge indices grouped by key."""
    order = np.argsort(keys, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(keys[order])) + 1) if len(keys) else []


def _lagrangian(problem: _Problem, start: np.ndarray, deadline: float, price: np.ndarray | None = None
                ) -> tuple[np.ndarray, float, int, np.ndarray, np.ndarray]:
    """Best solution found, an upper bound on the floor problem, every edge some step chose and
    the multipliers of the best bound, by subgradient steps on one multiplier per group (from
    `price`, or zero): each step is one exact flow with gains (1 + m) x fit - m x floor. Steps
    are sized by the gap between the bound and the best solution, so a good start (say from
    CP-SAT) makes them small and the bound tightens fast."""
    fit, floor = problem.fit, problem.floor
    groups = sorted(set(problem.edge_group.tolist()))
    index = {name: k for k, name in enumerate(groups)}
    edge_group = np.array([index[g] for g in problem.edge_group.tolist()], dtype=np.int64)
    # Multipliers, in points per point of shortfall.
    price = np.zeros(len(groups)) if price is None else price.copy()
    best_price = price
    best, best_value = start, problem.objective(start) if problem.feasible(start) else -np.inf
    bound = np.inf
    seen = np.zeros(len(fit), dtype=bool)
    seen[start] = True
    step_scale, stale = 1.0, 0
    for _ in range(200):
        if time.perf_counter() > deadline:
            break
        m = np.round(np.clip(price, 0, SHORTFALL_PRICE) * LAGRANGE_SCALE).astype(np.int64)
        gain = (LAGRANGE_SCALE + m[edge_group]) * fit - m[edge_group] * floor
        chosen = problem.best_matching(gain, seat_scale=LAGRANGE_SCALE)
        seen[chosen] = True
        # The flow is exact for these prices, so its value is an upper bound (shortfall priced out).
        value = (int(gain[chosen].sum()) - LAGRANGE_SCALE * problem.load(chosen)) / LAGRANGE_SCALE
        if value < bound - 1e-9:
            bound, stale, best_price = value, 0, price
        else:
            stale += 1
        candidate = problem.trim_to_program_caps(chosen) if problem.program_caps else chosen
        if problem.feasible(candidate):
            candidate_value = problem.objective(candidate)
            if candidate_value > best_value:
                best, best_value = candidate, candidate_value
        # Subgradient: how far each group's chosen pairs fall short of the floor in total.
        short = np.bincount(edge_group[chosen], weights=(floor - fit[chosen]), minlength=len(groups))
        if not problem.program_caps and not (short > 0).any():
            break  # the floor holds everywhere at these prices
        if stale >= 5:
            step_scale, stale = step_scale / 2, 0
        norm = float((short ** 2).sum())
        if norm == 0 or step_scale < 1e-3:
            break
        gap = max(bound - best_value, 1.0) if np.isfinite(best_value) else max(abs(bound), 1.0) * 0.05
        price = np.clip(price + step_scale * gap / norm * short, 0, SHORTFALL_PRICE)
    return best, best_value, int(np.floor(bound)) if np.isfinite(bound) else bound, seen, best_price


def _restricted(problem: _Problem, keep: np.ndarray, start: np.ndarray, limit: float,
                workers: int) -> tuple[np.ndarray, int, float]:
    """CP-SAT over only the edges in keep (the start's and those the multiplier flows chose):
    a model a few times the size of one solution, where the whole one can be tens of times
    that. The flows at the best multipliers bracket the optimum, so their edges mostly hold it,
    and any solution here is one of the whole round. Returns the best found, its value, and
    CP-SAT's seconds."""
    edges = np.flatnonzero(keep)
    position = np.full(len(keep), -1, dtype=np.int64)
    position[edges] = np.arange(len(edges))
    network = problem.network
    sub = _Problem(problem.graph, problem.constraints, _Network(
        network.edge_mentee[edges], network.edge_host[edges], network.fit[edges], network.n_hosts,
        network.seat_host, network.seat_cost))
    sub.target, sub.fill_target = problem.target, problem.fill_target
    model = _Model(sub)
    model.hold_targets()
    if sub.floor is not None:
        model.add_floor()
    model.hint(position[start])
    model.model.maximize(cp_model.LinearExpr.weighted_sum(*model.objective_terms))
    solver, status = model.solve(limit, workers)
    value = problem.objective(start)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        found = edges[model.chosen(solver)]
        if problem.feasible(found) and problem.objective(found) >= value:
            return found, problem.objective(found), solver.wall_time
    return start, value, solver.wall_time


@without_gc_pauses
def solve_with_side_constraints(
    participants: Sequence[Participant],
    settings: RoundSettings,
    history: History = History(),
    constraints: SideConstraints = SideConstraints(),
    group_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MatchResult:
    """Match under quotas, caps and a fairness floor: exact flows where they suffice, CP-SAT
    (warm-started, time-limited) where they don't; the result's solver report carries the gap.

    With group_size, mentees are placed in small groups as solve_groups does (the same group
    times, each mentor hosting up to `capacity` groups of up to group_size), under the same rules.
    `progress(done, total)`, when given, hears the time spent against the time limit (tenths of a second) as the
    phases end and CP-SAT finds solutions.
    """
    started = time.perf_counter()
    deadline = started + constraints.time_limit_seconds
    total = max(1, round(constraints.time_limit_seconds * 10))

    def tick() -> None:
        if progress is not None:
            progress(min(total, round((time.perf_counter() - started) * 10)), total)

    tick()
    graph = build_graph(participants, settings, history)
    if group_size is None:
        network = _mentor_network(graph)
        warm = flow_choice(graph)
        kind = ""

        def finish(chosen: np.ndarray, report: SolveReport) -> MatchResult:
            return result_from_choice(graph, chosen, started, report)
    else:
        groups = group_network(graph, group_size)
        network = _group_hosts(graph, groups)
        warm = group_flow_choice(graph, groups)   # the plain group solution is the warm start
        kind = "groups, "

        def finish(chosen: np.ndarray, report: SolveReport) -> MatchResult:
            return group_result(graph, groups, chosen, started, report)
    problem = _Problem(graph, constraints, network)
    warm_score = float(problem.fit[warm].sum() - problem.load(warm))
    if not constraints.active or not len(problem.fit):
        method = "min-cost flow" if group_size is None else "min-cost flow (groups)"
        report = SolveReport(method=method, status="optimal", seconds=time.perf_counter() - started,
                             objective=warm_score, bound=warm_score, warm_start_score=warm_score)
        return finish(warm, report)
    notes: list[str] = []

    # Phase 1: site quotas exactly, by flow (most of the minimums, then the most mentees).
    phase1 = problem.best_matching(problem.fit) if (problem.minimums or problem.site_caps) else warm
    if not problem.program_caps and problem.floor is None:
        report = SolveReport(method=f"min-cost flow ({kind}site quotas)", status="optimal",
                             seconds=time.perf_counter() - started, warm_start_score=warm_score,
                             notes=tuple(_minimum_notes(problem, phase1)))
        return finish(phase1, report)

    model = _Model(problem)
    cp_seconds = 0.0
    proven = True
    if problem.program_caps:
        # Program caps cross the site quotas: trim the flow solution to them, then CP-SAT looks
        # for more of the minimums first and more placements second.
        phase1 = problem.trim_to_program_caps(phase1)
        model.hint(phase1)
        model.model.maximize((len(problem.graph.mentees) + 1) * model.fill + model.count)
        tick()
        solver, status = model.solve((deadline - time.perf_counter()) / 3, constraints.workers, tick if progress else None)
        cp_seconds += solver.wall_time
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = model.chosen(solver)
            if (problem.fill(found), len(found)) > (problem.fill(phase1), len(phase1)):
                phase1 = found
        if status != cp_model.OPTIMAL:
            proven = False
            notes.append(f"the most placements under the program caps was not proven within the time limit: "
                         f"{len(phase1)} found")
    problem.target = len(phase1)
    problem.fill_target = problem.fill(phase1)
    model.hold_targets()

    # Phase 2: best fit minus load minus the price of falling short of the floor.
    best, best_value = phase1, problem.objective(phase1)
    bound = np.inf
    if problem.floor is not None:
        model.add_floor()
        lag_deadline = time.perf_counter() + LAGRANGE_SHARE * max(0.0, deadline - time.perf_counter())
        found, found_value, lag_bound, seen, price = _lagrangian(problem, phase1, lag_deadline)
        if not problem.program_caps:  # with program caps the flows drop a rule: no bound from them
            bound = lag_bound
        if found_value > best_value:
            best, best_value = found, found_value
        # The flows' edges hold most of a good solution: in a large round, search those first,
        # in a model a small share of the whole (a small round's whole model is quick enough).
        keep = seen.copy()
        keep[best] = True
        remaining = deadline - time.perf_counter()
        if (remaining > 2.0 and keep.sum() <= RESTRICTED_MOST * len(keep)
                and not (np.isfinite(bound) and bound <= best_value)):
            found, found_value, seconds = _restricted(problem, keep, best, RESTRICTED_SHARE * remaining,
                                                      constraints.workers)
            cp_seconds += seconds
            if found_value > best_value:
                best, best_value = found, found_value
                # A better solution sizes the steps better: more of them, from the best multipliers.
                if not problem.program_caps and bound - best_value > constraints.gap_limit * max(1.0, abs(best_value)):
                    lag_deadline = time.perf_counter() + LAGRANGE_SHARE * max(0.0, deadline - time.perf_counter())
                    found, found_value, lag_bound, _, _ = _lagrangian(problem, best, lag_deadline, price)
                    bound = min(bound, lag_bound)
                    if found_value > best_value:
                        best, best_value = found, found_value
    tick()
    model.hint(best)
    model.model.maximize(cp_model.LinearExpr.weighted_sum(*model.objective_terms))
    remaining = deadline - time.perf_counter()
    close_enough = np.isfinite(bound) and bound - best_value <= constraints.gap_limit * max(1.0, abs(best_value))
    if close_enough:
        remaining = min(remaining, PROOF_SECONDS)  # only a short try to prove it optimal
    if remaining > 0.5 and not (np.isfinite(bound) and bound <= best_value):
        solver, status = model.solve(remaining, constraints.workers, tick if progress else None)
        cp_seconds += solver.wall_time
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if solver.objective_value > best_value:
                best, best_value = model.chosen(solver), int(round(solver.objective_value))
            bound = min(bound, solver.best_objective_bound)
            if status == cp_model.OPTIMAL:
                bound = min(bound, best_value)
    optimal = proven and np.isfinite(bound) and bound <= best_value
    gap = 0.0 if optimal else (max(0.0, bound - best_value) / max(1.0, abs(best_value)) if np.isfinite(bound) else float("inf"))
    notes.extend(_minimum_notes(problem, best))
    # Only a proven optimum shows the floor is out of reach; short of that, say what is known.
    if optimal:
        why = "its mentees have no better eligible mentors to spare"
    elif np.isfinite(bound):
        why = f"the best found within the time limit, not proven out of reach: {gap * 100:.2f} % from the bound"
    else:
        why = "the best found within the time limit, not proven out of reach: no bound was found"
    for name, missing in sorted(problem.shortfalls(best).items()):
        members = np.flatnonzero(problem.edge_group[best] == name)
        mean = float(problem.fit[best][members].mean())
        notes.append(f"{constraints.fairness_by} {problem.group_names.get(name, name)}: mean fit {_below(mean, problem.floor)} stays "
                     f"under the floor of {problem.floor} ({why})")
    report = SolveReport(
        method="CP-SAT", status="optimal" if optimal else "feasible", seconds=cp_seconds,
        objective=float(best_value), bound=float(bound) if np.isfinite(bound) else None, gap=gap,
        warm_start_score=warm_score, notes=tuple(notes),
    )
    if progress is not None:
        progress(total, total)
    return finish(best, report)


def _below(mean: float, floor: int) -> str:
    """A mean under the floor, cut (not rounded) to one decimal, so it never reads as the floor itself."""
    return f"{min(math.floor(mean * 10) / 10, floor - 0.1):.1f}"


def _minimum_notes(problem: _Problem, chosen: np.ndarray) -> list[str]:
    """A note for each site whose minimum the pool could not meet."""
    sites = problem.edge_site[chosen]
    notes = []
    for site, minimum in sorted(problem.minimums.items()):
        got = int((sites == site).sum())
        if got < minimum:
            notes.append(f"site {problem.site_names.get(site, site)}: only {got} of the minimum {minimum} placements "
                         "can be met; its other mentees have no eligible mentor to spare")
    return notes
