"""The flow solver's shortlist: solving on each person's best edges, proving the result optimal
over all of them, and widening the shortlist when it is not."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.matching import RoundSettings, match_round, solver
from bot.matching.solver import FlowNetwork, solve_flow, top_by_group
from tests.test_matching import mentee, mentor


@st.composite
def networks(draw, most_mentees: int = 9, most_mentors: int = 5):
    """A random assignment network: edges, gains, mentor seats with growing costs, and sometimes
    several seats per mentee (as speed events use)."""
    n_mentees = draw(st.integers(1, most_mentees))
    n_mentors = draw(st.integers(1, most_mentors))
    pairs = [(i, j) for i in range(n_mentees) for j in range(n_mentors)]
    edges = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=len(pairs), unique=True))
    edges.sort()
    gain = draw(st.lists(st.integers(-20, 60), min_size=len(edges), max_size=len(edges)))
    seats = draw(st.lists(st.integers(0, 3), min_size=n_mentors, max_size=n_mentors))
    step = draw(st.integers(0, 9))
    seat_mentor = np.repeat(np.arange(n_mentors), seats)
    seat_cost = np.concatenate([step * np.arange(n) for n in seats]) if sum(seats) else np.zeros(0, dtype=np.int64)
    mentee_seats = draw(st.integers(1, 2))
    owner = np.repeat(np.arange(n_mentees), mentee_seats)
    # A mentee's seats cost what a speed event charges for a later rotation, or a price of its own.
    owner_cost = np.concatenate([sorted(draw(st.lists(st.integers(0, 40), min_size=mentee_seats, max_size=mentee_seats)))
                                 for _ in range(n_mentees)])
    return dict(
        n_mentees=n_mentees, n_mentors=n_mentors,
        edge_mentee=np.array([i for i, _ in edges]), edge_mentor=np.array([j for _, j in edges]),
        edge_gain=np.array(gain), seat_mentor=seat_mentor, seat_cost=seat_cost.astype(np.int64),
        mentee_seat_owner=owner, mentee_seat_cost=owner_cost.astype(np.int64),
    )


def value(network: dict, chosen: np.ndarray) -> tuple[int, int]:
    """(edges used, gain minus the seats they fill, cheapest seats first): what the flow ranks by.
    Without mentee seats, each mentee has one free seat."""
    n_mentees = network["n_mentees"]
    mentee_seats = (network.get("mentee_seat_owner", np.arange(n_mentees)),
                    network.get("mentee_seat_cost", np.zeros(n_mentees, dtype=np.int64)))
    total = int(network["edge_gain"][chosen].sum())
    for (owner, cost), side in (((network["seat_mentor"], network["seat_cost"]), "edge_mentor"), (mentee_seats, "edge_mentee")):
        for who in np.unique(owner).tolist():
            count = int((network[side][chosen] == who).sum())
            total -= int(np.sort(cost[owner == who])[:count].sum())
    return int(chosen.sum()), total


def within_seats(network: dict, chosen: np.ndarray) -> bool:
    """No mentor or mentee is given more edges than it has seats."""
    mentor_load = np.bincount(network["edge_mentor"][chosen], minlength=network["n_mentors"])
    mentee_load = np.bincount(network["edge_mentee"][chosen], minlength=network["n_mentees"])
    return (mentor_load <= np.bincount(network["seat_mentor"], minlength=network["n_mentors"])).all() and (
        mentee_load <= np.bincount(network["mentee_seat_owner"], minlength=network["n_mentees"])).all()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(0, 2), st.integers(0, 2))
def test_a_shortlist_solve_reaches_the_optimum_over_every_edge(network, mentee_list, mentor_list):
    whole = solve_flow(**network, shortlist_from=10**9)
    shortlisted = solve_flow(**network, shortlist_from=0, shortlist=(mentee_list, mentor_list))
    assert within_seats(network, shortlisted)
    assert value(network, shortlisted) == value(network, whole)


@settings(max_examples=200, deadline=None)
@given(networks())
def test_a_reduced_cost_is_negative_only_where_an_edge_improves_the_flow(network):
    """The proof's side: a flow optimal over its edges gets non-negative reduced costs on all its
    unused edges; then adding any edge with a non-negative reduced cost leaves the optimum as it was."""
    full = FlowNetwork(**network)
    n_edges = len(full.edge_gain)
    kept = np.arange(n_edges) % 2 == 0
    solved = full.solve(np.flatnonzero(kept))
    reduced = solved.reduced_costs()
    assert reduced is not None
    chosen = solved.chosen_mask()
    assert (reduced[kept & ~chosen] >= 0).all()
    assert (reduced[chosen] <= 0).all()
    harmless = kept | (reduced >= 0)
    widened = full.solve(np.flatnonzero(harmless)).chosen_mask()
    assert value(network, widened) == value(network, chosen)
    if (reduced[~kept] >= 0).all():
        assert value(network, full.solve(np.arange(n_edges)).chosen_mask()) == value(network, chosen)


def test_a_shortlist_missing_an_edge_the_optimum_needs_is_widened():
    # Three mentees all rank mentor 0 first; mentor 0 has one seat. With one edge per person the
    # shortlist holds no second choice for two of them, so its flow places one mentee: the proof
    # must reject it and the result must place all three.
    network = dict(
        n_mentees=3, n_mentors=3,
        edge_mentee=np.array([0, 0, 1, 1, 2, 2]), edge_mentor=np.array([0, 1, 0, 2, 0, 2]),
        edge_gain=np.array([50, 10, 49, 11, 48, 12]),
        seat_mentor=np.array([0, 1, 2, 2]), seat_cost=np.array([0, 0, 0, 5]),
    )
    solved = FlowNetwork(**network).solve(np.array([0, 2, 4]))
    assert int(solved.chosen_mask().sum()) == 1
    assert (solved.reduced_costs()[[1, 3, 5]] < 0).any()
    chosen = solve_flow(**network, shortlist_from=0, shortlist=(1, 0))
    # Mentee 1 takes mentor 0 (49), mentee 0 mentor 1 (10), mentee 2 mentor 2 (12): 71, against
    # 50 + 11 + 12 - 5 (mentor 2's second seat) = 68 and 48 + 10 + 11 = 69.
    assert sorted(np.flatnonzero(chosen).tolist()) == [1, 2, 5]
    assert value(network, chosen) == (3, 71)


@given(st.integers(1, 6), st.lists(st.tuples(st.integers(0, 5), st.integers(-3, 3)), min_size=1, max_size=40), st.integers(0, 4))
def test_top_by_group_keeps_each_groups_k_best_ties_by_position(n_groups, edges, k):
    edges = [(g % n_groups, gain) for g, gain in edges]
    group = np.array([g for g, _ in edges], dtype=np.int64)
    gain = np.array([x for _, x in edges], dtype=np.int64)
    expected = np.zeros(len(edges), dtype=bool)
    for g in range(n_groups):
        mine = sorted((-x, position) for position, (h, x) in enumerate(edges) if h == g)
        expected[[position for _, position in mine[:k]]] = True
    assert (top_by_group(group, gain, n_groups, k) == expected).all()
    # Spread gains take the sorting path; the answer is the same.
    spread = gain * 1_000_003
    assert (top_by_group(group, spread, n_groups, k) == expected).all()


def test_match_round_gives_the_same_result_with_and_without_the_shortlist(monkeypatch):
    people = [mentor(f"m{j}", capacity=1 + j % 2, strengths=frozenset({"assessment", "sel"} if j % 2 else {"assessment"}))
              for j in range(6)]
    people += [mentee(f"e{i}", needs=("sel",) if i % 3 else ("assessment",)) for i in range(14)]
    settings = RoundSettings(session_minutes=30)
    plain = match_round(people, settings)
    monkeypatch.setattr(solver, "SHORTLIST_FROM", 0)
    monkeypatch.setattr(solver, "MENTEE_SHORTLIST", 1)
    monkeypatch.setattr(solver, "MENTOR_SHORTLIST", 1)
    shortlisted = match_round(people, settings)
    assert len(shortlisted.pairs) == len(plain.pairs) == 9
    assert shortlisted.total_score == plain.total_score


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(0, 2), st.integers(0, 2))
def test_each_widening_after_the_first_keeps_every_edge_the_shortlist_held(network, mentee_list, mentor_list):
    # The first widening narrows to the edges near the margin (small, and usually enough); a later one that swapped
    # the shortlist for those edges alone could drop an edge the optimum needs and fail again (at 50k mentees on a
    # dense roster it did): from the second widening on, each solve's edges must hold the last solve's.
    solved_on: list[set[int]] = []
    real_solve = FlowNetwork.solve

    def recording_solve(self, edges):
        solved_on.append(set(edges.tolist()))
        return real_solve(self, edges)

    FlowNetwork.solve = recording_solve
    try:
        chosen = solve_flow(**network, shortlist_from=0, shortlist=(mentee_list, mentor_list))
    finally:
        FlowNetwork.solve = real_solve
    widened = solved_on[1:]
    assert all(earlier <= later for earlier, later in itertools.pairwise(widened))
    assert value(network, chosen) == value(network, solve_flow(**network, shortlist_from=10**9))
