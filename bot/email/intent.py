"""What a reply wants beyond its answers: a yes or no to what the bot proposed, or a person to read it.

Both are read from the person's own words (quotes and signatures already stripped). They are deliberately
conservative in opposite directions: a confirmation must be an unmistakable yes or no, because it saves
something; a request for a person is recognised generously, because forwarding a reply that needed no one
costs an admin a glance, while dropping one that did costs a teacher their match.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["confirmation", "is_courtesy", "needs_person"]

# Whole replies that confirm or reject a proposal, in the program languages; compared after folding accents.
_YES = {
    "yes", "y", "yep", "yeah", "yup", "sure", "ok", "okay", "correct", "right", "confirm", "confirmed", "that's right",
    "thats right", "that is right", "that's correct", "that is correct", "yes that's right", "yes correct", "yes please",
    "looks good", "looks right", "perfect", "exactly", "si", "sí", "claro", "correcto", "oui", "d'accord", "c'est bon",
    "exact", "ja", "genau", "richtig", "sim", "certo", "klopt", "ja klopt", "esatto", "giusto", "va bene",
}  # fmt: skip
_NO = {
    "no", "n", "nope", "wrong", "not right", "that's wrong", "thats wrong", "incorrect", "not quite", "non", "nein",
    "falsch", "não", "nao", "nee", "niet", "sbagliato",
}  # fmt: skip
_FILLER_RE = re.compile(r"^(?:hi|hello|hey|dear)\b[^,.!\n]*[,.!]?\s*|\s*(?:thanks|thank you|thx|merci|gracias|danke)\b.*$", re.IGNORECASE)

# A sentence that asks something of a person, or reports a problem a person has to act on.
_QUESTION_START_RE = re.compile(
    r"^(?:can|could|would|will|should|is|are|do|does|did|when|where|how|what|who|why|which|may|shall"
    r"|puede|puedo|podemos|cuándo|cuando|dónde|cómo|qué|est-ce|peut-on|pouvez|quand|où|comment|kann|können|wann|wo|wie"
    r"|posso|podemos|quando|onde|kunnen|wanneer|waar|hoe|possiamo|quando|dove|come)\b",
    re.IGNORECASE,
)
_HELP_RE = re.compile(
    r"\b(?:help|problem|issue|trouble|haven'?t met|have not met|not met yet|hasn'?t (?:replied|answered|responded|got back)"
    r"|has not (?:replied|answered|responded)|no (?:reply|response|answer)|never (?:replied|answered|showed)|no[- ]show"
    r"|reschedul\w*|move (?:it|our|the)|cancel\w*|zoom|teams link|meet link|link\b|sick|on leave|maternity|paternity"
    r"|leaving|resign\w*|new (?:mentor|mentee|partner)|different (?:mentor|mentee|partner)|not a good (?:fit|match)"
    r"|uncomfortable|concern\w*|complain\w*|urgent|call me|contact me|get in touch"
    r"|(?:to|with) a (?:real )?(?:person|human)|(?:talk|speak|explain\w*) (?:it |this |why )?(?:to|with) (?:someone|somebody|a person|you)"
    r"|hablar con alguien|parler à quelqu'un|mit jemandem sprechen|falar com alguém|met iemand praten|parlare con qualcuno)\b",
    re.IGNORECASE,
)


def _fold(text: str) -> str:
    """Lower case without accents or surrounding punctuation, so "Sí!" and "si" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w' ]+", " ", plain).split())


_YES_FOLDED = {_fold(word) for word in _YES}
_NO_FOLDED = {_fold(word) for word in _NO}


def confirmation(text: str) -> bool | None:
    """True when the whole reply says yes, False when it says no, None when it says anything else."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    if not lines or len(lines) > 3:
        return None
    first = _FILLER_RE.sub("", lines[0]).strip() or (lines[1] if len(lines) > 1 else "")
    words = _fold(first)
    if len(words) > 40:
        return None
    lead = _fold(re.split(r"[,.;!]", first, maxsplit=1)[0])
    if words in _YES_FOLDED or (lead in _YES_FOLDED and not (set(words.split()) & {"but", "except", "pero", "mais", "aber"})):
        return True
    if words in _NO_FOLDED or lead in _NO_FOLDED:
        return False
    return None


# Words that only acknowledge: "Thanks!", "Great, see you then". Nobody needs to read them, so they are not passed on.
_COURTESY_WORDS = {
    "thanks", "thank", "you", "so", "much", "many", "thx", "ty", "great", "ok", "okay", "perfect", "sounds", "good", "got", "it",
    "see", "then", "will", "do", "noted", "cheers", "awesome", "cool", "wonderful", "lovely", "merci", "gracias", "danke",
    "obrigado", "obrigada", "grazie", "bedankt", "dank", "je", "wel", "very", "looking", "forward", "to", "a", "lot", "!", "all",
    "the", "best", "and", "i", "we", "us",
}  # fmt: skip


def is_courtesy(text: str) -> bool:
    """True for a short reply that only thanks or acknowledges ("Thanks!", "Great, see you then")."""
    words = _fold(text).replace("'", " ").split()
    return 0 < len(words) <= 12 and all(word in _COURTESY_WORDS for word in words)


def _sentences(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"(?<=[.!?])\s+|\n+", text or "") if part.strip()]


def needs_person(text: str, *, answered: bool, flow: str | None) -> str | None:
    """Why a person should read this reply (a question, a problem, a comment nothing else keeps), or None."""
    sentences = _sentences(text)
    if not sentences or is_courtesy(text):
        return None
    if any(s.endswith("?") or s.startswith(("¿",)) or (_QUESTION_START_RE.match(s) and len(s.split()) > 2 and "?" in s) for s in sentences):
        return "a question for a person"
    if _HELP_RE.search(text):
        return "a request for help" if flow != "check_in" else "check-in comment"
    if flow is None:
        return "a reply to a notice"
    if not answered:
        return "answered nothing asked"
    return None
