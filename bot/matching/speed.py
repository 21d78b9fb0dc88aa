"""Speed mentoring: R rotations of M minutes; in each, every mentee meets a different mentor.

The whole event is one exact min-cost flow, then split into rotations:

1. flow: source -> mentee (R unit arcs) -> mentor (one arc per eligible pair, so no pair twice)
   -> sink (k x R unit arcs). The t-th meeting of a person costs t x BALANCE, a price steeper
   than any fit, so the flow first holds the most meetings, then spreads them (and so the
   sit-outs) as evenly as it can over people, then maximises total fit over the whole event;
2. rotations: each mentor is split into k seats of at most R meetings, and the meetings are
   coloured with R colours so no mentee or seat has two of one colour (a bipartite graph of
   degree R always can be: Konig's theorem). A colour is a rotation;
3. the rotations are evened out (alternating-path swaps) so their sizes differ by one at most.

A "both" person joins whichever side has fewer places, in key order: in one rotation nobody can
sit at two tables.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .graph import build_graph, without_gc_pauses
from .model import History, Participant, RoundSettings
from .solver import solve_flow


@dataclass(frozen=True)
class Meeting:
    """One conversation at a speed-mentoring event."""

    rotation: int            # from 1
    mentor: str
    mentee: str
    score: float             # fit points of the pair (no load: every mentor meets many)
    starts_after: int        # minutes after the event starts


@dataclass(frozen=True)
class SitOut:
    """Someone with nobody to meet in a rotation."""

    rotation: int
    key: str
    role: str                # "mentor" or "mentee" at this event


@dataclass(frozen=True)
class SpeedSchedule:
    """A speed-mentoring event: who meets whom in which rotation, and who sits out when."""

    rotations: int
    minutes: int
    per_mentor: int
    mentors: int             # taking part as mentors ("both" people counted on the side they took)
    mentees: int
    meetings: tuple[Meeting, ...]
    sit_outs: tuple[SitOut, ...]
    total_score: float
    solve_seconds: float
    candidate_edges: int


def _sides(participants: Sequence[Participant], per_mentor: int) -> list[Participant]:
    """Give each "both" person one side for the event: the one with fewer places so far."""
    fixed = [p for p in participants if p.role != "both"]
    mentors = sum(1 for p in fixed if p.role == "mentor" and p.capacity > 0)
    mentees = sum(1 for p in fixed if p.role == "mentee")
    out = list(fixed)
    for person in sorted((p for p in participants if p.role == "both"), key=lambda p: p.key.casefold()):
        if person.capacity > 0 and mentors * per_mentor < mentees:
            out.append(replace(person, role="mentor"))
            mentors += 1
        else:
            out.append(replace(person, role="mentee"))
            mentees += 1
    return out


def _edge_colouring(left: np.ndarray, right: np.ndarray, colours: int) -> np.ndarray:
    """Colour the edges of a bipartite graph (every vertex of degree <= colours) so no two edges
    at a vertex share a colour: the classic alternating-path algorithm."""
    at_left: dict[tuple[int, int], int] = {}   # (vertex, colour) -> edge
    at_right: dict[tuple[int, int], int] = {}
    colour = np.full(len(left), -1, dtype=np.int64)
    for edge in range(len(left)):
        u, v = int(left[edge]), int(right[edge])
        a = next(c for c in range(colours) if (u, c) not in at_left)
        b = next(c for c in range(colours) if (v, c) not in at_right)
        if (v, a) in at_right:
            # Swap a and b along the path from v that alternates a, b, a, ...; it cannot reach u
            # (a is free at u), and afterwards a is free at v.
            path = []
            side, vertex, want = "right", v, a
            while True:
                table = at_right if side == "right" else at_left
                nxt = table.get((vertex, want))
                if nxt is None:
                    break
                path.append(nxt)
                vertex = int(left[nxt]) if side == "right" else int(right[nxt])
                side = "left" if side == "right" else "right"
                want = b if want == a else a
            for e in path:
                del at_left[(int(left[e]), int(colour[e]))]
                del at_right[(int(right[e]), int(colour[e]))]
            for e in path:
                colour[e] = b if colour[e] == a else a
                at_left[(int(left[e]), int(colour[e]))] = e
                at_right[(int(right[e]), int(colour[e]))] = e
        colour[edge] = a
        at_left[(u, a)] = edge
        at_right[(v, a)] = edge
    return colour


def _even_out(left: np.ndarray, right: np.ndarray, colour: np.ndarray, colours: int) -> None:
    """Swap colours along alternating paths until colour classes differ in size by one at most."""
    while True:
        sizes = np.bincount(colour, minlength=colours)
        big, small = int(sizes.argmax()), int(sizes.argmin())
        if sizes[big] - sizes[small] <= 1:
            return
        # In the edges coloured big or small every vertex has degree <= 2: paths and cycles.
        # Some path has one more `big` edge than `small`; swapping its colours moves one edge over.
        members = np.flatnonzero((colour == big) | (colour == small)).tolist()
        adjacency: dict[tuple[str, int], list[int]] = {}
        for e in members:
            adjacency.setdefault(("l", int(left[e])), []).append(e)
            adjacency.setdefault(("r", int(right[e])), []).append(e)
        seen: set[int] = set()
        for start, edges in adjacency.items():
            if len(edges) != 1 or edges[0] in seen:
                continue
            path, vertex = [], start
            e = edges[0]
            while e is not None and e not in seen:
                seen.add(e)
                path.append(e)
                vertex = ("r", int(right[e])) if vertex[0] == "l" else ("l", int(left[e]))
                e = next((f for f in adjacency[vertex] if f != path[-1]), None)
            if sum(1 if colour[e] == big else -1 for e in path) == 1:
                for e in path:
                    colour[e] = small if colour[e] == big else big
                break
        else:
            return  # cannot happen for a proper colouring; stop rather than loop


@without_gc_pauses
def speed_schedule(
    participants: Sequence[Participant],
    settings: RoundSettings,
    history: History = History(),
    *,
    rotations: int,
    minutes: int = 10,
    per_mentor: int = 1,
) -> SpeedSchedule:
    """Plan a speed-mentoring event: no pair meets twice, a mentor meets at most `per_mentor` mentees
    per rotation, sit-outs spread evenly, and the most total fit over the whole event."""
    if rotations < 1:
        raise ValueError("an event needs at least one rotation")
    if per_mentor < 1:
        raise ValueError("per_mentor must be at least 1")
    if minutes < 1:
        raise ValueError("a rotation lasts at least one minute")
    started = time.perf_counter()
    graph = build_graph(_sides(participants, per_mentor), settings, history)
    n_e, n_m = len(graph.mentees), len(graph.mentors)
    fit = graph.fit.astype(np.int64)
    n_edges = len(fit)
    # Steeper than any change of total fit a re-routing could make, so balance always wins.
    balance = (int(np.abs(fit).max(initial=0)) * 2 + 1) * (n_e + n_m + 2)
    mentee_owner = np.repeat(np.arange(n_e, dtype=np.int64), rotations)
    mentee_cost = np.tile(np.arange(rotations, dtype=np.int64), n_e) * balance
    seats = per_mentor * rotations
    seat_mentor = np.repeat(np.arange(n_m, dtype=np.int64), seats)
    seat_cost = np.tile(np.arange(seats, dtype=np.int64) // per_mentor, n_m) * balance
    chosen = np.flatnonzero(solve_flow(n_e, n_m, graph.edge_mentee, graph.edge_mentor, fit,
                                       seat_mentor, seat_cost, mentee_owner, mentee_cost)) if n_edges else np.empty(0, dtype=np.int64)

    # Rotations: split each mentor into per_mentor seats of at most `rotations` meetings each.
    mentee_of = graph.edge_mentee[chosen]
    mentor_of = graph.edge_mentor[chosen]
    order = np.lexsort((mentee_of, mentor_of))
    nth = np.empty(len(chosen), dtype=np.int64)
    if len(chosen):
        first = np.r_[0, np.flatnonzero(np.diff(mentor_of[order])) + 1]
        nth[order] = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    seat_of = mentor_of * per_mentor + nth % per_mentor
    colour = _edge_colouring(mentee_of, seat_of, rotations) if len(chosen) else nth
    if len(chosen):
        _even_out(mentee_of, seat_of, colour, rotations)

    meetings = [
        Meeting(
            rotation=int(colour[k]) + 1,
            mentor=graph.mentors[int(mentor_of[k])].person.key,
            mentee=graph.mentees[int(mentee_of[k])].person.key,
            score=float(fit[chosen[k]]),
            starts_after=int(colour[k]) * minutes,
        )
        for k in range(len(chosen))
    ]
    meetings.sort(key=lambda m: (m.rotation, m.mentor.casefold(), m.mentee.casefold()))
    busy = {(m.rotation, m.mentor) for m in meetings} | {(m.rotation, m.mentee) for m in meetings}
    sit_outs = [
        SitOut(rotation=r, key=p.person.key, role=role)
        for r in range(1, rotations + 1)
        for role, people in (("mentor", graph.mentors), ("mentee", graph.mentees))
        for p in people
        if (r, p.person.key) not in busy
    ]
    return SpeedSchedule(
        rotations=rotations,
        minutes=minutes,
        per_mentor=per_mentor,
        mentors=n_m,
        mentees=n_e,
        meetings=tuple(meetings),
        sit_outs=tuple(sit_outs),
        total_score=float(sum(m.score for m in meetings)),
        solve_seconds=time.perf_counter() - started,
        candidate_edges=n_edges,
    )
