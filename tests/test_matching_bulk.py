"""Whole-roster builders agree with their one-person-at-a-time definitions, and refuse what those refuse."""

from __future__ import annotations

import random
from datetime import date

import pytest

from bot.cli_match import roster_participants
from bot.flows.parsers import Slot
from bot.matching import Participant
from bot.matching.availability import weekly_windows_many, weekly_windows_utc
from bot.matching.model import WeeklyWindow, participants_from_columns
from bot.roster import RosterRow

ZONES = ["America/Los_Angeles", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
# Weeks with a clock change in some of the zones (US, UK and Lord Howe), and a plain one.
WEEKS = [date(2027, 3, 8), date(2027, 3, 29), date(2027, 4, 5), date(2027, 10, 4), date(2027, 2, 1)]


def _random_slots(rng: random.Random) -> tuple[Slot, ...]:
    slots = []
    for _ in range(rng.randint(0, 5)):
        start = rng.randrange(0, 1440, 15)
        slots.append(Slot(rng.randrange(7), start, start + rng.choice([15, 30, 60, 120, 600, 1440])))
    return tuple(slots)


@pytest.mark.parametrize("week_of", WEEKS)
def test_windows_for_a_roster_equal_windows_person_by_person(week_of):
    rng = random.Random(week_of.toordinal())
    people = [_random_slots(rng) for _ in range(400)]
    zones = [rng.choice(ZONES) for _ in people]
    many = weekly_windows_many(people, zones, week_of)
    assert many == [weekly_windows_utc(slots, zone, week_of) for slots, zone in zip(people, zones)]


def test_a_slot_in_a_clock_change_night_is_converted_exactly():
    # 02:00-03:00 on 14 March 2027 does not exist in Los Angeles: the exact conversion drops it.
    week_of = date(2027, 3, 8)
    slots = (Slot(6, 120, 180), Slot(6, 60, 240), Slot(0, 540, 600))
    (windows,) = weekly_windows_many([slots], ["America/Los_Angeles"], week_of)
    assert windows == weekly_windows_utc(slots, "America/Los_Angeles", week_of)
    assert sum(w.end - w.start for w in windows) == 60 + 120  # the 3-hour slot lost its missing hour


def _row(line: int, **values) -> RosterRow:
    defaults = dict(email=f"p{line}@school.example", name=f"Person {line}", role="mentee")
    return RosterRow(line=line, **{**defaults, **values})


def test_roster_participants_equal_participants_built_one_by_one():
    week_of = date(2027, 3, 8)
    rows = [
        _row(2, role="mentor", site="Lincoln", grade_bands=("K-2", "3-5"), subjects=("math",),
             strengths=("assessment", "SEL"), availability=(Slot(0, 480, 600),), timezone="America/New_York",
             capacity=2, avoid=("p3@school.example",)),
        _row(3, site="Lincoln", program="Teach Corps", grade_bands=("K-2",), needs=("SEL", "assessment"),
             availability=(Slot(6, 60, 240), Slot(2, 900, 960)), timezone="America/Los_Angeles"),
        _row(4, role="both", availability=(), timezone="Europe/London", capacity=None),
        _row(5, role="mentor", capacity=-1, custom=(("Position", " coach "),)),
    ]
    built = roster_participants(rows, week_of=week_of, default_capacity=3)
    expected = [
        Participant(key="p2@school.example", name="Person 2", role="mentor", site="Lincoln",
                    grade_bands={"K-2", "3-5"}, subjects={"math"}, strengths={"assessment", "SEL"},
                    availability=weekly_windows_utc([(0, 480, 600)], "America/New_York", week_of),
                    timezone="America/New_York", capacity=2, avoid={"p3@school.example"}),
        Participant(key="p3@school.example", name="Person 3", role="mentee", site="Lincoln", program="Teach Corps",
                    grade_bands={"K-2"}, needs=("SEL", "assessment"),
                    availability=weekly_windows_utc([(6, 60, 240), (2, 900, 960)], "America/Los_Angeles", week_of),
                    timezone="America/Los_Angeles", capacity=0),
        Participant(key="p4@school.example", name="Person 4", role="both", timezone="Europe/London", capacity=3),
        Participant(key="p5@school.example", name="Person 5", role="mentor", capacity=0, position="coach"),
    ]
    assert built == expected
    assert [hash(p) for p in built] == [hash(p) for p in expected]
    assert [type(p.grade_bands) for p in built] == [frozenset] * 4


def _columns(**changes) -> dict[str, list]:
    columns = {"key": ["a@x.example"], "name": ["A"], "role": ["mentee"], "timezone": ["UTC"],
               "availability": [(WeeklyWindow(0, 60),)], "grade_bands": [frozenset({"K-2"})]}
    return {**columns, **changes}


@pytest.mark.parametrize(("changes", "error", "message"), [
    ({"key": [""]}, ValueError, "must not be empty"),
    ({"role": ["coach"]}, ValueError, "role must be mentor, mentee or both"),
    ({"timezone": ["Mars/Olympus"]}, ValueError, "unknown time zone 'Mars/Olympus'"),
    ({"grade_bands": [["K-2"]]}, TypeError, "grade_bands must be given as frozenset"),
    ({"availability": [((0, 60),)]}, TypeError, "WeeklyWindow"),
    ({"position": [3]}, TypeError, "position must be text"),
    ({"weights": [(("needs", 1.0),)]}, ValueError, "no weights"),
    ({"colour": ["blue"]}, ValueError, "unknown participant fields"),
    ({"name": ["A", "B"]}, ValueError, "one value per person"),
])
def test_participants_from_columns_refuses_what_participant_refuses(changes, error, message):
    with pytest.raises(error, match=message):
        participants_from_columns(_columns(**changes))


@pytest.mark.parametrize("bad", [(7, 60, 120), (0, 120, 60), (0, -15, 60), (0, 60, 3000)])
def test_windows_for_a_roster_refuse_a_bad_slot_as_one_by_one(bad):
    week_of = date(2027, 2, 1)
    good = (Slot(0, 540, 600),)
    with pytest.raises(ValueError, match="bad weekly slot"):
        weekly_windows_utc((bad,), "UTC", week_of)
    with pytest.raises(ValueError, match="bad weekly slot"):
        weekly_windows_many([good, (bad,)], ["UTC", "UTC"], week_of)


def test_windows_for_a_roster_take_slots_of_any_shape_the_one_by_one_path_takes():
    # Plain tuples and lists of whole minutes, in zones with and without a clock change that week.
    week_of = date(2027, 3, 8)
    people = [[(0, 540, 600), [2, 900, 960]], [(6, 60, 240)], [], [(4, 1380, 1500)]]
    zones = ["America/Los_Angeles", "America/Los_Angeles", "UTC", "Asia/Kolkata"]
    assert weekly_windows_many(people, zones, week_of) == [
        weekly_windows_utc([tuple(s) for s in slots], zone, week_of) for slots, zone in zip(people, zones)]


@pytest.mark.parametrize("week_of", [*WEEKS, date(2027, 11, 1)])
def test_reasons_for_many_pairs_equal_reasons_pair_by_pair(week_of):
    # The shared times of all pairs are worked out and phrased together (numpy, one phrase per
    # window); every pair must read exactly as when phrased alone: stretches across Sunday
    # midnight UTC, people free any time, windows too short, more than three windows, clock changes.
    from bot.matching import RoundSettings
    from bot.matching.eligibility import Profile
    from bot.matching.explain import PairReasons

    rng = random.Random(week_of.toordinal() + 1)

    def person(key: str) -> Participant:
        zone = rng.choice(ZONES)
        slots = () if rng.random() < 0.1 else tuple(Slot(day, start, end) for day, start, end in (
            *_random_slots(rng), *([(6, 1380, 1440), (0, 0, 90)] if rng.random() < 0.3 else [])))
        return Participant(key=key, name=f"{key.title()} Example", role="both", timezone=zone,
                           availability=weekly_windows_utc(slots, zone, week_of), needs=("SEL",),
                           strengths=frozenset({"SEL"}))

    people = [Profile(person(f"p{i}")) for i in range(300)]
    # Sunday 01:30 happens twice in New York on 7 November 2027: two windows with one local start.
    twice = Profile(Participant(key="twice", name="Twice", role="both", timezone="America/New_York",
                                availability=(WeeklyWindow(8970, 8999), WeeklyWindow(9030, 9045))))
    mentors = [rng.choice(people) for _ in range(600)] + [twice]
    mentees = [rng.choice(people) for _ in range(600)] + [twice]
    said = ""
    for minutes in (15, 30, 90):
        explain = PairReasons(RoundSettings(session_minutes=minutes, reference_date=week_of))
        ranks = [rng.randint(1, 3) for _ in mentors]
        many = explain.many(mentors, mentees, ranks, [0] * len(mentors))
        assert many == [explain(m, e, rank, 0) for m, e, rank in zip(mentors, mentees, ranks)]
        said += " ".join(reason for reasons in many for reason in reasons)
    assert all(phrase in said for phrase in ("more", "neither limited", "both free", "no shared 90-minute window"))
