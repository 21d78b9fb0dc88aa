"""Unit, golden and smoke tests for the pure matching core (bot/matching)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

from bot.matching import (
    Group,
    History,
    MatchResult,
    Pair,
    Participant,
    RoundSettings,
    ScorePart,
    SideConstraints,
    Unmatched,
    WeeklyWindow,
    ineligibility_reasons,
    match_round,
    solve_groups,
    solve_with_side_constraints,
    weekly_windows_utc,
)
from bot.matching.availability import phrase_window
from bot.matching.eligibility import HistoryIndex, Profile, profile_reasons

JAN = date(2026, 1, 5)   # a Monday in standard time (PST = UTC-8)
JUL = date(2026, 7, 6)   # a Monday in daylight time (PDT = UTC-7)
LA = "America/Los_Angeles"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def slot(text: str) -> tuple[int, int, int]:
    """'Tue 15:00-16:30' -> (1, 900, 990)."""
    day, span = text.split()
    start, end = span.split("-")
    to_min = lambda hhmm: int(hhmm[:2]) * 60 + int(hhmm[3:])  # noqa: E731
    return DAYS.index(day), to_min(start), to_min(end)


def local(*texts: str, tz: str = LA, week: date = JAN) -> tuple[WeeklyWindow, ...]:
    return weekly_windows_utc([slot(t) for t in texts], tz, week)


def person(key: str, role: str = "mentee", **kw) -> Participant:
    """A participant named after the key ('ana' -> 'Ana Test', 'ana@x.example')."""
    kw.setdefault("name", f"{key.capitalize()} Test")
    return Participant(key=f"{key}@x.example", role=role, **kw)


def mentor(key: str = "ana", **kw) -> Participant:
    base = dict(grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}),
                strengths=frozenset({"assessment"}))
    base.update(kw)
    return person(key, "mentor", **base)


def mentee(key: str = "ben", **kw) -> Participant:
    base = dict(grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}), needs=("assessment",))
    base.update(kw)
    return person(key, "mentee", **base)


def pairs_of(result: MatchResult) -> set[tuple[str, str]]:
    return {(p.mentor.split("@")[0], p.mentee.split("@")[0]) for p in result.pairs}


S = RoundSettings()
H = History()


# --- weekly_windows_utc -----------------------------------------------------------------------

def test_windows_los_angeles_standard_time_in_january():
    assert local("Mon 15:00-16:00") == (WeeklyWindow(23 * 60, 24 * 60),)


def test_windows_los_angeles_daylight_time_in_july():
    assert local("Mon 15:00-16:00", week=JUL) == (WeeklyWindow(22 * 60, 23 * 60),)


def test_windows_any_day_of_the_week_selects_that_week():
    assert local("Mon 15:00-16:00", week=date(2026, 7, 9)) == local("Mon 15:00-16:00", week=JUL)


def test_windows_sunday_evening_los_angeles_wraps_to_monday_utc():
    # Sun 20:00 PST is Mon 04:00 UTC: the window moves to the start of the UTC week.
    assert local("Sun 20:00-21:00") == (WeeklyWindow(4 * 60, 5 * 60),)


def test_windows_crossing_sunday_midnight_utc_are_split():
    # Sun 15:30-17:00 PST is Sun 23:30 - Mon 01:00 UTC.
    assert local("Sun 15:30-17:00") == (WeeklyWindow(0, 60), WeeklyWindow(10050, 10080))


def test_windows_kolkata_half_hour_offset():
    assert local("Mon 09:00-10:00", tz="Asia/Kolkata") == (WeeklyWindow(3 * 60 + 30, 4 * 60 + 30),)
    # Mon 03:00 IST is Sun 21:30 UTC of the week before: it wraps to the end of the week.
    assert local("Mon 03:00-03:30", tz="Asia/Kolkata") == (WeeklyWindow(10080 - 150, 10080 - 120),)


def test_windows_on_the_day_clocks_spring_forward_are_shorter():
    # 2026-03-08: US clocks skip 02:00-03:00, so Sun 01:00-04:00 lasts two real hours.
    (window,) = local("Sun 01:00-04:00", week=date(2026, 3, 2))
    assert (window.start, window.end) == (6 * 1440 + 9 * 60, 6 * 1440 + 11 * 60)


def test_windows_overlapping_slots_are_merged_and_sorted():
    got = local("Wed 12:30-13:30", "Wed 12:00-12:45", "Mon 07:00-08:00")
    assert got == (WeeklyWindow(15 * 60, 16 * 60), WeeklyWindow(2 * 1440 + 20 * 60, 2 * 1440 + 21 * 60 + 30))


def test_windows_utc_slot_past_local_midnight():
    assert weekly_windows_utc([(0, 23 * 60, 25 * 60)], "UTC", JAN) == (WeeklyWindow(1380, 1500),)


@pytest.mark.parametrize("bad", [(7, 0, 60), (0, 60, 60), (0, 90, 30), (-1, 0, 30)])
def test_windows_reject_bad_slots(bad):
    with pytest.raises(ValueError):
        weekly_windows_utc([bad], "UTC", JAN)


def test_phrase_window_crossing_local_midnight():
    # Mon 07:00-09:00 UTC is Sun 23:00 - Mon 01:00 in Los Angeles (PST).
    assert phrase_window(7 * 60, 9 * 60, LA, JAN)[1] == "Sun 23:00-Mon 01:00"
    assert phrase_window(7 * 60, 8 * 60, LA, JAN)[1] == "Sun 23:00-24:00"


# --- value types ------------------------------------------------------------------------------

def test_participant_normalises_collections_and_validates():
    p = Participant(key="a@x", name="A", role="mentor", grade_bands=["6-8"], needs=["x"],
                    weights={"needs": 1.0})
    assert p.grade_bands == frozenset({"6-8"}) and p.needs == ("x",) and p.weights == (("needs", 1.0),)
    hash(p)
    with pytest.raises(ValueError):
        Participant(key="a@x", name="A", role="coach")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Participant(key="a@x", name="A", role="mentor", weights={"vibes": 1.0})
    with pytest.raises(ValueError):
        Participant(key="a@x", name="A", role="mentor", weights={"needs": 2.0})
    with pytest.raises(TypeError):
        Participant(key="a@x", name="A", role="mentor", subjects="math")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time zone"):
        Participant(key="a@x", name="A", role="mentor", timezone="Mars/Olympus")


def test_settings_validate():
    with pytest.raises(ValueError):
        RoundSettings(relax=frozenset({"avoid"}))
    with pytest.raises(ValueError):
        RoundSettings(sessions=4)
    with pytest.raises(ValueError):
        RoundSettings(cross_site="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        WeeklyWindow(10, 10)


def test_duplicate_keys_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        match_round([mentor("ana"), replace(mentee("ana"), key="ANA@x.example")], S)


# --- hard rules: each test fails if its rule is dropped ---------------------------------------

def test_baseline_pair_is_eligible_and_matched():
    assert ineligibility_reasons(mentor(), mentee(), S, H) == []
    assert pairs_of(match_round([mentor(), mentee()], S)) == {("ana", "ben")}


def test_rule1_never_paired_with_themselves():
    both = person("cy", "both", grade_bands=frozenset({"6-8"}), strengths=frozenset({"assessment"}),
                  needs=("assessment",))
    assert ineligibility_reasons(both, both, S, H) == ["Cy Test cannot be paired with themselves"]
    result = match_round([both], S)
    assert result.pairs == () and result.candidate_edges == 0
    assert result.unmatched == (Unmatched("cy@x.example", ("no mentors are taking part in this round",)),)


def test_rule1_roles():
    ann = mentee("ann", strengths=frozenset({"assessment"}))
    assert ineligibility_reasons(ann, mentee(), S, H) == ["Ann Test is not taking part as a mentor"]
    assert ineligibility_reasons(mentor(), mentor("bob"), S, H) == ["Bob Test is not taking part as a mentee"]
    assert match_round([mentor("ana"), mentor("bob", needs=("assessment",))], S).pairs == ()


def test_rule1_both_roles_can_mentor_and_be_mentored():
    both = person("cy", "both", grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}),
                  strengths=frozenset({"assessment"}), needs=("assessment",))
    result = match_round([mentor("ana"), both, mentee("ben")], S)
    assert len(result.pairs) == 3 - 1  # cy mentors ben or is mentored by ana; both happen
    assert {p.mentee.split("@")[0] for p in result.pairs} == {"ben", "cy"}


def test_rule2_capacity():
    assert ineligibility_reasons(mentor(capacity=0), mentee(), S, H) == [
        "Ana Test has no mentoring capacity left this term"
    ]
    assert match_round([mentor(capacity=0), mentee()], S).pairs == ()
    one = match_round([mentor(capacity=1), mentee("ben"), mentee("bea")], S)
    assert len(one.pairs) == 1 and len(one.unmatched) == 1
    two = match_round([mentor(capacity=2), mentee("ben"), mentee("bea")], S)
    assert len(two.pairs) == 2 and two.unmatched == ()


def test_rule3_grade_bands():
    m = mentor(grade_bands=frozenset({"9-12"}))
    assert ineligibility_reasons(m, mentee(), S, H) == ["no shared grade band (Ana Test: 9-12; Ben Test: 6-8)"]
    assert match_round([m, mentee()], S).pairs == ()
    # case-insensitive, and a side that lists no bands matches any
    assert ineligibility_reasons(mentor(grade_bands=frozenset({"k-2"})), mentee(grade_bands=frozenset({"K-2"})), S, H) == []
    assert pairs_of(match_round([mentor(grade_bands=frozenset()), mentee()], S)) == {("ana", "ben")}
    assert pairs_of(match_round([m, mentee(grade_bands=frozenset())], S)) == {("ana", "ben")}


def test_rule3_subjects():
    m = mentor(subjects=frozenset({"SPED", "ELA"}))
    assert ineligibility_reasons(m, mentee(), S, H) == ["no shared subject (Ana Test: ELA, SPED; Ben Test: math)"]
    assert match_round([m, mentee()], S).pairs == ()
    assert ineligibility_reasons(mentor(subjects=frozenset({"MATH"})), mentee(), S, H) == []
    assert pairs_of(match_round([mentor(subjects=frozenset()), mentee()], S)) == {("ana", "ben")}


def test_rule4_availability_needs_a_shared_session_length():
    m = mentor(availability=local("Tue 15:00-16:00"))
    disjoint = mentee(availability=local("Tue 16:00-17:00"))
    short = mentee(availability=local("Tue 15:31-16:30"))  # 29 minutes in common
    exact = mentee(availability=local("Tue 15:30-16:30"))
    assert ineligibility_reasons(m, disjoint, S, H) == ["no shared 30-minute window"]
    assert ineligibility_reasons(m, short, S, H) == ["no shared 30-minute window"]
    assert ineligibility_reasons(m, exact, S, H) == []
    assert ineligibility_reasons(m, exact, RoundSettings(session_minutes=45), H) == ["no shared 45-minute window"]
    assert match_round([m, short], S).pairs == ()
    assert len(match_round([m, exact], S).pairs) == 1


def test_rule4_windows_are_compared_in_utc():
    # 15:00 in Los Angeles is 18:00 in New York.
    m = mentor(availability=local("Tue 15:00-16:00"), timezone=LA)
    assert ineligibility_reasons(m, mentee(availability=local("Tue 18:00-19:00", tz="America/New_York")), S, H) == []
    assert ineligibility_reasons(m, mentee(availability=local("Tue 15:00-16:00", tz="America/New_York")), S, H)


def test_rule4_empty_availability_matches_any_window():
    assert ineligibility_reasons(mentor(availability=local("Tue 15:00-16:00")), mentee(), S, H) == []
    assert ineligibility_reasons(mentor(), mentee(availability=local("Sat 01:00-01:30")), S, H) == []


def test_rule4_a_window_shorter_than_a_session_matches_nobody():
    # Even a mentor free any time cannot meet a mentee whose only window is 20 minutes.
    short = mentee(availability=local("Mon 07:00-07:20"))
    assert ineligibility_reasons(mentor(), short, S, H) == ["no shared 30-minute window"]
    result = match_round([mentor(), short], S)
    assert result.pairs == () and result.candidate_edges == 0


def test_rule4_overlap_across_sunday_midnight_utc_counts_as_one_window():
    m = mentor(availability=(WeeklyWindow(0, 15), WeeklyWindow(10065, 10080)))
    e = mentee(availability=(WeeklyWindow(0, 20), WeeklyWindow(10060, 10080)))
    assert ineligibility_reasons(m, e, S, H) == []
    assert ineligibility_reasons(m, e, RoundSettings(session_minutes=31), H) == ["no shared 31-minute window"]


def test_rule5_strengths_meet_a_need():
    m = mentor(strengths=frozenset({"SEL"}))
    assert ineligibility_reasons(m, mentee(needs=("assessment", "co-teaching")), S, H) == [
        "none of Ana Test's strengths meets Ben Test's needs (assessment, co-teaching)"
    ]
    assert match_round([m, mentee()], S).pairs == ()
    assert ineligibility_reasons(m, mentee(needs=("co-teaching", "sel")), S, H) == []
    assert ineligibility_reasons(m, mentee(needs=()), S, H) == []


def test_rule5_topic_round_needs_the_topic_among_strengths():
    topic = RoundSettings(topic="Classroom Management")
    m = mentor(strengths=frozenset({"assessment"}))  # meets the need, but not the topic
    assert ineligibility_reasons(m, mentee(), topic, H) == [
        "Ana Test does not list the round topic 'Classroom Management' among strengths"
    ]
    assert match_round([m, mentee()], topic).pairs == ()
    teacher = mentor(strengths=frozenset({"classroom management"}))  # topic, though not the need
    assert ineligibility_reasons(teacher, mentee(), topic, H) == []
    assert len(match_round([teacher, mentee()], topic).pairs) == 1


def test_rule6_avoid_either_way_case_insensitive():
    by_mentor = mentor(avoid=frozenset({"BEN@x.example"}))
    by_mentee = mentee(avoid=frozenset({"ana@x.example"}))
    assert ineligibility_reasons(by_mentor, mentee(), S, H) == ["Ana Test asked not to be paired with Ben Test"]
    assert ineligibility_reasons(mentor(), by_mentee, S, H) == ["Ben Test asked not to be paired with Ana Test"]
    assert match_round([by_mentor, mentee()], S).pairs == ()
    assert match_round([mentor(), by_mentee], S).pairs == ()


def test_rule6_not_paired_again_this_term():
    history = History(past_pairs=frozenset({("ana@x.example", "ben@x.example")}))
    assert ineligibility_reasons(mentor(), mentee(), S, history) == [
        "Ana Test and Ben Test were already paired this term"
    ]
    assert match_round([mentor(), mentee()], S, history).pairs == ()
    # Either orientation: a "both" pair who met once is not paired again the other way round.
    flipped = History(past_pairs=frozenset({("ben@x.example", "ana@x.example")}))
    assert match_round([mentor(), mentee()], S, flipped).pairs == ()


def test_rule6_cannot_be_relaxed():
    everything = RoundSettings(relax=frozenset({"grade_band", "subject", "availability", "strengths"}))
    assert match_round([mentor(avoid=frozenset({"ben@x.example"})), mentee()], everything).pairs == ()


def test_several_failed_rules_give_one_reason_each():
    m = mentor(grade_bands=frozenset({"9-12"}), subjects=frozenset({"PE"}), capacity=0)
    assert ineligibility_reasons(m, mentee(), S, H) == [
        "Ana Test has no mentoring capacity left this term",
        "no shared grade band (Ana Test: 9-12; Ben Test: 6-8)",
        "no shared subject (Ana Test: PE; Ben Test: math)",
    ]


# --- relaxations ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("rule", "change", "note"),
    [
        ("grade_band", {"grade_bands": frozenset({"9-12"})},
         "grade band rule relaxed this round: Ana teaches 9-12, Ben teaches 6-8"),
        ("subject", {"subjects": frozenset({"PE"})},
         "subject rule relaxed this round: Ana teaches PE, Ben teaches math"),
        ("strengths", {"strengths": frozenset({"SEL"})},
         "strengths rule relaxed this round: none of Ana's strengths meets Ben's needs"),
        ("availability", {"availability": local("Wed 09:00-10:00")},
         "no shared 30-minute window (availability rule relaxed this round)"),
    ],
)
def test_relaxing_a_rule_allows_the_pair_and_says_so(rule, change, note):
    m = mentor(**change)
    e = mentee(availability=local("Tue 09:00-10:00"))
    assert ineligibility_reasons(m, e, S, H) != []
    assert match_round([m, e], S).pairs == ()
    relaxed = RoundSettings(relax=frozenset({rule}))
    assert ineligibility_reasons(m, e, relaxed, H) == []
    (pair,) = match_round([m, e], relaxed).pairs
    assert note in pair.reasons


def test_relaxing_strengths_in_a_topic_round():
    relaxed = RoundSettings(topic="SEL", relax=frozenset({"strengths"}))
    (pair,) = match_round([mentor(), mentee()], relaxed).pairs
    assert "strengths rule relaxed this round: Ana does not list the topic 'SEL'" in pair.reasons


# --- scoring and the solver -------------------------------------------------------------------

def test_first_need_counts_most():
    e = mentee(needs=("assessment", "SEL"))
    result = match_round([mentor("amy", strengths=frozenset({"SEL"})), mentor("ana"), e], S)
    assert pairs_of(result) == {("ana", "ben")}


def test_maximum_cardinality_beats_a_better_single_fit():
    # amy fits ben best, but only amy can take bea: both get a mentor only if ana takes ben.
    amy = mentor("amy", strengths=frozenset({"assessment", "SEL"}))
    ana = mentor("ana", subjects=frozenset())
    ben = mentee("ben", needs=("assessment",))
    bea = mentee("bea", needs=("SEL",))
    result = match_round([amy, ana, ben, bea], S)
    assert pairs_of(result) == {("amy", "bea"), ("ana", "ben")}
    assert result.unmatched == ()


def test_load_spreads_over_mentors():
    a = mentor("amy", capacity=3)
    b = mentor("ana", capacity=3)
    result = match_round([a, b, mentee("ben"), mentee("bea")], S)
    assert {p.mentor for p in result.pairs} == {a.key, b.key}


def test_second_mentee_costs_load_points():
    result = match_round([mentor("amy", capacity=2), mentee("ben"), mentee("bea")], S)
    loads = sorted(part.points for p in result.pairs for part in p.breakdown if part.factor == "load")
    assert loads == [-8.0, 0.0]
    assert result.total_score == sum(p.score for p in result.pairs)


def test_recent_load_lowers_a_mentors_attractiveness():
    history = History(recent_load=(("amy@x.example", 2),))
    result = match_round([mentor("amy"), mentor("ana"), mentee("ben")], S, history)
    assert pairs_of(result) == {("ana", "ben")}
    result = match_round([mentor("amy"), mentor("ana"), mentee("ben")], S, History(recent_load={"ana@x.example": 1}))
    assert pairs_of(result) == {("amy", "ben")}


@pytest.mark.parametrize(("mode", "winner"), [("prefer", "amy"), ("avoid", "ana")])
def test_cross_site_preference(mode, winner):
    amy = mentor("amy", site="Garfield High")
    ana = mentor("ana", site="Lincoln Elementary")
    ben = mentee("ben", site="lincoln elementary")
    assert pairs_of(match_round([amy, ana, ben], RoundSettings(cross_site=mode))) == {(winner, "ben")}


def test_own_weights_scale_factors():
    # Ben cares most about schedule and not at all about subject: the mentor with more shared
    # time wins over the one who teaches his subject.
    wide = mentor("amy", subjects=frozenset(), availability=local("Tue 09:00-12:00"))
    same_subject = mentor("ana", availability=local("Tue 09:00-09:30"))
    ben = mentee(availability=local("Tue 09:00-12:00"), weights=(("schedule", 1.0), ("subject", 0.0)))
    assert pairs_of(match_round([wide, same_subject, ben], S)) == {("amy", "ben")}
    plain = replace(ben, weights=())
    assert pairs_of(match_round([wide, same_subject, plain], S)) == {("ana", "ben")}


def test_deterministic_for_shuffled_input():
    people = [mentor("amy", capacity=2), mentor("ana"), mentor("abe"), mentee("ben"), mentee("bea"),
              mentee("bo"), mentee("bud")]
    first = match_round(people, S)
    for seed in range(5):
        shuffled = people[:]
        random.Random(seed).shuffle(shuffled)
        again = match_round(shuffled, S)
        assert (again.pairs, again.unmatched, again.total_score) == (first.pairs, first.unmatched, first.total_score)


# --- golden reasons ---------------------------------------------------------------------------

def test_golden_pair_reasons():
    ana = person("ana", "mentor", name="Ana Chen", site="Lincoln Elementary", timezone=LA,
                 grade_bands=frozenset({"6-8", "9-12"}), subjects=frozenset({"math", "SPED"}),
                 strengths=frozenset({"Classroom Management", "assessment"}),
                 availability=local("Tue 15:00-17:00", "Thu 07:00-08:00"), capacity=2)
    ben = person("ben", name="Ben Ortiz", site="Garfield High", timezone=LA,
                 grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}),
                 needs=("classroom management", "assessment"),
                 availability=local("Tue 15:30-16:30", "Thu 07:00-08:30"))
    ana_b = person("anab", name="Ana Brooks", site="Lincoln Elementary", timezone="America/New_York",
                   grade_bands=frozenset({"9-12"}), needs=("family engagement", "assessment"))
    settings = RoundSettings(cross_site="prefer")
    history = History(recent_load=(("ana@x.example", 1),))
    result = match_round([ana, ben, ana_b], settings, history)
    assert result.pairs == (
        Pair(
            mentor="ana@x.example",
            mentee="anab@x.example",
            score=39.0,
            breakdown=(
                ScorePart("needs", 20.0), ScorePart("grade_band", 20.0), ScorePart("subject", 0.0),
                ScorePart("schedule", 15.0), ScorePart("cross_site", 0.0), ScorePart("load", -16.0),
            ),
            reasons=(
                "Ana Chen's strength 'assessment' meets Ana Brooks's need",
                "both teach 9-12",
                "both free Tue 18:00-20:00 and Thu 10:00-11:00 (America/New_York)",
                "Ana Chen's 2nd mentee this round",
                "Ana Chen mentored 1 mentee recently",
            ),
        ),
        Pair(
            mentor="ana@x.example",
            mentee="ben@x.example",
            score=117.0,
            breakdown=(
                ScorePart("needs", 60.0), ScorePart("grade_band", 20.0), ScorePart("subject", 20.0),
                ScorePart("schedule", 15.0), ScorePart("cross_site", 10.0), ScorePart("load", -8.0),
            ),
            reasons=(
                "Ana's strength 'Classroom Management' meets Ben's top need",
                "Ana's strength 'assessment' meets Ben's need",
                "both teach 6-8",
                "both teach math",
                "both free Tue 15:30-16:30 and Thu 07:00-08:00 (America/Los_Angeles)",
                "cross-site pair: Lincoln Elementary and Garfield High (this round prefers cross-site pairs)",
                "Ana mentored 1 mentee recently",
            ),
        ),
    )
    assert result.total_score == 156.0
    assert result.candidate_edges == 2
    assert result.unmatched == ()


def test_golden_times_follow_the_reference_week():
    # Both signed up in July (PDT); phrased for a July week the times read as entered, for the
    # default January week they read an hour earlier because PST is an hour behind.
    m = mentor(availability=local("Tue 15:00-16:00", week=JUL), timezone=LA)
    e = mentee(availability=local("Tue 15:00-16:00", week=JUL), timezone=LA)
    (july,) = match_round([m, e], RoundSettings(reference_date=JUL)).pairs
    (january,) = match_round([m, e], S).pairs
    assert "both free Tue 15:00-16:00 (America/Los_Angeles)" in july.reasons
    assert "both free Tue 14:00-15:00 (America/Los_Angeles)" in january.reasons


def test_golden_times_in_kolkata_and_without_limits():
    m = mentor(availability=local("Mon 09:00-10:00", tz="Asia/Kolkata"))
    e = mentee(timezone="Asia/Kolkata")
    (pair,) = match_round([m, e], S).pairs
    assert "both free Mon 09:00-10:00 (Asia/Kolkata)" in pair.reasons
    (free,) = match_round([mentor(), mentee()], S).pairs
    assert "neither limited their availability" in free.reasons


def test_golden_unmatched_reasons():
    eve = person("eve", "mentor", name="Eve Park", grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}),
                 strengths=frozenset({"assessment", "SEL"}), availability=local("Tue 07:00-08:00"), timezone=LA)
    ida = person("ida", "mentor", name="Ida Ruiz", grade_bands=frozenset({"9-12"}), subjects=frozenset({"science"}),
                 strengths=frozenset({"SEL"}), availability=local("Wed 12:00-13:00"), timezone=LA)
    full = person("max", "mentor", name="Max Full", capacity=0)
    cara = person("cara", name="Cara Diaz", grade_bands=frozenset({"6-8"}), needs=("assessment", "SEL"), timezone=LA)
    dan = person("dan", name="Dan Ito", grade_bands=frozenset({"6-8"}), needs=("SEL",), timezone=LA)
    kim = person("kim", name="Kim Lee", grade_bands=frozenset({"K-2", "3-5"}), timezone=LA)
    lou = person("lou", name="Lou Ng", grade_bands=frozenset({"6-8", "9-12"}), subjects=frozenset({"science", "math"}),
                 needs=("SEL",), availability=local("Thu 07:00-08:00"), timezone=LA)
    fay = person("fay", name="Fay Wu", availability=local("Mon 07:00-07:20"), timezone=LA)
    result = match_round([eve, ida, full, cara, dan, kim, lou, fay], S)
    assert pairs_of(result) == {("eve", "cara")}
    assert result.unmatched == (
        Unmatched("dan@x.example", (
            "the only eligible mentor (Eve Park) was needed for other mentees: "
            "pairing them with Dan would leave another mentee without a mentor",
        )),
        Unmatched("fay@x.example", (
            "Fay's availability (Mon 07:00-07:20, America/Los_Angeles) has no 30-minute window",
            "relaxing the availability rule would make 2 mentors eligible",
        )),
        Unmatched("kim@x.example", (
            "no mentor with capacity shares grade bands K-2 or 3-5",
            "relaxing the grade band rule would make 2 mentors eligible",
        )),
        Unmatched("lou@x.example", (
            "no mentor with capacity shares a 30-minute window with Thu 07:00-08:00 (America/Los_Angeles)",
            "relaxing the availability rule would make 2 mentors eligible",
        )),
    )


def test_golden_unmatched_funnel_and_relax_hints():
    eve = person("eve", "mentor", name="Eve Park", grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}),
                 strengths=frozenset({"SEL"}), availability=local("Tue 07:00-08:00"), timezone=LA)
    ida = person("ida", "mentor", name="Ida Ruiz", grade_bands=frozenset({"6-8"}), subjects=frozenset({"science"}),
                 strengths=frozenset({"SEL"}), availability=local("Wed 12:00-13:00"), timezone=LA)
    joe = person("joe", "mentor", name="Joe Kim", grade_bands=frozenset({"9-12"}), subjects=frozenset({"math"}),
                 strengths=frozenset({"SEL"}), timezone=LA)
    lou = person("lou", name="Lou Ng", grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}),
                 needs=("SEL",), availability=local("Wed 12:00-12:45", "Thu 07:00-08:00"), timezone=LA)
    result = match_round([eve, ida, joe, lou], S)
    assert result.unmatched == (
        Unmatched("lou@x.example", (
            "of the 3 mentors with capacity, 2 share grade band 6-8, 1 of those teaches math and "
            "none of those shares a 30-minute window with Wed 12:00-12:45 or Thu 07:00-08:00 (America/Los_Angeles)",
            "relaxing the grade band rule would make 1 mentor eligible",
            "relaxing the subject rule would make 1 mentor eligible",
            "relaxing the availability rule would make 1 mentor eligible",
        )),
    )


def test_golden_unmatched_topic_needs_and_capacity():
    topic = RoundSettings(topic="SEL")
    no_topic = match_round([mentor(), mentee()], topic)
    assert no_topic.unmatched[0].reasons == (
        "no mentor with capacity lists the round topic 'SEL' among strengths",
        "relaxing the strengths rule would make 1 mentor eligible",
    )
    no_need = match_round([mentor(strengths=frozenset({"SEL"})), mentee(needs=("assessment", "co-teaching"))], S)
    assert no_need.unmatched[0].reasons == (
        "no mentor with capacity has a strength that meets Ben's needs (assessment, co-teaching)",
        "relaxing the strengths rule would make 1 mentor eligible",
    )
    avoided = match_round([mentor(avoid=frozenset({"ben@x.example"})), mentee()], S)
    assert avoided.unmatched[0].reasons == (
        "no mentor with capacity is free of avoid lists and earlier pairings with Ben",
    )
    assert match_round([mentor(capacity=0), mentee()], S).unmatched[0].reasons == (
        "no mentor has capacity left this round",
    )


def test_crowded_out_names_how_many_were_eligible():
    mentors = [mentor(k) for k in ("amy", "ana", "abe", "art")]
    mentees = [mentee(k) for k in ("bea", "ben", "bo", "bud", "bly")]
    (left,) = match_round(mentors + mentees, S).unmatched
    assert left.reasons == (
        "all 4 eligible mentors (Abe Test, Amy Test, Ana Test and 1 more) were needed for other mentees: "
        "pairing any of them with " + left.key.split("@")[0].capitalize() + " would leave another mentee without a mentor",
    )


# --- smoke test at scale ----------------------------------------------------------------------

BANDS = ["K-2", "3-5", "6-8", "9-12"]
SUBJECTS = ["math", "science", "ELA", "social studies", "SPED", "arts", "PE", "ELD"]
TOPICS = ["classroom management", "lesson planning", "assessment", "differentiation", "SEL",
          "co-teaching", "family engagement", "technology integration", "restorative practices",
          "data-driven instruction"]
ZONES = [LA, "America/Denver", "America/Chicago", "America/New_York"]


def synthetic(n_mentees: int, n_mentors: int, seed: int = 7) -> list[Participant]:
    """A roster shaped like the example one: 1-2 bands and subjects, weekday slots, 4 US zones."""
    rng = random.Random(seed)

    def slots() -> list[tuple[int, int, int]]:
        out = []
        for _ in range(rng.randint(1, 4)):
            start = rng.randrange(7 * 60, 18 * 60, 15)
            out.append((rng.randint(0, 4), start, start + rng.choice([30, 45, 60, 90])))
        return out

    people = []
    for i in range(n_mentors + n_mentees):
        is_mentor = i < n_mentors
        tz = rng.choice(ZONES)
        people.append(Participant(
            key=f"{'mr' if is_mentor else 'ee'}{i}@x.example", name=f"P{i} Person",
            role="mentor" if is_mentor else ("both" if i % 97 == 0 else "mentee"),
            site=f"site{rng.randint(0, 19)}",
            grade_bands=frozenset(rng.sample(BANDS, rng.randint(1, 2))),
            subjects=frozenset(rng.sample(SUBJECTS, rng.randint(0, 2))),
            strengths=frozenset(rng.sample(TOPICS, rng.randint(2, 4))) if is_mentor or i % 97 == 0 else frozenset(),
            needs=() if is_mentor else tuple(rng.sample(TOPICS, rng.randint(1, 3))),
            availability=weekly_windows_utc(slots(), tz, JAN) if rng.random() > 0.03 else (),
            timezone=tz,
            capacity=rng.randint(0, 3) if is_mentor else 1,
            avoid=frozenset({f"ee{rng.randint(n_mentors, n_mentors + n_mentees - 1)}@x.example"})
            if rng.random() < 0.05 else frozenset(),
        ))
    return people


def test_smoke_2000_mentees_1000_mentors():
    people = synthetic(2000, 1000)
    history = History(
        past_pairs=frozenset({(f"mr{i}@x.example", f"ee{1000 + 2 * i}@x.example") for i in range(0, 1000, 3)}),
        recent_load=tuple((f"mr{i}@x.example", i % 3) for i in range(0, 1000, 2)),
    )
    settings = RoundSettings(cross_site="prefer")
    result = match_round(people, settings, history)
    by_key = {p.key: p for p in people}
    profiles = {p.key: Profile(p) for p in people}
    hist = HistoryIndex(history)

    mentee_keys = {p.key for p in people if p.role in ("mentee", "both")}
    seen = set()
    used: dict[str, int] = {}
    for pair in result.pairs:
        assert profile_reasons(profiles[pair.mentor], profiles[pair.mentee], settings, hist) == []
        assert pair.mentee not in seen
        seen.add(pair.mentee)
        used[pair.mentor] = used.get(pair.mentor, 0) + 1
        assert pair.score == sum(part.points for part in pair.breakdown)
        assert pair.reasons
    assert all(used[k] <= by_key[k].capacity for k in used)
    assert {u.key for u in result.unmatched} == mentee_keys - seen
    assert all(u.reasons for u in result.unmatched)
    assert result.total_score == pytest.approx(sum(p.score for p in result.pairs))
    assert len(result.pairs) > 1500 and result.candidate_edges > len(result.pairs)

    # Maximality, checked independently of the index: no unmatched mentee is eligible with a
    # mentor who still has room (that would be a one-step augmenting path).
    spare = [profiles[p.key] for p in people
             if p.role in ("mentor", "both") and used.get(p.key, 0) < p.capacity]
    for u in result.unmatched:
        for m in spare:
            assert profile_reasons(m, profiles[u.key], settings, hist) != []


# --- solver report, groups, quotas, caps and the fairness floor ---------------------------------

def test_match_round_reports_its_solver():
    result = match_round([mentor(), mentee()], S)
    assert result.solver.method == "min-cost flow" and result.solver.status == "optimal"
    assert 0 < result.solver.seconds <= result.solve_seconds
    assert result.groups == ()


def _floor_people() -> list[Participant]:
    both = dict(grade_bands=frozenset({"6-8", "9-12"}), subjects=frozenset({"ELA", "math"}))
    return [
        person("amy", "mentor", strengths=frozenset({"assessment"}), **both),
        person("ana", "mentor", strengths=frozenset({"SEL", "co-teaching"}), **both),
        person("abe", "mentor", strengths=frozenset({"PE", "assessment", "co-teaching"}), **both),
        person("ben", site="North", grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}), needs=("SEL", "assessment")),
        person("bea", site="South", grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}), needs=("SEL", "co-teaching")),
        person("bo", site="South", grade_bands=frozenset({"9-12"}), subjects=frozenset({"ELA"}), needs=("assessment", "co-teaching")),
    ]


def test_fairness_floor_lifts_the_worst_site_at_a_cost_in_total_fit():
    people = _floor_people()
    plain = match_round(people, S)
    assert pairs_of(plain) == {("abe", "bo"), ("amy", "ben"), ("ana", "bea")}
    assert plain.total_score == 305          # North's only mentee gets 75, South's two get 115 each
    fair = solve_with_side_constraints(people, S, constraints=SideConstraints(fairness_floor=76))
    assert pairs_of(fair) == {("abe", "bea"), ("amy", "bo"), ("ana", "ben")}
    assert fair.total_score == 265           # North 95; South (75 + 95) / 2 = 85: both over 76
    assert (fair.solver.method, fair.solver.status, fair.solver.gap) == ("CP-SAT", "optimal", 0.0)
    assert fair.solver.warm_start_score == 305 and fair.solver.notes == ()
    # A floor nobody can reach everywhere is held where it can be and reported where it can't.
    high = solve_with_side_constraints(people, S, constraints=SideConstraints(fairness_floor=100))
    assert high.solver.notes == (
        "site North: mean fit 75.0 stays under the floor of 100 (its mentees have no better eligible mentors to spare)",
    )


def test_site_minimums_and_caps_are_exact_flows():
    amy = mentor("amy")
    ben = mentee("ben", site="North", subjects=frozenset({"math"}))
    bea = mentee("bea", site="South", subjects=frozenset())
    assert pairs_of(match_round([amy, ben, bea], S)) == {("amy", "ben")}      # ben fits better
    lifted = solve_with_side_constraints([amy, ben, bea], S, constraints=SideConstraints(site_minimums={"south": 1}))
    assert pairs_of(lifted) == {("amy", "bea")}
    assert lifted.solver.method == "min-cost flow (site quotas)" and lifted.solver.status == "optimal"
    capped = solve_with_side_constraints([amy, ben, bea], S, constraints=SideConstraints(site_caps={"North": 0}))
    assert pairs_of(capped) == {("amy", "bea")}
    short = solve_with_side_constraints([amy, ben, bea], S, constraints=SideConstraints(site_minimums={"South": 2}))
    assert pairs_of(short) == {("amy", "bea")}
    assert short.solver.notes == (
        "site South: only 1 of the minimum 2 placements can be met; its other mentees have no eligible mentor to spare",
    )
    # Caps come before placing the most mentees: a capped site's mentees stay unmatched.
    none = solve_with_side_constraints([amy, ben, bea], S, constraints=SideConstraints(site_caps={"North": 0, "South": 0}))
    assert none.pairs == () and {u.key for u in none.unmatched} == {"ben@x.example", "bea@x.example"}


def test_program_caps_go_to_cp_sat():
    people = [mentor("amy", capacity=2), mentee("ben", program="EPP"), mentee("bea", program="epp"),
              mentee("bo", program="Corps", subjects=frozenset())]
    assert len(match_round(people, S).pairs) == 2
    capped = solve_with_side_constraints(people, S, constraints=SideConstraints(program_caps={"EPP": 1}))
    assert capped.solver.method == "CP-SAT" and capped.solver.status == "optimal"
    assert len(capped.pairs) == 2 and sum(p.mentee != "bo@x.example" for p in capped.pairs) == 1


def test_side_constraints_validate():
    with pytest.raises(ValueError, match="minimum of 3 but a cap of 2"):
        SideConstraints(site_minimums={"North": 3}, site_caps={"north": 2})
    with pytest.raises(ValueError, match="whole number"):
        SideConstraints(site_caps={"North": -1})
    with pytest.raises(ValueError, match="site or program"):
        SideConstraints(fairness_by="district")
    plain = solve_with_side_constraints([mentor(), mentee()], S)
    assert plain.solver.method == "min-cost flow" and len(plain.pairs) == 1


def test_golden_group_sessions():
    amy = person("amy", "mentor", name="Amy Chen", timezone=LA, grade_bands=frozenset({"6-8"}),
                 strengths=frozenset({"assessment"}), availability=local("Tue 15:00-17:00", "Thu 07:00-08:00"), capacity=2)
    mentees = [person(key, name=f"{key.capitalize()} Ruiz", timezone=LA, grade_bands=frozenset({"6-8"}),
                      needs=("assessment",), availability=local(slot))
               for key, slot in [("ben", "Tue 15:00-15:45"), ("bea", "Tue 15:15-16:00"), ("bo", "Thu 07:00-07:30"),
                                 ("bly", "Tue 16:00-17:00"), ("bix", "Wed 10:00-11:00")]]
    result = solve_groups([amy, *mentees], S, group_size=2)
    assert result.groups == (
        Group("amy@x.example", 1, ("bea@x.example", "ben@x.example"), "Tue 15:15-15:45 (America/Los_Angeles)",
              starts_at=1 * 1440 + 23 * 60 + 15),
        Group("amy@x.example", 2, ("bly@x.example",), "Tue 16:00-16:30 (America/Los_Angeles)",
              starts_at=2 * 1440),
    )
    ben = next(p for p in result.pairs if p.mentee == "ben@x.example")
    assert ben.reasons == (
        "Amy's strength 'assessment' meets Ben's top need",
        "both teach 6-8",
        "both free Tue 15:00-15:45 (America/Los_Angeles)",
        "in Amy's group 1 (with 1 other mentee), meeting Tue 15:15-15:45 (America/Los_Angeles)",
    )
    bly = next(p for p in result.pairs if p.mentee == "bly@x.example")
    assert "Amy's 2nd group this round" in bly.reasons and bly.breakdown[-1] == ScorePart("load", -8.0)
    assert result.unmatched == (
        Unmatched("bix@x.example", (
            "no mentor with capacity shares a 30-minute window with Wed 10:00-11:00 (America/Los_Angeles)",
            "relaxing the availability rule would make 1 mentor eligible",
        )),
        Unmatched("bo@x.example", ("Bo is eligible with 1 mentor, but no group time fits Bo's availability",)),
    )
    # One group of one: whoever is left out could have come, but the seat went to someone else.
    (full,) = solve_groups([replace(amy, capacity=1), *mentees[:2]], S, group_size=1).unmatched
    assert full.reasons == (
        f"the 1 group whose time fits {full.key[:3].capitalize()} was needed for other mentees: seating "
        f"{full.key[:3].capitalize()} would leave another mentee without a group",
    )


# --- rules a round adds: same_subject, cross_site, interest -----------------------------------

def test_added_rules_validate_and_are_exported():
    from bot.matching import ADDABLE_RULES

    assert ADDABLE_RULES == frozenset({"same_subject", "cross_site", "interest"})
    assert RoundSettings(require=["cross_site"]).require == frozenset({"cross_site"})
    with pytest.raises(ValueError, match="cannot require unknown rules"):
        RoundSettings(require=frozenset({"same_grade"}))
    with pytest.raises(TypeError):
        RoundSettings(require="interest")  # type: ignore[arg-type]
    p = Participant(key="a@x", name="A", role="mentee", interests=["coach"], position="teacher")
    assert p.interests == frozenset({"coach"}) and p.position == "teacher"
    with pytest.raises(TypeError):
        Participant(key="a@x", name="A", role="mentee", interests="coach")  # type: ignore[arg-type]


def test_same_subject_needs_both_to_list_one():
    strict = RoundSettings(require=frozenset({"same_subject"}))
    listless = mentor(subjects=frozenset())
    assert ineligibility_reasons(listless, mentee(), S, H) == []  # the default rule binds only when both list
    assert ineligibility_reasons(listless, mentee(), strict, H) == [
        "this round requires a shared subject, and Ana Test lists none"]
    assert ineligibility_reasons(mentor(subjects=frozenset({"ELA"})), mentee(), strict, H) == [
        "this round requires a shared subject: none shared (Ana Test: ELA; Ben Test: math)"]
    assert ineligibility_reasons(mentor(subjects=frozenset({"Math"})), mentee(), strict, H) == []


def test_cross_site_needs_two_known_different_sites():
    across = RoundSettings(require=frozenset({"cross_site"}))
    assert ineligibility_reasons(mentor(site="Lincoln"), mentee(site=" lincoln "), across, H) == [
        "this round pairs people across sites, and both are at lincoln"]
    assert ineligibility_reasons(mentor(), mentee(site="Lincoln"), across, H) == [
        "this round pairs people across sites, and no site is known for Ana Test"]
    assert ineligibility_reasons(mentor(site="Lincoln"), mentee(site="Roosevelt"), across, H) == []


def test_interest_needs_the_mentors_position_or_site():
    interviews = RoundSettings(require=frozenset({"interest"}))
    coach = mentor(position="Instructional Coach", site="Lincoln")
    assert ineligibility_reasons(coach, mentee(interests={" instructional coach"}), interviews, H) == []
    assert ineligibility_reasons(coach, mentee(interests={"LINCOLN"}), interviews, H) == []
    assert ineligibility_reasons(coach, mentee(interests={"assistant principal", "Roosevelt"}), interviews, H) == [
        "Ana Test's role (Instructional Coach) and site (Lincoln) are not among what Ben Test wants to learn about "
        "(assistant principal, Roosevelt)"]
    assert ineligibility_reasons(coach, mentee(), interviews, H) == [
        "this round is for informational interviews, and Ben Test lists no roles or sites to learn about"]


def test_golden_informational_interview_reasons():
    interviews = RoundSettings(require=frozenset({"interest", "cross_site"}), reference_date=JAN)
    ana = mentor("ana", name="Ana Ruiz", position="instructional coach", site="Lincoln")
    cy = mentor("cy", name="Cy Lee", position="assistant principal", site="Roosevelt")
    ben = mentee("ben", name="Ben Ode", site="Roosevelt", interests={"Instructional Coach"})
    dee = mentee("dee", name="Dee Fox", site="Lincoln", interests={"instructional coach"})
    eve = mentee("eve", name="Eve Ray", site="Lincoln")
    gus = mentee("gus", name="Gus Tam", site="Lincoln", interests={"Roosevelt"})
    result = match_round([ana, cy, ben, dee, eve, gus], interviews)
    assert pairs_of(result) == {("ana", "ben"), ("cy", "gus")}
    by_mentee = {p.mentee.split("@")[0]: p.reasons for p in result.pairs}
    assert by_mentee["ben"] == (
        "Ben wants to learn about the role of Instructional Coach; Ana is an instructional coach at Lincoln",
        "Ana's strength 'assessment' meets Ben's top need",
        "both teach 6-8",
        "both teach math",
        "neither limited their availability",
        "cross-site pair: Lincoln and Roosevelt (this round pairs across sites)",
    )
    assert by_mentee["gus"][0] == "Gus wants to learn about Roosevelt; Cy is an assistant principal at Roosevelt"
    assert result.unmatched == (
        Unmatched("dee@x.example", (
            "of the 2 mentors with capacity, 1 is in a role or at a site Dee wants to learn about and "
            "none of those works at another site",
            "without the interest rule (a mentor in a role or at a site the mentee wants to learn about) "
            "1 mentor would be eligible",
            "without the cross-site rule 1 mentor would be eligible",
        )),
        Unmatched("eve@x.example", (
            "Eve lists no roles or sites to learn about, and this round is for informational interviews",
            "without the interest rule (a mentor in a role or at a site the mentee wants to learn about) "
            "1 mentor would be eligible",
        )),
    )


def test_golden_unmatched_names_every_added_rule_that_rules_everyone_out():
    strict = RoundSettings(require=frozenset({"same_subject", "cross_site", "interest"}))
    ana = mentor("ana", name="Ana Ruiz", position="principal", site="Lincoln", subjects=frozenset())
    ben = mentee("ben", name="Ben Ode", site="Lincoln", interests={"coach"}, subjects=frozenset({"math"}))
    cal = mentee("cal", name="Cal Oh", subjects=frozenset(), interests={"principal"})
    result = match_round([ana, ben, cal], strict)
    assert result.unmatched == (
        Unmatched("ben@x.example", (
            "no mentor with capacity is in a role or at a site Ben wants to learn about ('coach')",
            "no mentor with capacity works at a site other than Lincoln",
            "no mentor with capacity lists math among subjects",
        )),
        Unmatched("cal@x.example", (
            "Cal's site is not known, and this round pairs people across sites",
            "Cal lists no subjects, and this round requires a shared subject",
        )),
    )


def test_added_rules_leave_the_default_result_alone_when_not_required():
    # Positions and interests alone change no eligibility: only the reasons mention a met interest.
    plain = match_round([mentor(position="coach"), mentee(interests={"coach"})], S)
    assert pairs_of(plain) == {("ana", "ben")}
    assert plain.pairs[0].reasons[0] == "Ben wants to learn about the role of coach; Ana is a coach"
