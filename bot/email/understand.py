"""Whole sentences in an email reply, read into the answers the flows accept, and never a guess saved silently.

Teachers answer in sentences: "Yes I'd love to mentor! I can take two.", "Approved, but only one mentee",
"we haven't met, she hasn't replied", "I teach 7th and 8th grade", "M/W after school, F mornings".
`read_reply` turns a reply into a `Reading` with four parts:

* values: answers read with confidence, as text the flow's own parser accepts (saved at once);
* proposals: answers read with low confidence (a misspelt day or topic, "usually", "mostly"), saved only once
  the person confirms;
* doubts: one specific question to ask back, for an answer that can't be read safely;
* understood: plain words of what was read, for the echo.

A question answered explicitly (a numbered or labelled line) is read from its answer; any other question is
filled from the whole text only when the text clearly answers it (a capacity next to "take", a topic after
"I need help with", grades next to "grade"), so what people volunteer is kept and not asked again. A role ruled out ("mentor, not mentee") is not chosen, a
deferral ("not sure yet, can I let you know?") is asked about, and a question ("can we move it to Thursday?") is
not read as a report of what happened.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.email.availability import DEFAULT_LANGUAGES, BellTimes, describe_slots, fold, format_slots, read_availability
from bot.email.coverage import asks_something, corrected, has_condition, unaccounted, without_questions
from bot.email.questions import NumberedQuestion
from bot.flows.model import SKIP_WORDS, Choice
from bot.flows.parsers import GRADE_BANDS, AnswerError, parse_grade_bands

__all__ = ["DEFAULT_LANGUAGES", "BellTimes", "Reading", "read_reply"]

MAX_READ = 8000  # characters of one answer, or of a whole reply, that are read


def _bounded(text: object) -> str:
    """At most MAX_READ characters, with runs of digits cut to six: no answer here needs a longer number (a time, a
    grade, a count), and Python refuses int() of one over 4,300 digits."""
    return re.sub(r"\d{7,}", lambda run: run[0][:6], str(text or "")[:MAX_READ])


@dataclass(frozen=True)
class Reading:
    """What a reply says, question by question, and how sure the reading is."""

    values: dict[str, str]  # key -> text the flow's parser accepts; certain, saved at once
    proposals: dict[str, str]  # key -> a value read with low confidence: not saved until the person confirms
    doubts: dict[str, str]  # key -> one specific question to ask back
    understood: dict[str, str]  # key -> plain words of what was read, for the echo
    remarks: dict[str, str] = field(default_factory=dict)  # key -> the person's own words beyond the answer, for a person to read


@dataclass(frozen=True)
class _Read:
    value: str | None = None
    proposal: str | None = None
    doubt: str | None = None
    understood: str | None = None
    remark: str | None = None


_NOTHING = _Read()

# ---------------------------------------------------------------- words

_YES = (
    "yes", "y", "yep", "yeah", "yup", "sure", "ok", "okay", "absolutely", "of course", "definitely", "certainly",
    "count me in", "i'm in", "im in", "sounds good", "happy to", "glad to", "i'd love to", "i would love to", "love to",
    "si", "claro", "por supuesto", "oui", "bien sur", "volontiers", "ja", "gerne", "gern", "sim", "com certeza",
    "graag", "zeker", "certo", "volentieri",
)
_NO = (
    "no", "n", "nope", "nah", "no thanks", "no thank you", "not now", "not this term", "not this time", "not this year",
    "not this semester", "i'll pass", "pass", "non", "nein", "nao", "nee", "no grazie", "neither",
)
_NUMBERS = {
    "zero": 0, "none": 0, "no": 0, "one": 1, "a single": 1, "two": 2, "a couple of": 2, "three": 3, "four": 4, "five": 5,
    "a pair of": 2, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4,
    "une": 1, "deux": 2, "trois": 3, "quatre": 4, "ein": 1, "eine": 1, "einen": 1, "zwei": 2, "drei": 3, "vier": 4,
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "quatro": 4, "een": 1, "twee": 2, "drie": 3, "due": 2, "tre": 3,
    "quattro": 4, "cero": 0, "null": 0, "nul": 0,
}
_NUMBER = r"(?:\d{1,2}|" + "|".join(re.escape(w) for w in sorted(_NUMBERS, key=len, reverse=True) if w not in ("no", "none")) + r")"
_COUNTED = (
    r"(?:mentees?|mentorees?|people|teachers?|colleagues?|new teachers?|folks|persons?|mentorados?|menteees?|personas?|personnes?|personen|persone"
    r"|collegues?|kollegen|kolleginnen|kollegin|colegas?|collega'?s?|colleghi|docentes?|docenti|profes?|profs?|enseignante?s?|lehrkrafte"
    r"|lehrer(?:innen)?|leerkrachten|leraren|professores?|professeurs?|professori|starters?|beginners?|debutante?s?|novatos?)"
)
# "une seule personne", "a single colleague", "einen einzigen Kollegen": one, with a word that stresses it.
_ONLY_ADJECTIVE = r"(?:seule?s?|single|sol[ao]|einzigen?|einzige|enkele|only|unic[oa])"


def _phrases(words: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(fold(w)).replace(r"\ ", r"\s+") for w in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{alternatives})(?![\w'])")


_YES_RE = _phrases(_YES)
_NO_START_RE = re.compile(r"^\s*(?:" + "|".join(re.escape(w) for w in sorted(_NO, key=len, reverse=True)) + r")(?![\w'])")


def _words(text: str) -> str:
    """Folded (lower case, no accents), one space between words, curly quotes straightened."""
    return " ".join(fold(text).split())


def _number_of(word: str) -> int | None:
    word = word.strip().lower()
    if word.isdecimal():
        return int(word)
    return _NUMBERS.get(" ".join(word.split()))


def _topic_value(choice: Choice, number: int) -> str:
    """A picked option as its flow parser reads it; its number when the value holds a list separator."""
    return str(number) if re.search(r"[;,&\n]|\band\b", choice.value, re.IGNORECASE) else choice.value


# ---------------------------------------------------------------- role, capacity, approval


_MENTEE_RE = re.compile(
    r"\b(?:mentee|menteee|mentoree|be(?:ing)? mentored|get mentored|(?:get|have|want|need|like|love|appreciate|request) (?:a |some )?mentor(?:ing|ship)?\b(?! (?:a|someone|others|new|colleagues?|teachers?|people)\b)"
    r"|mentorad[oa]|mentoree|tutorad[oa]|receive (?:mentoring|support)|be supported|learn from)\b"
)
_MENTOR_RE = re.compile(r"\b(?:mentor|mentoring|mentora|mentore|be a mentor|to mentor|support a colleague|coach)\b(?![\s-]+(?:leads?|coordinators?|program(?:me)?s?|training|trainings)\b)")
# A role that is ruled out: "I can't mentor", "mentor, not mentee", "rather than a mentee", "pas comme mentor".
_NOT_ROLE_RE = re.compile(
    r"\b(?:can'?t|cannot|can not|not able to|unable to|won'?t|don'?t want to|not|no|rather than|instead of|pas|nicht|niet|nao|non)"
    r"\s+(?:be\s+|being\s+|to\s+be\s+|to\s+|as\s+|als\s+|comme\s+|como\s+|come\s+)?(?:an?\s+)?"
    r"(?:mentee|menteee|mentoree|mentored|mentor(?:ing|a|in)?|mentorad[oa])\b"
)
# Not decided yet ("not sure yet", "can I let you know after the break?"): a deferral is asked about, never read as a yes.
_UNDECIDED_RE = _phrases((
    "not sure", "unsure", "not certain", "don't know yet", "dont know yet", "do not know yet", "don't know", "not decided", "undecided",
    "haven't decided", "let you know", "get back to you", "think about it", "thinking about it", "need to think", "still deciding",
    "no estoy segura", "no estoy seguro", "todavia no se", "no se todavia", "no se aun", "te aviso", "les aviso", "lo pienso",
    "je ne sais pas encore", "pas encore decide", "pas sure", "je vous dirai", "je reviens vers vous", "j'hesite",
    "weiss noch nicht", "weiss es noch nicht", "bin mir nicht sicher", "noch unsicher", "melde mich", "ich uberlege",
    "ainda nao sei", "nao tenho certeza", "nao sei ainda", "te aviso depois", "weet het nog niet", "weet nog niet", "twijfel",
    "laat het weten", "ik laat het", "non so ancora", "non sono sicura", "non sono sicuro", "vi faccio sapere", "ci penso",
))
_BOTH_RE = _phrases(("both", "mentor and mentee", "mentor and a mentee", "mentor/mentee", "ambos", "los dos", "les deux", "beides", "beide", "ambos", "os dois", "allebei", "entrambi", "tutti e due"))
# "Either", "whatever you need": a choice left to us, which can't be saved as "both" (that means two matches).
_EITHER_RE = _phrases((
    "either", "either one", "either role", "either way", "whichever", "whatever you need", "whatever you need most", "whatever works",
    "whatever is needed", "whatever helps", "wherever i'm needed", "where i'm needed", "wherever needed", "mentor or mentee",
    "mentee or mentor", "doesn't matter", "does not matter", "don't mind", "no preference", "up to you", "your call", "cualquiera",
    "me da igual", "lo que necesiten", "lo que haga falta", "peu importe", "comme vous voulez", "egal", "ist mir egal", "wie ihr wollt",
    "tanto faz", "o que precisarem", "maakt niet uit", "wat jullie nodig hebben", "indifferente", "come preferite", "quello che serve",
))
# A question ("Who do I talk to about becoming a mentor lead?") asks; its words are not an answer.
_QUESTION_SENTENCE_RE = re.compile(
    r"(?:^|(?<=[.!?\n—–]))\s*(?:who|what|where|when|why|how|which|is|are|am|do|does|did|can|could|would|should|will|may|quien|que|donde|cuando|como|"
    r"qui|quoi|ou|quand|comment|est-ce|wer|was|wo|wann|wie|quem|onde|wie|wat|waar|wanneer|hoe|chi|cosa|dove|quando|come)\b[^.!?\n]*\?"
)
_NONE_RE = _phrases((
    "neither", "not this term", "not this time", "not this year", "not this semester", "no thanks", "no thank you",
    "sit this one out", "sit out", "opt out", "i'll pass", "pass this time", "can't this term", "cannot this term",
    "not now", "none", "passer mon tour", "je passe mon tour", "not taking part", "not participating", "next term", "next year", "este trimestre no", "pas ce trimestre",
    "dieses mal nicht", "nicht dieses", "desta vez nao", "deze keer niet", "questa volta no", "ninguno", "aucun",
    "unfortunately not", "sadly not", "lamentablemente no", "desafortunadamente no", "malheureusement pas", "malheureusement non",
    "leider nicht", "leider nein", "infelizmente nao", "helaas niet", "helaas nee", "purtroppo no", "purtroppo non",
))
# "Dieses Halbjahr leider nicht", "ce semestre non", "dit jaar niet": a term named, then turned down.
_NOT_THIS_TERM_RE = re.compile(
    r"\b(?:this|dieses|diesem|ce|cette|este|esta|dit|deze|questo|quest')\s*(?:term|semester|year|time|round|halbjahr|jahr|schuljahr|mal"
    r"|trimester|semestre|trimestre|annee|ano|jaar|keer|schooljaar|anno|volta)\s+(?:\w+\s+)?(?:not|nicht|pas|non|niet|no|nao)"
    r"(?=\s*(?:[,.!;:—–-]|$|sorry|thanks|thank you|desolee?|leider|helaas|lo siento|purtroppo|infelizmente|merci|danke|gracias))"
)


def _yes_in(text: str) -> bool:
    """A yes in the text; a two-letter one ("si", "ja", "ok") only where it starts it, since French "si possible"
    means "if possible" and is no yes."""
    return any(
        (len(found[0]) > 2 or not text[: found.start()].strip(" ,.!")) and not re.search(r"\b(?:not|no|pas|nicht|niet|nao|non)\s+$", text[: found.start()])
        for found in _YES_RE.finditer(text)
    )


# "Option 2, please", "Opção 2", "nº 3": an option picked by its number.
_OPTION_NUMBER_RE = re.compile(
    r"^(?:option|opcao|opcion|optie|opzione|choice|number|numero|nummer|no\.?|nr\.?|#)\s*(\d)\b[\s,.!]*"
    r"(?:please|por favor|s'il vous plait|svp|bitte|alstublieft|graag|per favore)?[\s.!]*$"
)


def _read_role(item: NumberedQuestion, raw: str, person_role: str) -> _Read:
    text = _words(raw)
    options = {choice.value: choice for choice in item.options}
    label = {value: choice.label for value, choice in options.items()}
    bare = _OPTION_NUMBER_RE.sub(r"\1", text.strip(" .!)"))
    if bare.isdecimal() and 1 <= int(bare) <= len(item.options):
        choice = item.options[int(bare) - 1]
        return _Read(choice.value, understood=choice.label)
    cleaned = _NOT_ROLE_RE.sub(" ", _QUESTION_SENTENCE_RE.sub(" ", text))
    undecided = _UNDECIDED_RE.search(text)
    for pattern in _CAPACITY_RES:  # "I can take 3 mentees" names a number, not a role
        cleaned = pattern.sub(" ", cleaned)
    mentee = bool(_MENTEE_RE.search(cleaned))
    mentor = bool(_MENTOR_RE.search(_MENTEE_RE.sub(" ", cleaned)))
    either = _EITHER_RE.search(cleaned)
    if undecided:
        named = "both" if _BOTH_RE.search(cleaned) or (mentee and mentor) else "mentee" if mentee else "mentor" if mentor else None
        if named is not None and not either:
            return _Read(proposal=named, understood=label.get(named, named))
        return _Read(doubt=f'You wrote "{undecided[0]}"; no rush. When you know, reply: mentor, mentee, both, or not this term.')
    if _BOTH_RE.search(cleaned) or (mentee and mentor and not either):
        return _Read("both", understood=label.get("both", "Both"))
    if either:
        return _Read(doubt=f'You wrote "{either[0]}": would you like to be a mentor, a mentee, or both (matched both ways)?')
    if mentee:
        return _Read("mentee", understood=label.get("mentee", "Mentee"))
    if mentor:
        return _Read("mentor", understood=label.get("mentor", "Mentor"))
    if _NONE_RE.search(cleaned) or _NO_START_RE.match(cleaned) or _NOT_THIS_TERM_RE.search(cleaned):
        return _Read("none", understood=label.get("none", "Not this term"))
    if _yes_in(cleaned):
        if person_role in ("mentor", "mentee", "both"):
            return _Read(person_role, understood=label.get(person_role, person_role))
        return _Read(doubt="Glad you'd like to take part! As a mentor, a mentee, or both?")
    close = process.extractOne(bare, ["mentor", "mentee", "both", "neither"], scorer=fuzz.ratio, score_cutoff=75) if bare else None
    if close is not None:
        value = "none" if close[0] == "neither" else close[0]
        return _Read(proposal=value, understood=label.get(value, value))
    return _Read(doubt="How would you like to take part this term: as a mentor, a mentee, both, or not this term?")


# A number, or a range of two ("2-3", "two or three"), which is asked about rather than guessed.
_AMOUNT = rf"(?P<n>{_NUMBER})(?:\s*(?:-|–|/|or|to|o|ou|oder|of|a)\s*(?P<m>{_NUMBER}))?"
_NOT_A_COUNT = r"(?!\s*(?:(?:st|nd|rd|th)\b|:|\.\d|[-–/]\s*\d|pm|am|h\b|uhr\b|uur\b|ore\b|grade|days?\b|hours?\b|minutes?\b|o'?clock))"
_CAPACITY_RES = (
    re.compile(
        rf"\b(?:take|taking|have|mentor|support|handle|manage|work with|accept|host|cap(?:ped)?(?:\s+(?:it|that|them|him|her))?\s+at"
        rf"|(?:limit|keep)(?:\s+(?:it|that|them|him|her))?\s+to"
        rf"|(?:put|sign|count|pencil|mark|write)\s+me\s+(?:down\s+|in\s+|up\s+)?(?:for|as|with)"
        rf"|puedo\s+(?:con|tomar|aceptar|recibir|atender(?:\s+a)?|acompanar(?:\s+a)?)|je\s+peux\s+(?:en\s+)?(?:prendre|accompagner|suivre)"
        rf"|posso\s+(?:com|ficar\s+com|receber|acompanhar|prendere|seguire|seguirne)|ik\s+kan\s+er)"
        rf"\s+(?:on\s+)?(?:up to\s+|only\s+|just\s+|at most\s+|maybe\s+|hasta\s+|jusqu'a\s+)?{_AMOUNT}\b{_NOT_A_COUNT}"
    ),
    re.compile(rf"\b{_AMOUNT}\s+(?:more\s+|new\s+|{_ONLY_ADJECTIVE}\s+)?{_COUNTED}(?![\w])"),
    re.compile(
        rf"\b(?:only|just|max(?:imum)?|at most|up to|no more than|bis zu|maximal|nur|hochstens|seulement|au plus|au maximum|jusqu'a|solo|solamente"
        rf"|como maximo|hasta|apenas|no maximo|ate|alleen|slechts|maximaal|hoogstens|hooguit|soltanto|al massimo|fino a)\s+{_AMOUNT}\b{_NOT_A_COUNT}"
    ),
    re.compile(rf"\b{_AMOUNT}\s+(?:max(?:imum)?|at most|tops|maximo|maximum|maximal|höchstens|hochstens|no maximo|maximaal|al massimo)\b"),
)


def _capacity_in(text: str, extra: Sequence[re.Pattern[str]] = ()) -> list[int]:
    """Numbers of mentees a sentence names ("I can take two", "only 1 this time", "2 mentees"); both ends of a range."""
    found: list[int] = []
    for pattern in (*_CAPACITY_RES, *extra):
        for match in pattern.finditer(text):
            first, last = _number_of(match["n"]), _number_of(match["m"]) if match["m"] else None
            for number in (first, last) if last is not None and first is not None and last > first else (first,):
                if number is not None and number not in found:
                    found.append(number)
    return found


# An answer that opens with "none" and goes on about why: zero, when no other number is named.
_ZERO_FIRST_RE = re.compile(
    r"^\W*(?:none|zero|nobody|no one|not this (?:term|time|year|semester)|ninguno|ninguna|nadie|aucun|aucune|personne|keine|keinen|niemand"
    r"|nenhum|nenhuma|ninguem|geen|niemand|nessuno|nessuna)"
    r"(?:\s+(?:this|for now|right now|at the moment|este|esta|ce|cette|dieses|diesmal|deze|dit|questo|questa)"
    r"(?:\s+(?:time|term|year|semester|round|trimestre|semestre|annee|mal|halbjahr|keer|jaar|volta|anno))?)?\s*(?:[,.;:!—–-]|$)"
)


def _read_capacity(raw: str, *, explicit: bool) -> _Read:
    text = _words(raw)
    bare = text.strip(" .!")
    if explicit:
        if bare in ("no", "none", "zero", "0", "nobody", "no one", "not this term") or bare in SKIP_WORDS - {"skip", "pass", "-"}:
            return _Read("0", understood="0")
        text = re.sub(r"\bno one\b", "nobody", text)  # "no one" is nobody, not the number one
        numbers = [n for n in (_number_of(w) for w in re.findall(rf"\b{_NUMBER}\b", text)) if n is not None]
        if _ZERO_FIRST_RE.match(text):  # "None this time, I'm coaching the robotics team."
            if not numbers:
                return _Read("0", understood="0")
            return _Read(doubt=f"How many mentees can you take this term: {' or '.join(map(str, dict.fromkeys([0, *numbers])))}?")
        numbers = list(dict.fromkeys(numbers))
        if len(numbers) == 1 and len(text) <= 80:
            return _Read(str(numbers[0]), understood=str(numbers[0]))
        counted = _capacity_in(text)
        if len(counted) == 1:
            return _Read(str(counted[0]), understood=str(counted[0]))
        if re.search(r"\ba couple\b", text):
            return _Read(proposal="2", understood="2")
        if len(numbers) > 1:
            return _Read(doubt=f"How many mentees can you take: {' or '.join(map(str, numbers[:3]))}?")
        return _Read(doubt="How many mentees can you take this term? A number, e.g. 1 or 2 (0 means not this term).")
    counted = _capacity_in(text)
    if len(counted) == 1:
        return _Read(str(counted[0]), understood=str(counted[0]))
    if len(counted) > 1:
        return _Read(doubt=f"How many mentees can you take: {' or '.join(map(str, counted[:3]))}?")
    return _NOTHING


_DECLINE_RE = re.compile(
    r"\b(?:not approved?|don'?t approve|do not approve|can'?t approve|cannot approve|won'?t approve|decline[ds]?|declining|deny|denied|reject(?:ed)?|not this term|not at this time)"
    r"|\b(?:rechazad[oa]|refuse|abgelehnt|recusad[oa]|afgewezen|rifiutat[oa]|nein|nee)\b"
    # "No, ..." or "Non." as the answer; a "no"/"non"/"não" that starts a sentence ("Non conosco...") only negates its verb
    r"|(?:^|[\n.!?]\s*)(?:no|non|nao)\s*(?:[,.!;:—–-]|$|(?:thanks|thank you|merci|grazie|gracias|obrigad[oa])\b)|\b(?:say|saying) no\b"
    # a wish that they not take part: "I'd prefer she not mentor this term", "I'd rather he waited a year"
    r"|\b(?:prefer|rather)\b[^.!?\n]{0,30}\b(?:not|didn'?t|wait(?:ed)?|hold off)\b|\b(?:shouldn'?t|should not|can'?t|cannot)\s+(?:mentor|take on)\b"
    r"|\b(?:pas d'accord|nicht einverstanden|niet akkoord|no estoy de acuerdo|nao concordo|non sono d'accordo|no estoy conforme"
    r"|niet goedgekeurd|nicht genehmigt|non approvat[oa]|(?:no|non|nao)\s+(?:lo\s+|la\s+|o\s+|a\s+)?(?:apruebo|approvo|aprovo)|nao aprovad[oa]|no aprobad[oa]|pas approuvee?)\b"
)
_APPROVE_RE = re.compile(
    r"\b(?:approved?|approving|yes|ok|okay|fine|go ahead|sure|absolutely|of course|sounds good|happy to|all good|agreed|granted|no problem|si|oui|ja|sim"
    r"|aprobad[oa]|de acuerdo|sin problema|approuve|d'accord|c'est bon|genehmigt|einverstanden|in ordnung|aprovad[oa]|tudo bem|concordo|pode ser"
    r"|goedgekeurd|akkoord|prima|approvat[oa]|va bene|d'accordo|aprovo|apruebo|approvo|approuve|genehmige|keur goed|ik keur het goed)\b"
)


def _read_decision(item: NumberedQuestion, raw: str) -> tuple[_Read, _Read]:
    """The principal's decision, and the capacity when they approve a different number ("Approved, but only one mentee")."""
    text = _words(raw)
    label = {choice.value: choice.label for choice in item.options}
    bare = text.strip(" .!)")
    if bare.isdecimal() and 1 <= int(bare) <= len(item.options):
        choice = item.options[int(bare) - 1]
        return _Read(choice.value, understood=choice.label), _NOTHING
    if bare in label:
        return _Read(bare, understood=label[bare]), _NOTHING
    if bare in ("y", "n"):  # a one-letter reply from a phone
        value = "approve" if bare == "y" else "decline"
        return _Read(value, understood=label.get(value, value)), _NOTHING
    picked = next((m for m in _OPTION_LINE_RE.finditer(fold(raw)) if 1 <= int(m["n"]) <= len(item.options)), None)
    if picked is not None:
        return _decision_of(item.options[int(picked["n"]) - 1].value, picked["rest"], label)
    approve = bool(_APPROVE_RE.search(text))
    decline = bool(_DECLINE_RE.search(_NOT_NUMBER_NO.sub(" ", text)) or _NOT_THIS_TERM_RE.search(text))
    counted = _capacity_in(text, (_WITH_NUMBER_RE,))
    if approve and not decline and counted:
        if len(counted) > 1:
            return _Read("change", understood=label.get("change", "change")), _Read(doubt=f"How many mentees should they take: {' or '.join(map(str, counted[:3]))}?")
        return _Read("change", understood=label.get("change", "change")), _Read(str(counted[0]), understood=str(counted[0]))
    if re.search(r"\b(?:different number|fewer|less|more) (?:mentees|people)\b|\bchange\b", text) and not decline:
        return _Read("change", understood=label.get("change", "change")), _Read(doubt="How many mentees should they take?")
    if approve and not decline:
        return _Read("approve", understood=label.get("approve", "Approve")), _NOTHING
    if decline and not approve or (decline and _NOT_APPROVED_RE.search(text)):
        return _Read("decline", understood=label.get("decline", "Decline")), _NOTHING
    return _Read(doubt="Do you approve? Reply approve, decline, or approve with a different number of mentees."), _NOTHING


# A decline that names the approval it refuses ("not approved", "nicht einverstanden") wins over the approving word in it.
_NOT_APPROVED_RE = re.compile(
    r"\b(?:no|non|nao|nicht)\s+(?:lo\s+|la\s+|o\s+|a\s+)?(?:apruebo|approvo|aprovo)\b|\bne l'approuve pas\b|\bnot approved?|don'?t approve|can'?t approve|cannot approve|pas d'accord|nicht einverstanden|niet akkoord|niet goedgekeurd|nicht genehmigt"
    r"|non approvat[oa]|nao aprovad[oa]|no aprobad[oa]|pas approuvee?|no estoy de acuerdo|nao concordo|non sono d'accordo"
)
_NOT_NUMBER_NO = re.compile(r"\bno (?=more than|fewer than|less than)")
# "Yes with 1", "ok for two": a number of mentees after an approval.
_WITH_NUMBER_RE = re.compile(rf"\b(?:with|for|con|avec|pour|mit|com|met)\s+(?:only\s+|just\s+)?{_AMOUNT}\b{_NOT_A_COUNT}")
# An option picked by its number at the start of a line, and what follows it: "2 - one mentee only, she's new".
_OPTION_LINE_RE = re.compile(r"(?m)^\s*(?P<n>\d)\s*(?:[-–—.):,]|$)\s*(?P<rest>.*)$")


def _decision_of(value: str, rest: str, label: Mapping[str, str]) -> tuple[_Read, _Read]:
    """A decision picked by its number, with the number of mentees the rest of its line names."""
    counted = _capacity_in(rest, (_WITH_NUMBER_RE,)) if value in ("approve", "change") else []
    if counted:
        value = "change"
    decision = _Read(value, understood=label.get(value, value))
    if value != "change":
        return decision, _NOTHING
    if len(counted) == 1:
        return decision, _Read(str(counted[0]), understood=str(counted[0]))
    asked = f": {' or '.join(map(str, counted[:3]))}?" if counted else "?"
    return decision, _Read(doubt=f"How many mentees should they take{asked}")

# ---------------------------------------------------------------- check-in


# Meeting verbs, as people write them in each language (past participles and first person plural pasts).
_MEET_VERB = (
    r"(?:met|meet|meeting|connected|connect|got together|gotten together|caught up|talked|spoken|spoke|"
    r"reunido|visto|hablado|juntado|rencontres?|rencontrees?|vus?|vues|parle|retrouves?|getroffen|gesehen|gesprochen|unterhalten|"
    r"encontramos|encontrado|falado|conversado|ontmoet|gesproken|gezien|afgesproken|incontrat[ie]|vist[ie]|sentit[ie]|parlato)"
)
# Words between a "not" and the verb in the other languages: "no nos hemos visto", "nous ne nous sommes pas encore vus".
_NOT_MET_GAP = (
    r"(?:(?:uns|elkaar|nous|nos|se|ci|ancora|noch|nog|encore|ainda|todavia|aun|hemos|avons|haben|hebben|temos|siamo|abbiamo"
    r"|wir|we|on|s'est|sommes|gelukt|geklappt)\s+){0,3}"
)
_NOT_MET_RE = re.compile(
    rf"\b(?:haven'?t|have not|hasn'?t|has not|didn'?t|did not|never|not yet|yet to|still haven'?t) (?:\w+ )?{_MEET_VERB}\b|\bnot met\b"
    rf"|\b(?:no|pas|nicht|niet|nao|non)\s+{_NOT_MET_GAP}{_MEET_VERB}\b"
    r"|^\W*(?:(?:no|nee|nein|non|nao),?\s+)?(?:not yet|todavia no|aun no|pas encore|noch nicht|ainda nao|nog niet|non ancora)\b"
    # "not yet managed": the meeting hasn't happened
    r"|\b(?:nog niet gelukt|noch nicht geklappt|pas encore reussi|todavia no (?:hemos )?podido|ainda nao conseguimos|non ancora riusciti|haven'?t managed)\b"
)
_MET_RE = re.compile(
    r"^\W*(?:yes|yep|yeah|yup|si|oui|ja|sim|jawel)\b"
    r"|\b(?:we'?ve met|we have met|we met|met (?:up|once|twice|three times|weekly|every|last|on|yesterday|today)"
    r"|had (?:our|a|two|three) (?:first |second )?(?:meetings?|sessions?|chats?|conversations?|coffee)"
    r"|we (?:got together|caught up|sat down|talked|spoke|chatted|connected|touched base|had coffee|had lunch)|going (?:well|great|fine)|it'?s going well"
    r"|nos reunimos|nos vimos|nos juntamos|nos hemos (?:reunido|visto|juntado)|hemos hablado|hablamos|on s'est (?:vu|vus|vues|parle|rencontres?|retrouves?)"
    r"|nous nous sommes (?:rencontres|vus|parle|retrouves)|nous avons (?:discute|parle)"
    r"|(?:getroffen|gesehen|unterhalten|gesprochen)|nos encontramos|nos falamos|conversamos|nos reunimos|a gente se (?:encontrou|falou)"
    r"|(?:ontmoet|gesproken|gezien)|ci siamo (?:incontrati|visti|viste|sentiti|parlati))\b"
)
_RESCHEDULED_RE = re.compile(
    r"\b(?:resched\w*|postpon\w*|delay(?:ed)?|moved (?:it|our meeting|the meeting|things)?|move (?:it|our meeting|the meeting)"
    r"|push(?:ed)? (?:it |things |our meeting |the meeting )?back|bump(?:ed)? (?:it|our meeting|the meeting)|scheduled for|planned for|set up for"
    r"|meeting (?:next|on)|will meet|going to meet|next week|later this week|another day|another time"
    r"|reprogram\w*|aplaz\w*|pospus\w*|pospuest[oa]|posponer|cambiamos (?:la fecha|el dia)|la semana que viene|la proxima semana"
    r"|report(?:e|er|ee|ees|es|ons|ez)|repouss\w*|decal(?:e|er|ee|ons)|semaine prochaine"
    r"|verschoben|verlegt|vertagt|nachste woche"
    r"|remarc\w*|reagend\w*|adiad[oa]|adiamos|adiar|semana que vem|proxima semana"
    r"|verzet|verplaatst|uitgesteld|volgende week"
    r"|rimand\w*|spostat[oa]|rinviat[oa]|prossima settimana|settimana prossima)\b"
)
_HELP_RE = re.compile(
    r"\b(?:need help|could use (?:some )?help|help us|stuck|no (?:reply|response|answer)|hasn'?t (?:replied|responded|answered|gotten back)|has not (?:replied|responded)"
    r"|not (?:replying|responding)|doesn'?t (?:reply|respond|answer)|can'?t (?:reach|find a time|get hold)|ghost(?:ed|ing)|unresponsive"
    r"|necesitamos ayuda|besoin d'aide|brauchen hilfe|precisamos de ajuda|hulp nodig|abbiamo bisogno di aiuto|(?:pls|please|plz)\s+help"
    r"|ci serve (?:una mano|aiuto)|keep missing each other|nos falta ayuda|on a besoin d'un coup de main)\b"
    # a question asking for help, in any of the languages: "Kunnen jullie ons helpen?", "Pouvez-vous nous aider ?"
    r"|\b(?:help|helpen|helfen|aider|aidez|ayudar\w*|ayuden\w*|ajudar\w*|aiutar\w*|aiutateci)\b[^.!?\n]*\?"
)
_NOT_HAPPENING_RE = re.compile(r"\b(?:not (?:going to|gonna) (?:happen|work)|isn'?t (?:going to )?work(?:ing)?|won'?t (?:happen|work)|give up|giving up|cancel(?:led|ed)?|call it off|stop|end (?:it|the pairing)|left (?:the school|the district)|on leave|not happening|no va a funcionar|ne va pas marcher|wird nicht|nao vai dar|nao vai rolar|nao vai acontecer|gaat niet lukken|non funzionera)\b")


def _read_check_in(item: NumberedQuestion, raw: str) -> _Read:
    text = _words(raw)
    label = {choice.value: choice.label for choice in item.options}
    bare = text.strip(" .!)")
    if bare.isdecimal() and 1 <= int(bare) <= len(item.options):
        choice = item.options[int(bare) - 1]
        return _Read(choice.value, understood=choice.label)
    found = None
    # A question asks for something ("Can we move it to Thursday?") rather than telling what happened; only a call
    # for help counts there.
    told = " ".join(sentence for sentence in re.split(r"(?<=[.!?\n])", text) if not sentence.endswith("?"))
    if _NOT_HAPPENING_RE.search(told):
        found = "not_happening"
    elif _HELP_RE.search(text):
        found = "need_help"
    elif _RESCHEDULED_RE.search(told):
        found = "rescheduled"
    elif _NOT_MET_RE.search(told):
        found = None
    elif _MET_RE.search(told):
        found = "met"
    if found is None:
        exact = next((c for c in item.options if _words(c.label) == bare or c.value == bare.replace(" ", "_")), None)
        if exact is not None:
            return _Read(exact.value, understood=exact.label)
        if _NOT_MET_RE.search(text):
            return _Read(doubt="Sorry you haven't met yet. Have you rescheduled, do you need help, or is it not going to happen?", remark=raw.strip() or None)
        return _Read(doubt="How is it going? Reply: we met, we rescheduled, we need help, or it's not going to happen.")
    remark = raw.strip() if len(bare.split()) > 3 else None
    return _Read(found, understood=label.get(found, found), remark=remark)


# ---------------------------------------------------------------- survey statements

_LIKERT_CERTAIN = {
    5: (
        "strongly agree", "totally agree", "completely agree", "totalmente de acuerdo", "muy de acuerdo", "tout a fait d'accord", "stimme voll zu",
        "stimme voll und ganz zu", "concordo totalmente", "helemaal mee eens", "helemaal eens", "volledig eens", "volkomen eens", "molto d'accordo",
        "completamente d'accordo",
    ),
    4: ("agree", "de acuerdo", "d'accord", "stimme zu", "concordo", "mee eens", "eens", "d'accordo"),
    3: (
        "neither agree or disagree", "ni de acuerdo ni en desacuerdo", "ni d'accord ni pas d'accord", "ni d'accord ni en desaccord",
        "weder zustimmung noch ablehnung", "stimme weder zu noch nicht zu", "nem concordo nem discordo", "niet eens niet oneens",
        "niet mee eens niet mee oneens", "ne d'accordo ne in disaccordo",
    ) + ("neutral", "neither agree nor disagree", "neither", "neutro", "neutre", "weder noch", "neutraal", "neutrale"),
    2: ("disagree", "en desacuerdo", "pas d'accord", "stimme nicht zu", "discordo", "oneens", "niet mee eens", "niet eens", "in disaccordo", "non d'accordo"),
    1: (
        "strongly disagree", "totally disagree", "completely disagree", "totalmente en desacuerdo", "pas du tout d'accord", "stimme gar nicht zu",
        "discordo totalmente", "helemaal oneens", "helemaal niet eens", "per niente d'accordo",
    ),
}  # fmt: skip
_LIKERT_LOOSE = {
    5: ("definitely", "absolutely", "totally", "100%", "very much", "of course", "for sure", "a lot", "so much"),
    4: ("mostly", "yes", "yeah", "yep", "generally", "largely", "pretty much", "i think so", "usually", "si", "oui", "ja", "sim"),
    3: ("kind of", "sort of", "somewhat", "so-so", "so so", "meh", "not sure", "unsure", "maybe", "partly", "sometimes", "it depends", "okay", "ok", "more or less"),
    2: ("not really", "no", "not much", "not very", "rarely", "hardly", "nope", "non", "nein", "nao", "nee"),
    1: ("not at all", "never", "absolutely not", "definitely not", "no way", "nada", "pas du tout", "gar nicht", "de jeito nenhum", "helemaal niet", "per niente"),
}


_LIKERT_SHORT = {"sa": "5", "a": "4", "n": "3", "d": "2", "sd": "1"}


def _likert_match(text: str, table: Mapping[int, Sequence[str]]) -> int | None:
    """The score whose phrase appears earliest and longest in `text` (so "strongly agree" beats "agree")."""
    best: tuple[int, int, int] | None = None
    for score, phrases in table.items():
        for phrase in phrases:
            match = re.search(rf"(?<![\w']){re.escape(phrase)}(?![\w'])", text)
            if match and (best is None or (match.start(), -len(phrase)) < (best[0], -best[1])):
                best = (match.start(), len(phrase), score)
    return None if best is None else best[2]


# "5, 5, 4" or "5/5/4": one score per statement, in order.
_SCORES_RE = re.compile(r"\s*[1-5](?:\s*[,;/ ]\s*[1-5])+\s*[.!]?\s*")
_OUT_OF_FIVE_RE = re.compile(r"\s*[1-5]\s*/\s*5\s*[.!]?\s*")  # "4/5" is one score out of five
# "Strongly agree to all three!": one answer for every statement.
_TO_ALL_RE = re.compile(
    r"\b(?:(?:to|for|on|with)\s+(?:all|every|each|everything)|all\s+(?:three|four|five|3|4|5|of them|of the above)|across the board|a todo|a todas|para todo"
    r"|a tout|pour tout|avec tout|zu allem|bei allem|allem|a tudo|para tudo|com tudo|con todo|op alles|met alles|a tutto|su tutto|per tutto|con tutto)\b"
)


# "4 2) 3 3) 5", "agree 2. agree 3. neutral": the next statements' numbers written on the same line.
_INLINE_NUMBER_RE = re.compile(r"(?:^|\s)([1-9])\s*[).:-]\s+")
# Statements named by their place: "disagree on the first one, agree on the other two".
_PLACES = {
    0: r"first|1st|primer[oa]?|premiere?|erste[nr]?|eerste|primeir[oa]|prim[oa]",
    1: r"second|2nd|segund[oa]|deuxieme|zweite[nr]?|tweede|second[oa]",
    2: r"third|3rd|tercer[oa]?|troisieme|dritte[nr]?|derde|terceir[oa]|terz[oa]",
    -1: r"last|ultim[oa]|derniere?|letzte[nr]?|laatste",
}
_ANY_PLACE_RE = re.compile(r"\b(?:" + "|".join(_PLACES.values()) + r")\b")
_FIRST_TWO_RE = re.compile(r"\b(?:first two|first 2|ersten beiden|deux premieres?|primeros dos|dos primeros|eerste twee|primi due)\b")
_LAST_TWO_RE = re.compile(r"\b(?:last two|last 2|letzten beiden|deux dernieres?|ultimos dos|dos ultimos|laatste twee|ultimi due)\b")
_REST_RE = re.compile(
    r"\b(?:(?:the\s+)?others?(?:\s+(?:two|ones?|2))?|(?:the\s+)?rest|(?:the\s+)?remaining(?:\s+(?:two|ones?))?|both others|otros dos|otras dos|los otros|las otras"
    r"|les autres|les deux autres|die anderen(?: beiden)?|de andere(?: twee)?|de rest|os outros|as outras|gli altri|le altre)\b"
)
_CLAUSE_SPLIT_RE = re.compile(r"\s*(?:[,;]|\bbut\b|\band\b|\bpero\b|\bmais\b|\baber\b|\bmaar\b|\bma\b|\bmas\b)\s*")


def _likert_by_place(raw: str, likert: Sequence[str]) -> dict[str, str] | None:
    """Answers to statements named by their place ("agree on the first, neutral on the rest"), or None."""
    text = _words(raw)
    if not any(pattern.search(text) for pattern in (_ANY_PLACE_RE, _FIRST_TWO_RE, _LAST_TWO_RE, _REST_RE)):
        return None
    placed: dict[str, str] = {}
    rest_answer: str | None = None
    for clause in filter(None, _CLAUSE_SPLIT_RE.split(text.strip(" .!"))):
        if _likert_match(clause, _LIKERT_CERTAIN) is None and _likert_match(clause, _LIKERT_LOOSE) is None:
            return None
        if _FIRST_TWO_RE.search(clause):
            targets = list(likert[:2])
        elif _LAST_TWO_RE.search(clause):
            targets = list(likert[-2:])
        elif _REST_RE.search(clause):
            rest_answer = clause
            continue
        else:
            places = [index for index, words in _PLACES.items() if re.search(rf"\b(?:{words})\b", clause)]
            if len(places) != 1 or places[0] >= len(likert):
                return None
            targets = [likert[places[0]]]
        placed.update({key: clause for key in targets})
    if not placed:
        return None
    if rest_answer is not None:
        placed.update({key: rest_answer for key in likert if key not in placed})
    return placed


def _likert_list(raw: str, count: int) -> list[str] | None:
    """ "Agree, agree, strongly agree": one answer in words per statement, or None."""
    pieces = [piece.strip(" .!") for piece in re.split(r"\s*[,;/]\s*|\s+-\s+", raw.strip()) if piece.strip(" .!")]
    if not 2 <= len(pieces) <= count or all(piece.isdecimal() for piece in pieces):  # "5/5", "5, 4": read as scores
        return None
    if any(not re.fullmatch(r"[1-5]", piece) and _likert_match(_words(piece), _LIKERT_CERTAIN) is None for piece in pieces):
        return None
    if any(len(piece.split()) > 5 for piece in pieces):
        return None
    return pieces


def _spread_likert(answers: Mapping[str, str], questions: Sequence[NumberedQuestion]) -> dict[str, str]:
    """Answers to survey statements written once for several: "5, 5, 4", "agree, agree, neutral", "1) 4 2) 3 3) 5",
    "disagree on the first, agree on the rest" or "strongly agree to all three" on the first."""
    likert = [item.question.key for item in questions if _is_likert(item)]
    by_number = {item.number: item.question.key for item in questions}
    spread = dict(answers)
    for position, key in enumerate(likert):
        raw = str(answers.get(key) or "")
        rest = [k for k in likert[position + 1 :] if k not in answers]
        if not rest:
            continue
        parts = _INLINE_NUMBER_RE.split(raw)
        if len(parts) >= 3:
            numbers = [int(n) for n in parts[1::2]]
            keys = [by_number.get(n) for n in numbers]
            if all(k in rest for k in keys) and numbers == sorted(set(numbers)):
                spread.update({k: v.strip() for k, v in zip(keys, parts[2::2])})
                if parts[0].strip():
                    spread[key] = parts[0].strip()
                continue
        if position == 0 and (placed := _likert_by_place(raw, likert)) is not None:
            if key not in placed:
                del spread[key]
            spread.update(placed)
            continue
        if (listed := _likert_list(raw, len(rest) + 1)) is not None:
            spread.update(zip([key, *rest], listed))
            continue
        if _SCORES_RE.fullmatch(raw) and not _OUT_OF_FIVE_RE.fullmatch(raw):
            scores = re.findall(r"[1-5]", raw)
            if len(scores) <= len(rest) + 1:
                spread.update(zip([key, *rest], scores))
        elif _TO_ALL_RE.search(_words(raw)):
            spread.update({k: raw for k in rest})
    return spread


def _is_likert(item: NumberedQuestion) -> bool:
    return item.question.kind == "choice" and {c.value for c in item.options} == {"1", "2", "3", "4", "5"}


def _read_likert(item: NumberedQuestion, raw: str) -> _Read:
    text = _words(raw)
    label = {choice.value: choice.label for choice in item.options}
    number = re.fullmatch(r"\s*([1-5])(?:\s*(?:/|out of|of)\s*5)?[\s.!]*", text)
    if number:
        return _Read(number[1], understood=label.get(number[1], number[1]))
    short = _LIKERT_SHORT.get(text.strip(" .!"))
    if short is not None:  # "SA", "A", "N": the survey's own initials, only as the whole answer
        return _Read(short, understood=label.get(short, short))
    certain = _likert_match(text, _LIKERT_CERTAIN)
    loose = _likert_match(text, _LIKERT_LOOSE)
    negated = re.search(r"\b(?:don'?t|do not|doesn'?t|not) (?:really )?agree\b", text)
    if negated:
        return _Read(proposal="2", understood=label.get("2", "2"))
    if certain is not None and (loose is None or loose in (certain, 5) or certain in (1, 5)):
        return _Read(str(certain), understood=label.get(str(certain), str(certain)))
    if loose is not None:
        return _Read(proposal=str(loose), understood=label.get(str(loose), str(loose)))
    return _Read(doubt=f"How much do you agree, from 1 (strongly disagree) to 5 (strongly agree): \"{item.question.prompt}\"")


# ---------------------------------------------------------------- grade bands

_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
    "tenth": 10, "eleventh": 11, "twelfth": 12, "freshman": 9, "freshmen": 9, "sophomore": 10, "sophomores": 10,
    "junior": 11, "juniors": 11, "senior": 12, "seniors": 12, "k": 0, "kinder": 0, "kindergarten": 0, "kindy": 0, "tk": 0,
}
_SCHOOL_LEVELS = {"high school": ("9-12",), "middle school": ("6-8",), "junior high": ("6-8",), "preschool": ("PK",), "pre-k": ("PK",), "prek": ("PK",), "pre k": ("PK",)}
# "middle & high school", "elementary/middle schools": levels sharing one "school", each a level of its own.
_SHARED_SCHOOL_RE = re.compile(r"\b(middle|high|elementary|junior high)\s*(?:and|&|/|\+|or|,)\s*(?=(?:middle|high|elementary|junior high)\s+schools?\b)")
_GRADE_CONTEXT_RE = re.compile(r"\b(?:grades?|graders?|kinder\w*|kindy|high schools?|middle schools?|junior high|elementary|preschools?|pre-?k|tk|freshm[ae]n|sophomores?|juniors?|seniors?)\b")
_GRADE_TOKEN = r"(?:\d{1,2}(?:st|nd|rd|th)?|" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + r")"


def _band_of(grade: int) -> str:
    return "K-2" if grade <= 2 else "3-5" if grade <= 5 else "6-8" if grade <= 8 else "9-12"


# School years named the way other countries name them, as the US grade each one is: Dutch "groep 5" is grade 3,
# French "CM1" grade 4 and "5e" grade 7, Portuguese "4º ano" grade 4, Indian "Standard VI" grade 6.
_FRENCH_GRADES = {"cp": 1, "ce1": 2, "ce2": 3, "cm1": 4, "cm2": 5, "6e": 6, "6eme": 6, "5e": 7, "5eme": 7, "4e": 8, "4eme": 8, "3e": 9, "3eme": 9, "seconde": 10, "terminale": 12}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10, "xi": 11, "xii": 12}
_GROEP_RE = re.compile(r"\bgroep(?:en)?\s+(\d)(?:\s*(?:/|-|en|tot|t/m|,)\s*(\d))?\b")
_FRENCH_GRADE_RE = re.compile(r"(?<![\w])(" + "|".join(sorted(_FRENCH_GRADES, key=len, reverse=True)) + r")(?![\w])")
_ANO_RE = re.compile(r"\b(\d)\s*[oa°]?\s*ano\b")
_ROMAN_RE = re.compile(r"\b(?:standard|std|class)\.?\s+(" + "|".join(sorted(_ROMAN, key=len, reverse=True)) + r")\b(?:\s*(?:to|-|–|and|&)\s*(" + "|".join(sorted(_ROMAN, key=len, reverse=True)) + r")\b)?")


def _as_us_grades(text: str) -> str:
    """Folded text with other countries' school years written as US grades ("groep 5/6" -> "grade 3 and grade 4")."""

    def grades(first: int, last: int | None) -> str:
        numbers = range(first, (last if last is not None and last >= first else first) + 1)
        return " and ".join("grade k" if number <= 0 else f"grade {number}" for number in numbers)

    text = _GROEP_RE.sub(lambda m: grades(int(m[1]) - 2, int(m[2]) - 2 if m[2] else None), text)
    text = _ROMAN_RE.sub(lambda m: grades(_ROMAN[m[1]], _ROMAN[m[2]] if m[2] else None), text)
    text = _ANO_RE.sub(lambda m: grades(int(m[1]), None), text)
    return _FRENCH_GRADE_RE.sub(lambda m: grades(_FRENCH_GRADES[m[1]], None), text)


def _read_grades(raw: str, *, explicit: bool) -> _Read:
    text = _as_us_grades(_words(raw))
    if text != _words(raw):
        raw = text
    if explicit:
        try:
            bands = parse_grade_bands(raw)
        except AnswerError:
            bands = ()
        if bands:
            return _Read("; ".join(bands), understood=", ".join(bands))
    if not _GRADE_CONTEXT_RE.search(text) and not (explicit and re.search(_GRADE_TOKEN, text)):
        return _NOTHING if not explicit else _Read(doubt='Which grades do you teach? e.g. "K-2", "6-8" or "7th and 8th grade".')
    found: set[str] = set()
    unsure = False
    text = _SHARED_SCHOOL_RE.sub(r"\1 school and ", text)
    for level, bands in _SCHOOL_LEVELS.items():
        if re.search(rf"\b{re.escape(level)}s?\b", text):
            found.update(bands)
    if re.search(r"\belementary\b", text):
        found.update(("K-2", "3-5"))
        unsure = True  # which elementary grades is a guess
    span = re.compile(rf"\b(?P<a>{_GRADE_TOKEN})(?:\s*(?:-|–|to|through|thru)\s*(?P<b>{_GRADE_TOKEN}))?\b")
    scoped = text if explicit else " ".join(m[0] for m in re.finditer(rf"(?:\b(?:grades?|gr\.?)\s+(?:{_GRADE_TOKEN}[\s,&-]*(?:and|&|to|through|-|,)?\s*)+|(?:{_GRADE_TOKEN}[\s,&-]*(?:and|&|to|through|-|,)?\s*)+(?:grades?|graders?)\b|\b(?:kinder\w*|kindy|freshm[ae]n|sophomores?|juniors?|seniors?)\b(?:\s*(?:and|&|,)\s*{_GRADE_TOKEN})*)", text))
    for match in span.finditer(scoped):
        first = _grade_number(match["a"])
        last = _grade_number(match["b"]) if match["b"] else first
        if first is None or last is None or last < first:
            continue
        for grade in range(first, last + 1):
            found.add(_band_of(grade))
    if not found:
        return _Read(doubt='Which grades do you teach? e.g. "K-2", "6-8" or "7th and 8th grade".') if explicit else _NOTHING
    bands = [band for band in GRADE_BANDS if band in found]
    shown = ", ".join(bands)
    return _Read(proposal="; ".join(bands), understood=shown) if unsure else _Read("; ".join(bands), understood=shown)


def _grade_number(token: str) -> int | None:
    token = token.strip().lower()
    if token in _ORDINALS:
        return _ORDINALS[token]
    digits = re.sub(r"(?:st|nd|rd|th)$", "", token)
    return int(digits) if digits.isdecimal() and 1 <= int(digits) <= 12 else None


# ---------------------------------------------------------------- options (subjects, topics, what matters)

_LEAD_IN_RE = re.compile(
    r"^(?:(?:i|we)\s+(?:would|'d)?\s*(?:really\s+)?(?:need|want|like|love)\s+(?:some\s+|more\s+)?(?:help|support|guidance|ideas|coaching)?\s*(?:with|on|in|around)?\s*"
    r"|(?:i\s+)?(?:can|could)\s+(?:help|support)\s+(?:with|on)\s+|i\s+teach\s+|mostly\s+|mainly\s+|especially\s+|also\s+|maybe\s+|probably\s+|definitely\s+|and\s+|the\s+|other\s*:\s*|help\s+with\s+|support\s+(?:with|on)\s+)+"
)
_SPLIT_RE = re.compile(r"\s*(?:[;,\n/+>→]|\bthen\b|\band\b|\bas well as\b|\bplus\b|&|\by\b|\bet\b|\bund\b|\be\b|\ben\b)\s*")
_MATTERS_WORDS = {
    "grade_band": ("grade", "grades", "grade band", "grade level", "same grade"),
    "subject": ("subject", "same subject", "content", "content area"),
    "schedule": ("schedule", "time", "times", "availability", "shared time", "timing", "when we can meet"),
    "needs": ("approach", "style", "fit", "needs", "what i need", "expertise"),
    "cross_site": ("another school", "other school", "different school", "another site", "different site", "other site", "outside my school", "cross site"),
}


# The default subjects and topics as teachers name them, in English and the program's other languages; a program's
# own options are matched by their names (and close spellings) only.
_OPTION_WORDS: dict[str, tuple[str, ...]] = {
    "math": (
        "maths", "mathematics", "matematicas", "matematica", "mates", "mathematiques", "mathe", "mathematik", "wiskunde",
        "rekenen", "algebra", "geometry",
    ),
    "science": (
        "sciences", "ciencias", "ciencia", "ciencias naturales", "sciences naturelles", "svt", "naturwissenschaften", "biologie",
        "natuurwetenschappen", "scienze", "biology", "chemistry", "physics",
    ),
    "ELA": (
        "english", "english language arts", "language arts", "reading", "writing", "literacy", "lengua", "lenguaje",
        "artes del lenguaje", "lectoescritura", "lecture", "ecriture", "lesen", "lingua portuguesa", "lezen", "taal", "lettura",
    ),
    "social studies": (
        "history", "geography", "civics", "estudios sociales", "ciencias sociales", "historia", "geografia", "histoire",
        "histoire-geographie", "sciences sociales", "geschichte", "sozialkunde", "gesellschaftslehre", "estudos sociais",
        "geschiedenis", "aardrijkskunde", "storia", "studi sociali",
    ),
    "SPED": (
        "special education", "special ed", "sped", "educacion especial", "education specialisee", "enseignement specialise",
        "sonderpadagogik", "forderschule", "educacao especial", "speciaal onderwijs", "sostegno", "educazione speciale",
    ),
    "ELD": (
        "english language development", "esl", "ell", "esol", "eal", "english learners", "english as a second language",
        "english as an additional language", "ingles como segunda lengua", "ingles como segundo idioma", "espanol como segunda lengua",
        "francais langue seconde", "fls", "deutsch als zweitsprache", "daz", "ingles como segunda lingua", "portugues como segunda lingua",
        "portugues lingua nao materna", "nederlands als tweede taal", "nt2", "italiano l2", "italiano come lingua seconda", "italiano per stranieri",
    ),
    "arts": ("art", "music", "drama", "theater", "theatre", "visual arts", "arte", "artes", "musica", "arts plastiques", "kunst", "musik", "muziek"),
    "PE": (
        "physical education", "p.e.", "gym", "phys ed", "educacion fisica", "eps", "education physique", "sport", "sportunterricht",
        "educacao fisica", "gymnastiek", "lichamelijke opvoeding", "educazione fisica", "scienze motorie",
    ),
    "classroom management": (
        "behavior management", "behaviour management", "gestion de classe", "gestion de la classe", "manejo del aula",
        "manejo de clase", "gestion del aula", "manejo de grupo", "klassenfuhrung", "klassenmanagement", "gestao de sala de aula",
        "gestao da sala de aula", "orde houden", "gestione della classe", "gestione d'aula",
    ),
    "lesson planning": (
        "planning", "unit planning", "planificacion", "planificacion de clases", "planeacion", "preparation de cours",
        "preparation des cours", "planification", "unterrichtsplanung", "unterrichtsvorbereitung", "planejamento",
        "planejamento de aulas", "lesvoorbereiding", "lessen voorbereiden", "progettazione", "programmazione",
    ),
    "differentiation": (
        "differentiated instruction", "diferenciacion", "differenciation", "pedagogie differenciee", "differenzierung",
        "binnendifferenzierung", "diferenciacao", "differentiatie", "didattica differenziata", "differenziazione",
    ),
    "assessment": ("grading", "evaluacion", "evaluation", "bewertung", "leistungsbeurteilung", "avaliacao", "toetsing", "beoordeling", "valutazione"),
    "data-driven instruction": ("data", "using data", "datos", "uso de datos", "donnees", "daten", "dados", "datagestuurd onderwijs", "dati"),
    "family engagement": (
        "parents", "parent communication", "families", "relacion con las familias", "familias", "relations avec les familles",
        "familles", "elternarbeit", "zusammenarbeit mit eltern", "relacao com as familias", "ouderbetrokkenheid", "rapporto con le famiglie",
    ),
    "SEL": (
        "social emotional learning", "social-emotional learning", "aprendizaje socioemocional", "apprentissage socio-emotionnel",
        "sozial-emotionales lernen", "aprendizagem socioemocional", "sociaal-emotioneel leren", "apprendimento socio-emotivo",
    ),
    "restorative practices": ("restorative justice", "practicas restaurativas", "pratiques restauratives", "praticas restaurativas", "herstelgericht werken", "pratiche riparative"),
    "co-teaching": ("coteaching", "co teaching", "team teaching", "coensenanza", "co-enseignement", "co-intervention", "teamteaching", "coensino", "co-docentie", "compresenza"),
    "technology integration": (
        "edtech", "ed tech", "technology", "integracion de tecnologia", "tecnologia", "numerique", "integration du numerique",
        "digitale medien", "medienbildung", "tecnologia educacional", "ict", "technologie", "tecnologia didattica",
    ),
}  # fmt: skip
# "All subjects", "all of them": every option, which matches nothing in particular; asked about.
_ALL_OPTIONS_RE = re.compile(
    r"\W*(?:all|everything|every subject|all subjects|all topics|all of (?:them|the above|these)|todas?|todos|todas las materias|tout|toutes"
    r"|toutes les matieres|alle|alle facher|tudo|todas as disciplinas|allemaal|alle vakken|tutto|tutte|tutte le materie)"
    r"(?:\s+(?:of them|honestly|really|please|of the above|subjects|topics))*\W*(?:\([^)]*\))?\W*"
)


_ARTICLE_RE = re.compile(r"^(?:l'|d'|(?:the|la|le|les|el|los|las|die|der|das|den|het|il|lo|gli|os|as|o|a)\s+)")
# Short forms teachers write in topic and subject lists.
_SHORT_FORMS = {
    "mgmt": "management", "mgt": "management", "mngmt": "management", "mgmnt": "management", "managment": "management",
    "diff": "differentiation", "differentiating": "differentiation", "assess": "assessment", "assessments": "assessment",
    "sci": "science", "soc": "social", "stud": "studies", "lang": "language", "lit": "literacy", "hist": "history",
    "geo": "geography", "bio": "biology", "chem": "chemistry", "eng": "english", "educ": "education", "tech": "technology",
    "engmt": "engagement", "prac": "practices", "plan": "planning", "plans": "planning",
}  # fmt: skip


def _match_option(item_text: str, options: Sequence[Choice], *, synonyms: Mapping[str, Sequence[str]] | None = None) -> tuple[int | None, bool]:
    """(index of the option an item names, sure?): exact name or number, a known phrase, or a close spelling (not sure)."""
    text = _words(item_text).strip(" .!?:")
    if not text:
        return None, True
    if text.isdecimal():
        number = int(text)
        return (number - 1, True) if 1 <= number <= len(options) else (None, True)
    names: dict[str, int] = {}
    for index, choice in enumerate(options):
        for name in (choice.value, choice.label):
            names.setdefault(_words(name), index)
    for index, choice in enumerate(options):
        for word in (synonyms if synonyms is not None else _OPTION_WORDS).get(choice.value, ()):
            names.setdefault(_words(word), index)
    if text in names:
        return names[text], True
    # "L'évaluation", "the planning": an article is not part of the name; "classroom mgmt": a short form is.
    text = _ARTICLE_RE.sub("", text)
    text = re.sub(r"[a-z]+\.?", lambda m: _SHORT_FORMS.get(m[0].rstrip("."), m[0]), text)
    if text in names:
        return names[text], True
    # An option named whole inside a longer item ("help with lesson planning", "same grade level") is surer than a
    # close spelling of the whole item.
    inside = [(len(name), index) for name, index in names.items() if len(name) >= 2 and re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text)]
    if inside:
        return max(inside)[1], True
    close = process.extractOne(text, list(names), scorer=fuzz.ratio, score_cutoff=80)
    if close is not None:
        return names[close[0]], close[1] >= 92 and len(text) >= 8
    return None, True


def _read_options(item: NumberedQuestion, raw: str, *, explicit: bool) -> _Read:
    question, options = item.question, item.options
    synonyms = _MATTERS_WORDS if question.key == "match_weights" else None
    picked: list[int] = []
    own: list[str] = []
    unsure = False
    everything = _ALL_OPTIONS_RE.fullmatch(_words(raw))
    if everything:
        listing = ", ".join(f"{n}. {c.label}" for n, c in enumerate(options, 1))
        return _Read(doubt=f'"{raw.strip()[:40]}" matches every option alike; which matter most for you? {listing}')
    for piece in _SPLIT_RE.split(raw):
        piece = _LEAD_IN_RE.sub("", " ".join(piece.split()).strip(" .!?…")).strip(" .!?…")
        if not piece:
            continue
        index, sure = _match_option(piece, options, synonyms=synonyms)
        if index is None:
            if explicit and question.allow_other and len(piece.split()) <= 8 and not piece.isdecimal():
                own.append(piece)
            elif explicit and not question.allow_other:
                return _Read(doubt=f'I didn\'t recognise "{piece[:40]}". Which of these: ' + ", ".join(f"{n}. {c.label}" for n, c in enumerate(options, 1)) + "?")
            continue
        unsure = unsure or not sure
        if index not in picked:
            picked.append(index)
    if not picked and not own:
        if not explicit:
            return _NOTHING
        listing = ", ".join(f"{n}. {c.label}" for n, c in enumerate(options, 1))
        return _Read(doubt=f"Which of these? {listing}")
    if question.max_picks is not None and len(picked) > question.max_picks:
        return _Read(doubt=f"Please pick at most {question.max_picks}: which matter most?")
    parts = [_topic_value(options[index], index + 1) for index in picked] + own
    shown = ", ".join([options[index].label for index in picked] + own)
    value = "; ".join(parts)
    return _Read(proposal=value, understood=shown) if unsure else _Read(value, understood=shown)


_NEEDS_TRIGGER_RE = re.compile(
    r"\b(?:need|needs|want|would like|'d like|looking for|could use|hoping for|hope to get|love)\s+(?:some\s+|more\s+|a little\s+)?(?:help|support|guidance|ideas|feedback|coaching)\s+(?:with|on|in|around|for)\s*:?\s+(?P<rest>[^.!?\n;]+)"
    r"|\b(?:struggl\w*|work on|working on|improve|improving|get better at|grow in)\s+(?:with\s+)?(?P<rest2>[^.!?\n;]+)"
)
_STRENGTHS_TRIGGER_RE = re.compile(
    r"\b(?:i can|i could|happy to|glad to|able to|love to)\s+(?:help|support|coach|share)\s+(?:\w+\s+)?(?:with|on|in|around)\s+(?P<rest>[^.!?\n;]+)"
    r"|\b(?:good at|strong (?:in|at)|strengths? (?:is|are|include)|experienced? (?:in|with)|expertise in|great at)\s+(?P<rest2>[^.!?\n;]+)"
)
_SUBJECTS_TRIGGER_RE = re.compile(r"\bi teach\s+(?P<rest>[^.!?\n;]+)|\b(?P<rest2>[\w ]{2,30}?)\s+teacher\b")


def _volunteered_options(item: NumberedQuestion, text: str) -> _Read:
    trigger = {"needs": _NEEDS_TRIGGER_RE, "strengths": _STRENGTHS_TRIGGER_RE, "subjects": _SUBJECTS_TRIGGER_RE}.get(item.question.key)
    if trigger is None:
        return _NOTHING
    pieces = [m["rest"] or m["rest2"] for m in trigger.finditer(fold(text)) if m["rest"] or m["rest2"]]
    if not pieces:
        return _NOTHING
    # Only the options named are taken from a sentence; own words would sweep up the rest of it.
    picked: list[int] = []
    unsure = False
    for piece in pieces:
        for part in _SPLIT_RE.split(piece):
            part = _LEAD_IN_RE.sub("", part.strip(" .!?…")).strip(" .!?…")
            if not part or part.isdecimal():
                continue
            index, sure = _match_option(part, item.options)
            if index is not None and index not in picked:
                picked.append(index)
                unsure = unsure or not sure
    if not picked:
        return _NOTHING
    value = "; ".join(_topic_value(item.options[i], i + 1) for i in picked)
    shown = ", ".join(item.options[i].label for i in picked)
    return _Read(proposal=value, understood=shown) if unsure else _Read(value, understood=shown)


# ---------------------------------------------------------------- availability, generic kinds


def _read_availability(raw: str, *, explicit: bool, bell: BellTimes, languages: Sequence[str]) -> _Read:
    reading = read_availability(raw, bell=bell, languages=languages)
    if not explicit and not (reading.mentions_days and (reading.slots or reading.excluded)):
        return _NOTHING
    leftover = unaccounted(" ".join(reading.unread), _AVAILABILITY_WORDS)
    if not explicit and len(leftover) >= _MOST_UNREAD:
        return _NOTHING  # a day and a time among other words ("Inglés como segunda lengua"): nothing volunteered
    shown = describe_slots(reading.slots) if reading.slots else None
    if reading.excluded and shown:
        shown += " (not " + ", ".join(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d] for d in reading.excluded) + ")"
    if reading.doubts:
        return _Read(proposal=format_slots(reading.slots) or None, doubt=reading.doubts[0], understood=shown)
    if reading.unsure:
        return _Read(proposal=format_slots(reading.slots), understood=f"{shown} ({'; '.join(reading.unsure)})")
    if explicit and len(leftover) >= _MOST_UNREAD:
        # Words next to the days and times that nothing read may change them ("every", "staff meeting"): confirm.
        return _Read(proposal=format_slots(reading.slots), understood=f'{shown} (you also wrote "{" ".join(leftover[:6])}")')
    return _Read(format_slots(reading.slots), understood=shown)


# How many unread words an answer may hold and still be saved at once.
_MOST_UNREAD = 3
# Words around days and times that say nothing about them.
_AVAILABILITY_WORDS = ("free", "available", "works", "work", "best", "can", "meet", "meeting", "ok", "fine", "either", "day", "days", "time", "times", "from", "to", "until",
    "whichever", "suits", "suit", "convenient", "partner", "mentor", "mentee", "each", "week", "every", "usually", "normally",
)


def _read_choice(item: NumberedQuestion, raw: str) -> _Read:
    index, sure = _match_option(raw, item.options)
    if index is None:
        listing = ", ".join(f"{n}. {c.label}" for n, c in enumerate(item.options, 1))
        return _Read(doubt=f"Which one? {listing}")
    choice = item.options[index]
    return _Read(choice.value, understood=choice.label) if sure else _Read(proposal=choice.value, understood=choice.label)


def _read_number(raw: str) -> _Read:
    text = _words(raw)
    numbers = list(dict.fromkeys(n for n in (_number_of(w) for w in re.findall(rf"\b{_NUMBER}\b", text)) if n is not None))
    if len(numbers) == 1:
        return _Read(str(numbers[0]), understood=str(numbers[0]))
    return _Read(doubt="Which number? Please reply with one number." if numbers else "Please reply with a number.")


def _read_one(item: NumberedQuestion, raw: str, *, explicit: bool, person_role: str, bell: BellTimes, languages: Sequence[str]) -> _Read:
    key, kind = item.question.key, item.question.kind
    if explicit and _words(raw).strip(" .!") in SKIP_WORDS and not item.question.required:
        return _Read(raw.strip(), understood="(skipped)")
    if key == "role":
        return _read_role(item, raw, person_role) if explicit else _NOTHING
    if key == "capacity":
        return _read_capacity(raw, explicit=explicit)
    if key == "met":
        return _read_check_in(item, raw) if explicit else _NOTHING
    if kind == "slots":
        return _read_availability(raw, explicit=explicit, bell=bell, languages=languages)
    if kind == "grade_bands":
        return _read_grades(raw, explicit=explicit)
    if kind == "multi_choice":
        return _read_options(item, raw, explicit=True) if explicit else _volunteered_options(item, raw)
    if not explicit:
        return _NOTHING
    if _is_likert(item):
        return _read_likert(item, raw)
    if kind == "choice":
        return _read_choice(item, raw)
    if kind == "number":
        return _read_number(raw)
    text = raw.strip()
    return _Read(text, understood=text) if text else _NOTHING


# A later line with a label of its own ("I'd like help with: technology") answers another question, not this one.
# Only spaces may lead the line: "\n\s*" ran over every blank line after each newline (quadratic: 135 s on 60,000).
_OTHER_LABEL_RE = re.compile(r"\n[ \t]*(?:[^\W\d][\w'’]*[ \t]+){2,}[\w'’]+[ \t]*:[ \t]*\S")


def _own_lines(raw: str) -> str:
    """An answer up to a later line labelled as the answer to something else."""
    other = _OTHER_LABEL_RE.search(raw)
    return raw[: other.start()] if other else raw


def _asked_apart(item: NumberedQuestion, raw: str, read) -> _Read:  # noqa: ANN001 - a reader of one answer's words
    """An answer read without the questions it asks; a question alone ("can I be a mentee?") is at most a proposal."""
    if item.question.key == "met" or item.question.kind == "text" or not asks_something(raw):
        return read(raw)  # a check-in reads its questions itself; a comment is kept whole
    told = without_questions(raw)
    found = read(told) if told.strip(" .,!;:-—–\n") else _NOTHING
    if found.value is not None or found.proposal is not None:
        return found
    asked = read(raw)
    if asked.value is not None:
        return _Read(proposal=asked.value, understood=asked.understood, remark=asked.remark)
    return asked if asked.doubt or asked.proposal is not None else found


def _guarded(item: NumberedQuestion, raw: str, read: _Read) -> _Read:
    """A value saved at once only when nothing in the answer makes it conditional: "unless", "only if" ask to confirm."""
    if read.value is None or read.doubt or item.question.kind == "text":
        return read
    condition = has_condition(raw)
    if condition is not None:
        return _Read(proposal=read.value, understood=f"{read.understood or read.value} (you wrote \"{condition}\")", remark=read.remark)
    return read


# Someone leaving the program or the school: nothing a question can hold, so a person reads it.
_LEAVING_RE = re.compile(
    r"\b(?:take me (?:off|out)|remove me|unsubscribe|withdraw(?: me)?|drop (?:me|out)|(?:quit|leave|leaving) the program(?:me)?"
    r"|(?:i'?m|i am|we'?re|we are) (?:moving|relocating)|stop (?:emailing|sending|contacting)|don'?t (?:email|contact) me|i(?:'m| am| have)? retir(?:ed|ing)"
    r"|no longer (?:teach|work|at|with|in|a teacher)|(?:left|leaving|leave) the (?:school|district|profession|program)"
    r"|(?:moving|moved|transferring|transferred) to (?:another|a different|a new) (?:school|district)|wrong person"
    r"|darme de baja|ya no trabajo|me jubil\w*|jubilad[oa]|desinscri\w*|a la retraite|je pars a la retraite|im ruhestand|pensioniert"
    r"|arbeite nicht mehr|aposentad[oa]|me aposentei|met pensioen|uitschrijven|in pensione|non lavoro piu)\b"
)


def read_reply(
    answers: Mapping[str, str],
    text: str,
    questions: Sequence[NumberedQuestion],
    *,
    person_role: str,
    bell: BellTimes = BellTimes(),
    languages: Sequence[str] = DEFAULT_LANGUAGES,
) -> Reading:
    """Read a reply: each explicitly answered question from its answer, the others from the text when it clearly answers them."""
    values: dict[str, str] = {}
    proposals: dict[str, str] = {}
    doubts: dict[str, str] = {}
    understood: dict[str, str] = {}
    remarks: dict[str, str] = {}
    # No real answer runs to thousands of characters; reading is bounded so a hostile reply can't hold a worker (the
    # whole text still reaches a person when it is passed on).
    text = _bounded(text)
    answers = {key: _bounded(value) for key, value in answers.items()}

    def keep(key: str, read: _Read) -> None:
        if read.value is not None and not read.doubt:
            values[key] = read.value
        elif read.proposal is not None:
            proposals[key] = read.proposal
        if read.doubt:
            doubts[key] = read.doubt
        if read.understood and (read.value is not None or read.proposal is not None):
            understood[key] = read.understood
        if read.remark:
            remarks[key] = read.remark

    by_key = {item.question.key: item for item in questions}
    answers = _spread_likert(answers, questions)
    for item in questions:
        key = item.question.key
        if key in answers:
            raw = corrected(_own_lines(str(answers[key] or "")))  # "4 - no wait, 5": the corrected part is the answer
            if key == "decision":
                decision, capacity = _read_decision(item, raw)
                keep(key, _guarded(item, raw, decision))
                if capacity is not _NOTHING and "capacity" not in answers:
                    keep("capacity", _guarded(item, raw, capacity))
                continue
            read = lambda words: _read_one(item, words, explicit=True, person_role=person_role, bell=bell, languages=languages)  # noqa: E731
            keep(key, _guarded(item, raw, _asked_apart(item, raw, read)))
    for item in questions:
        key = item.question.key
        if key in answers or key in values or key in proposals or key in doubts or not text.strip():
            continue
        if key == "capacity" and ("role" in by_key and values.get("role", proposals.get("role")) in ("mentee", "none")):
            continue  # a mentee's "two" is not a number of mentees
        keep(key, _read_one(item, text, explicit=False, person_role=person_role, bell=bell, languages=languages))
    if questions and not remarks and _LEAVING_RE.search(_words(text)):
        remarks[next(iter(answers), questions[0].question.key)] = text.strip()
    return Reading(values, proposals, doubts, understood, remarks)
