"""Reading a reply: strip the quoted thread and the signature, then find the answers to the questions asked.

Quote and signature stripping uses mail-parser-reply (English, German, French and Spanish headers) and then
a second pass of our own for what it misses: a French, German, Spanish or English "wrote:" header wrapped
over two lines, trailing ">" quotes, Outlook's "From:/Sent:" block and "-----Original Message-----", the
"-- " signature line and "Sent from my iPhone" in those languages. A line that merely starts with "On"
("On Tuesdays I'm free…") is kept: a header has to end in "wrote:" (or its translation) within two lines.

Answers are found as numbered lines ("1. …", "2) …", "3: …"), labelled lines ("Availability: …") or, when
nothing is numbered or labelled, the whole remaining text as the answer to the first question asked.
Lines that follow an answer belong to it until a blank line.
"""

from __future__ import annotations

import difflib
import html as html_lib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mailparser_reply.parser import EmailMessage as _ParsedReply

__all__ = ["Asked", "Extraction", "strip_quoted", "html_to_text", "extract_answers"]

# A two-line window ending in these is a quote header ("On <date>, <name> wrote:" and its translations).
_WROTE_END_RE = re.compile(r"(?:\bwrote|a\s+écrit|\bschrieb(?:\s+.*)?|\bescribió)\s*:\s*$", re.IGNORECASE)
_WROTE_START_RE = re.compile(r"^\s*(?:>\s*)*(?:On|Le|Am|El)\s+\S", re.IGNORECASE)
_OUTLOOK_FIELD_RE = re.compile(
    r"^\s*\*?(?:From|Sent|To|Subject|Date|Cc|De|Envoyé|À|Objet|Von|Gesendet|An|Betreff|Enviado|Para|Asunto)\s*\*?\s*:", re.IGNORECASE
)
_SEPARATOR_RE = re.compile(
    r"^\s*(?:-{3,}\s*(?:Original Message|Message d'origine|Ursprüngliche Nachricht|Mensaje original|Forwarded message)\s*-{3,}|_{20,})\s*$",
    re.IGNORECASE,
)
_SENT_FROM_RE = re.compile(
    r"^\s*(?:Sent from (?:my |Mail for |Yahoo )|Get Outlook for |Envoyé de mon |Von meinem .* gesendet|Gesendet von meinem |Enviado desde mi )",
    re.IGNORECASE,
)
_SIGNATURE_RE = re.compile(r"^--\s?$")
_GREETING_RE = re.compile(r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|bonjour|hallo|hola)\b[^.!?\n]{0,40}[,!:]?\s*$", re.IGNORECASE)
_SIGNOFF_RE = re.compile(
    r"^\s*(?:thanks|thank you|many thanks|cheers|best|best wishes|regards|kind regards|warm regards|sincerely|merci|danke|gracias)\b[^\n]{0,30}$",
    re.IGNORECASE,
)
_NUMBERED_RE = re.compile(r"^\s*(?:Q(?:uestion)?\s*)?#?(\d{1,2})\s*(?:[.)\]:]|-(?!\d))(?!\d)\s*(.*)$", re.IGNORECASE)
_LABELLED_RE = re.compile(r"^\s*([A-Za-z][A-Za-z /'&-]{1,40}?)\s*[:=]\s*(.*)$")
_LIST_MARK_RE = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")


def html_to_text(html: str) -> str:
    """Plain text from an HTML body, good enough to find answers in (blockquotes marked as quotes)."""
    text = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", html)
    text = re.sub(r"(?is)<blockquote\b.*", "\n> quoted\n", text)  # everything from the first quote on is history
    text = re.sub(r"(?i)<br\s*/?>|</(?:p|div|li|tr|h\d)>", "\n", text)
    text = re.sub(r"(?i)<li\b[^>]*>", "- ", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html_lib.unescape(text)


def _cut_at_headers(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SEPARATOR_RE.match(line):
            return lines[:index]
        windows = [line] + ([line + " " + lines[index + 1].strip()] if index + 1 < len(lines) and lines[index + 1].strip() else [])
        if _WROTE_START_RE.match(line) and any(_WROTE_END_RE.search(w) and len(w) < 300 for w in windows):
            return lines[:index]
        if _OUTLOOK_FIELD_RE.match(line):
            following = [l for l in lines[index + 1 : index + 5] if l.strip()]
            if sum(1 for l in following[:3] if _OUTLOOK_FIELD_RE.match(l)) >= 1 and re.match(r"^\s*\*?(?:From|De|Von)\b", line, re.IGNORECASE):
                return lines[:index]
    return lines


def _cut_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIGNATURE_RE.match(line) or _SENT_FROM_RE.match(line):
            return lines[:index]
    return lines


def strip_quoted(text: str) -> str:
    """The newly written part of a reply: no quoted thread, no signature, no "Sent from my iPhone"."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    try:
        parsed = _ParsedReply(text=text, languages=["en", "de", "fr", "es"], keep_hyphen_lists=True).read()
        latest = parsed.replies[0].body if parsed.replies else text
    except Exception:  # a library hiccup must never lose a reply; our own pass below still runs
        latest = text
    # Our own pass runs on the original too and the shorter result wins, so neither can keep a quote the other found.
    ours = _cut_signature(_cut_at_headers(text.split("\n")))
    theirs = _cut_signature(_cut_at_headers(latest.split("\n")))
    lines = min(ours, theirs, key=lambda kept: len("\n".join(kept).strip()))
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines = lines[:-1]
    kept = [line.rstrip() for line in lines if not line.lstrip().startswith(">")]
    return "\n".join(kept).strip()


@dataclass(frozen=True)
class Asked:
    """A question as numbered and labelled in the email that asked it."""

    number: int
    key: str
    labels: tuple[str, ...]


@dataclass
class Extraction:
    """What a reply answered: raw answers by question key, and any text that answered nothing we asked."""

    answers: dict[str, str] = field(default_factory=dict)
    unplaced: list[str] = field(default_factory=list)


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _label_match(label: str, asked: Sequence[Asked]) -> Asked | None:
    wanted = _normal(label)
    if not wanted:
        return None
    names = {}
    for question in asked:
        for name in (question.key.replace("_", " "), *question.labels):
            names.setdefault(_normal(name), question)
    if wanted in names:
        return names[wanted]
    close = difflib.get_close_matches(wanted, list(names), n=1, cutoff=0.85)
    return names[close[0]] if close else None


def _clean_loose(lines: list[str]) -> list[str]:
    """Drop a greeting at the top and a sign-off (and the name under it) at the bottom."""
    lines = [line for line in lines if line.strip()]
    while lines and _GREETING_RE.match(lines[0]):
        lines = lines[1:]
    for index, line in enumerate(lines):
        if index > 0 and _SIGNOFF_RE.match(line) and len(lines) - index <= 3:
            lines = lines[:index]
            break
    return [_LIST_MARK_RE.sub("", line) for line in lines]


def extract_answers(body: str, asked: Sequence[Asked], default: str | None = None) -> Extraction:
    """Map a reply body to raw answers for the questions in `asked` (numbered lines, labelled lines, or one answer).

    Text that is neither numbered nor labelled answers `default` (the first question still open), or the first
    question asked, when nothing else in the reply was an answer.
    """
    by_number = {question.number: question for question in asked}
    result = Extraction()
    current: str | None = None
    loose: list[str] = []
    for line in body.split("\n"):
        if not line.strip():
            current = None
            loose.append("")
            continue
        numbered = _NUMBERED_RE.match(line)
        if numbered and int(numbered[1]) in by_number and len(asked) > 1:
            current = by_number[int(numbered[1])].key
            result.answers[current] = numbered[2].strip()
            continue
        if numbered and int(numbered[1]) in by_number and len(asked) == 1 and not result.answers and not any(l.strip() for l in loose):
            # "1. Tuesdays" to the only question asked, numbered as in the email.
            current = by_number[int(numbered[1])].key
            result.answers[current] = numbered[2].strip()
            continue
        labelled = _LABELLED_RE.match(line)
        found = _label_match(labelled[1], asked) if labelled else None
        if found is not None:
            current = found.key
            result.answers[current] = labelled[2].strip()
            continue
        if current is not None:
            result.answers[current] = (result.answers[current] + "\n" + _LIST_MARK_RE.sub("", line).strip()).strip()
        else:
            loose.append(line)
    loose = _clean_loose(loose)
    if not result.answers and loose and asked:
        result.answers[default or asked[0].key] = "\n".join(line.strip() for line in loose)
    elif loose:
        result.unplaced = [line for line in loose if line.strip()]
    return result
