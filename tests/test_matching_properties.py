"""Property tests: match_round against brute force on small random instances."""

from __future__ import annotations

from functools import lru_cache

from hypothesis import HealthCheck, given, settings, strategies as st

from bot.matching import (
    History,
    Participant,
    RoundSettings,
    WeeklyWindow,
    ineligibility_reasons,
    match_round,
)
from bot.matching.availability import merge_windows
from bot.matching.eligibility import Profile
from bot.matching.scoring import fit, load_cost

WEEK = 10080
BANDS = ["K-2", "k-2", "3-5", "6-8"]          # case variants on purpose
SUBJECTS = ["math", "Math", "ELA"]
TOPICS = ["sel", "SEL", "assessment", "co-teaching", "Assessment"]
RELAXABLE = ["grade_band", "subject", "availability", "strengths"]
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
    if e.key.lower() in low(m.avoid) or m.key.lower() in low(e.avoid):
        return False
    return (m.key, e.key) not in h.past_pairs and (e.key, m.key) not in h.past_pairs


def brute_force(people, s: RoundSettings, h: History) -> tuple[int, int]:
    """(most mentees matched, best total score among matchings of that size) by exhaustive search."""
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
            if used[j] < mentors[j].capacity:
                count, score = best(i + 1, used[:j] + (used[j] + 1,) + used[j + 1:])
                candidate = (count + 1, score + points - load_cost(used[j] + 1, recent.get(mentors[j].key, 0)))
                result = max(result, candidate)
        return result

    return best(0, (0,) * len(mentors))


# --- random small instances ---------------------------------------------------------------------

def windows():
    # Starts cluster near Sunday midnight UTC and early Monday so overlaps (and wrap-arounds) are common.
    start = st.sampled_from([9990, 10020, 10050, 10065, 0, 15, 30, 45, 60, 90])
    length = st.sampled_from([15, 20, 30, 45, 60, 90])

    def build(spans):
        out = []
        for s, n in spans:
            if s + n <= WEEK:
                out.append(WeeklyWindow(s, s + n))
            else:
                out += [WeeklyWindow(s, WEEK), WeeklyWindow(0, s + n - WEEK)]
        return merge_windows(out)

    return st.lists(st.tuples(start, length), max_size=2).map(build)


@st.composite
def instances(draw):
    n_both = draw(st.integers(0, 2))
    n_mentors = draw(st.integers(0, 6 - n_both))
    n_mentees = draw(st.integers(0, 7 - n_both))
    roles = ["mentor"] * n_mentors + ["mentee"] * n_mentees + ["both"] * n_both
    keys = [f"p{i}@x.example" for i in range(len(roles))]
    people = []
    for key, role in zip(keys, roles):
        people.append(Participant(
            key=key, name=f"P{key[1]} Test", role=role,
            site=draw(st.sampled_from([None, "North", "south", "South"])),
            grade_bands=frozenset(draw(st.lists(st.sampled_from(BANDS), max_size=2))),
            subjects=frozenset(draw(st.lists(st.sampled_from(SUBJECTS), max_size=2))),
            strengths=frozenset(draw(st.lists(st.sampled_from(TOPICS), max_size=3))) if role != "mentee" else frozenset(),
            needs=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=3))) if role != "mentor" else (),
            availability=draw(windows()),
            timezone=draw(st.sampled_from(["UTC", "America/Los_Angeles", "Asia/Kolkata"])),
            capacity=draw(st.integers(0, 3)),
            avoid=frozenset(k.upper() for k in draw(st.lists(st.sampled_from(keys), max_size=1))),
            weights=tuple(draw(st.dictionaries(st.sampled_from(FACTORS), st.sampled_from([0.0, 0.25, 0.5, 1.0]),
                                               max_size=2)).items()),
        ))
    pair_keys = st.tuples(st.sampled_from(keys), st.sampled_from(keys)) if keys else st.nothing()
    history = History(
        past_pairs=frozenset(draw(st.lists(pair_keys, max_size=2))) if keys else frozenset(),
        recent_load=tuple((k, draw(st.integers(0, 2))) for k in keys if draw(st.booleans())),
    )
    round_settings = RoundSettings(
        topic=draw(st.sampled_from([None, None, "SEL", "assessment"])),
        session_minutes=draw(st.sampled_from([30, 45])),
        cross_site=draw(st.sampled_from(["prefer", "avoid", "neutral"])),
        relax=frozenset(draw(st.lists(st.sampled_from(RELAXABLE), max_size=2))),
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
