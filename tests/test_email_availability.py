"""Availability as teachers write it: negations, timetable letters, bell times, six languages, typos, vague days."""

from __future__ import annotations

import pytest

from bot.email.availability import BellTimes, describe_slots, format_slots, parse_availability, read_availability
from bot.flows.parsers import AnswerError, Slot

WEEK = ("Mon", "Tue", "Wed", "Thu", "Fri")


def every(days: tuple[str, ...] | str, hours: str) -> str:
    days = (days,) if isinstance(days, str) else days
    return "; ".join(f"{day} {hours}" for day in days)


CERTAIN = [
    # English, the way staff write it
    ("M/W after school, F mornings", "Mon 15:30-17:00; Wed 15:30-17:00; Fri 07:00-08:00"),
    ("T/Th 3-4:15", "Tue 15:00-16:15; Thu 15:00-16:15"),
    ("Tu/Th after school", "Tue 15:30-17:00; Thu 15:30-17:00"),
    ("MWF 3:30 to 4", "Mon 15:30-16:00; Wed 15:30-16:00; Fri 15:30-16:00"),
    ("TTh before school", "Tue 07:00-08:00; Thu 07:00-08:00"),
    ("Mondays at lunch", "Mon 12:00-12:45"),
    ("LUNCH ON THURSDAYS", "Thu 12:00-12:45"),
    ("Weds and Fri 3-4", "Wed 15:00-16:00; Fri 15:00-16:00"),
    ("tues 7:15-7:45", "Tue 07:15-07:45"),
    ("Mon-Thu 3:15-4", every(("Mon", "Tue", "Wed", "Thu"), "15:15-16:00")),
    ("after school until 5 on Tuesdays", "Tue 15:30-17:00"),
    ("Thursday mornings before 7:30", "Thu 07:00-07:30"),
    ("Monday 4-6", "Mon 16:00-18:00"),
    ("Friday 11-1", "Fri 11:00-13:00"),
    ("Wednesday 12:30 to 1:15", "Wed 12:30-13:15"),
    ("I teach 7th and 8th grade; Tuesdays after school", "Tue 15:30-17:00"),
    # negations and exceptions
    ("any day except Wednesdays after school", every(("Mon", "Tue", "Thu", "Fri"), "15:30-17:00")),
    ("after school, no Mondays", every(("Tue", "Wed", "Thu", "Fri"), "15:30-17:00")),
    ("Fridays don't work but Mon and Wed after 3:30 are fine", "Mon 15:30-17:00; Wed 15:30-17:00"),
    ("I can't do Fridays. Any other day after school.", every(("Mon", "Tue", "Wed", "Thu"), "15:30-17:00")),
    ("Mornings before 8, not Fridays", every(("Mon", "Tue", "Wed", "Thu"), "07:00-08:00")),
    ("After school except Mondays and Fridays", every(("Tue", "Wed", "Thu"), "15:30-17:00")),
    ("Tuesdays after 3:30. Fridays are out.", "Tue 15:30-17:00"),
    # after a universal ("any", "every", "all week"), "but" before a day is "except"
    ("any afternoon but Wed", every(("Mon", "Tue", "Thu", "Fri"), "15:30-17:00")),
    ("Every day but Friday, before school", every(("Mon", "Tue", "Wed", "Thu"), "07:00-08:00")),
    ("all week but Mon and Tue after 3", every(("Wed", "Thu", "Fri"), "15:00-17:00")),
    ("Mon after school but Wed mornings", "Mon 15:30-17:00; Wed 07:00-08:00"),
    # a time after a comma refines the day just named
    ("Mercoledì pomeriggio, dopo le 15", "Wed 15:00-17:00"),
    ("Tuesday afternoon, after 4", "Tue 16:00-17:00"),
    ("Mittwochnachmittag, ab 15 Uhr", "Wed 15:00-17:00"),
    ("Mon after school, 3-4 on Fridays", "Mon 15:30-17:00; Fri 15:00-16:00"),
    # the end of the school day named by what happens then
    ("Tuesdays after dismissal", "Tue 15:30-17:00"),
    ("Thursdays after the last bell", "Thu 15:30-17:00"),
    ("Mittwochs nach Schulschluss", "Wed 15:30-17:00"),
    # "anytime" next to a time is emphasis, not a hedge
    ("Anytime Tuesday between 12 and 3", "Tue 12:00-15:00"),
    ("Fridays, any time from 2 to 4", "Fri 14:00-16:00"),
    # Spanish, French, German, Portuguese, Dutch, Italian
    ("Martes y jueves después de las 3:30", "Tue 15:30-17:00; Thu 15:30-17:00"),
    ("los martes de 4 a 5", "Tue 16:00-17:00"),
    ("Lunes y miércoles por la mañana", "Mon 07:00-08:00; Wed 07:00-08:00"),
    ("todos los días menos los viernes, después de clases", every(("Mon", "Tue", "Wed", "Thu"), "15:30-17:00")),
    ("Le jeudi, 16:00-17:00", "Thu 16:00-17:00"),
    ("après 16h le mardi", "Tue 16:00-17:00"),
    ("de 16h à 17h le vendredi", "Fri 16:00-17:00"),
    ("lun. et mer. 16h-17h", "Mon 16:00-17:00; Wed 16:00-17:00"),
    ("Di und Do ab 15 Uhr", "Tue 15:00-17:00; Thu 15:00-17:00"),
    ("montags 16h-17h", "Mon 16:00-17:00"),
    ("Mo. 15-16 Uhr", "Mon 15:00-16:00"),
    ("Mittwochs nach der Schule", "Wed 15:30-17:00"),
    ("segunda-feira depois das aulas", "Mon 15:30-17:00"),
    ("quarta e sexta das 15 às 16", "Wed 15:00-16:00; Fri 15:00-16:00"),
    ("maandag na school", "Mon 15:30-17:00"),
    ("woensdag van 15 tot 16 uur", "Wed 15:00-16:00"),
    ("lunedì dopo le 15", "Mon 15:00-17:00"),
    ("martedì e giovedì 16:00-17:00", "Tue 16:00-17:00; Thu 16:00-17:00"),
    ("il martedì dalle 15:30 alle 16:30", "Tue 15:30-16:30"),
    ("from 3:15 to 4 on Thursdays", "Thu 15:15-16:00"),
    ("donnerstags von 15:30 bis 16:15", "Thu 15:30-16:15"),
    # a day and a part of it in one word
    ("Woensdagmiddag na 14:00", "Wed 14:00-17:00"),
    ("dinsdagochtend", "Tue 07:00-08:00"),
    ("Dienstagnachmittag und Freitagmorgen", "Tue 15:30-17:00; Fri 07:00-08:00"),
    # a quote header's date is one day, not a weekly slot
    ("Dienstags ab 15 Uhr\n\nGesendet: Montag, 23. November 2026 um 09:00 Uhr", "Tue 15:00-17:00"),
    ("Thursdays 3:30-4:30\n\nOn Mon, Nov 23, 2026 at 9:00 AM Riverside Mentoring wrote:", "Thu 15:30-16:30"),
    ("Le jeudi après 16h\nLe lun. 23 nov. 2026 à 09:00, Riverside Mentoring a écrit :", "Thu 16:00-17:00"),
]


@pytest.mark.parametrize(("text", "slots"), CERTAIN, ids=[text for text, _ in CERTAIN])
def test_certain_readings(text: str, slots: str) -> None:
    reading = read_availability(text)
    assert (format_slots(reading.slots), reading.unsure, reading.doubts) == (slots, (), ())
    assert reading.certain
    assert format_slots(parse_availability(text)) == slots


def test_fridays_are_out_never_books_friday() -> None:
    reading = read_availability("Fridays are out")
    assert reading.slots == () and reading.excluded == (4,)
    assert reading.doubts == ('Which days and times are you free, apart from Fri? e.g. "Tuesdays and Thursdays after 3:30" or "Mon 15:00-16:00"',)


@pytest.mark.parametrize("text", ["not Fridays", "no Mondays", "Fridays are out", "Friday is bad", "can't do Fridays"])
def test_a_day_ruled_out_with_nothing_free_asks_and_books_nothing(text: str) -> None:
    reading = read_availability(text)
    assert reading.slots == () and reading.excluded and reading.doubts[0].startswith("Which days and times are you free, apart from")


def test_times_after_a_ruled_out_day_belong_to_no_day() -> None:
    reading = read_availability("not Fridays after 3")
    assert (reading.slots, reading.excluded) == ((), (4,))
    assert "apart from Fri" in reading.doubts[0]


def test_before_school_most_days_is_asked_not_guessed() -> None:
    reading = read_availability("before school most days")
    assert reading.slots == ()
    assert reading.doubts == ('Which days do you mean by "most days"? Please name them, e.g. "Mon, Tue and Thu before school".',)


@pytest.mark.parametrize(("text", "word"), [("sometimes after school", "sometimes"), ("Lunch, it depends", "it depends"), ("a veces después de clases", "a veces")])
def test_vague_days_are_asked_about(text: str, word: str) -> None:
    reading = read_availability(text)
    assert reading.slots == () and reading.doubts[0].startswith(f'Which days do you mean by "{word}"?')


@pytest.mark.parametrize(
    ("text", "slots", "why"),
    [
        ("wensdays after school", "Wed 15:30-17:00", 'you wrote "wensdays", which I read as Wed'),
        ("thrusday 3-4", "Thu 15:00-16:00", 'you wrote "thrusday", which I read as Thu'),
        ("Tuseday and Thursday lunch", "Tue 12:00-12:45; Thu 12:00-12:45", 'you wrote "Tuseday", which I read as Tue'),
        ("usually Mondays after school", "Mon 15:30-17:00", 'you said "usually"'),
        ("normalmente los lunes a las 4", "Mon 16:00-17:00", 'you said "normalmente"'),
    ],
)
def test_typos_and_hedges_are_proposals(text: str, slots: str, why: str) -> None:
    reading = read_availability(text)
    assert (format_slots(reading.slots), reading.unsure, reading.doubts) == (slots, (why,), ())
    assert not reading.certain
    with pytest.raises(AnswerError, match="please check"):
        parse_availability(text)


@pytest.mark.parametrize("text", ["I'm free 3rd period (10:05-10:55) on A days", "B-day lunch", "after school on A/B days", "every other day after school"])
def test_rotating_schedules_are_asked_about_not_read_as_weekdays(text: str) -> None:
    reading = read_availability(text)
    assert reading.slots == () and reading.doubts[0].startswith("Your days rotate")


def test_a_date_alone_is_not_availability() -> None:
    reading = read_availability("On Mon, Nov 23, 2026 at 9:00 AM Riverside Mentoring")
    assert (reading.slots, reading.mentions_days) == ((), False)
    assert format_slots(read_availability("A day that suits me: Tuesday at 4").slots) == "Tue 16:00-17:00"


def test_an_unknown_planning_period_is_asked_for_and_a_known_one_is_used() -> None:
    assert read_availability("planning period on Tuesdays").doubts == ('What time is your planning period? e.g. "planning period 10:15-11:00".',)
    bell = BellTimes(planning_period=(10 * 60 + 15, 11 * 60))
    assert format_slots(read_availability("planning period on Tuesdays", bell=bell).slots) == "Tue 10:15-11:00"
    assert format_slots(read_availability("Tue planning period 1:15-2", bell=BellTimes()).slots) == "Tue 13:15-14:00"


def test_bell_times_move_before_and_after_school() -> None:
    bell = BellTimes(before_school=(6 * 60 + 50, 7 * 60 + 30), after_school=(14 * 60 + 45, 15 * 60 + 45))
    reading = read_availability("M/W after school, F mornings", bell=bell)
    assert format_slots(reading.slots) == "Mon 14:45-15:45; Wed 14:45-15:45; Fri 06:50-07:30"


def test_twelve_hour_times_are_read_inside_the_school_day() -> None:
    late = BellTimes(day_start=9 * 60, day_end=19 * 60)
    assert format_slots(read_availability("Mon at 7").slots) == "Mon 07:00-08:00"
    assert format_slots(read_availability("Mon at 7", bell=late).slots) == "Mon 19:00-20:00"


def test_weak_day_words_only_count_where_they_clearly_name_a_day() -> None:
    assert format_slots(read_availability("So I can do Mondays after 3").slots) == "Mon 15:00-17:00"
    assert format_slots(read_availability("We could meet Thursdays at 3:30").slots) == "Thu 15:30-16:30"


def test_languages_limit_the_day_names_read() -> None:
    assert format_slots(read_availability("Martes 4-5", languages=("en",)).slots) == every(WEEK, "16:00-17:00")  # no day it knows
    assert format_slots(read_availability("Martes 4-5", languages=("es",)).slots) == "Tue 16:00-17:00"


def test_not_before_a_time_is_asked_about() -> None:
    reading = read_availability("Tuesdays, not before 4")
    assert reading.slots == () or reading.doubts
    assert any("can't do" in doubt or "What times" in doubt for doubt in reading.doubts)


def test_describe_groups_days_with_the_same_hours() -> None:
    slots = (Slot(0, 930, 990), Slot(2, 930, 990), Slot(4, 420, 465))
    assert describe_slots(slots) == "Mon and Wed 15:30-16:30; Fri 07:00-07:45"


@pytest.mark.parametrize("text", ["", "   ", "\x00", "24:00", "99:99 on Monday", "Mon 5-3am", "💥" * 50, "-" * 500, "de a las y"])
def test_anything_gives_slots_or_a_doubt_never_an_exception(text: str) -> None:
    reading = read_availability(text)
    assert reading.slots or reading.doubts
    if not reading.certain:
        with pytest.raises(AnswerError):
            parse_availability(text)


def test_a_program_sets_its_bell_times_and_languages() -> None:
    from pydantic import ValidationError

    from bot.programs.spec import ProgramSpec

    spec = ProgramSpec(name="Lincoln", bell_times={"after_school": ["15:00", "16:00"], "planning_period": ["10:15", "11:00"]}, languages=["en", "es-MX"])
    bell = spec.bell_times.bell()
    assert (bell.after_school, bell.planning_period, bell.before_school) == ((900, 960), (615, 660), BellTimes().before_school)
    assert spec.languages == ["en", "es_MX"]
    assert format_slots(read_availability("martes planning period", bell=bell, languages=spec.languages).slots) == "Tue 10:15-11:00"
    assert ProgramSpec.from_settings(name="Lincoln", timezone="America/Chicago", settings=spec.settings_dict()).bell_times == spec.bell_times
    assert "bell_times" not in ProgramSpec(name="Plain").file_dict()
    with pytest.raises(ValidationError, match="lunch ends before it starts"):
        ProgramSpec(name="Bad", bell_times={"lunch": ["13:00", "12:00"]})
    with pytest.raises(ValidationError, match="not a language code"):
        ProgramSpec(name="Bad", languages=["klingon-please"])


@pytest.mark.parametrize("text", ["anytime", "whenever on Thursdays"])
def test_anytime_without_a_time_is_not_a_time(text: str) -> None:
    reading = read_availability(text)
    assert not reading.certain and reading.doubts
