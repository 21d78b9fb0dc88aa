"""Pure parsers that turn a typed answer (a roster cell, a Slack or email reply) into a value.

Every parser raises `AnswerError` with a plain-language message that says what was wrong and
what a right answer looks like, so the same message can be shown to a teacher in a DM, put in an
email reply or printed next to a roster line number. No I/O happens here.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "AnswerError",
    "DAY_NAMES",
    "GRADE_BANDS",
    "MAX_CAPACITY",
    "ROLES",
    "Slot",
    "parse_capacity",
    "parse_email",
    "parse_grade_bands",
    "parse_list",
    "parse_role",
    "parse_slack_user_id",
    "parse_slots",
    "parse_timezone",
    "usual_timezone_for",
]


class AnswerError(ValueError):
    """An answer that can't be used, with a message fit to show the person who wrote it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _quote(text: str, limit: int = 40) -> str:
    """Quote a piece of the person's answer for a message, shortening long ones."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f'"{text}"'


def _clean(text: str | None) -> str:
    return "" if text is None else str(text).strip()


# ---------------------------------------------------------------- lists


def parse_list(text: str | None) -> tuple[str, ...]:
    """Split a `;`-separated answer into trimmed items, keeping order and dropping repeats."""
    items: list[str] = []
    seen: set[str] = set()
    for piece in _clean(text).split(";"):
        # Collapse inner runs of spaces so "lesson  planning" and "lesson planning" are one topic.
        item = " ".join(piece.split())
        key = item.casefold()
        if item and key not in seen:
            seen.add(key)
            items.append(item)
    return tuple(items)


# ---------------------------------------------------------------- email

_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL_RE = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})*\.(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
# "Jane Doe <jane@school.org>" is what mail programs put on the clipboard.
_ANGLE_RE = re.compile(r"^[^<>]*<([^<>]*)>$")


def parse_email(text: str | None) -> str:
    """Return the address trimmed and lowercased, or raise AnswerError if it isn't one."""
    raw = _clean(text)
    example = 'write one like "name@school.org"'
    if not raw:
        raise AnswerError(f"No email address was given; {example}")
    value = raw
    match = _ANGLE_RE.match(value)
    if match:
        value = match.group(1).strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    value = value.strip().lower()
    if len([part for part in re.split(r"[\s,;]+", value) if "@" in part.strip("@")]) > 1:
        raise AnswerError(
            f"{_quote(raw)} looks like more than one email address; write one address per person, "
            'like "name@school.org", and separate several with ";"'
        )
    if "@" not in value:
        raise AnswerError(f"{_quote(raw)} is not an email address (it has no @); {example}")
    local, _, domain = value.partition("@")
    if len(value) > 254 or len(local) > 64 or not _EMAIL_RE.fullmatch(value):
        raise AnswerError(f"{_quote(raw)} is not an email address; {example}")
    return value


# ---------------------------------------------------------------- role

ROLES = ("mentor", "mentee", "both")
# Separators people use to say "both": "mentor/mentee", "mentor & mentee", "mentor and mentee".
_ROLE_SPLIT_RE = re.compile(r"\s*(?:/|&|\+|,|;|\band\b)\s*")


def parse_role(text: str | None) -> str:
    """Return "mentor", "mentee" or "both" from a role answer in any letter case."""
    raw = _clean(text)
    hint = "write mentor, mentee or both"
    if not raw:
        raise AnswerError(f"No role was given; {hint}")
    words = [w for w in _ROLE_SPLIT_RE.split(" ".join(raw.lower().split())) if w]
    if not words or any(w not in ROLES for w in words):
        raise AnswerError(f"{_quote(raw)} is not a role; {hint}")
    found = set(words)
    if "both" in found or found == {"mentor", "mentee"}:
        return "both"
    return words[0]


# ---------------------------------------------------------------- grade bands

# The bands the matcher compares. PK (pre-kindergarten) is a band of its own; TK (California's
# transitional kindergarten, the first year of a two-year kindergarten) is taught alongside K,
# so it falls in K-2.
GRADE_BANDS = ("PK", "K-2", "3-5", "6-8", "9-12")
_BAND_SPANS = {"PK": (-1, -1), "K-2": (0, 2), "3-5": (3, 5), "6-8": (6, 8), "9-12": (9, 12)}
_GRADE_WORDS = {
    "pk": -1,
    "prek": -1,
    "prekindergarten": -1,
    "tk": 0,
    "k": 0,
    "kg": 0,
    "kinder": 0,
    "kindergarten": 0,
}
_GRADE_PREFIX_RE = re.compile(r"^(?:grades?|gr\.?)\s*")
_GRADE_RANGE_RE = re.compile(r"^(?P<lo>[a-z0-9]+)\s*(?:-|–|—|to|through|thru)\s*(?P<hi>[a-z0-9]+)$")
_GRADE_HINT = 'write grades like "K-2", "3-5", "6-8" or "9-12" (separate several with ;)'


def _grade(word: str) -> int | None:
    word = re.sub(r"(?<=\d)(?:st|nd|rd|th)$", "", word)
    if word in _GRADE_WORDS:
        return _GRADE_WORDS[word]
    # A grade has at most two digits; int() of a long run of them is refused by Python (and pointless).
    if word.isdecimal() and len(word) <= 2 and 1 <= int(word) <= 12:
        return int(word)
    return None


def parse_grade_bands(text: str | None) -> tuple[str, ...]:
    """Return the grade bands an answer covers, e.g. "k-2; 6–8" -> ("K-2", "6-8"), in band order."""
    found: set[str] = set()
    # Grades never contain commas, so a comma-separated answer is unambiguous too.
    for piece in re.split(r"[;,]", _clean(text)):
        raw = piece.strip()
        if not raw:
            continue
        word = " ".join(raw.lower().split())
        # "Pre-K" would otherwise look like a range from "pre" to "k".
        word = re.sub(r"\bpre[\s-]?k(?:indergarten)?\b", "pk", word)
        word = _GRADE_PREFIX_RE.sub("", word)
        match = _GRADE_RANGE_RE.match(word)
        if match:
            lo, hi = _grade(match["lo"]), _grade(match["hi"])
        else:
            lo = hi = _grade(word.replace(" ", ""))
        if lo is None or hi is None:
            raise AnswerError(f"{_quote(raw)} is not a grade band; {_GRADE_HINT}")
        if lo > hi:
            raise AnswerError(
                f"{_quote(raw)} runs backwards; write the lower grade first, like "
                f'"{_grade_label(hi)}-{_grade_label(lo)}"'
            )
        for band, (band_lo, band_hi) in _BAND_SPANS.items():
            if lo <= band_hi and band_lo <= hi:
                found.add(band)
    return tuple(band for band in GRADE_BANDS if band in found)


def _grade_label(grade: int) -> str:
    return {-1: "PK", 0: "K"}.get(grade, str(grade))


# ---------------------------------------------------------------- weekly slots

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_WORDS = {
    **{name.lower(): i for i, name in enumerate(DAY_NAMES)},
    **{
        name: i
        for i, names in enumerate(
            (
                ("monday",),
                ("tuesday", "tues"),
                ("wednesday", "weds"),
                ("thursday", "thur", "thurs"),
                ("friday",),
                ("saturday",),
                ("sunday",),
            )
        )
        for name in names
    },
}


class Slot(NamedTuple):
    """A weekly slot in the person's local time."""

    day: int  # 0=Mon .. 6=Sun
    start: int  # minutes after local midnight
    end: int  # exclusive, > start, <= 1440

    def __str__(self) -> str:
        """Render as "Mon 15:00-16:00", the same form parse_slots reads."""
        return f"{DAY_NAMES[self.day]} {_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_SLOT_EXAMPLE = '"Tue 15:30-16:30"'
_SLOT_RE = re.compile(
    r"^(?P<day>[a-z]+)\.?,?\s*(?P<start>\d{1,2}:\d{2})\s*(?:-|–|—|to)\s*(?P<end>\d{1,2}:\d{2})$"
)
_RANGE_RE = re.compile(r"\d{1,2}:\d{2}\s*(?:-|–|—|to)\s*\d{1,2}:\d{2}")
_AMPM_RE = re.compile(r"\d\s*(?:[ap]\.?m\b\.?)", re.IGNORECASE)


def _minutes(hhmm: str) -> int | None:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def _parse_slot(raw: str) -> Slot:
    text = " ".join(raw.lower().split())
    match = _SLOT_RE.match(text)
    if not match:
        if len(_RANGE_RE.findall(text)) > 1:
            raise AnswerError(
                f'{_quote(raw)} holds more than one slot; separate slots with ";", like "Mon 15:00-16:00;Thu 07:30-08:15"'
            )
        if _AMPM_RE.search(raw):
            raise AnswerError(
                f'{_quote(raw)} uses am/pm; write 24-hour times, like "Tue 15:00-16:00" for 3pm to 4pm'
            )
        raise AnswerError(f"{_quote(raw)} is not a time slot; write a day and a time range like {_SLOT_EXAMPLE}")
    day = _DAY_WORDS.get(match["day"])
    if day is None:
        raise AnswerError(
            f"{_quote(raw)} has a day we don't recognise ({_quote(match['day'], 15)}); "
            f"use Mon, Tue, Wed, Thu, Fri, Sat or Sun, like {_SLOT_EXAMPLE}"
        )
    start, end = _minutes(match["start"]), _minutes(match["end"])
    for value, piece in ((start, match["start"]), (end, match["end"])):
        if value is None:
            raise AnswerError(
                f'{_quote(raw)} has a time that doesn\'t exist ("{piece}"); '
                f"use 24-hour times from 00:00 to 24:00, like {_SLOT_EXAMPLE}"
            )
    assert start is not None and end is not None
    if start == 1440:
        raise AnswerError(f'{_quote(raw)} starts at 24:00, which is the end of the day; write "00:00" on the next day instead')
    if end == start:
        raise AnswerError(f"{_quote(raw)} starts and ends at the same time; write a time range like {_SLOT_EXAMPLE}")
    if end < start:
        raise AnswerError(
            f"{_quote(raw)} ends before it starts; write the earlier time first, like "
            f'"{DAY_NAMES[day]} {_hhmm(end)}-{_hhmm(start)}" (a slot past midnight needs two slots, one per day)'
        )
    return Slot(day, start, end)


def parse_slots(text: str | None) -> tuple[Slot, ...]:
    """Parse "Mon 15:00-16:00;Thu 07:30-08:15" into weekly slots, keeping order and dropping repeats."""
    slots: list[Slot] = []
    for piece in _clean(text).split(";"):
        if piece.strip():
            slot = _parse_slot(piece.strip())
            if slot not in slots:
                slots.append(slot)
    return tuple(slots)


# ---------------------------------------------------------------- time zones

# Abbreviations and region words name no single IANA zone (and "EST"/"MST"/"HST" in the database
# are fixed offsets that ignore daylight saving), so ask for the place-based name instead.
_TZ_HINTS = {
    **dict.fromkeys(("pst", "pdt", "pt", "pacific", "us pacific"), "America/Los_Angeles"),
    **dict.fromkeys(("mst", "mdt", "mt", "mountain"), "America/Denver (or America/Phoenix in Arizona)"),
    **dict.fromkeys(("arizona",), "America/Phoenix"),
    **dict.fromkeys(("cst", "cdt", "ct", "central"), "America/Chicago"),
    **dict.fromkeys(("est", "edt", "et", "eastern"), "America/New_York"),
    **dict.fromkeys(("akst", "akdt", "alaska"), "America/Anchorage"),
    **dict.fromkeys(("hst", "hawaii"), "Pacific/Honolulu"),
}
# Names present in some zone databases that aren't real places.
_TZ_REJECT = {"localtime", "factory", "posixrules", "posix", "right"}
_TZ_OFFSET_RE = re.compile(r"^(?:utc|gmt|z)?\s*[+-]\s*\d{1,2}(?::?\d{2})?$", re.IGNORECASE)
_TZ_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*$")


@lru_cache(maxsize=1)
def _known_zones() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones() if name.lower() not in _TZ_REJECT}


def _tz_words(raw: str) -> str:
    """ "Pacific Standard Time", "pacific_time" and "PACIFIC" all become "pacific"."""
    words = " ".join(raw.lower().replace("_", " ").split())
    return re.sub(r"\s+(?:standard\s+|daylight\s+)?time(?:\s+zone)?$", "", words)


def usual_timezone_for(text: str | None) -> str | None:
    """The IANA zone a US abbreviation or region word usually means ("PST" -> "America/Los_Angeles"), else None.

    For readers that take a best guess and say so (the roster import); a dialog asks the person instead.
    """
    hint = _TZ_HINTS.get(_tz_words(_clean(text)))
    # "America/Denver (or America/Phoenix in Arizona)": the usual zone is the first name.
    return hint.split(" ", 1)[0] if hint else None


def parse_timezone(text: str | None, default: str) -> str:
    """Return an IANA time zone name (e.g. "America/Chicago"); a blank answer gives `default`."""
    raw = _clean(text)
    if not raw:
        return default
    words = _tz_words(raw)
    if words in _TZ_HINTS:
        raise AnswerError(f"{_quote(raw)} is not a full time zone name; write it like \"{_TZ_HINTS[words]}\"")
    if _TZ_OFFSET_RE.match(raw):
        raise AnswerError(
            f"{_quote(raw)} is a fixed offset, which ignores daylight saving; "
            'write a place-based time zone name like "America/Los_Angeles"'
        )
    key = "_".join(raw.split()).lower()
    if key in _known_zones():
        return _known_zones()[key]
    if _TZ_NAME_RE.match(raw) and raw.lower() not in _TZ_REJECT:
        try:
            zoneinfo.ZoneInfo(raw)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return raw
    raise AnswerError(
        f"{_quote(raw)} is not a time zone we know; write a name from the time zone database "
        'like "America/Chicago" or "Europe/London"'
    )


# ---------------------------------------------------------------- capacity

MAX_CAPACITY = 10
_NUMBER_WORDS = {
    word: i
    for i, word in enumerate(("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"))
}


def parse_capacity(text: str | None, default: int = 1) -> int:
    """Return how many mentees a mentor takes, a whole number 0..10 (0 = not this term); blank gives `default`."""
    raw = _clean(text)
    if not raw:
        return default
    hint = f"write a whole number from 0 to {MAX_CAPACITY} (0 means not this term)"
    word = raw.lower()
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    # "2.0" is what spreadsheets write for 2; "2.5" still isn't a number of people.
    match = re.fullmatch(r"\+?(\d+)(?:\.0*)?", word)
    if not match:
        if re.fullmatch(r"-\s*\d+(?:\.\d*)?", word):
            raise AnswerError(f"{_quote(raw)} is below zero; {hint}")
        raise AnswerError(f"{_quote(raw)} is not a number of mentees; {hint}")
    value = int(match.group(1))
    if value > MAX_CAPACITY:
        raise AnswerError(f"{_quote(raw)} is more than {MAX_CAPACITY}; {hint}")
    return value


# ---------------------------------------------------------------- Slack member ID

_SLACK_ID_RE = re.compile(r"^[UW][A-Z0-9]{8,}$")
# Slack renders a mention as "<@U024BE7LH>" or "<@U024BE7LH|jane>"; people paste those too.
_SLACK_MENTION_RE = re.compile(r"^<@([A-Za-z0-9]+)(?:\|[^>]*)?>$")


def parse_slack_user_id(text: str | None) -> str | None:
    """Return a Slack member ID like "U024BE7LH" (blank gives None)."""
    raw = _clean(text)
    if not raw:
        return None
    match = _SLACK_MENTION_RE.match(raw)
    value = (match.group(1) if match else raw).upper()
    if not _SLACK_ID_RE.match(value):
        raise AnswerError(
            f"{_quote(raw)} is not a Slack member ID; it looks like \"U024BE7LH\" "
            "(in Slack, open the person's profile, choose ⋮ and then Copy member ID)"
        )
    return value
