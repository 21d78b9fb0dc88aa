"""Speed mentoring: rotations without repeats, k per mentor, even sit-outs, and the flow optimum."""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter

from hypothesis import HealthCheck, given, settings, strategies as st

from bot.matching import History, Participant, RoundSettings, speed_schedule
from bot.matching.eligibility import Profile
from bot.matching.scoring import fit
from bot.matching.speed import _sides
from tests.test_matching_properties import instances, naive_eligible

OPEN = RoundSettings(relax=frozenset({"grade_band", "subject", "strengths", "availability"}))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_schedule(schedule, people, s: RoundSettings, h: History, rotations: int, per_mentor: int) -> None:
    """The rules every schedule keeps, whatever the instance."""
    sided = {p.key: p for p in _sides(people, per_mentor)}
    pairs = [(m.mentor, m.mentee) for m in schedule.meetings]
    assert len(pairs) == len(set(pairs)), "a pair met twice"
    for m in schedule.meetings:
        assert 1 <= m.rotation <= rotations
        assert m.starts_after == (m.rotation - 1) * schedule.minutes
        assert sided[m.mentor].role == "mentor" and sided[m.mentee].role == "mentee"
        assert naive_eligible(sided[m.mentor], sided[m.mentee], s, h)
    per_rotation_mentee = Counter((m.rotation, m.mentee) for m in schedule.meetings)
    per_rotation_mentor = Counter((m.rotation, m.mentor) for m in schedule.meetings)
    assert all(n == 1 for n in per_rotation_mentee.values())
    assert all(n <= per_mentor for n in per_rotation_mentor.values())
    sizes = Counter(m.rotation for m in schedule.meetings)
    if schedule.meetings:
        assert max(sizes.values()) - min(sizes.get(r, 0) for r in range(1, rotations + 1)) <= 1
    # Sit-outs: exactly the people with nobody in a rotation.
    busy = {(m.rotation, m.mentor) for m in schedule.meetings} | {(m.rotation, m.mentee) for m in schedule.meetings}
    for entry in schedule.sit_outs:
        assert (entry.rotation, entry.key) not in busy
    taking_part = schedule.mentors + schedule.mentees
    assert len(schedule.sit_outs) == rotations * taking_part - len(busy)


def brute_speed(people, s: RoundSettings, h: History, rotations: int, per_mentor: int) -> tuple[int, int, int]:
    """(meetings, -imbalance, fit) of the best set of meetings, by trying every set."""
    sided = _sides(people, per_mentor)
    mentors = [p for p in sided if p.role == "mentor" and p.capacity > 0]
    mentees = [p for p in sided if p.role == "mentee"]
    edges = [(i, j, fit(Profile(m), Profile(e), s)) for i, e in enumerate(mentees) for j, m in enumerate(mentors)
             if naive_eligible(m, e, s, h)]
    best = None
    for chosen in itertools.product((False, True), repeat=len(edges)):
        mentee_load = Counter(i for (i, _, _), c in zip(edges, chosen) if c)
        mentor_load = Counter(j for (_, j, _), c in zip(edges, chosen) if c)
        if any(n > rotations for n in mentee_load.values()) or any(n > per_mentor * rotations for n in mentor_load.values()):
            continue
        # The same convex prices the flow uses: a mentee's t-th meeting t, a mentor's s-th seat s // k.
        imbalance = sum(d * (d - 1) // 2 for d in mentee_load.values())
        imbalance += sum(sum(seat // per_mentor for seat in range(d)) for d in mentor_load.values())
        key = (sum(chosen), -imbalance, sum(p for (_, _, p), c in zip(edges, chosen) if c))
        best = key if best is None or key > best else best
    return best


@SETTINGS
@given(instances(most_mentors=3, most_mentees=4), st.integers(1, 3), st.integers(1, 2), st.booleans())
def test_speed_schedule_is_the_flow_optimum_and_keeps_the_rules(instance, rotations, per_mentor, open_rules):
    people, s, h = instance
    s = OPEN if open_rules else s
    schedule = speed_schedule(people, s, h, rotations=rotations, per_mentor=per_mentor, minutes=7)
    check_schedule(schedule, people, s, h, rotations, per_mentor)
    mentee_load = Counter(m.mentee for m in schedule.meetings)
    mentor_load = Counter(m.mentor for m in schedule.meetings)
    imbalance = sum(d * (d - 1) // 2 for d in mentee_load.values())
    imbalance += sum(sum(seat // per_mentor for seat in range(d)) for d in mentor_load.values())
    got = (len(schedule.meetings), -imbalance, int(schedule.total_score))
    assert got == brute_speed(people, s, h, rotations, per_mentor)


def _crowd(mentors: int, mentees: int, seed: int = 1) -> list[Participant]:
    rng = random.Random(seed)
    topics = ["SEL", "assessment", "co-teaching", "lesson planning", "family engagement"]
    people = []
    for i in range(mentors + mentees):
        is_mentor = i < mentors
        people.append(Participant(
            key=f"{'mr' if is_mentor else 'ee'}{i}@x.example", name=f"P{i} Person",
            role="mentor" if is_mentor else "mentee", site=f"site{i % 7}",
            grade_bands=frozenset(rng.sample(["K-2", "3-5", "6-8", "9-12"], 1)),
            strengths=frozenset(rng.sample(topics, 2)) if is_mentor else frozenset(),
            needs=() if is_mentor else tuple(rng.sample(topics, 2)),
            capacity=1,
        ))
    return people


def test_odd_numbers_spread_sit_outs_evenly():
    # 7 mentors, 9 mentees, 6 rotations: 2 mentees sit out each rotation, and over the event
    # every mentee sits out once or twice, never three times while another never does.
    people = _crowd(7, 9)
    schedule = speed_schedule(people, OPEN, rotations=6)
    check_schedule(schedule, people, OPEN, History(), 6, 1)
    assert len(schedule.meetings) == 7 * 6
    sat_out = Counter(e.key for e in schedule.sit_outs if e.role == "mentee")
    counts = [sat_out.get(p.key, 0) for p in people if p.role == "mentee"]
    assert sorted(set(counts)) == [1, 2] and sum(counts) == 9 * 6 - 42
    assert Counter(e.rotation for e in schedule.sit_outs) == {r: 2 for r in range(1, 7)}


def test_more_mentors_than_mentees_rest_the_mentors_in_turn():
    people = _crowd(5, 3)
    schedule = speed_schedule(people, OPEN, rotations=5)
    check_schedule(schedule, people, OPEN, History(), 5, 1)
    met = Counter(m.mentor for m in schedule.meetings)
    assert sorted(met.values()) == [3, 3, 3, 3, 3]        # 15 meetings over 5 mentors, 3 each
    assert all(len({m.mentor for m in schedule.meetings if m.mentee == e}) == 5 for e in {m.mentee for m in schedule.meetings})


def test_two_mentees_per_mentor_and_avoid_lists():
    people = _crowd(3, 6)
    people[0] = Participant(**{**people[0].__dict__, "avoid": frozenset({"ee3@x.example"})})
    schedule = speed_schedule(people, OPEN, rotations=3, per_mentor=2)
    check_schedule(schedule, people, OPEN, History(), 3, 2)
    assert len(schedule.meetings) == 6 * 3 - 1             # everyone meets all three mentors but one pair
    assert ("mr0@x.example", "ee3@x.example") not in {(m.mentor, m.mentee) for m in schedule.meetings}


def test_both_people_take_the_shorter_side():
    people = _crowd(2, 5) + [Participant(key="b1@x.example", name="Bo Th", role="both", capacity=1),
                             Participant(key="b2@x.example", name="By Th", role="both", capacity=1)]
    schedule = speed_schedule(people, OPEN, rotations=2)
    assert (schedule.mentors, schedule.mentees) == (4, 5)
    roles = {m.mentor for m in schedule.meetings} & {"b1@x.example", "b2@x.example"}
    assert roles == {"b1@x.example", "b2@x.example"}
    assert not {m.mentee for m in schedule.meetings} & {"b1@x.example", "b2@x.example"}


def test_three_hundred_people_eight_rotations_no_repeats_in_seconds():
    people = _crowd(150, 150, seed=5)
    started = time.perf_counter()
    schedule = speed_schedule(people, OPEN, rotations=8, minutes=6)
    took = time.perf_counter() - started
    check_schedule(schedule, people, OPEN, History(), 8, 1)
    assert len(schedule.meetings) == 150 * 8
    assert not schedule.sit_outs
    assert took < 10


def test_sit_outs_spread_even_when_fit_would_rather_not():
    # Three mentors, four mentees, two rotations: six meetings. Dee fits nobody well, so the
    # best total fit alone would have her sit out both rotations while the others meet twice.
    # Spreading sit-outs comes first: two mentees meet twice, two once, and Dee is one of them.
    mentors = [Participant(key=f"m{i}@x.example", name=f"M{i} T", role="mentor", grade_bands=frozenset({"6-8"}),
                           strengths=frozenset({"SEL"})) for i in range(3)]
    mentees = [Participant(key=f"e{i}@x.example", name=f"E{i} T", role="mentee", grade_bands=frozenset({"6-8"}),
                           needs=("SEL",)) for i in range(3)]
    dee = Participant(key="dee@x.example", name="Dee T", role="mentee", grade_bands=frozenset({"K-2"}), needs=("PE",))
    schedule = speed_schedule(mentors + mentees + [dee], OPEN, rotations=2)
    met = Counter(m.mentee for m in schedule.meetings)
    assert len(schedule.meetings) == 6
    assert sorted(met.values()) == [1, 1, 2, 2] and met["dee@x.example"] >= 1
    check_schedule(schedule, mentors + mentees + [dee], OPEN, History(), 2, 1)
