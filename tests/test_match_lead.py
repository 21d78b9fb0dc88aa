"""The lead paragraph of a match result (bot.matching.reports.match_lead): the binding rule and its counterfactual,
what approving waiting mentors would gain, the unmatched grouped by cause, and pool advice aimed at real shortages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.matching import MatchLead, Participant, RoundSettings, WeeklyWindow, match_lead, match_round, pool_health

MONDAY = 24 * 60  # minutes from Monday 00:00 UTC; Tuesday starts here
S = RoundSettings(session_minutes=30, reference_date=date(2027, 2, 1))


def at(day: int, hour: int, minutes: int = 60) -> tuple[WeeklyWindow, ...]:
    start = day * MONDAY + hour * 60
    return (WeeklyWindow(start, start + minutes),)


def mentor(key: str, *, bands=("6-8",), subjects=("math",), capacity=1, when=at(0, 16)) -> Participant:
    return Participant(key=key, name=key.split("@")[0].title() + " Mentor", role="mentor", grade_bands=frozenset(bands),
                       subjects=frozenset(subjects), strengths=frozenset({"SEL"}), availability=when, capacity=capacity)


def mentee(key: str, *, name: str | None = None, bands=("6-8",), subjects=("math",), when=at(0, 16)) -> Participant:
    return Participant(key=key, name=name or key.split("@")[0].title() + " Mentee", role="mentee", grade_bands=frozenset(bands),
                       subjects=frozenset(subjects), needs=("SEL",), availability=when)


def availability_binds() -> list[Participant]:
    """Six mentees; two mentors free Monday afternoon; four mentees free only Thursday morning, and one in another band."""
    return [
        mentor("ana@d.example", capacity=3),
        mentor("bo@d.example", capacity=3),
        mentee("e1@d.example", name="[/] Brackets"),
        mentee("e2@d.example", name="[bold]x"),
        *(mentee(f"t{i}@d.example", when=at(3, 8)) for i in range(4)),
        mentee("k2@d.example", bands=("K-2",)),
    ]


def test_the_binding_rule_is_the_one_that_alone_keeps_most_unmatched_from_a_mentor_and_its_gain_is_rerun() -> None:
    people = availability_binds()
    result = match_round(people, S)
    lead = match_lead(people, S, result)
    assert (lead.mentees, lead.matched, lead.mentors, lead.seats, lead.unmatched) == (7, 2, 2, 6, 5)
    assert lead.binding_rule == "availability" and lead.binding_count == 4
    # The counterfactual is the matcher run again with the rule relaxed: 4 of the 5 find a seat.
    relaxed = match_round(people, replace(S, relax=frozenset({"availability"})))
    assert lead.binding_gain == len(relaxed.pairs) - len(result.pairs) == 4
    causes = {g.cause: set(g.keys) for g in lead.groups}
    assert causes == {
        "share no 30-minute window with any mentor who otherwise fits": {f"t{i}@d.example" for i in range(4)},
        "share no grade band with any mentor who otherwise fits": {"k2@d.example"},
    }
    text = lead.paragraph("mentorbot")
    assert text.startswith("Matched 2 of 7 mentees, using 2 of 6 seats of 2 mentors; 5 unmatched.")
    assert ("4 of 5 unmatched share no 30-minute window with any mentor who otherwise fits; "
            "relaxing availability would match 4 more.") in text
    assert "await" not in text  # nobody waits for approval


def test_when_every_mentor_awaits_approval_the_lead_says_what_approving_them_would_gain() -> None:
    people = availability_binds()
    waiting = [p for p in people if p.role == "mentor"]
    pool = [replace(p, capacity=0) if p.role == "mentor" else p for p in people]  # as storage hands them: no seat yet
    result = match_round(pool, S)
    lead = match_lead(pool, S, result, awaiting=waiting)
    assert (lead.matched, lead.seats, lead.awaiting) == (0, 0, 2)
    assert lead.awaiting_gain == len(match_round(people, S).pairs) == 2
    assert [(g.cause, len(g.keys)) for g in lead.groups] == [("found no mentor with a seat left", 7)]
    text = lead.paragraph("/mentoring")
    assert text == (
        "Matched 0 of 7 mentees: no mentor has a seat this round. 2 mentors await their principal's approval; approving "
        "them would match 2 more (`/mentoring term approve --all`), or turn approval off for later terms "
        "(`/mentoring program set require_approval off`)."
    )


def test_a_lead_stored_as_plain_values_renders_the_same() -> None:
    people = availability_binds()
    lead = match_lead(people, S, match_round(people, S))
    again = MatchLead.from_dict(lead.as_dict() | {"some_future_field": 1})
    assert again == lead and again.paragraph() == lead.paragraph()


def test_crowded_out_mentees_and_a_shortage_of_seats_are_said_plainly() -> None:
    people = [mentor("ana@d.example", capacity=1), *(mentee(f"e{i}@d.example") for i in range(3))]
    lead = match_lead(people, S, match_round(people, S))
    assert lead.binding_rule is None and lead.crowded_out == 2
    assert lead.paragraph().endswith("There are 1 seat for 3 mentees: only recruiting mentors (or more capacity) can place the other 2.")


def test_pool_advice_recruits_only_where_places_fall_short_and_names_the_real_cause_otherwise() -> None:
    # 6-8 has one mentor per two mentees (a thin ratio) but 6 places for 6 mentees: no shortage there.
    people = availability_binds()[:-1]
    health = pool_health(people, S)
    band = next(a for a in health.areas if a.area == "6-8")
    assert band.flagged and not band.short
    advice = health.advice()
    assert "Recruit" not in advice
    assert advice == ("No grade band, subject or topic is short of places. What holds the forecast back: 4 of 4 unmatched "
                      "share no 30-minute window with any mentor who otherwise fits; relaxing availability would match 4 more.")
    # A band nobody serves is short, and is the one place advice to recruit goes.
    roomier = [replace(p, capacity=4) if p.key == "ana@d.example" else p for p in availability_binds()]  # 7 places, 7 mentees
    short = pool_health(roomier, S)
    assert [a.area for a in short.short_areas] == ["K-2"]
    assert short.advice().startswith("Recruit mentors for grade band K-2 (no mentor for 1 mentee)")
