"""Weekly availability written in plain words, turned into the slots the flows store.

People answering by email write "Tuesdays and Thursdays after 3:30", "Mon 3-4pm" or "mornings before 8"
rather than "Tue 15:30-17:00". `parse_availability` accepts the strict form first (``bot.flows.parsers``)
and otherwise reads plain words with these documented defaults, chosen for school staff:

* no day named: weekdays (Mon-Fri); "weekdays", "every day", "daily": Mon-Fri; "weekends": Sat and Sun
* "after 3:30": from 3:30 until 17:00, or for an hour when that is later ("after 4:30" = 16:30-17:30)
* "before 8": the hour before (07:00-08:00); a single time ("at 3", "3pm"): that hour (15:00-16:00)
* "mornings" / "before school": 07:00-08:00; "lunch": 12:00-12:45; "afternoons" / "after school":
  15:30-17:00; "evenings": 17:00-19:00. A time next to one of these refines it ("mornings before 8").
* times without am/pm: 7-11 are morning, 12 is noon, 1-6 are afternoon ("after 3:30" = 15:30);
  a range takes its end's am/pm when that keeps it in order ("3-4pm" = 15:00-16:00, "11-1pm" = 11:00-13:00).
* days and times pair up in the order written: "Mon 3-4pm and Wed mornings", "3-4pm on Mon and Wed".

Anything with "not", "except" or "can't" is refused with a request to list only the free times, because
guessing what someone *can't* do is how people get booked into their planning period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.flows.parsers import DAY_NAMES, AnswerError, Slot, parse_slots

__all__ = ["parse_availability", "format_slots"]

_DAY_FORMS = {
    0: ("mon", "mons", "monday", "mondays"),
    1: ("tue", "tues", "tuesday", "tuesdays"),
    2: ("wed", "weds", "wednesday", "wednesdays"),
    3: ("thu", "thur", "thurs", "thursday", "thursdays"),
    4: ("fri", "fris", "friday", "fridays"),
    5: ("sat", "sats", "saturday", "saturdays"),
    6: ("sun", "suns", "sunday", "sundays"),
}
_DAY_OF = {form: day for day, forms in _DAY_FORMS.items() for form in forms}
_DAY = r"(?:" + "|".join(sorted(_DAY_OF, key=len, reverse=True)) + r")\b\.?"
_TIME = r"(?:\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)?|noon)"
_PERIODS = {
    "morning": ((7 * 60, 8 * 60), "am"),
    "before school": ((7 * 60, 8 * 60), "am"),
    "lunch": ((12 * 60, 12 * 60 + 45), "pm"),
    "afternoon": ((15 * 60 + 30, 17 * 60), "pm"),
    "after school": ((15 * 60 + 30, 17 * 60), "pm"),
    "evening": ((17 * 60, 19 * 60), "pm"),
}
_TOKEN_RE = re.compile(
    rf"""
    (?P<dayrange>(?P<d1>{_DAY})\s*(?:-|to|through|thru)\s*(?P<d2>{_DAY}))
  | (?P<day>{_DAY})
  | (?P<weekdays>\bweekdays?\b|\bevery\s*day\b|\bdaily\b|\bany\s*day\b|\beach\s*day\b|\bschool\s*days\b)
  | (?P<weekends>\bweekends?\b)
  | (?P<range>(?:\b(?:from|between)\s+)?(?P<t1>{_TIME})\s*(?:-|to|until|till|and)\s*(?P<t2>{_TIME}))
  | (?P<after>\b(?:after|from|starting(?:\s+at)?)\s+(?P<ta>{_TIME}))
  | (?P<before>\b(?:before|until|till|by)\s+(?P<tb>{_TIME}))
  | (?P<period>\bbefore\s+school\b|\bafter\s+school\b|\bmornings?\b|\bafternoons?\b|\bevenings?\b|\blunch(?:time)?\b)
  | (?P<single>(?:\bat\s+)?\b(?P<ts>\d{{1,2}}(?::\d{{2}})?\s*(?:a\.?m\.?|p\.?m\.?)|\d{{1,2}}:\d{{2}}|noon)\b)
  | (?P<sep>[;,.\n])
    """,
    re.IGNORECASE | re.VERBOSE,
)
_NEGATION_RE = re.compile(r"\b(?:not|except|excluding|never|can'?t|cannot|won'?t|don'?t|busy)\b", re.IGNORECASE)
_EXAMPLE = '"Tuesdays and Thursdays after 3:30" or "Mon 15:00-16:00"'


@dataclass(frozen=True)
class _Time:
    minutes: int  # as written, hours 1-12 still ambiguous unless `meridiem` or hour > 12
    meridiem: str | None  # "am" | "pm" | None


@dataclass(frozen=True)
class _Spec:
    kind: str  # range | after | before | single | period
    first: _Time | None = None
    second: _Time | None = None
    period: str | None = None


def _read_time(text: str) -> _Time:
    text = text.strip().lower().replace(".", "")
    if text == "noon":
        return _Time(12 * 60, "pm")
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", text)
    if not match:
        raise AnswerError(f'"{text}" is not a time I can read; write it like "3:30pm" or "15:30"')
    hours, minutes = int(match[1]), int(match[2] or 0)
    if hours > 24 or minutes > 59 or (match[3] and not 1 <= hours <= 12):
        raise AnswerError(f'"{text}" is not a time of day; write it like "3:30pm" or "15:30"')
    return _Time(hours * 60 + minutes, match[3])


def _resolve(time: _Time, hint: str | None) -> int:
    """Minutes after midnight, deciding am/pm for 1-12 o'clock by the written suffix, a hint, or the school day."""
    hours = time.minutes // 60
    if hours > 12 or hours == 0:
        return time.minutes
    meridiem = time.meridiem or hint
    if meridiem is None:
        meridiem = "pm" if hours <= 6 or hours == 12 else "am"
    if meridiem == "am":
        return time.minutes % (12 * 60)
    return time.minutes if hours == 12 else time.minutes + 12 * 60


def _window(spec: _Spec, hint: str | None) -> tuple[int, int]:
    if spec.kind == "period":
        return _PERIODS[spec.period][0]
    if spec.kind == "range":
        end_meridiem = spec.second.meridiem or hint
        end = _resolve(spec.second, hint)
        start = _resolve(spec.first, spec.first.meridiem or end_meridiem)
        if spec.first.meridiem is None and end_meridiem and start >= end:
            # "11-1pm": the start sits in the other half of the day.
            start = _resolve(spec.first, "am" if end_meridiem == "pm" else "pm")
        if spec.first.meridiem is None and end_meridiem is None and start >= end and start - 12 * 60 >= 0:
            start -= 12 * 60  # "11-1": 11:00-13:00
        return start, end
    time = _resolve(spec.first, hint)
    if spec.kind == "after":
        return time, min(max(17 * 60, time + 60), 24 * 60)
    if spec.kind == "before":
        return max(time - 60, 0), time
    return time, min(time + 60, 24 * 60)


def _period_name(word: str) -> str:
    word = " ".join(word.lower().split())
    if word.startswith("lunch"):
        return "lunch"
    return word.rstrip("s") if word not in ("before school", "after school") else word


def _tokens(text: str) -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for match in _TOKEN_RE.finditer(text):
        if match["dayrange"]:
            first, last = _DAY_OF[match["d1"].lower().rstrip(".")], _DAY_OF[match["d2"].lower().rstrip(".")]
            days = [(first + step) % 7 for step in range((last - first) % 7 + 1)]
            found.append(("days", days))
        elif match["day"]:
            found.append(("days", [_DAY_OF[match["day"].lower().rstrip(".")]]))
        elif match["weekdays"]:
            found.append(("days", [0, 1, 2, 3, 4]))
        elif match["weekends"]:
            found.append(("days", [5, 6]))
        elif match["range"]:
            found.append(("time", _Spec("range", _read_time(match["t1"]), _read_time(match["t2"]))))
        elif match["after"]:
            found.append(("time", _Spec("after", _read_time(match["ta"]))))
        elif match["before"]:
            found.append(("time", _Spec("before", _read_time(match["tb"]))))
        elif match["period"]:
            found.append(("time", _Spec("period", period=_period_name(match["period"]))))
        elif match["single"]:
            found.append(("time", _Spec("single", _read_time(match["ts"]))))
        elif match["sep"]:
            found.append(("sep", None))
    return found


def _clauses(tokens: list[tuple[str, object]]) -> list[tuple[list[int], list[_Spec]]]:
    """Pair days with times in the order written; a clause is days-then-times or times-then-days."""
    clauses: list[tuple[list[int], list[_Spec]]] = []
    days: list[int] = []
    specs: list[_Spec] = []
    times_first = False
    previous = None
    for kind, value in tokens:
        if kind == "sep":
            if days and specs:
                clauses.append((days, specs))
                days, specs, times_first = [], [], False
            previous = None
            continue
        if kind == "days":
            if specs and days and not (times_first and previous == "days"):
                clauses.append((days, specs))
                days, specs, times_first = [], [], False
            days += [day for day in value if day not in days]
        else:
            if specs and days and times_first and previous == "days":
                clauses.append((days, specs))
                days, specs, times_first = [], [], False
            if not specs and not days:
                times_first = True
            specs.append(value)
        previous = kind
    if days or specs:
        clauses.append((days, specs))
    return clauses


def _refine(specs: list[_Spec]) -> list[tuple[_Spec, str | None]]:
    """A period followed or preceded by a time narrows to that time ("mornings before 8"), lending its am/pm."""
    out: list[tuple[_Spec, str | None]] = []
    pending_hint: str | None = None
    for index, spec in enumerate(specs):
        if spec.kind == "period":
            neighbours = specs[index + 1 : index + 2] + (specs[index - 1 : index] if index else [])
            if any(n.kind != "period" for n in neighbours):
                pending_hint = _PERIODS[spec.period][1]
                if out and out[-1][0].kind != "period" and specs[index - 1].kind != "period":
                    out[-1] = (out[-1][0], out[-1][1] or pending_hint)
                continue
            out.append((spec, None))
        else:
            out.append((spec, pending_hint))
            pending_hint = None
    return out


def parse_availability(text: str | None) -> tuple[Slot, ...]:
    """Weekly slots from an answer in the strict form ("Tue 15:30-16:30; Thu 07:30-08:15") or in plain words."""
    raw = " ".join(str(text or "").split())
    if not raw:
        raise AnswerError(f"please say when you're usually free each week, e.g. {_EXAMPLE}")
    try:
        return parse_slots(re.sub(r"\s*[\n,]\s*(?=[A-Za-z]{3})", ";", str(text or "").strip()))
    except AnswerError:
        pass
    if _NEGATION_RE.search(raw):
        raise AnswerError(f"please list only the times you are free (I can't safely work out \"not\" or \"except\"), e.g. {_EXAMPLE}")
    tokens = _tokens(re.sub(r"\b(\d{1,2})\.(\d{2})\b", r"\1:\2", raw.replace("–", "-").replace("—", "-")))
    if not tokens:
        raise AnswerError(f"I couldn't find a day or a time in that; please write it like {_EXAMPLE}")
    slots: list[Slot] = []
    for days, specs in _clauses(tokens):
        if not specs:
            names = ", ".join(DAY_NAMES[day] for day in days)
            raise AnswerError(f"what times on {names}? e.g. \"{names} 15:30-16:30\" or \"{names} after 3:30\"")
        for spec, hint in _refine(specs):
            start, end = _window(spec, hint)
            if end <= start:
                raise AnswerError(f"a time range in that ends before it starts; write the earlier time first, e.g. {_EXAMPLE}")
            for day in days or [0, 1, 2, 3, 4]:
                slot = Slot(day, start, end)
                if slot not in slots:
                    slots.append(slot)
    return tuple(slots)


def format_slots(slots: tuple[Slot, ...] | list[Slot]) -> str:
    """Slots in the strict form the flows read: "Tue 15:30-17:00; Thu 15:30-17:00"."""
    return "; ".join(str(slot) for slot in slots)
