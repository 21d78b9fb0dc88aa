"""Small-group sessions: when experts are few, each hosts groups of up to k mentees who meet together.

In a group round a mentor's capacity counts groups, not mentees. Every group gets one session
time that the mentor and all its mentees share, so the time is chosen per group before the
solve: for each mentor, greedily, the start minute that the most of its eligible mentees can make
(those with the fewest other options first). The solve is then an exact flow with group capacity:
mentee -> (mentor, group) when the mentee is free at the group's time -> k seats -> sink. It places
the most mentees the chosen times allow, then maximises fit minus load, where each further group a
mentor runs costs load like a further mentee does in a one-to-one round.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .availability import WEEK_MINUTES, phrase_window
from .eligibility import Profile
from .explain import first_name
from .graph import CandidateGraph, build_graph, load_costs, without_gc_pauses
from .model import Group, History, MatchResult, Participant, RoundSettings, SolveReport, Unmatched
from .solver import solve_flow

ANY_TIME = -1  # a group whose members are all free any time (or the availability rule is relaxed)


def _covers(found: tuple[tuple[int, int], ...], minute: int) -> bool:
    return any(a <= minute < b for a, b in found)


def _group_times(
    graph: CandidateGraph, mentor: int, mentees: list[int], group_size: int, degree: np.ndarray
) -> list[int]:
    """Up to `capacity` start minutes for the mentor's groups, each chosen where the most
    not-yet-seated candidates can come."""
    capacity = graph.mentors[mentor].person.capacity
    length = graph.settings.session_minutes
    if "availability" in graph.settings.relax:
        return [ANY_TIME] * capacity
    runs_of = {i: graph.mentees[i].start_runs(length) for i in mentees}
    mentor_runs = graph.mentors[mentor].start_runs(length)
    if graph.mentors[mentor].any_time and all(graph.mentees[i].any_time for i in mentees):
        return [ANY_TIME] * capacity
    # Minutes where who-can-come changes: every run edge of the mentor and the candidates.
    starts = {x for found in (mentor_runs, *runs_of.values()) for run in found for x in run} | {0}
    starts = {c for c in starts if c < WEEK_MINUTES and _covers(mentor_runs, c)}
    waiting = set(mentees)
    times: list[int] = []

    def apart(minute: int) -> bool:
        # One mentor, one session at a time: a new group may not overlap an earlier one.
        return all(min((minute - t) % WEEK_MINUTES, (t - minute) % WEEK_MINUTES) >= length for t in times)

    while len(times) < capacity and waiting and starts:
        best, best_come = None, []
        for minute in sorted(starts):
            come = [i for i in waiting if _covers(runs_of[i], minute)]
            if len(come) > len(best_come):
                best, best_come = minute, come
        if best is None:
            break
        times.append(best)
        # The nearest starts clear of the new session need not be run edges: offer them too.
        starts.update(m for m in ((best + length) % WEEK_MINUTES, (best - length) % WEEK_MINUTES)
                      if _covers(mentor_runs, m))
        starts = {m for m in starts if apart(m)}
        # Seat (for choosing the next time) the ones with the fewest other mentors first.
        best_come.sort(key=lambda i: (degree[i], i))
        waiting.difference_update(best_come[:group_size])
    return times


@dataclass(frozen=True)
class GroupNetwork:
    """The groups of a round and who may join which: one node per (mentor, group), one edge per
    candidate pair whose mentee can make that group's time, and group_size seats per node."""

    group_size: int
    edge_index: np.ndarray      # per group edge: the candidate graph's edge (mentee, mentor)
    edge_mentee: np.ndarray     # per group edge: the mentee's position
    node_of: np.ndarray         # per group edge: its group node
    node_mentor: list[int]      # per node: the mentor's position
    node_number: list[int]      # per node: which of the mentor's groups, from 1
    node_time: list[int]        # per node: the session's UTC start minute, or ANY_TIME
    seat_node: np.ndarray       # per seat: its group node
    seat_cost: np.ndarray       # per seat: its load (a mentor's g-th group costs what a g-th mentee does)


def group_network(graph: CandidateGraph, group_size: int) -> GroupNetwork:
    """Choose each mentor's group times, then link every candidate pair to the groups the mentee can make."""
    if group_size < 1:
        raise ValueError("group_size must be at least 1")
    by_mentor: dict[int, list[int]] = {}
    for edge, mentor in enumerate(graph.edge_mentor.tolist()):
        by_mentor.setdefault(mentor, []).append(edge)
    degree = graph.degree_of_mentees()
    length = graph.settings.session_minutes
    node_mentor: list[int] = []
    node_number: list[int] = []
    node_time: list[int] = []
    g_edge: list[int] = []       # index into the graph's edges
    g_node: list[int] = []
    for mentor in range(len(graph.mentors)):
        edges = by_mentor.get(mentor, [])
        if not edges:
            continue
        times = _group_times(graph, mentor, [int(graph.edge_mentee[e]) for e in edges], group_size, degree)
        for number, minute in enumerate(times, start=1):
            node = len(node_mentor)
            node_mentor.append(mentor)
            node_number.append(number)
            node_time.append(minute)
            for edge in edges:
                mentee = graph.mentees[int(graph.edge_mentee[edge])]
                if minute == ANY_TIME or mentee.any_time or _covers(mentee.start_runs(length), minute):
                    g_edge.append(edge)
                    g_node.append(node)
    numbers = np.asarray(node_number, dtype=np.int64)
    owners = np.asarray(node_mentor, dtype=np.int64)
    seat_node = np.repeat(np.arange(len(node_mentor), dtype=np.int64), group_size)
    # Every seat in a mentor's g-th group costs what a g-th mentee costs one to one.
    seat_cost = load_costs(numbers[seat_node] - 1, graph.recent[owners[seat_node]]) if len(seat_node) else seat_node
    edge_index = np.asarray(g_edge, dtype=np.int64)
    return GroupNetwork(
        group_size=group_size, edge_index=edge_index, edge_mentee=graph.edge_mentee[edge_index],
        node_of=np.asarray(g_node, dtype=np.int64), node_mentor=node_mentor, node_number=node_number,
        node_time=node_time, seat_node=seat_node, seat_cost=seat_cost,
    )


def group_flow_choice(graph: CandidateGraph, network: GroupNetwork) -> np.ndarray:
    """Indices of the group edges of the exact optimum: the most mentees seated, then the best fit minus load."""
    edge_index = network.edge_index
    chosen_mask = solve_flow(
        len(graph.mentees), len(network.node_mentor), network.edge_mentee, network.node_of,
        graph.fit[edge_index] if len(edge_index) else edge_index, network.seat_node, network.seat_cost,
    )
    return np.flatnonzero(chosen_mask)


@without_gc_pauses
def solve_groups(
    participants: Sequence[Participant], settings: RoundSettings, history: History = History(), group_size: int = 4
) -> MatchResult:
    """Place mentees in small groups (each mentor hosts up to `capacity` groups of up to `group_size`
    who share a session time): most mentees placed first, then the best total fit."""
    if group_size < 1:
        raise ValueError("group_size must be at least 1")
    started = time.perf_counter()
    graph = build_graph(participants, settings, history)
    network = group_network(graph, group_size)
    solve_started = time.perf_counter()
    picked = group_flow_choice(graph, network)
    report = SolveReport(method="min-cost flow (groups)", status="optimal", seconds=time.perf_counter() - solve_started)
    return group_result(graph, network, picked, started, report)


def group_result(
    graph: CandidateGraph, network: GroupNetwork, picked: np.ndarray, started: float, report: SolveReport
) -> MatchResult:
    """A MatchResult with groups for the chosen group edges (indices into the network's edges)."""
    settings = graph.settings
    length = settings.session_minutes
    node_mentor, node_number, node_time = network.node_mentor, network.node_number, network.node_time
    picked = np.sort(np.asarray(picked, dtype=np.int64))
    chosen = network.edge_index[picked]
    chosen_node = network.node_of[picked]
    numbers = np.asarray(node_number, dtype=np.int64)

    members: dict[int, list[int]] = {}
    for edge, node in zip(chosen.tolist(), chosen_node.tolist()):
        members.setdefault(node, []).append(edge)
    node_by_edge = dict(zip(chosen.tolist(), chosen_node.tolist()))

    def note(edge: int) -> list[str]:
        node = node_by_edge[edge]
        mentor = graph.mentors[node_mentor[node]]
        mentee = graph.mentees[int(graph.edge_mentee[edge])]
        others = len(members[node]) - 1
        with_whom = f"with {others} other {'mentee' if others == 1 else 'mentees'}" if others else "the only mentee in it"
        return [f"in {first_name(mentor)}'s group {node_number[node]} ({with_whom}), meeting "
                f"{_phrase_time(node_time[node], length, mentee, settings)}"]

    ranks = numbers[chosen_node] if len(chosen_node) else chosen_node
    load = load_costs(ranks - 1, graph.recent[graph.edge_mentor[chosen]]) if len(chosen) else chosen
    pairs = graph.pairs(chosen, ranks, load, notes=note, load_unit="group")
    groups = []
    for node, edges in members.items():
        mentor = graph.mentors[node_mentor[node]]
        keys = sorted((graph.mentees[int(graph.edge_mentee[e])].person.key for e in edges), key=str.casefold)
        groups.append(Group(mentor=mentor.person.key, number=node_number[node], mentees=tuple(keys),
                            time=_phrase_time(node_time[node], length, mentor, settings),
                            starts_at=None if node_time[node] == ANY_TIME else node_time[node]))
    groups.sort(key=lambda g: (g.mentor.casefold(), g.number))
    unmatched = _group_unmatched(graph, chosen, network.edge_index, network.node_of, node_mentor)
    return MatchResult(
        pairs=tuple(pairs),
        unmatched=tuple(unmatched),
        total_score=float(sum(p.score for p in pairs)),
        solve_seconds=time.perf_counter() - started,
        candidate_edges=len(graph.fit),
        solver=report,
        groups=tuple(groups),
    )


def _phrase_time(minute: int, length: int, person: Profile, settings: RoundSettings) -> str:
    if minute == ANY_TIME:
        return "at a time the group agrees"
    tz = person.person.timezone
    return f"{phrase_window(minute, minute + length, tz, settings.week_of)[1]} ({tz})"


def _group_unmatched(
    graph: CandidateGraph, chosen: np.ndarray, edge_index: np.ndarray, node_of: np.ndarray, node_mentor: list[int]
) -> list[Unmatched]:
    # Mentees with no eligible mentor get the one-to-one explanation; the others were eligible
    # but either no group time fits them or the groups that fit were full.
    plain = {u.key: u for u in graph.unmatched(graph.edge_mentee[chosen])}
    fitting_groups: dict[int, int] = {}
    for edge in edge_index.tolist():
        mentee = int(graph.edge_mentee[edge])
        fitting_groups[mentee] = fitting_groups.get(mentee, 0) + 1
    eligible = np.bincount(graph.edge_mentee, minlength=len(graph.mentees))
    out = []
    for i, mentee in enumerate(graph.mentees):
        entry = plain.get(mentee.person.key)
        if entry is None:
            continue
        name = first_name(mentee)
        if eligible[i] == 0:
            out.append(entry)
        elif fitting_groups.get(i, 0) == 0:
            n = int(eligible[i])
            out.append(Unmatched(mentee.person.key, (
                f"{name} is eligible with {n} {'mentor' if n == 1 else 'mentors'}, but no group time "
                f"fits {name}'s availability",
            )))
        else:
            n = fitting_groups[i]
            out.append(Unmatched(mentee.person.key, (
                f"the {n} {'group' if n == 1 else 'groups'} whose time fits {name} "
                f"{'was' if n == 1 else 'were'} needed for other mentees: seating {name} would leave "
                "another mentee without a group",
            )))
    return out
