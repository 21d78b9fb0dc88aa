"""Tests for the pure answer parsers shared by the roster import and the Slack/email dialogs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.flows.parsers import (
    AnswerError,
    Slot,
    parse_capacity,
    parse_email,
    parse_grade_bands,
    parse_list,
    parse_role,
    parse_slack_user_id,
    parse_slots,
    parse_timezone,
)

JARGON = ("Traceback", "Error", "None", "invalid literal", "NoneType", "regex", "exception")


def error_for(parser, *args) -> str:
    with pytest.raises(AnswerError) as info:
        parser(*args)
    message = str(info.value)
    assert message == info.value.message
    assert not any(word in message for word in JARGON), message
    return message


def test_answer_error_is_a_value_error():
    assert issubclass(AnswerError, ValueError)


# ---------------------------------------------------------------- email


@pytest.mark.parametrize(
    "text, expected",
    [
        (" Jane.Doe@School.ORG ", "jane.doe@school.org"),
        ("ana.chen.mr6@district.example", "ana.chen.mr6@district.example"),
        ("o'neil+mentoring@k12.ca.us", "o'neil+mentoring@k12.ca.us"),
        ("Jane Doe <jane@school.org>", "jane@school.org"),
        ("mailto:jane@school.org", "jane@school.org"),
    ],
)
def test_parse_email_accepts(text, expected):
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    "text",
    ["bob@", "@school.org", "jane.school.org", "jane@school", "a..b@x.org", ".a@x.org", "jane@-x.org", "ja ne@x.org", "principal@@school"],
)
def test_parse_email_rejects_with_example(text):
    message = error_for(parse_email, text)
    assert f'"{text}"' in message
    assert "name@school.org" in message


def test_parse_email_blank_and_several():
    assert "No email address" in error_for(parse_email, "  ")
    assert "more than one" in error_for(parse_email, "a@x.org, b@y.org")


# ---------------------------------------------------------------- role


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mentor", "mentor"),
        ("Mentor ", "mentor"),
        ("MENTEE", "mentee"),
        ("Both", "both"),
        ("mentor/mentee", "both"),
        ("Mentee & Mentor", "both"),
        ("mentor and mentee", "both"),
        ("mentor/mentor", "mentor"),
    ],
)
def test_parse_role_accepts(text, expected):
    assert parse_role(text) == expected


@pytest.mark.parametrize("text", ["coach", "mentors please", "mentor or mentee", "", "mentor/coach"])
def test_parse_role_rejects(text):
    assert "mentor, mentee or both" in error_for(parse_role, text)


# ---------------------------------------------------------------- lists


def test_parse_list_splits_trims_and_drops_repeats():
    assert parse_list(" math; Science ;;MATH; lesson  planning ;") == ("math", "Science", "lesson planning")
    assert parse_list("") == ()
    assert parse_list(None) == ()
    assert parse_list(" ; ; ") == ()


# ---------------------------------------------------------------- grade bands


@pytest.mark.parametrize(
    "text, expected",
    [
        ("K-2;3-5;6-8;9-12", ("K-2", "3-5", "6-8", "9-12")),
        ("k-2", ("K-2",)),
        ("6-8 ", ("6-8",)),
        ("6–8", ("6-8",)),
        ("9-12;6-8", ("6-8", "9-12")),
        ("PK", ("PK",)),
        ("Pre-K", ("PK",)),
        ("TK", ("K-2",)),
        ("K", ("K-2",)),
        ("kindergarten", ("K-2",)),
        ("7", ("6-8",)),
        ("7th", ("6-8",)),
        ("grades 6-12", ("6-8", "9-12")),
        ("K-5", ("K-2", "3-5")),
        ("PK-2", ("PK", "K-2")),
        ("K-2, 3-5", ("K-2", "3-5")),
        ("", ()),
    ],
)
def test_parse_grade_bands_accepts(text, expected):
    assert parse_grade_bands(text) == expected


@pytest.mark.parametrize("text", ["middle", "elementary", "13", "0", "K-13", "6-8;high school", "1" * 5000, "12 " * 3000])
def test_parse_grade_bands_rejects(text):
    message = error_for(parse_grade_bands, text)
    assert "is not a grade band" in message
    assert '"6-8"' in message


def test_parse_grade_bands_backwards_range():
    assert '"6-8"' in error_for(parse_grade_bands, "8-6")


# ---------------------------------------------------------------- slots


def test_slot_str():
    assert str(Slot(0, 15 * 60, 16 * 60)) == "Mon 15:00-16:00"
    assert str(Slot(3, 7 * 60 + 30, 8 * 60 + 15)) == "Thu 07:30-08:15"
    assert str(Slot(6, 0, 1440)) == "Sun 00:00-24:00"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mon 15:00-16:00;Thu 07:30-08:15", (Slot(0, 900, 960), Slot(3, 450, 495))),
        ("monday 9:00-10:00", (Slot(0, 540, 600),)),
        ("TUESDAY 9:05 - 9:35", (Slot(1, 545, 575),)),
        ("Tues 09:00–10:00", (Slot(1, 540, 600),)),
        ("Wed. 12:00 to 13:00", (Slot(2, 720, 780),)),
        ("thurs 7:30-8:15", (Slot(3, 450, 495),)),
        ("Sat 22:00-24:00", (Slot(5, 1320, 1440),)),
        ("Sun 00:00-00:30", (Slot(6, 0, 30),)),
        ("Fri 12:00-13:00; fri 12:00-13:00 ;", (Slot(4, 720, 780),)),
        # Overlapping slots are kept as written; merging is the matcher's business.
        ("Wed 12:00-12:45;Wed 12:30-13:30", (Slot(2, 720, 765), Slot(2, 750, 810))),
        ("", ()),
        (None, ()),
    ],
)
def test_parse_slots_accepts(text, expected):
    assert parse_slots(text) == expected


def test_parse_slots_names_the_bad_piece():
    message = error_for(parse_slots, "Mon 15:00-16:00;Tuesday-ish")
    assert message == '"Tuesday-ish" is not a time slot; write a day and a time range like "Tue 15:30-16:30"'


@pytest.mark.parametrize(
    "text, expect",
    [
        ("Tue 16:00-15:00", "ends before it starts"),
        ("Tue 15:00-15:00", "same time"),
        ("Mon 25:00-26:00", "doesn't exist"),
        ("Mon 10:60-11:00", "doesn't exist"),
        ("Mon 24:00-24:30", "doesn't exist"),
        ("Mon 24:00-24:00", "24:00"),
        ("Tus 15:00-16:00", "Mon, Tue, Wed"),
        ("Tue 3pm-4pm", "24-hour"),
        ("Tue 3:30pm-4:30pm", "24-hour"),
        ("Mon 15:00-16:00, Thu 07:30-08:15", 'separate slots with ";"'),
        ("15:00-16:00", "is not a time slot"),
        ("Mon 1500-1600", "is not a time slot"),
        ("Mon", "is not a time slot"),
    ],
)
def test_parse_slots_rejects(text, expect):
    message = error_for(parse_slots, text)
    assert expect in message
    assert f'"{text}"' in message


def test_parse_slots_end_before_start_suggests_the_fix():
    assert '"Tue 15:00-16:00"' in error_for(parse_slots, "Tue 16:00-15:00")


slots = st.builds(
    lambda day, start, length: Slot(day, start, min(1440, start + length)),
    st.integers(0, 6),
    st.integers(0, 1439),
    st.integers(1, 1440),
)


@given(slots)
def test_slot_round_trips_through_str(slot):
    assert parse_slots(str(slot)) == (slot,)


@given(st.lists(slots, max_size=8))
def test_slot_lists_round_trip(items):
    expected = tuple(dict.fromkeys(items))
    assert parse_slots(";".join(map(str, items))) == expected


# ---------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    "text, expected",
    [
        ("America/Los_Angeles", "America/Los_Angeles"),
        ("america/new_york", "America/New_York"),
        (" America/Los Angeles ", "America/Los_Angeles"),
        ("Europe/London", "Europe/London"),
        ("UTC", "UTC"),
        ("", "America/Chicago"),
        (None, "America/Chicago"),
    ],
)
def test_parse_timezone_accepts(text, expected):
    assert parse_timezone(text, "America/Chicago") == expected


@pytest.mark.parametrize(
    "text, hint",
    [
        ("PST", "America/Los_Angeles"),
        ("Pacific", "America/Los_Angeles"),
        ("pacific standard time", "America/Los_Angeles"),
        ("EST", "America/New_York"),
        ("Central Time", "America/Chicago"),
        ("UTC-8", "America/Los_Angeles"),
        ("Mars/Olympus_Mons", "America/Chicago"),
        ("../../etc/passwd", "America/Chicago"),
        ("localtime", "America/Chicago"),
    ],
)
def test_parse_timezone_rejects_with_hint(text, hint):
    message = error_for(parse_timezone, text, "UTC")
    assert hint in message
    assert f'"{text}"' in message


# ---------------------------------------------------------------- capacity


@pytest.mark.parametrize(
    "text, expected",
    [("0", 0), ("1", 1), (" 3 ", 3), ("10", 10), ("2.0", 2), ("two", 2), ("", 1), (None, 1)],
)
def test_parse_capacity_accepts(text, expected):
    assert parse_capacity(text) == expected


def test_parse_capacity_default():
    assert parse_capacity("", default=2) == 2
    assert parse_capacity("0", default=2) == 0


@pytest.mark.parametrize(
    "text, expect",
    [("lots", "not a number"), ("-1", "below zero"), ("2.5", "not a number"), ("11", "more than 10"), ("1/2", "not a number")],
)
def test_parse_capacity_rejects(text, expect):
    message = error_for(parse_capacity, text)
    assert expect in message
    assert "whole number from 0 to 10" in message


# ---------------------------------------------------------------- Slack member IDs


@pytest.mark.parametrize(
    "text, expected",
    [
        ("U024BE7LH", "U024BE7LH"),
        (" UDADE25655 ", "UDADE25655"),
        ("W0123ABCDE", "W0123ABCDE"),
        ("u88ca81811", "U88CA81811"),
        ("<@U024BE7LH>", "U024BE7LH"),
        ("<@U024BE7LH|jane>", "U024BE7LH"),
        ("", None),
        (None, None),
    ],
)
def test_parse_slack_user_id_accepts(text, expected):
    assert parse_slack_user_id(text) == expected


@pytest.mark.parametrize("text", ["@jane", "U123", "C024BE7LH9", "jane.doe", "U024BE7L-H"])
def test_parse_slack_user_id_rejects(text):
    message = error_for(parse_slack_user_id, text)
    assert "Slack member ID" in message
    assert '"U024BE7LH"' in message
