"""Property tests: match_round against brute force on small random instances."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from functools import lru_cache

import numpy as np

from hypothesis import HealthCheck, assume, given, settings, strategies as st

from bot.matching import (
    History,
    Participant,
    RoundSettings,
    SideConstraints,
    WeeklyWindow,
    ineligibility_reasons,
    match_round,
    result_report,
    solve_groups,
    solve_with_side_constraints,
)
from bot.matching.availability import merge_spans, merge_windows, runs, start_mask, start_runs, usable_minutes, windows_mask
from bot.matching.constrained import SHORTFALL_PRICE
from bot.matching.eligibility import Profile
from bot.matching.graph import build_graph
from bot.matching.groups import group_network
from bot.matching.scoring import _run_table, _usable_minutes_edges, fit, fit_parts, load_cost

WEEK = 10080
BANDS = ["K-2", "k-2", "3-5", "6-8"]          # case variants on purpose
SUBJECTS = ["math", "Math", "ELA"]
TOPICS = ["sel", "SEL", "assessment", "co-teaching", "Assessment"]
RELAXABLE = ["grade_band", "subject", "availability", "strengths"]
ADDABLE = ["same_subject", "cross_site", "interest"]
POSITIONS = [None, "coach", "Coach ", "principal", "  "]
INTERESTS = ["coach", " COACH", "principal", "north", "South ", "Nowhere"]
FACTORS = ["grade_band", "subject", "schedule", "needs", "cross_site"]


# --- an independent statement of the hard rules (deliberately naive: minute sets, all pairs) ---

def _minutes(p: Participant) -> set[int] | None:
    if not p.availability:
        return None  # any time
    return {t for w in p.availability for t in range(w.start, w.end)}


def _shares_run(a: set[int] | None, b: set[int] | None, length: int) -> bool:
    if a is None and b is None:
        return True
    shared = b if a is None else a if b is None else a & b
    return any(all((t + i) % WEEK in shared for i in range(length)) for t in shared)


def naive_eligible(m: Participant, e: Participant, s: RoundSettings, h: History) -> bool:
    low = lambda xs: {x.lower() for x in xs}  # noqa: E731
    if m.key == e.key or m.role == "mentee" or e.role == "mentor" or m.capacity <= 0:
        return False
    if "grade_band" not in s.relax and m.grade_bands and e.grade_bands and not low(m.grade_bands) & low(e.grade_bands):
        return False
    if "subject" not in s.relax and m.subjects and e.subjects and not low(m.subjects) & low(e.subjects):
        return False
    if "availability" not in s.relax and not _shares_run(_minutes(m), _minutes(e), s.session_minutes):
        return False
    if "strengths" not in s.relax:
        if s.topic:
            if s.topic.lower() not in low(m.strengths):
                return False
        elif e.needs and not low(e.needs) & low(m.strengths):
            return False
    trimmed = lambda x: x.strip().lower() or None if x else None  # noqa: E731
    if "same_subject" in s.require and not low(m.subjects) & low(e.subjects):
        return False
    if "cross_site" in s.require and not (trimmed(m.site) and trimmed(e.site) and trimmed(m.site) != trimmed(e.site)):
        return False
    if "interest" in s.require:
        wanted = {x.strip().lower() for x in e.interests}
        if trimmed(m.position) not in wanted and trimmed(m.site) not in wanted:
            return False
    if e.key.lower() in low(m.avoid) or m.key.lower() in low(e.avoid):
        return False
    return (m.key, e.key) not in h.past_pairs and (e.key, m.key) not in h.past_pairs


def brute_force(people, s: RoundSettings, h: History, group_size: int = 1) -> tuple[int, int]:
    """(most mentees matched, best total score among matchings of that size) by exhaustive search.

    With group_size k a mentor's capacity counts groups of k, and every seat of the g-th group
    costs what a g-th mentee costs one to one.
    """
    mentors = [p for p in people if p.role != "mentee" and p.capacity > 0]
    mentees = [p for p in people if p.role != "mentor"]
    recent = dict(h.recent_load)
    options = [
        [(j, fit(Profile(m), Profile(e), s)) for j, m in enumerate(mentors) if naive_eligible(m, e, s, h)]
        for e in mentees
    ]

    @lru_cache(maxsize=None)
    def best(i: int, used: tuple[int, ...]) -> tuple[int, int]:
        if i == len(mentees):
            return (0, 0)
        result = best(i + 1, used)  # leave mentee i unmatched
        for j, points in options[i]:
            if used[j] < mentors[j].capacity * group_size:
                count, score = best(i + 1, used[:j] + (used[j] + 1,) + used[j + 1:])
                load = load_cost(used[j] // group_size + 1, recent.get(mentors[j].key, 0))
                result = max(result, (count + 1, score + points - load))
        return result

    return best(0, (0,) * len(mentors))


# --- random small instances ---------------------------------------------------------------------
# Every strategy is built once, here: building one (and Hypothesis validating it) cost more than drawing from it, and
# `instances` used to build about fifteen per person on every draw. The values drawn are the same as before.

def _weekly(spans: list[tuple[int, int]]) -> tuple[WeeklyWindow, ...]:
    out = []
    for s, n in spans:
        if s + n <= WEEK:
            out.append(WeeklyWindow(s, s + n))
        else:
            out += [WeeklyWindow(s, WEEK), WeeklyWindow(0, s + n - WEEK)]
    return merge_windows(out)


# Starts cluster near Sunday midnight UTC and early Monday so overlaps (and wrap-arounds) are common.
WINDOWS = st.lists(
    st.tuples(st.sampled_from([9990, 10020, 10050, 10065, 0, 15, 30, 45, 60, 90]), st.sampled_from([15, 20, 30, 45, 60, 90])), max_size=2
).map(_weekly)


def _picks(values: list, most: int):
    return st.lists(st.sampled_from(values), max_size=most)


SITE = st.sampled_from([None, "North", "south", "South", " north "])
PROGRAM = st.sampled_from([None, "EPP", "epp", "Corps"])
GRADE_BANDS = _picks(BANDS, 2).map(frozenset)
SUBJECT_SET = _picks(SUBJECTS, 2).map(frozenset)
STRENGTHS = _picks(TOPICS, 3).map(frozenset)
NEEDS = _picks(TOPICS, 3).map(tuple)
TIMEZONE = st.sampled_from(["UTC", "America/Los_Angeles", "Asia/Kolkata"])
CAPACITY = st.integers(0, 3)
WEIGHTS = st.dictionaries(st.sampled_from(FACTORS), st.sampled_from([0.0, 0.25, 0.5, 1.0]), max_size=2).map(lambda d: tuple(d.items()))
POSITION = st.sampled_from(POSITIONS)
INTEREST_SET = _picks(INTERESTS, 2).map(frozenset)
RECENT = st.integers(0, 2)
LOADED = st.booleans()
TOPIC = st.sampled_from([None, None, "SEL", "assessment"])
SESSION = st.sampled_from([30, 45])
CROSS_SITE = st.sampled_from(["prefer", "avoid", "neutral"])
RELAX = _picks(RELAXABLE, 2).map(frozenset)
REQUIRE = _picks(ADDABLE, 2).map(frozenset)


@lru_cache(maxsize=None)
def _count(low: int, high: int):
    return st.integers(low, high)


@lru_cache(maxsize=None)
def _keyed(people: int):
    """The keys of `people` people, and the strategies that pick among them (one set per head count)."""
    keys = [f"p{i}@x.example" for i in range(people)]
    avoid = _picks(keys, 1).map(lambda picked: frozenset(k.upper() for k in picked))
    past_pairs = st.lists(st.tuples(st.sampled_from(keys), st.sampled_from(keys)), max_size=2).map(frozenset)
    return keys, avoid, past_pairs


@st.composite
def instances(draw, most_mentors: int = 6, most_mentees: int = 7):
    n_both = draw(_count(0, min(2, most_mentors, most_mentees)))
    n_mentors = draw(_count(0, most_mentors - n_both))
    n_mentees = draw(_count(0, most_mentees - n_both))
    roles = ["mentor"] * n_mentors + ["mentee"] * n_mentees + ["both"] * n_both
    keys, avoid, past_pairs = _keyed(len(roles))
    people = []
    for key, role in zip(keys, roles):
        people.append(Participant(
            key=key, name=f"P{key[1]} Test", role=role,
            site=draw(SITE),
            program=draw(PROGRAM),
            grade_bands=draw(GRADE_BANDS),
            subjects=draw(SUBJECT_SET),
            strengths=draw(STRENGTHS) if role != "mentee" else frozenset(),
            needs=draw(NEEDS) if role != "mentor" else (),
            availability=draw(WINDOWS),
            timezone=draw(TIMEZONE),
            capacity=draw(CAPACITY),
            avoid=draw(avoid),
            weights=draw(WEIGHTS),
            position=draw(POSITION),
            interests=draw(INTEREST_SET) if role != "mentor" else frozenset(),
        ))
    history = History(
        past_pairs=draw(past_pairs) if keys else frozenset(),
        recent_load=tuple((k, draw(RECENT)) for k in keys if draw(LOADED)),
    )
    round_settings = RoundSettings(
        topic=draw(TOPIC),
        session_minutes=draw(SESSION),
        cross_site=draw(CROSS_SITE),
        relax=draw(RELAX),
        require=draw(REQUIRE),
    )
    return people, round_settings, history


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(instances())
def test_pairs_obey_rules_and_capacities(instance):
    people, s, h = instance
    result = match_round(people, s, h)
    by_key = {p.key: p for p in people}
    load: dict[str, int] = {}
    for pair in result.pairs:
        assert naive_eligible(by_key[pair.mentor], by_key[pair.mentee], s, h)
        load[pair.mentor] = load.get(pair.mentor, 0) + 1
        assert pair.score == sum(part.points for part in pair.breakdown)
        assert [part.factor for part in pair.breakdown] == [
            "needs", "grade_band", "subject", "schedule", "cross_site", "load"]
    assert all(n <= by_key[k].capacity for k, n in load.items())
    matched = [pair.mentee for pair in result.pairs]
    assert len(matched) == len(set(matched))
    mentees = {p.key for p in people if p.role != "mentor"}
    assert {u.key for u in result.unmatched} == mentees - set(matched)
    assert all(u.reasons for u in result.unmatched)
    assert result.total_score == sum(pair.score for pair in result.pairs)


@SETTINGS
@given(instances())
def test_maximum_cardinality_then_optimal_score(instance):
    people, s, h = instance
    result = match_round(people, s, h)
    count, score = brute_force(people, s, h)
    assert len(result.pairs) == count
    assert result.total_score == score


@SETTINGS
@given(instances())
def test_ineligibility_reasons_agree_with_the_rules_and_the_index(instance):
    people, s, h = instance
    result = match_round(people, s, h)
    edges = 0
    for m in people:
        for e in people:
            ok = naive_eligible(m, e, s, h)
            assert (ineligibility_reasons(m, e, s, h) == []) == ok
            edges += ok and m.role != "mentee" and e.role != "mentor"
    assert result.candidate_edges == edges  # the index yields every eligible pair, nothing more


@SETTINGS
@given(instances(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(instance, rnd):
    people, s, h = instance
    shuffled = people[:]
    rnd.shuffle(shuffled)
    a, b = match_round(people, s, h), match_round(shuffled, s, h)
    assert (a.pairs, a.unmatched, a.total_score) == (b.pairs, b.unmatched, b.total_score)


@SETTINGS
@given(instances())
def test_unmatched_reasons_match_the_situation(instance):
    people, s, h = instance
    result = match_round(people, s, h)
    by_key = {p.key: p for p in people}
    for u in result.unmatched:
        eligible = [m for m in people if naive_eligible(m, by_key[u.key], s, h)]
        crowded = "eligible mentor" in u.reasons[0]
        assert crowded == bool(eligible)
        if len(eligible) > 1:
            assert u.reasons[0].startswith(f"all {len(eligible)} eligible mentors")


# --- the vectorised core agrees with its plain definitions -------------------------------------

@SETTINGS
@given(instances())
def test_vectorised_fit_equals_fit_parts_on_every_edge(instance):
    people, s, h = instance
    graph = build_graph(people, s, h)
    for k in range(len(graph.fit)):
        mentor = graph.mentors[graph.edge_mentor[k]]
        mentee = graph.mentees[graph.edge_mentee[k]]
        assert tuple(graph.parts[:, k].tolist()) == fit_parts(mentor, mentee, s)


@SETTINGS
@given(st.lists(WINDOWS, min_size=2, max_size=5), st.sampled_from([1, 15, 30, 45, 90]))
def test_interval_availability_matches_the_bitmask_definition(people_windows, length):
    profiles = [Profile(Participant(key=f"p{i}@x.example", name="P", role="both", availability=w))
                for i, w in enumerate(people_windows)]
    for p, w in zip(profiles, people_windows):
        spans = merge_spans((x.start, x.end) for x in w)
        mask = windows_mask(w)
        assert start_runs(spans, length) == tuple(runs(start_mask(mask, length)))
        assert p.starts(length) == start_mask(mask, length)
    # Common usable minutes of every pair, wrap-arounds included, without the schedule cap.
    mentors, mentees = profiles[:1], profiles[1:]
    em = np.arange(len(mentees))
    er = np.zeros(len(mentees), dtype=np.int64)
    got = _usable_minutes_edges(_run_table(mentors, length), _run_table(mentees, length), em, er, length)
    want = [usable_minutes(mentors[0].starts(length) & e.starts(length), length) for e in mentees]
    assert got.tolist() == want


# --- small groups ------------------------------------------------------------------------------

@SETTINGS
@given(instances(), st.integers(1, 3))
def test_groups_without_times_are_an_exact_flow_with_group_capacity(instance, k):
    people, s, h = instance
    s = RoundSettings(topic=s.topic, cross_site=s.cross_site, relax=s.relax | {"availability"}, require=s.require)
    result = solve_groups(people, s, h, group_size=k)
    count, score = brute_force(people, s, h, group_size=k)
    assert (len(result.pairs), result.total_score) == (count, score)


@SETTINGS
@given(instances(), st.integers(1, 3))
def test_groups_share_a_time_and_respect_size_and_capacity(instance, k):
    people, s, h = instance
    result = solve_groups(people, s, h, group_size=k)
    by_key = {p.key: p for p in people}
    length = s.session_minutes
    paired = {(p.mentor, p.mentee) for p in result.pairs}
    assert {(g.mentor, m) for g in result.groups for m in g.mentees} == paired
    for pair in result.pairs:
        assert naive_eligible(by_key[pair.mentor], by_key[pair.mentee], s, h)
    groups_of: dict[str, int] = {}
    for group in result.groups:
        assert 1 <= len(group.mentees) <= k
        groups_of[group.mentor] = groups_of.get(group.mentor, 0) + 1
        if "availability" in s.relax:
            continue
        members = [Profile(by_key[key]) for key in (group.mentor, *group.mentees)]
        if all(m.any_time for m in members):
            continue
        assert group.starts_at is not None
        for member in members:  # the group's session fits everyone in it
            assert any(a <= group.starts_at < b for a, b in member.start_runs(length))
    assert all(n <= by_key[m].capacity for m, n in groups_of.items())
    # A mentor's groups never overlap in time.
    for mentor_key in groups_of:
        times = sorted(g.starts_at for g in result.groups if g.mentor == mentor_key and g.starts_at is not None)
        for a, b in itertools.combinations(times, 2):
            assert min((b - a) % WEEK, (a - b) % WEEK) >= length
    assert len({p.mentee for p in result.pairs}) == len(result.pairs)
    mentees = {p.key for p in people if p.role != "mentor"}
    assert {u.key for u in result.unmatched} == mentees - {p.mentee for p in result.pairs}


# --- quotas, caps and the fairness floor (CP-SAT) against brute force ---------------------------

def _group(value: str | None) -> str:
    # Sites and programs are grouped trimmed and case-insensitively, as the solver does.
    return value.strip().casefold() if value and value.strip() else "(none)"


def _constrained_key(placed, load: int, c: SideConstraints) -> tuple[int, int, int] | None:
    """(how much of the minimums is met, placements, objective) of placed (mentee, fit) pairs with
    this total load; None when a cap is broken."""
    minimums = {k.casefold(): n for k, n in c.site_minimums}
    site_caps = {k.casefold(): n for k, n in c.site_caps}
    program_caps = {k.casefold(): n for k, n in c.program_caps}
    sites = [_group(e.site) for e, _ in placed]
    programs = [_group(e.program) for e, _ in placed]
    if any(sites.count(k) > n for k, n in site_caps.items()) or any(programs.count(k) > n for k, n in program_caps.items()):
        return None
    filled = sum(min(sites.count(k), n) for k, n in minimums.items())
    shortfall = 0
    if c.fairness_floor is not None:
        by = sites if c.fairness_by == "site" else programs
        for name in set(by):
            shortfall += max(0, sum(c.fairness_floor - p for (_, p), g in zip(placed, by) if g == name))
    return (filled, len(placed), sum(p for _, p in placed) - load - SHORTFALL_PRICE * shortfall)


def brute_constrained(people, s: RoundSettings, h: History, c: SideConstraints, group_size: int = 1) -> tuple[int, int, int]:
    """(how much of the minimums is met, placements, objective) of the lexicographic optimum.

    With group_size k (and no group times: the availability rule relaxed) a mentor seats up to
    capacity x k mentees, and each seat of its g-th group costs what a g-th mentee does one to one.
    """
    mentors = [p for p in people if p.role != "mentee" and p.capacity > 0]
    mentees = [p for p in people if p.role != "mentor"]
    recent = dict(h.recent_load)
    options = [[None] + [j for j, m in enumerate(mentors) if naive_eligible(m, e, s, h)] for e in mentees]
    points = {(i, j): fit(Profile(mentors[j]), Profile(e), s) for i, e in enumerate(mentees) for j in options[i][1:]}
    best = None
    for choice in itertools.product(*options):
        used = [0] * len(mentors)
        for j in choice:
            if j is not None:
                used[j] += 1
        if any(u > m.capacity * group_size for u, m in zip(used, mentors)):
            continue
        placed = [(mentees[i], points[(i, j)]) for i, j in enumerate(choice) if j is not None]
        load = sum(load_cost((t - 1) // group_size + 1, recent.get(m.key, 0))
                   for u, m in zip(used, mentors) for t in range(1, u + 1))
        key = _constrained_key(placed, load, c)
        if key is not None and (best is None or key > best):
            best = key
    return best


def brute_group_network(people, s: RoundSettings, h: History, c: SideConstraints, k: int) -> tuple[int, int, int]:
    """The same lexicographic optimum over the groups solve_groups sets up (their times fixed):
    every mentee in any group whose time they can make, at most k per group."""
    graph = build_graph(people, s, h)
    network = group_network(graph, k)
    by_key = {p.key: p for p in people}
    mentees = [by_key[m.person.key] for m in graph.mentees]
    options: list[list] = [[None] for _ in mentees]
    for edge, node in zip(network.edge_index.tolist(), network.node_of.tolist()):
        options[int(graph.edge_mentee[edge])].append((node, int(graph.fit[edge])))
    seat_cost = dict(zip(network.seat_node.tolist(), network.seat_cost.tolist()))  # equal within a group
    best = None
    for choice in itertools.product(*options):
        used: dict[int, int] = {}
        for option in choice:
            if option is not None:
                used[option[0]] = used.get(option[0], 0) + 1
        if any(n > k for n in used.values()):
            continue
        placed = [(mentees[i], option[1]) for i, option in enumerate(choice) if option is not None]
        key = _constrained_key(placed, sum(seat_cost[node] * n for node, n in used.items()), c)
        if key is not None and (best is None or key > best):
            best = key
    return best


CONSTRAINT_SITES = st.sampled_from(["North", "south", "Nowhere"])
CONSTRAINT_PROGRAMS = st.sampled_from(["EPP", "Corps"])
SIDE_CONSTRAINTS = st.builds(
    SideConstraints,
    site_minimums=st.dictionaries(CONSTRAINT_SITES, st.integers(0, 3), max_size=2),
    site_caps=st.dictionaries(CONSTRAINT_SITES, st.integers(3, 4), max_size=1),
    program_caps=st.dictionaries(CONSTRAINT_PROGRAMS, st.integers(0, 2), max_size=1),
    fairness_floor=st.sampled_from([None, 40, 70, 100]),
    fairness_by=st.sampled_from(["site", "program"]),
    time_limit_seconds=st.just(20),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(instances(most_mentors=3, most_mentees=5), SIDE_CONSTRAINTS, st.booleans(), st.booleans())
def test_side_constraints_reach_the_brute_force_optimum(instance, c, open_rules, binding_floor):
    people, s, h = instance
    if open_rules:  # many eligible pairs, so quotas, caps and the floor have choices to make
        s = RoundSettings(cross_site=s.cross_site, relax=frozenset(RELAXABLE), require=s.require - {"interest"})
    if binding_floor:
        # Halfway between the worst and the best group's mean in the plain result: the best
        # group has fit to spare and the worst needs it, so the floor has something to decide.
        plain = result_report(match_round(people, s, h), people)
        means = [g.mean_fit for g in (plain.by_site if c.fairness_by == "site" else plain.by_program) if g.mean_fit is not None]
        c = replace(c, fairness_floor=math.ceil((max(means) + min(means)) / 2) if means else None)
    result = solve_with_side_constraints(people, s, h, c)
    assert result.solver is not None and result.solver.status == "optimal"
    by_key = {p.key: p for p in people}
    placed = [by_key[p.mentee] for p in result.pairs]
    for pair in result.pairs:
        assert naive_eligible(by_key[pair.mentor], by_key[pair.mentee], s, h)
    sites = [_group(e.site) for e in placed]
    programs = [_group(e.program) for e in placed]
    filled = sum(min(sites.count(k.casefold()), n) for k, n in c.site_minimums)
    shortfall = 0
    if c.fairness_floor is not None:
        by = sites if c.fairness_by == "site" else programs
        fits = [sum(x.points for x in p.breakdown if x.factor != "load") for p in result.pairs]
        for name in set(by):
            shortfall += max(0, sum(c.fairness_floor - f for f, g in zip(fits, by) if g == name))
    objective = int(result.total_score) - SHORTFALL_PRICE * shortfall
    assert (filled, len(result.pairs), objective) == brute_constrained(people, s, h, c)


def _result_key(result, people, c: SideConstraints) -> tuple[int, int, int]:
    by_key = {p.key: p for p in people}
    fits = [int(sum(x.points for x in p.breakdown if x.factor != "load")) for p in result.pairs]
    load = int(sum(fits) - result.total_score)
    return _constrained_key([(by_key[p.mentee], f) for p, f in zip(result.pairs, fits)], load, c)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(instances(most_mentors=3, most_mentees=5), SIDE_CONSTRAINTS, st.integers(1, 3), st.booleans(), st.booleans())
def test_group_side_constraints_keep_group_capacity_and_reach_the_brute_force_optimum(instance, c, k, timed, binding_floor):
    people, s, h = instance
    # Open rules, so that groups fill and the quotas have choices to make; with `timed` the
    # availability rule holds, so each group has a time its mentees must make.
    relax = frozenset(RELAXABLE) - ({"availability"} if timed else set())
    s = RoundSettings(cross_site=s.cross_site, session_minutes=s.session_minutes, relax=relax,
                      require=s.require - {"interest"})
    plain_groups = solve_groups(people, s, h, group_size=k)
    assume(plain_groups.pairs)  # a round nobody can be placed in has nothing to decide
    if binding_floor:
        plain = result_report(plain_groups, people)
        means = [g.mean_fit for g in (plain.by_site if c.fairness_by == "site" else plain.by_program) if g.mean_fit is not None]
        c = replace(c, fairness_floor=math.ceil((max(means) + min(means)) / 2) if means else None)
    result = solve_with_side_constraints(people, s, h, c, group_size=k)
    assert result.solver is not None and result.solver.status == "optimal"
    by_key = {p.key: p for p in people}
    # Group capacity: at most k mentees in a group, at most `capacity` groups per mentor, one
    # group per mentee, and every pair in exactly the group that lists it.
    assert {(g.mentor, m) for g in result.groups for m in g.mentees} == {(p.mentor, p.mentee) for p in result.pairs}
    assert len({p.mentee for p in result.pairs}) == len(result.pairs)
    groups_of: dict[str, int] = {}
    for group in result.groups:
        assert 1 <= len(group.mentees) <= k
        groups_of[group.mentor] = groups_of.get(group.mentor, 0) + 1
        if timed and group.starts_at is not None:
            for key in (group.mentor, *group.mentees):
                assert any(a <= group.starts_at < b for a, b in Profile(by_key[key]).start_runs(s.session_minutes))
    assert all(n <= by_key[m].capacity for m, n in groups_of.items())
    for pair in result.pairs:
        assert naive_eligible(by_key[pair.mentor], by_key[pair.mentee], s, h)
    # Quotas and caps (the key is None when a cap is broken), and the lexicographic optimum.
    got = _result_key(result, people, c)
    assert got is not None
    assert got == brute_group_network(people, s, h, c, k)
    if not timed:  # and, independently of how groups are set up, the optimum over all seatings
        assert got == brute_constrained(people, s, h, c, group_size=k)
