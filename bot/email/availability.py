"""Weekly availability written in plain words, turned into the slots the flows store.

People answering by email write "Tuesdays and Thursdays after 3:30", "M/W after school, F mornings",
"any day except Wednesdays" or "Martes y jueves después de las 3:30" rather than "Tue 15:30-17:00".
`read_availability` reads such an answer and says how sure it is: slots it is certain of, slots it only
proposes (a misspelt day, "usually"), and a specific question when something can't be read safely
(a day without a time, "most days", a planning period whose time the program hasn't set). It never raises.
`parse_availability` is the strict form for callers that want slots or an `AnswerError`.

How words are read (the school day comes from `BellTimes`, a program's bell schedule):

* day names and abbreviations in the program's languages come from the CLDR data in Babel (wide, abbreviated
  and short, format and stand-alone), with plurals ("Tuesdays", "les jeudis", "montags", "segundas");
  "M/W/F", "MWF", "Tu/Th", "T/Th" and day ranges ("Mon-Wed") too. Short forms that are also everyday words
  ("do", "so", "mar", "sat") count only where they clearly name a day (a list like "Di/Do", a capital, a time after).
* no day named: every weekday; "weekdays", "every day", "any day": Mon-Fri; "weekends": Sat and Sun.
* "not Fridays", "no Mondays", "except Wednesdays", "Fridays are out", "can't do Fri": that day is never booked;
  after a universal ("any afternoon but Wed", "every day but Friday") "but" means "except".
* "before school" / "mornings", "after school" / "afternoons", "lunch", "planning period": the bell times.
  A time next to one of these refines it ("mornings before 8", "after school until 5").
* "after 3:30": until the end of the school day, or for an hour when that is later; "before 8": the hour
  before; a single time ("at 3", "3pm"): that hour. 12-hour times without am/pm are read inside the school day.
* days and times pair up in the order written: "Mon 3-4pm and Wed mornings", "3-4pm on Mon and Wed"; a time alone
  after a comma refines the day just named ("Mercoledì pomeriggio, dopo le 15" is Wednesday from 3).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_day_names, get_month_names
from rapidfuzz import fuzz, process

from bot.flows.parsers import DAY_NAMES, AnswerError, Slot, parse_slots

__all__ = [
    "DEFAULT_LANGUAGES",
    "AvailabilityReading",
    "BellTimes",
    "describe_slots",
    "fold",
    "format_slots",
    "parse_availability",
    "read_availability",
]

DEFAULT_LANGUAGES = ("en", "es", "fr", "de", "pt", "nl", "it")
WEEKDAYS = (0, 1, 2, 3, 4)
_EXAMPLE = '"Tuesdays and Thursdays after 3:30" or "Mon 15:00-16:00"'


@dataclass(frozen=True)
class BellTimes:
    """A program's school day, in minutes after local midnight."""

    before_school: tuple[int, int] = (7 * 60, 8 * 60)  # the hour before the first bell at most schools
    after_school: tuple[int, int] = (15 * 60 + 30, 17 * 60)  # from dismissal until staff usually leave
    lunch: tuple[int, int] = (12 * 60, 12 * 60 + 45)
    planning_period: tuple[int, int] | None = None  # unknown unless the program sets it: then we ask
    day_start: int = 7 * 60  # 12-hour times without am/pm are read inside day_start..day_end
    day_end: int = 17 * 60
    time_zone: str = "America/Los_Angeles"  # the zone times are written in; another zone named in an answer is asked about


@dataclass(frozen=True)
class AvailabilityReading:
    """What an availability answer says, and how sure the reading is."""

    slots: tuple[Slot, ...] = ()
    unsure: tuple[str, ...] = ()  # why the slots are only a proposal ('you wrote "wensdays"', "usually")
    doubts: tuple[str, ...] = ()  # questions to ask back; while there is one, nothing is certain
    excluded: tuple[int, ...] = ()  # days the person ruled out
    mentions_days: bool = False  # a day, "weekdays", "most days" or a part of the school day was named
    unread: tuple[str, ...] = ()  # words no day, time or negation accounts for ("every", "staff", "meeting")

    @property
    def certain(self) -> bool:
        """True when the slots can be saved as they are."""
        return bool(self.slots) and not self.unsure and not self.doubts


def fold(text: str) -> str:
    """Lower case without accents, character for character (the same length, so positions still match)."""
    out = []
    for char in text:
        plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        low = plain.lower() if len(plain) == 1 else char.lower()
        out.append(low if len(low) == 1 else char)
    return "".join(out).replace("’", "'")


# ---------------------------------------------------------------- day names (CLDR via Babel)

# Everyday words that are also short day forms; they count only where they clearly name a day.
_WEAK_WORDS = {"sat", "sun", "mar", "mer", "jeu", "ven", "sam", "sab", "dom", "seg", "ter", "qua", "qui", "sex", "die", "son",
               "segunda", "terca", "quarta", "quinta", "sexta"}  # "segunda lengua", "quarta elementare": second, fourth
# English letters people use in timetables: "MWF", "T/Th", "TR" (R is Thursday, registrar style).
_EN_CODES = {"m": 0, "mo": 0, "t": 1, "tu": 1, "w": 2, "we": 2, "th": 3, "r": 3, "f": 4, "fr": 4, "sa": 5, "su": 6}
# Words that sit close to a day name but are not one.
_NOT_DAYS = {"sundae", "sundaes", "montage", "monday's", "today", "someday", "weekday", "weekdays", "friends", "money"}


@dataclass(frozen=True)
class _Forms:
    strong: dict[str, int]  # form -> day (0=Mon), safe anywhere
    weak: dict[str, int]  # short forms that are everyday words too
    wide: tuple[str, ...]  # full names, for spotting misspellings


@lru_cache(maxsize=16)
def _forms(languages: tuple[str, ...]) -> _Forms:
    strong: dict[str, int] = {}
    weak: dict[str, int] = {}
    ranked: dict[str, tuple[int, int]] = {}  # form -> (rank, day): a fuller form wins over a shorter one elsewhere

    def add(form: str, day: int, rank: int) -> None:
        form = fold(form).strip(".").strip()
        if not form or (form in ranked and ranked[form][0] <= rank):
            return
        ranked[form] = (rank, day)

    for language in languages:
        for rank, width in enumerate(("wide", "abbreviated", "short")):
            for context in ("format", "stand-alone"):
                try:
                    names = get_day_names(width, context, language)
                except (ValueError, LookupError):
                    continue
                for day, name in names.items():
                    add(name, day, rank)
                    if width == "wide":
                        folded = fold(name)
                        add(folded + "s", day, rank)  # Tuesdays, les jeudis, montags, maandags, sábados
                        if folded.endswith("-feira"):  # segunda-feira: segunda, segundas, segundas-feiras
                            stem = folded[: -len("-feira")]
                            for extra in (stem, stem + "s", stem + "s-feiras", stem + " feira"):
                                add(extra, day, rank)
    if "en" in languages:
        for day, extras in enumerate((("mon", "mons"), ("tue", "tues"), ("wed", "weds"), ("thu", "thur", "thurs"), ("fri", "fris"), ("sat",), ("sun",))):
            for extra in extras:
                add(extra, day, 1)
    for form, (rank, day) in ranked.items():
        if form not in _WEAK_WORDS and (rank == 0 or len(form) >= 3):
            strong[form] = day
        else:
            weak[form] = day
    wide = tuple(form for form, (rank, _day) in ranked.items() if rank == 0 and len(form) >= 5)
    return _Forms(strong, weak, wide)


# ---------------------------------------------------------------- words for times and parts of the day

def _alts(*phrases: str) -> str:
    """A regex alternation of phrases, longest first, spaces matching any run of spaces."""
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in sorted(set(phrases), key=len, reverse=True))


_PERIOD_WORDS = {
    "before_school": (
        "before school", "before class", "before classes", "morning", "mornings", "in the morning", "early mornings",
        "antes de la escuela", "antes de clases", "antes de las clases", "antes de clase", "por la manana", "manana", "mananas",
        "avant l'ecole", "avant les cours", "le matin", "matin", "matins", "vor der schule", "vor dem unterricht", "morgens",
        "vormittags", "antes das aulas", "de manha", "manha", "manhas", "voor school", "voor de lessen", "'s ochtends",
        "ochtend", "ochtends", "prima della scuola", "prima delle lezioni", "mattina", "mattine", "la mattina", "di mattina",
    ),
    "after_school": (
        "after school", "after class", "after classes", "afternoon", "afternoons", "in the afternoon",
        "despues de la escuela", "despues de clases", "despues de las clases", "despues de clase", "por la tarde", "tarde", "tardes",
        "apres l'ecole", "apres les cours", "l'apres-midi", "apres-midi", "nach der schule", "nach dem unterricht", "nachmittags",
        "depois das aulas", "a tarde", "de tarde", "na school", "na de lessen", "'s middags", "middag", "middags",
        "dopo la scuola", "dopo scuola", "dopo le lezioni", "pomeriggio", "il pomeriggio", "di pomeriggio",
        # the end of the school day named by what happens then
        "after dismissal", "after the bell", "after the last bell", "after last bell", "after the kids leave", "after the students leave",
        "once the kids leave", "once the students leave", "after the final bell", "despues de la salida", "a la salida", "apres la sortie",
        "nach schulschluss", "nach unterrichtsschluss", "na schooltijd", "depois da saida", "dopo l'uscita",
    ),
    "lunch": (
        "lunch", "lunchtime", "lunch time", "lunch break", "at lunch", "almuerzo", "hora del almuerzo", "hora de almuerzo",
        "hora de comida", "dejeuner", "pause de midi", "pause midi", "mittagspause", "almoco", "hora do almoco",
        "lunchpauze", "pranzo", "pausa pranzo", "midi", "le midi", "entre midi et deux",
    ),
    "planning_period": (
        "planning period", "planning time", "plan period", "prep period", "prep time", "conference period", "free period",
        "hora de planificacion", "periodo de planificacion", "heure de preparation", "freistunde", "hora de planejamento",
        "tussenuur", "ora buca",
    ),
    "evening": ("evening", "evenings", "in the evening", "por la noche", "le soir", "abends", "a noite", "'s avonds", "avond", "la sera"),
}
_PERIOD_OF = {fold(p): name for name, phrases in _PERIOD_WORDS.items() for p in phrases}
_ALL_DAYS = (
    "weekday", "weekdays", "every day", "everyday", "each day", "daily", "any day", "all week", "school days", "every weekday",
    "todos los dias", "cualquier dia", "entre semana", "tous les jours", "chaque jour", "n'importe quel jour", "en semaine",
    "jeden tag", "taglich", "werktags", "alle tage", "todos os dias", "qualquer dia", "dias uteis", "elke dag", "iedere dag",
    "doordeweeks", "ogni giorno", "tutti i giorni", "qualsiasi giorno",
)
_WEEKENDS = ("weekend", "weekends", "fin de semana", "fines de semana", "le week-end", "week-end", "week-ends", "wochenende", "fim de semana", "fins de semana", "fine settimana")
_VAGUE_DAYS = (
    "most days", "some days", "most weeks", "sometimes", "occasionally", "it depends", "depends", "varies", "it varies",
    "casi todos los dias", "la mayoria de los dias", "la mayoria de dias", "algunos dias", "a veces", "depende",
    "la plupart des jours", "certains jours", "parfois", "ca depend", "ca depend", "meistens", "an den meisten tagen", "manchmal",
    "an manchen tagen", "kommt darauf an", "a maioria dos dias", "quase todos os dias", "alguns dias", "as vezes",
    "de meeste dagen", "sommige dagen", "soms", "hangt ervan af", "quasi tutti i giorni", "la maggior parte dei giorni",
    "alcuni giorni", "a volte", "dipende",
)
_HEDGES = (
    "usually", "generally", "normally", "typically", "probably", "mostly", "maybe", "perhaps", "i think", "flexible",
    "anytime", "any time", "whenever", "normalmente", "generalmente", "por lo general", "quizas", "tal vez", "d'habitude",
    "generalement", "normalement", "peut-etre", "normalerweise", "vielleicht", "geralmente", "talvez", "meestal", "misschien",
    "di solito", "solitamente", "forse",
)
_OPEN_HEDGES = {"anytime", "any time", "whenever", "flexible"}
_NEG_BEFORE = (
    "not", "no", "never", "except", "except for", "excluding", "other than", "apart from", "besides", "without", "but not",
    "menos", "excepto", "salvo", "nunca", "sauf", "pas", "jamais", "ausser", "außer", "nicht", "kein", "keine", "nie",
    "exceto", "nao", "behalve", "niet", "geen", "nooit", "tranne", "eccetto", "non", "mai",
)
_NEG_AFTER = (
    "are out", "is out", "are bad", "is bad", "no good", "are no good", "don't work", "doesn't work", "do not work",
    "does not work", "won't work", "are busy", "is busy", "are impossible", "is impossible", "impossible", "are taken",
    "is taken", "are booked", "is booked", "nicht", "niet", "no", "non", "nao", "pas", "are not possible", "not possible",
)
_NEG_EITHER = (
    "can't", "cant", "cannot", "can not", "unable", "unavailable", "not available", "busy", "no puedo", "je ne peux pas",
    "kann nicht", "nao posso", "kan niet", "non posso",
)
_CONJ = ("and", "or", "y", "o", "et", "ou", "und", "oder", "e", "en", "of", "&", "+", "plus")
_DAY_TO = ("-", "to", "through", "thru", "a", "al", "bis", "tot", "au", "ate")

_TIME = r"(?:(?<![\d:.]){h}(?:(?:[:.h]|u)(?P<{n}m>\d{{2}}))?(?!\d)(?:\s*(?P<{n}s>a\.?m\b\.?|p\.?m\b\.?|h(?:rs?|oras?|eures?)?\b|uhr\b|uur\b|u\b|ore\b))?|(?P<{n}noon>noon|midday|mediodia|midi|mittag)\b)"


def _time(name: str) -> str:
    return _TIME.format(h=rf"(?P<{name}h>\d{{1,2}})", n=name)


_ART = r"(?:(?:las|la|les|le|l'|the|die|den|de|ore|le\s+ore|as|o)\s+)?"
_FROM = _alts("from", "between", "de", "desde", "entre", "von", "van", "dalle", "das", "dalle ore", "tra", "fra")
_RANGE_TO = _alts("-", "–", "—", "to", "until", "till", "til", "thru", "through", "and", "a", "y", "e", "et", "und", "bis", "tot", "al", "alle", "as", "ate")
_AFTER = _alts("after", "from", "starting", "starting at", "since", "despues de", "a partir de", "desde", "apres", "des", "ab", "nach", "vanaf", "na", "dopo", "dalle", "depois de", "depois das", "a partir das", "later than")
_BEFORE = _alts("before", "until", "till", "til", "by", "antes de", "antes das", "avant", "jusqu'a", "vor", "bis", "voor", "prima delle", "prima di", "fino alle", "entro le", "earlier than")
_AT = _alts("at", "a las", "a la", "um", "om", "alle", "as", "a", "vers", "around", "about")


def _phrase(words: Sequence[str]) -> str:
    return rf"(?<![\w']){_alts(*(fold(w) for w in words))}(?![\w'])"


_TOKEN_RE = re.compile(
    rf"""
    (?P<range>(?:(?<![\w])(?:{_FROM})\s+{_ART})?{_time("a")}(?:\s*(?:{_RANGE_TO})\s*|[ ]*\t[ \t]*){_ART}{_time("b")})
  | (?P<after>(?<![\w])(?:{_AFTER})\s+{_ART}{_time("c")})
  | (?P<before>(?<![\w])(?:{_BEFORE})\s+{_ART}{_time("d")})
  | (?P<period>{_phrase(list(_PERIOD_OF))})
  | (?P<all>{_phrase(_ALL_DAYS)})
  | (?P<weekends>{_phrase(_WEEKENDS)})
  | (?P<vague>{_phrase(_VAGUE_DAYS)})
  | (?P<hedge>{_phrase(_HEDGES)})
  | (?P<neg_either>{_phrase(_NEG_EITHER)})
  | (?P<neg_after>{_phrase([p for p in _NEG_AFTER if " " in p or "'" in p])})
  | (?P<compound>(?<![\w])[a-z]{{1,3}}\.?(?:\s*[/&+]\s*[a-z]{{1,3}}\.?)+(?![\w]))
  | (?P<single>(?:(?<![\w])(?:{_AT})\s+{_time("e")})|{_time("f")})
  | (?P<sep>[;.!?\n]|\bbut\b|\bpero\b|\bmais\b|\baber\b|\bmaar\b)
  | (?P<word>[a-z][a-z']*(?:-(?:feiras?|midi|ends?))?)(?P<dot>\.(?![\d]))?
  | (?P<comma>,)
  | (?P<dash>[-–—])
    """,
    re.VERBOSE,
)
_GRADES_RE = re.compile(
    r"\b(?:grades?|gr\.?)\s*\d{1,2}(?:\s*(?:-|to|through|and|&)\s*\d{1,2})?\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)?(?:\s*(?:-|to|and|&)\s*\d{1,2}(?:st|nd|rd|th)?)?\s*(?:grades?|graders?)\b"
    r"|\b\d+\s*(?:mentees?|people|teachers|students|kids|years?|weeks?|minutes?|mins?)\b",
    re.IGNORECASE,
)
_NEG_BEFORE_SET = {fold(w) for w in _NEG_BEFORE}
_EXCEPT_WORDS = {"except", "excluding", "besides", "menos", "excepto", "salvo", "sauf", "ausser", "exceto", "behalve", "tranne", "eccetto"}
_NEG_AFTER_SET = {fold(w) for w in _NEG_AFTER if " " not in w}
_CONJ_SET = set(_CONJ)
_DAY_TO_SET = set(_DAY_TO)


@dataclass(frozen=True)
class _Time:
    minutes: int  # as written; 1-12 o'clock stays ambiguous unless `meridiem` is set or `clock24`
    meridiem: str | None  # "am" | "pm" | None
    clock24: bool  # "16h", "07:30", "15 Uhr": no am/pm to decide


@dataclass(frozen=True)
class _Spec:
    kind: str  # range | after | before | single | period
    first: _Time | None = None
    second: _Time | None = None
    period: str | None = None


@dataclass
class _Tok:
    kind: str  # days | xdays | time | sep | comma | conj | dash | neg_before | neg_after | neg_either | hedge | vague | word
    value: object = None
    start: int = 0
    end: int = 0
    typo: str | None = None  # the misspelt word a day was read from
    weak: bool = False
    upper: bool = False  # written with a capital


def _read_time(match: re.Match[str], name: str) -> _Time | None:
    if match[f"{name}noon"]:
        return _Time(12 * 60, "pm", True)
    hours, minutes = int(match[f"{name}h"]), int(match[f"{name}m"] or 0)
    suffix = (match[f"{name}s"] or "").replace(".", "").strip()
    meridiem = suffix if suffix in ("am", "pm") else None
    if minutes > 59 or hours > 24 or (hours == 24 and minutes) or (meridiem and not 1 <= hours <= 12):
        return None
    written = match[f"{name}h"]
    clock24 = meridiem is None and (hours > 12 or hours == 0 or (len(written) == 2 and written.startswith("0")))
    return _Time(hours * 60 + minutes, meridiem, clock24)


def _tokens(text: str, languages: tuple[str, ...]) -> list[_Tok]:
    original = text
    folded = fold(text)
    forms = _forms(languages)
    found: list[_Tok] = []
    for match in _TOKEN_RE.finditer(folded):
        start, end = match.span()
        kind = match.lastgroup
        if kind == "range":
            first, second = _read_time(match, "a"), _read_time(match, "b")
            found.append(_Tok("time", _Spec("range", first, second) if first and second else None, start, end))
        elif kind in ("after", "before", "single"):
            name = {"after": "c", "before": "d"}.get(kind) or ("e" if match["eh"] or match["enoon"] else "f")
            time = _read_time(match, name)
            if kind == "single" and name == "f" and time is not None and not (match["fs"] or match["fm"] or match["fnoon"]):
                continue  # a bare number ("2", "7") is not a time without "at" or a clock form
            found.append(_Tok("time", _Spec(kind, time) if time else None, start, end))
        elif kind == "period":
            found.append(_Tok("time", _Spec("period", period=_PERIOD_OF[" ".join(match[0].split())]), start, end))
        elif kind == "all":
            found.append(_Tok("days", list(WEEKDAYS), start, end))
        elif kind == "weekends":
            found.append(_Tok("days", [5, 6], start, end))
        elif kind in ("vague", "hedge", "neg_either", "neg_after", "sep", "comma", "dash"):
            found.append(_Tok(kind, " ".join(match[0].split()), start, end))
        elif kind == "compound":
            found.extend(_compound(match[0], original[start:end], start, forms))
        elif (joined := _day_and_part(match["word"], forms)) is not None:
            day, split, period = joined
            found.append(_Tok("days", [day], start, start + split, upper=original[start:start + 1].isupper()))
            found.append(_Tok("time", _Spec("period", period=period), start + split, match.end("word")))
            if match["dot"]:
                found.append(_Tok("sep", ".", match.end("word"), end))
        else:
            word_end = match.end("word")
            tok = _word(match["word"] + (match["dot"] or ""), original[start:end], start, forms)
            found.append(tok)
            if match["dot"] and not _abbreviation(tok, match["word"]):
                tok.end = word_end
                found.append(_Tok("sep", ".", word_end, end))  # a full stop, not an abbreviation's dot
    _accept_weak_days(found)
    _day_ranges(found)
    _exceptive_but(found)
    return found


_UNIVERSAL_WORDS = {"any", "every", "all", "each", "anytime"}


def _exceptive_but(found: list[_Tok]) -> None:
    """ "any afternoon but Wed", "every day but Friday": after a universal, "but" before a day means "except"."""
    universal = False
    for index, tok in enumerate(found):
        if tok.kind == "sep" and tok.value == "but":
            following = next((t for t in found[index + 1 :] if t.kind != "conj"), None)
            if universal and following is not None and following.kind == "days":
                tok.kind = "neg_before"
                continue
        if tok.kind == "sep":
            universal = False
        elif (tok.kind == "word" and tok.value in _UNIVERSAL_WORDS) or (tok.kind == "days" and tok.value == list(WEEKDAYS)):
            universal = True


# Dutch and German write a day and a part of it as one word: "woensdagmiddag", "Dienstagnachmittag", "montagmorgens".
_DAY_PART_SUFFIXES = {
    "ochtend": "before_school", "morgen": "before_school", "vormittag": "before_school", "voormiddag": "before_school",
    "middag": "after_school", "namiddag": "after_school", "nachmittag": "after_school", "mittag": "lunch",
    "avond": "evening", "abend": "evening",
}  # fmt: skip


def _day_and_part(word: str, forms: _Forms) -> tuple[int, int, str] | None:
    """(day, where the part starts, part of the day) for a day written together with a part of it, or None."""
    for suffix, period in _DAY_PART_SUFFIXES.items():
        for ending in (suffix, suffix + "s"):
            stem = word[: -len(ending)]
            if word.endswith(ending) and len(stem) >= 5 and stem in forms.strong:
                return forms.strong[stem], len(stem), period
    return None


def _abbreviation(tok: _Tok, word: str) -> bool:
    """True when a dot after a word belongs to it ("lun.", "Mo.") rather than ending a sentence."""
    return tok.kind == "days" and len(word) <= 4 and tok.typo is None


def _day_of(part: str, forms: _Forms, *, codes: bool) -> int | None:
    part = part.strip(".")
    if part in forms.strong:
        return forms.strong[part]
    if part in forms.weak:
        return forms.weak[part]
    return _EN_CODES.get(part) if codes else None


def _compound(folded: str, original: str, start: int, forms: _Forms) -> list[_Tok]:
    """ "M/W/F", "Tu/Th", "Di/Do": every part a day, or else read as separate words."""
    parts = re.split(r"\s*[/&+]\s*", folded)
    days = [_day_of(part, forms, codes=True) for part in parts]
    if all(day is not None for day in days):
        return [_Tok("days", list(dict.fromkeys(days)), start, start + len(folded))]
    out = []
    for match in re.finditer(r"[a-z]+\.?|[/&+]", folded):
        piece = match[0]
        if piece in "/&+":
            out.append(_Tok("conj", piece, start + match.start(), start + match.end()))
        else:
            out.append(_word(piece, original[match.start() : match.end()], start + match.start(), forms))
    return out


def _word(folded: str, original: str, start: int, forms: _Forms) -> _Tok:
    end = start + len(folded)
    dotted = folded.endswith(".")
    word = folded.rstrip(".")
    word = word[:-2] if word.endswith("'s") else word
    upper = original[:1].isupper()
    if word in forms.strong:
        return _Tok("days", [forms.strong[word]], start, end, upper=upper)
    if word in forms.weak:
        return _Tok("days", [forms.weak[word]], start, end, weak=not dotted or len(word) < 3, upper=upper)
    letters = original.rstrip(".")
    # Timetable letters, only in capitals: "MWF", "TTh", "TR", and a lone "F" before a time ("F mornings").
    if letters[:1].isupper() and len(letters) <= 6:
        pieces = re.findall(r"Th|Tu|[MTWRF]", letters)
        if "".join(pieces) == letters:
            days = [_EN_CODES[p.lower()] for p in pieces]
            if len(set(days)) == len(days):
                return _Tok("days", days, start, end, weak=len(days) == 1, upper=True)
    if word in _NEG_BEFORE_SET:
        return _Tok("neg_before" if word not in _NEG_AFTER_SET else "neg_word", word, start, end)
    if word in _NEG_AFTER_SET:
        return _Tok("neg_after", word, start, end)
    if word in _CONJ_SET:
        return _Tok("conj", word, start, end)
    if word in _DAY_TO_SET:
        return _Tok("to", word, start, end)
    if len(word) >= 5 and word.isalpha() and word not in _NOT_DAYS and forms.wide:
        best = process.extractOne(word, forms.wide, scorer=fuzz.ratio, score_cutoff=80)
        if best is not None:
            day = forms.strong[best[0]]
            return _Tok("days", [day], start, end, typo=original.rstrip("."))
    return _Tok("word", word, start, end)


def _accept_weak_days(found: list[_Tok]) -> None:
    """Short forms that are everyday words ("do", "mar", "F") count only where they clearly name a day."""
    meaningful = [t for t in found if t.kind not in ("conj", "comma")]
    place = {id(t): i for i, t in enumerate(meaningful)}
    for index, tok in enumerate(found):
        if tok.kind != "days" or not tok.weak:
            continue
        position = place[id(tok)]
        before = meaningful[position - 1] if position else None
        after = meaningful[position + 1] if position + 1 < len(meaningful) else None
        neighbour_day = any(n is not None and n.kind == "days" and n.upper for n in (before, after))
        # "quarta e sexta das 15": a whole day name that is also an ordinal counts next to a time or another day.
        whole_name = tok.end - tok.start >= 5 and after is not None and after.kind in ("time", "days")
        if whole_name or (tok.upper and (neighbour_day or (after is not None and after.kind == "time"))):
            tok.weak = False
        else:
            found[index] = _Tok("word", None, tok.start, tok.end)


def _day_ranges(found: list[_Tok]) -> None:
    """ "Mon-Wed", "lunes a miércoles": one run of days."""
    index = 0
    while index + 2 < len(found):
        first, link, last = found[index : index + 3]
        if first.kind == "days" and last.kind == "days" and len(first.value) == 1 and len(last.value) == 1 and (link.kind == "dash" or link.kind == "to"):
            a, b = first.value[0], last.value[0]
            found[index : index + 3] = [_Tok("days", [(a + step) % 7 for step in range((b - a) % 7 + 1)], first.start, last.end, typo=first.typo or last.typo)]
        else:
            index += 1


# ---------------------------------------------------------------- negation, clauses and windows


def _apply_negation(found: list[_Tok]) -> list[str]:
    """Turn days that are ruled out into `xdays`; a negation is scoped to its comma-separated piece.

    Returns the pieces of text whose negation reaches a time rather than a day ("not before 4"), which are asked about.
    """
    troubles: list[str] = []
    piece: list[_Tok] = []

    def close() -> None:
        prefix = False
        days_seen: list[_Tok] = []
        negated_time = False
        for tok in piece:
            if tok.kind in ("neg_before", "neg_either", "neg_word"):
                prefix = True
                if tok.kind in ("neg_either",):
                    for earlier in days_seen:
                        earlier.kind = "xdays"
                elif tok.kind == "neg_word" and days_seen and tok is not piece[0]:
                    for earlier in days_seen:  # "los viernes no", "freitags nicht"
                        earlier.kind = "xdays"
                    prefix = False
            elif tok.kind == "neg_after":
                for earlier in days_seen:
                    earlier.kind = "xdays"
            elif tok.kind == "days":
                if prefix:
                    tok.kind = "xdays"
                else:
                    days_seen.append(tok)
            elif tok.kind == "time" and prefix and not any(t.kind == "xdays" for t in piece):
                negated_time = True
        if negated_time:
            troubles.append("not")
        # "except the first of the month", "sauf quand j'ai surveillance": an exception that names no day or time
        # changes the answer in a way nothing here can read.
        for index, tok in enumerate(piece):
            if tok.kind == "neg_before" and tok.value in _EXCEPT_WORDS and not any(t.kind in ("days", "xdays", "time") for t in piece[index + 1 :]):
                troubles.append(tok.value)
        piece.clear()

    for tok in found:
        if tok.kind in ("sep", "comma"):
            close()
        else:
            piece.append(tok)
    close()
    # A clause with ruled-out days keeps its times for the days still free ("any day except Wed after school");
    # times that only follow ruled-out days ("not Fridays after 3") go nowhere.
    return troubles


def _clauses(found: list[_Tok]) -> list[tuple[list[int], list[_Spec], bool]]:
    """Pair days with times in the order written; a clause is days-then-times or times-then-days.

    Each clause also says whether its times follow ruled-out days only ("not Fridays after 3"): those belong to no day.
    """
    clauses: list[tuple[list[int], list[_Spec], bool]] = []
    days: list[int] = []
    specs: list[_Spec] = []
    dead = False
    times_first = False
    excluded_in_piece = False
    previous = None

    continues = False  # this clause follows a comma after days with times: "Mercoledì pomeriggio, dopo le 15"

    def flush() -> None:
        nonlocal days, specs, dead, times_first, continues
        if continues and specs and not days and not dead and clauses:
            # Times alone after a comma refine the days just named rather than every weekday.
            before_days, before_specs, before_dead = clauses[-1]
            clauses[-1] = (before_days, before_specs + specs, before_dead)
        else:
            clauses.append((days, specs, dead and not days))
        days, specs, dead, times_first, continues = [], [], False, False, False

    for tok in found:
        if tok.kind in ("sep", "comma"):
            if days and specs:
                flush()
                continues = tok.kind == "comma"
            elif tok.kind == "sep":
                continues = False
            previous, excluded_in_piece = None, False
            continue
        if tok.kind == "xdays":
            excluded_in_piece = True
        elif tok.kind == "days":
            if specs and days and not (times_first and previous == "days"):
                flush()
            days += [day for day in tok.value if day not in days]
            previous = "days"
        elif tok.kind == "time":
            if specs and days and times_first and previous == "days":
                flush()
            if not specs and not days:
                times_first = True
            if excluded_in_piece and not days:
                dead = True
            specs.append(tok.value)
            previous = "time"
    if days or specs:
        flush()
    return clauses


def _resolve(time: _Time, near: tuple[int, int]) -> int:
    """Minutes after midnight; 1-12 o'clock without am/pm is the reading nearest the window `near` (ties: pm)."""
    if time.clock24 or time.minutes // 60 == 0 or time.minutes // 60 > 12:
        return time.minutes
    am = time.minutes % (12 * 60)
    pm = am + 12 * 60
    if time.meridiem:
        return am if time.meridiem == "am" else pm

    def distance(minutes: int) -> int:
        return max(near[0] - minutes, 0, minutes - near[1])

    return am if distance(am) < distance(pm) else pm


def _candidates(time: _Time) -> list[int]:
    if time.clock24 or time.meridiem or time.minutes // 60 == 0 or time.minutes // 60 > 12:
        return [_resolve(time, (0, 0))]
    am = time.minutes % (12 * 60)
    return [am, am + 12 * 60] if time.minutes // 60 != 12 else [12 * 60 + time.minutes % 60]


def _range(first: _Time, second: _Time, near: tuple[int, int]) -> tuple[int, int] | None:
    """A range read as a whole: of the readings that run forwards (at most 10 hours), the one nearest the school day."""

    def distance(minutes: int) -> int:
        return max(near[0] - minutes, 0, minutes - near[1])

    options = [(a, b) for a in _candidates(first) for b in _candidates(second) if a < b and b - a <= 10 * 60]
    if not options:
        return None
    return min(options, key=lambda pair: (distance(pair[0]) + distance(pair[1]), -pair[0]))


def _period(name: str, bell: BellTimes) -> tuple[int, int] | None:
    return {
        "before_school": bell.before_school,
        "after_school": bell.after_school,
        "lunch": bell.lunch,
        "planning_period": bell.planning_period,
        "evening": (bell.day_end, min(bell.day_end + 120, 24 * 60)),
    }[name]


def _window(spec: _Spec, bell: BellTimes, around: _Spec | None) -> tuple[int, int] | None:
    """A time spec as (start, end); `around` is a part of the day it refines ("mornings before 8")."""
    school = (bell.day_start, bell.day_end)
    base = _period(around.period, bell) if around is not None else None
    near = base or school
    if spec.kind == "period":
        return _period(spec.period, bell)
    if spec.kind == "range":
        return _range(spec.first, spec.second, near)
    time = _resolve(spec.first, near)
    if spec.kind == "after":
        end = base[1] if base and base[1] > time else max(bell.day_end, time + 60)
        return time, min(end, 24 * 60)
    if spec.kind == "before":
        start = base[0] if base and base[0] < time else time - 60
        return max(start, 0), time
    return time, min(time + 60, 24 * 60)


def _windows(specs: list[_Spec], bell: BellTimes) -> list[tuple[_Spec, tuple[int, int] | None]]:
    """Each spec's window; a part of the day next to a time is refined by it rather than read on its own."""
    out: list[tuple[_Spec, tuple[int, int] | None]] = []
    used: set[int] = set()
    for index, spec in enumerate(specs):
        if index in used:
            continue
        if spec.kind == "period":
            neighbour = next((j for j in (index + 1, index - 1) if 0 <= j < len(specs) and j not in used and specs[j].kind != "period"), None)
            if neighbour is not None:
                used.add(neighbour)
                out.append((specs[neighbour], _window(specs[neighbour], bell, spec)))
                continue
        out.append((spec, _window(spec, bell, None)))
    return out


def _quote(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return f'"{text[: limit - 1].rstrip()}…"' if len(text) > limit else f'"{text}"'


@lru_cache(maxsize=16)
def _dates_re(languages: tuple[str, ...]) -> re.Pattern[str]:
    """A calendar date with a year ("Mon, Nov 23, 2026 at 9:00 AM", "Montag, 23. November 2026 um 09:00 Uhr"), folded.

    A date names one day, not a weekly slot: quote headers that survive in a reply must not read as availability.
    """
    months: set[str] = set()
    for language in languages:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                try:
                    names = get_month_names(width, context, language)
                except (ValueError, LookupError):
                    continue
                months.update(fold(name).strip(".").strip() for name in names.values())
    forms = _forms(languages)
    day = _alts(*(form for form in (*forms.strong, *forms.weak) if len(form) >= 2))
    month = _alts(*(m for m in months if m))
    year = r"(?:19|20)\d{2}"
    number = r"\d{1,2}(?:st|nd|rd|th|er|e|o|\.)?"
    date = (
        rf"(?:{number}\s*(?:de\s+)?(?:{month})\.?,?\s*(?:de\s+)?{year}|(?:{month})\.?\s+{number},?\s+{year}"
        rf"|{year}-\d{{2}}-\d{{2}}|\d{{1,2}}[/.]\d{{1,2}}[/.]{year})"
    )
    weekday = rf"(?:(?:{day})\.?,?\s+(?:(?:den|le|el|il|de|the)\s+)?)?"
    clock = (
        rf"(?:,?\s*(?:{_alts('at', 'um', 'a las', 'a la', 'as', 'a', 'om', 'alle', 'alle ore', 'kl.')})?\s*\d{{1,2}}[:.h]\d{{2}}(?::\d{{2}})?"
        rf"(?:\s*[ap]\.?m\b\.?)?(?:\s*(?:uhr|h|u)\b)?(?:\s*(?:gmt|utc)\s*(?:[+-]\s*\d{{1,2}}(?::?\d{{2}})?)?)?)?"
    )
    return re.compile(rf"(?<![\w]){weekday}{date}{clock}(?![\w])")


# Schedules that rotate ("A days", "B-day", "A/B days", "every other day") or repeat less than weekly ("every other
# Friday", "fortnightly", "the first Tuesday of the month") don't fall on fixed weekdays: ask.
_ROTATING_RE = re.compile(
    r"\b[AB](?:\s*/\s*[AB])?(?:-days?\b|\s+days\b)|\b(?:on|an|every|each)\s+[AB]\s+day\b|\b[AB][- ]weeks?\b|\b[Ww]eek\s+[AB]\b"
    r"|\b(?:odd|even|alternating|alternate|rotating|every other)\s+(?:days?|weeks?|schedule)\b",
)
_LESS_THAN_WEEKLY_RE = re.compile(
    r"(?<![\w'])(?:every (?:other|second|third|2nd|3rd)|alternate|alternating|fortnightly|biweekly|bi-weekly|twice a month|once a month|monthly"
    r"|(?:first|second|third|fourth|last|1st|2nd|3rd|4th)\s+(?:\w+\s+)?(?:of|in)\s+(?:the|each|every)\s+month|of the month"
    r"|cada dos semanas|cada quince dias|quincenal\w*|una semana si y otra no|mensual\w*|(?:primer|segundo|ultimo)\w*\s+(?:\w+\s+)?del mes|del mes\b"
    r"|tous les quinze jours|une semaine sur deux|toutes les deux semaines|un \w+ sur deux|bimensuel\w*|mensuel\w*|du mois"
    r"|alle zwei wochen|alle 14 tage|jede(?:n)? zweite(?:n)?|vierzehntagig\w*|monatlich|des monats"
    r"|a cada duas semanas|de quinze em quinze dias|quinzena\w*|semana sim,? semana nao|mensal\w*|do mes"
    r"|om de week|om de twee weken|tweewekelijks|een keer per maand|maandelijks|van de maand"
    r"|ogni due settimane|a settimane alterne|quindicinal\w*|una volta al mese|mensil\w*|del mese)(?![\w'])"
)
# Time zones people name after a time ("4pm ET", "15:00 CET", "3:30 Pacific"). Abbreviations count only in capitals.
_ZONE_ABBREVIATIONS = {
    "ET": "America/New_York", "EST": "America/New_York", "EDT": "America/New_York", "CT": "America/Chicago", "CST": "America/Chicago",
    "CDT": "America/Chicago", "MT": "America/Denver", "MST": "America/Denver", "MDT": "America/Denver", "PT": "America/Los_Angeles",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "AKST": "America/Anchorage", "HST": "Pacific/Honolulu",
    "GMT": "Europe/London", "BST": "Europe/London", "UTC": "UTC", "WET": "Europe/Lisbon", "CET": "Europe/Paris", "CEST": "Europe/Paris",
    "MEZ": "Europe/Berlin", "MESZ": "Europe/Berlin", "EET": "Europe/Athens", "IST": "Asia/Kolkata", "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney", "AWST": "Australia/Perth", "NZST": "Pacific/Auckland",
}  # fmt: skip
_ZONE_NAMES = {
    "eastern": "America/New_York", "central": "America/Chicago", "mountain": "America/Denver", "pacific": "America/Los_Angeles",
    "new york": "America/New_York", "chicago": "America/Chicago", "denver": "America/Denver", "california": "America/Los_Angeles",
    "london": "Europe/London", "uk": "Europe/London", "paris": "Europe/Paris", "madrid": "Europe/Madrid", "berlin": "Europe/Berlin",
    "lisbon": "Europe/Lisbon", "lisboa": "Europe/Lisbon", "amsterdam": "Europe/Amsterdam", "rome": "Europe/Rome", "roma": "Europe/Rome",
    "brasilia": "America/Sao_Paulo", "mexico": "America/Mexico_City", "india": "Asia/Kolkata", "sydney": "Australia/Sydney",
}  # fmt: skip
_ZONE_RE = re.compile(
    r"(?<![\w])(?P<abbr>" + "|".join(sorted(_ZONE_ABBREVIATIONS, key=len, reverse=True)) + r")(?![\w])"
    r"|(?i:(?<![\w])(?P<name>" + "|".join(sorted(_ZONE_NAMES, key=len, reverse=True)) + r")\s+(?:standard\s+|daylight\s+)?time(?![\w]))"
    r"|(?i:(?<=\d|m)\s*(?P<after>" + "|".join(sorted(_ZONE_NAMES, key=len, reverse=True)) + r")(?![\w]))"
    r"|(?i:(?P<generic>time ?zone|hora (?:del|de) (?:este|centro|pacifico)|heure de (?:paris|l'est)|fuseau horaire|zeitzone|fuso horario|tijdzone|fuso orario))"
)


def _other_zone(text: str, bell_zone: str) -> str | None:
    """A time zone named in the text that is not the program's own ("4pm ET" for a school on Pacific time), or None."""
    for found in _ZONE_RE.finditer(text):
        if found["generic"]:
            return found[0].strip()
        named = found["abbr"] or found["name"] or found["after"]
        zone = _ZONE_ABBREVIATIONS.get(named) or _ZONE_NAMES.get(named.lower())
        try:
            same = all(
                datetime(2026, month, 15, 12, tzinfo=ZoneInfo(zone)).utcoffset() == datetime(2026, month, 15, 12, tzinfo=ZoneInfo(bell_zone)).utcoffset()
                for month in (1, 7)
            )
        except (ZoneInfoNotFoundError, ValueError):
            same = False
        if not same:
            return found[0].strip()
    return None


def _blank(text: str, pattern: re.Pattern[str], folded: str | None = None) -> str:
    """`text` with what `pattern` finds (in `folded`, when given) replaced by spaces, so positions still match."""
    spans = [m.span() for m in pattern.finditer(text if folded is None else folded)]
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _day_list(days: Sequence[int]) -> str:
    names = [DAY_NAMES[day] for day in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def read_availability(text: str | None, *, bell: BellTimes = BellTimes(), languages: Sequence[str] = DEFAULT_LANGUAGES) -> AvailabilityReading:
    """Read a weekly availability answer in plain words; never raises, says what it is unsure of instead."""
    raw = " ".join(str(text or "").split())
    if not raw:
        return AvailabilityReading(doubts=(f"When are you usually free each week? e.g. {_EXAMPLE}",))
    try:
        strict = parse_slots(re.sub(r"\s*[\n,]\s*(?=[A-Za-z]{3})", ";", str(text or "").strip()))
    except AnswerError:
        strict = ()
    if strict and all(_in_school_day(slot, bell) for slot in strict):
        return AvailabilityReading(slots=strict, mentions_days=True)
    # A strict-looking slot outside the school day ("Wed 3:45-4:30" in a pasted table is 3:45 am to the strict form) is
    # read again in plain words, where a time without am/pm falls inside the school day.
    languages = tuple(languages) or DEFAULT_LANGUAGES
    cleaned = _GRADES_RE.sub(lambda m: " " * len(m[0]), str(text or "")[:2000])
    cleaned = _blank(cleaned, _dates_re(languages), fold(cleaned))
    rotating = _ROTATING_RE.search(cleaned)
    if rotating:
        return AvailabilityReading(
            doubts=(f"Your days rotate ({_quote(rotating[0])}); which weekdays and times are you usually free? e.g. {_EXAMPLE}",), mentions_days=True,
        )
    sparse = _LESS_THAN_WEEKLY_RE.search(fold(cleaned))
    if sparse:
        return AvailabilityReading(
            doubts=(f"Matches meet every week; you wrote {_quote(sparse[0])}: which weekday and time can you make every week? e.g. {_EXAMPLE}",),
            mentions_days=True,
        )
    zone = _other_zone(cleaned, bell.time_zone)
    if zone is not None:
        return AvailabilityReading(
            doubts=(f'You wrote "{zone}": which days and times is that in the school\'s local time ({bell.time_zone.split("/")[-1].replace("_", " ")})? e.g. {_EXAMPLE}',),
            mentions_days=True,
        )
    found = _tokens(cleaned, languages)
    troubles = _apply_negation(found)
    unsure = [f'you wrote {_quote(t.typo, 20)}, which I read as {_day_list(t.value)}' for t in found if t.kind in ("days", "xdays") and t.typo]
    # "Anytime" or "whenever" next to a time is emphasis ("anytime Tuesday between 12 and 3"); alone it is no time at all.
    timed = any(t.kind == "time" and t.value is not None for t in found)
    unsure += [f'you said "{t.value}"' for t in found if t.kind == "hedge" and not (timed and t.value in _OPEN_HEDGES)]
    vague = [t.value for t in found if t.kind == "vague"]
    excluded = sorted({day for t in found if t.kind == "xdays" for day in t.value})
    mentions = any(t.kind in ("days", "xdays", "vague") or (t.kind == "time" and t.value is not None and t.value.kind == "period") for t in found)
    doubts: list[str] = []
    if troubles:
        doubts.append(f"I couldn't safely read what you can't do in {_quote(raw)}; which days and times are you free? e.g. {_EXAMPLE}")
    if vague:
        doubts.append(f'Which days do you mean by "{vague[0]}"? Please name them, e.g. "Mon, Tue and Thu before school".')
    if any(t.kind == "time" and t.value is None for t in found):
        doubts.append(f"A time in {_quote(raw)} isn't a time of day I can read; write it like \"3:30pm\" or \"15:30\".")
    slots: list[Slot] = []
    named_days: list[int] = []
    for days, specs, dead in _clauses([t for t in found if t.value is not None or t.kind in ("sep", "comma")]):
        if dead:
            continue
        named_days += days
        if not specs:
            if days and not vague:
                names = _day_list(days)
                doubts.append(f'What times on {names}? e.g. "{names} 15:30-16:30" or "{names} after 3:30"')
            continue
        for spec, window in _windows(specs, bell):
            if window is None and spec.kind == "period" and spec.period == "planning_period":
                doubts.append('What time is your planning period? e.g. "planning period 10:15-11:00".')
                continue
            if window is None or window[1] <= window[0]:
                doubts.append(f"A time range in {_quote(raw)} ends before it starts; which times did you mean? e.g. {_EXAMPLE}")
                continue
            for day in days or WEEKDAYS:
                slot = Slot(day, window[0], window[1])
                if day not in excluded and slot not in slots:
                    slots.append(slot)
    if vague and not named_days:
        slots = []  # "most days" names no day: the weekdays would be a guess
    if not slots and not doubts:
        if excluded:
            doubts.append(f"Which days and times are you free, apart from {_day_list(excluded)}? e.g. {_EXAMPLE}")
        else:
            doubts.append(f"I couldn't find a day or a time in that; when are you usually free? e.g. {_EXAMPLE}")
    late = [slot for slot in slots if not _in_school_day(slot, bell)]
    if late:
        unsure.append(f"{describe_slots(late)} is outside the school day")
    unread = _unread(found)
    return AvailabilityReading(tuple(slots), tuple(dict.fromkeys(unsure)), tuple(dict.fromkeys(doubts)), tuple(excluded), mentions, unread)


def _unread(found: list[_Tok]) -> tuple[str, ...]:
    """Words no token accounts for, in the sentences and clauses that name a day or a time (the rest of a long reply, or
    "and I'd like someone in my subject" after a comma, is not the answer)."""
    unread: list[str] = []
    sentence: list[_Tok] = []
    for tok in [*found, _Tok("sep")]:
        if tok.kind not in ("sep", "comma"):
            sentence.append(tok)
            continue
        if any(t.kind in ("days", "xdays", "time") for t in sentence):
            unread += [t.value for t in sentence if t.kind == "word" and isinstance(t.value, str)]
        sentence = []
    return tuple(unread)


def _in_school_day(slot: Slot, bell: BellTimes) -> bool:
    """True for a slot inside the school day, give or take an hour before it and the evening after it."""
    return slot.start >= bell.day_start - 60 and slot.end <= bell.day_end + 180


def parse_availability(text: str | None, *, bell: BellTimes = BellTimes(), languages: Sequence[str] = DEFAULT_LANGUAGES) -> tuple[Slot, ...]:
    """Weekly slots from an answer in the strict form ("Tue 15:30-16:30; Thu 07:30-08:15") or in plain words.

    Raises `AnswerError` with the question to ask unless the reading is certain.
    """
    reading = read_availability(text, bell=bell, languages=languages)
    if reading.doubts:
        raise AnswerError(reading.doubts[0])
    if reading.unsure:
        raise AnswerError(f"please check: {reading.unsure[0]}; did you mean {describe_slots(reading.slots)}?")
    return reading.slots


def format_slots(slots: tuple[Slot, ...] | list[Slot]) -> str:
    """Slots in the strict form the flows read: "Tue 15:30-17:00; Thu 15:30-17:00"."""
    return "; ".join(str(slot) for slot in slots)


def describe_slots(slots: Sequence[Slot]) -> str:
    """Slots for a person to read back, days with the same hours together: "Mon and Wed 15:30-16:30; Fri 07:00-07:45"."""
    groups: dict[tuple[int, int], list[int]] = {}
    for slot in slots:
        groups.setdefault((slot.start, slot.end), []).append(slot.day)
    return "; ".join(f"{_day_list(days)} {str(Slot(0, start, end))[4:]}" for (start, end), days in groups.items())
