"""Reading a reply: keep the person's own words wherever they typed them, then find the answers to the questions asked.

People answer above the quoted email (Gmail, Outlook, phones), below it (Thunderbird's default) or inline, under
each quoted question. `strip_quoted` walks the reply line by line: quoted lines ("> …") and quote headers are the
old thread, unquoted lines are the person's own. When their words follow a quoted numbered question
("> 2. When are you usually free…?") they come out as "2. <their words>", so `extract_answers` ties them to
question 2. A quote header followed by text that is not ">"-quoted (Outlook's "From:/Sent:" block, "-----Original
Message-----") starts an old thread that runs to the end of the mail, so everything from there on is cut.

Quote headers are recognised per line window (a header may be wrapped over up to three lines): the "wrote:"
headers of mail-parser-reply's languages (its per-language patterns, applied to bounded windows only; its own
splitter keeps just the part above the first header and cuts at "Thanks,", which would lose bottom and inline
answers), then our own for what it misses: Portuguese, Norwegian, Apple's Dutch and Italian forms, Gmail's ISO
"2017-11-24 16:32 GMT+01:00 Name <…>:", headers wrapped over lines, Outlook's field blocks in ten languages (also
"De :" with a space before the colon) and the "Original message" separators of Outlook and Android.

Signatures: a "-- " line starts one (until the next quote, so inline answers below it survive) and a short whole
line naming a device or app ("Sent from my iPhone", "Von meinem iPhone gesendet", "Get Outlook for iOS") is a
mobile sign-off; "Sent from my desk, I can do Tuesdays" is a sentence and stays. A closing ("Thanks,\nAna",
"Mit freundlichen Grüßen") at the end of a run of the person's words is dropped.

HTML-only mail goes through `html_to_text` (lxml): blockquotes, the quote containers of Gmail, Yahoo and
Thunderbird, and everything after Outlook's header block come out as "> " lines, so the same rules apply.

Every pattern runs on one line or a window of a few short lines, so a megabyte of hostile text stays linear.
"""

from __future__ import annotations

import difflib
import html as html_lib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import lxml.html
from lxml.html import HtmlElement
from mailparser_reply.constants import GENERIC_MAIL_SEPARATOR, MAIL_LANGUAGES

__all__ = ["Asked", "Extraction", "strip_quoted", "html_to_text", "extract_answers"]

# Longest line (or header window) any header pattern is tried on: real headers are short, and this bounds the
# work a hostile line can cause.
_HEADER_MAX = 400
# mail-parser-reply's "wrote:" patterns backtrack quadratically within a line: only short windows, a bounded number.
_LIBRARY_WINDOW_MAX = 300
_LIBRARY_TRIES = 100

_QUOTE_PREFIX_RE = re.compile(r"^[ \t]*>(?:[ \t]?>)*[ \t]?")
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")

# "On <date>, <name> wrote:" and its translations: the verb (and for Germanic languages, the name) at the end.
_WROTE_END_RE = re.compile(
    r"(?:\bwrote|\bFolgendes\s+geschrieben|\ba\s+écrit|\bescribió|\bescreveu|\bha\s+scritto|\bhet\s+volgende\s+geschreven|\bnapsal\(a\)"
    r"|\bnapisał(?:\(a\))?|\b(?:schrieb|schreef|skrev|skreiv)(?:\s[^:\n]{0,200})?)\s*:\s*$",
    re.IGNORECASE,
)
_WROTE_VERB_RE = re.compile(r"\b(?:wrote|geschrieben|a\s+écrit|escribió|escreveu|ha\s+scritto|schrieb|schreef|skrev|geschreven)\b", re.IGNORECASE)
# How such a header starts: the intro word of each language, or a date first (Norwegian Gmail, Apple's Swedish).
_WROTE_START_RE = re.compile(
    r"^\s*(?:On|Le|Am|El|Em|Op|Il|Den|Dne|Dnia|W\s+dniu|Pe|\d{1,4}[./\-\s]|[^\W\d_]{2,5}\.?,?\s+\d{1,2}\b)", re.IGNORECASE
)
# Gmail's older ISO form: "2017-11-24 16:32 GMT+01:00 Ana Chen <ana@x.example>:".
_ISO_HEADER_START_RE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s+\d{1,2}:\d{2}(?:\s+GMT[+\-]\d{1,2}:\d{2})?\s")
_ZOHO_HEADER_RE = re.compile(r"^\s*-{2,}\s*(\S.{0,300}?)\s*-{2,}\s*$")  # "---- On Tue, … Ana <a@x> wrote ----"
_SEPARATOR_RE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Forwarded message|Message d'origine|Message original|Mail original|Message transféré"
    r"|Ursprüngliche Nachricht|Originalnachricht|Weitergeleitete Nachricht|Mensaje original|Mensaje reenviado"
    r"|Mensagem original|Mensagem encaminhada|Oorspronkelijk bericht|Origineel bericht|Doorgestuurd bericht"
    r"|Messaggio originale|Messaggio inoltrato|Ursprungligt meddelande|Originalmeddelande|Vidarebefordrat meddelande"
    r"|Oprindelig meddelelse|Videresendt meddelelse|Opprinnelig melding|Videresendt melding)\s*-{2,}\s*$"
    r"|^\s*(?:Begin forwarded message|Anfang der weitergeleiteten Nachricht|Début du message réexpédié|Inicio del mensaje reenviado)\s*:\s*$",
    re.IGNORECASE,
)
_LIBRARY_SEPARATOR_RE = re.compile(GENERIC_MAIL_SEPARATOR, re.IGNORECASE)
_UNDERSCORES_RE = re.compile(r"^\s*_{20,}\s*$")  # Outlook's line above its "From:" block
# Outlook's header fields ("From:", "*From:*", French "De :"), in the languages we read.
_FIELD = r"^\s*[*_]{0,2}(?:%s)[*_]{0,2}\s?:[*_]{0,2}(?:\s|$)"
_FROM_FIELD_RE = re.compile(_FIELD % "From|De|Von|Van|Da|Från|Fra|Od", re.IGNORECASE)
_OTHER_FIELD_RE = re.compile(
    _FIELD % (
        "Sent|Date|To|Subject|Cc|Bcc|Reply-To|Envoyé|À|A|Objet|Gesendet|Datum|An|Betreff|Enviado|Enviada|Fecha|Para"
        "|Asunto|Assunto|Data|Verzonden|Aan|Onderwerp|Inviato|Oggetto|Skickat|Till|Ämne|Sendt|Til|Emne|Dato|Kopi|Kopia"
        "|Wysłano|Do|Temat|Odesláno|Komu|Předmět"
    ),
    re.IGNORECASE,
)
_DATE_OR_SUBJECT_FIELD_RE = re.compile(
    _FIELD % "Sent|Date|Subject|Envoyé|Objet|Gesendet|Datum|Betreff|Enviado|Enviada|Fecha|Asunto|Assunto|Data|Verzonden"
    "|Onderwerp|Inviato|Oggetto|Skickat|Ämne|Sendt|Emne|Dato|Wysłano|Temat|Odesláno|Předmět",
    re.IGNORECASE,
)


def _library_wrote_patterns() -> re.Pattern[str]:
    patterns = [entry["wrote_header"] for entry in MAIL_LANGUAGES.values() if entry.get("wrote_header")]
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)


_LIBRARY_WROTE_RE = _library_wrote_patterns()

_SIGNATURE_RE = re.compile(r"^--[ \t]?$")
# Mobile and app sign-offs: a lead phrase, then a device or app, on a short line of its own.
_LIBRARY_SENT_FROM = [
    entry["sent_from"].removesuffix(".*") for entry in MAIL_LANGUAGES.values() if entry.get("sent_from")
]
_SENT_FROM_RE = re.compile(
    r"^\s*(?:Sent (?:from|with|via|using)|Get Outlook for|Download Outlook for|Enviado (?:desde|con|do|da|pelo|pela|de|a partir d[eoa])"
    r"|Obt(?:ener|er o) Outlook para|Descarg(?:ar|ue) Outlook para|Baixe o Outlook para|Envoyé (?:de|depuis|avec)"
    r"|Obtenir Outlook pour|Télécharger Outlook pour|Von meine[mr]|Gesendet (?:von|mit|vom)|Holen Sie sich Outlook für"
    r"|Outlook für \S+ herunterladen|Verstuurd (?:vanaf|met|via)|Verzonden (?:vanaf|met|via)|Download Outlook voor"
    r"|Outlook voor \S+ downloaden|Inviato (?:da|dal|dalla|con)|Scarica Outlook per|Ottieni Outlook per"
    r"|Skickat (?:från|med)|Skickades från|Hämta Outlook för|Skaffa Outlook för|Sendt fra|Hent Outlook til|Få Outlook (?:til|for)"
    r"|Last ned Outlook for|" + "|".join(_LIBRARY_SENT_FROM) + r")\b",
    re.IGNORECASE,
)
_DEVICES = frozenset(
    "iphone ipad ipod android galaxy samsung huawei xiaomi pixel oneplus motorola nokia blackberry watch mobile mobil móvil"
    " movil cellulare celular telefon telefoon téléphone telefono telefone teléfono phone smartphone handy tablet outlook"
    " yahoo mail gmail aol proton protonmail spark windows ios fairphone thunderbird bluemail airmail zoho".split()
)
_WORD_RE = re.compile(r"[^\W\d_]+")
_TRAILING_LINK_RE = re.compile(r"<[^<>\s]{1,200}>\s*$")

_GREETING_RE = re.compile(r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|bonjour|hallo|hola)\b[^.!?\n]{0,40}[,!:]?\s*$", re.IGNORECASE)
_SIGNOFF_RE = re.compile(
    r"^\s*(?:thanks|thank you|many thanks|cheers|best|best wishes|regards|kind regards|warm regards|sincerely|merci|danke|gracias)\b[^\n]{0,30}$",
    re.IGNORECASE,
)
# A closing line on its own ("Thanks,", "Kind regards", "Mit freundlichen Grüßen"): with the name under it, not an answer.
_CLOSING_RE = re.compile(
    r"^\s*(?:thanks|thank you|many thanks|thanks so much|thanks again|thank you so much|cheers|best|all the best|best wishes"
    r"|(?:kind |warm |best |warmest )?regards|sincerely|yours|merci(?: beaucoup)?|cordialement|bien à vous|danke(?: schön)?"
    r"|(?:mit )?(?:freundlichen |viele |liebe |beste )?gr(?:ü|ue)(?:ß|ss)(?:e|en)?|gruß|lg|gracias|saludos|un saludo|atentamente|obrigad[oa]"
    r"|atenciosamente|abraços|grazie|cordiali saluti|saluti|bedankt|dank je(?: wel)?|groeten|met vriendelijke groet(?:en)?"
    r"|tack|hälsningar|med vänliga hälsningar|mvh|takk|tak|venlig hilsen|vennlig hilsen|hilsen)[\s,.!]*$",
    re.IGNORECASE,
)
_NAME_LINE_MAX = 40
_NUMBERED_RE = re.compile(r"^\s*(?:Q(?:uestion)?\s*)?#?(\d{1,2})\s*(?:[.)\]:]|-(?!\d))(?!\d)\s*(.*)$", re.IGNORECASE)
_QUESTION_LINE_RE = re.compile(r"^(\d{1,2})[.)]\s+\S")  # "2. When are you usually free…", flush left as our emails put it
_LABELLED_RE = re.compile(r"^\s*([A-Za-z][A-Za-z /'&-]{1,40}?)\s*[:=]\s*(.*)$")
_LIST_MARK_RE = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")


# ---------------------------------------------------------------------------------------------------- HTML


_SKIPPED_TAGS = {"script", "style", "head", "title", "template", "noscript", "svg", "iframe", "object", "select", "textarea"}
_BLOCK_TAGS = {
    "p", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "thead", "tbody",
    "tfoot", "section", "article", "header", "footer", "address", "hr", "dl", "dt", "dd", "center", "form", "fieldset",
    "figure", "figcaption", "main", "nav", "aside", "details", "summary", "caption",
}  # fmt: skip
_PARAGRAPH_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "ul", "ol", "blockquote"}
# Containers mail clients put the quoted thread in (Gmail, Yahoo, Thunderbird's forward, Proton, Zoho).
_QUOTE_CONTAINER_RE = re.compile(r"gmail_quote|yahoo_quoted|moz-forward-container|protonmail_quote|zmail_extra|aol_quoted", re.IGNORECASE)
# The attribution line above a quote ("On … wrote:"), which Gmail and Thunderbird keep outside the blockquote.
_ATTRIBUTION_RE = re.compile(r"moz-cite-prefix", re.IGNORECASE)  # Gmail's gmail_attr sits in its quote container
# Outlook leaves the old thread unquoted after its header block: from here to the end is history.
_REST_QUOTED_ID_RE = re.compile(r"divRplyFwdMsg|OLK_SRC_BODY_SECTION|mail-editor-reference-message-container|appendonsend", re.IGNORECASE)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_BORDER_TOP_RE = re.compile(r"border-top\s*:", re.IGNORECASE)
_SIGNATURE_CLASS_RE = re.compile(r"gmail_signature", re.IGNORECASE)
_SPACES_RE = re.compile(r"[ \t\n\r\f\v]+")
_LIST_INDENT = 3
_OUTLOOK_BORDER_CHECKS = 20
_HTML_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)


class _LineWriter:
    """Collects rendered lines with their quote depth and indentation, merging inline text into one line."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, int, str]] = []
        self.parts: list[str] = []
        self.depth = 0
        self.indent = 0

    def text(self, text: str, depth: int, indent: int) -> None:
        if not self.parts:
            self.depth, self.indent = depth, indent
        self.parts.append(text)

    def end_line(self, *, keep_empty: bool = False) -> None:
        content = _SPACES_RE.sub(" ", "".join(self.parts)).strip()
        if content or keep_empty:
            self.lines.append((self.depth, self.indent, content))
        self.parts = []

    def blank(self, depth: int) -> None:
        self.end_line()
        if self.lines and self.lines[-1][2]:
            self.lines.append((depth, 0, ""))

    def render(self) -> str:
        self.end_line()
        out = []
        for depth, indent, content in self.lines:
            body = " " * indent + content if content else ""
            out.append((("> " * depth) + body).rstrip() if depth else body)
        return "\n".join(out).strip("\n")


def _attribute(element: HtmlElement, name: str) -> str:
    return element.get(name) or ""


def _is_outlook_header_block(element: HtmlElement) -> bool:
    """Outlook desktop's header: a div with a top border whose text starts with "From:" (or its translation)."""
    start = _SPACES_RE.sub(" ", element.text_content()[:300]).strip()
    return bool(_FROM_FIELD_RE.match(start))


def _parse_html(html: str) -> HtmlElement:
    # Bytes with a declared encoding: lxml refuses str input that carries an XML encoding declaration.
    data = html.replace("\x00", "").encode("utf-8", "replace")
    return lxml.html.document_fromstring(data, parser=_HTML_PARSER)


def _render_html(html: str) -> str:
    if not html.strip():
        return ""
    root = _parse_html(html)
    writer = _LineWriter()
    rest_quoted = False
    border_checks = 0
    # Entries: ("element", element, quote depth, open lists' counters, indentation, inside <pre>),
    # ("text", text, quote depth, _, indentation, inside <pre>) and ("end", tag, quote depth, in a nested list, _, _).
    stack: list[tuple] = [("element", root, 0, (), 0, False)]
    while stack:
        kind, node, depth, lists, indent, in_pre = stack.pop()
        if kind == "end":
            if node in _PARAGRAPH_TAGS and not lists:
                writer.blank(max(depth, 1) if rest_quoted else depth)
            else:
                writer.end_line()
            continue
        if kind == "text":
            shown = max(depth, 1) if rest_quoted else depth
            if in_pre:
                for number, piece in enumerate(node.split("\n")):
                    if number:
                        writer.end_line(keep_empty=True)
                    writer.text(piece, shown, indent)
            else:
                writer.text(node, shown, indent)
            continue
        element = node
        if not isinstance(element.tag, str):  # comments and processing instructions; their tail is pushed by the parent
            continue
        name = element.tag.lower()
        if name in _SKIPPED_TAGS or _HIDDEN_STYLE_RE.search(_attribute(element, "style")):
            continue
        classes = _attribute(element, "class")
        if _SIGNATURE_CLASS_RE.search(classes):
            continue
        if name == "br":
            writer.end_line(keep_empty=True)
            continue
        style = _attribute(element, "style")
        if not rest_quoted and name == "div":
            outlook_border = bool(_BORDER_TOP_RE.search(style)) and border_checks < _OUTLOOK_BORDER_CHECKS
            if outlook_border:
                border_checks += 1
            if _REST_QUOTED_ID_RE.search(_attribute(element, "id") + " " + classes) or (outlook_border and _is_outlook_header_block(element)):
                writer.end_line()
                rest_quoted = True
        child_depth = depth
        attribution_depth = depth
        if name == "blockquote":
            indent_only = "border:none" in style.replace(" ", "").lower() and not classes and not element.get("type")
            if not indent_only:  # Gmail's "indent" button makes a borderless blockquote: the person's own text
                child_depth = depth + 1
        elif _ATTRIBUTION_RE.search(classes):
            child_depth = depth + 1
        elif _QUOTE_CONTAINER_RE.search(classes) or _QUOTE_CONTAINER_RE.search(_attribute(element, "id")):
            if element.find(".//blockquote") is None:
                child_depth = depth + 1  # Yahoo: the whole container is the old thread
            else:
                attribution_depth = depth + 1  # Gmail: what precedes the blockquote is the "On … wrote:" line
        if name == "p" and "msonormal" in classes.lower():
            name = "div"  # Outlook writes every line as a margin-less paragraph
        child_lists = lists
        child_indent = indent
        if name in _BLOCK_TAGS:
            if name in _PARAGRAPH_TAGS and not lists:  # no blank line around a list inside a list item
                writer.blank(depth)
            else:
                writer.end_line()
        if name in ("ol", "ul"):
            start = element.get("start", "").strip()
            first = int(start) if start.isdigit() and len(start) < 4 else 1
            child_lists = (*lists, [first if name == "ol" else 0])
        elif name == "li":
            level = len(lists)
            counter = lists[-1] if lists else None
            value = element.get("value", "").strip()
            if counter is not None and counter[0] and value.isdigit() and len(value) < 4:
                counter[0] = int(value)
            marker = f"{counter[0]}. " if counter is not None and counter[0] else "- "
            if counter is not None and counter[0]:
                counter[0] += 1
            writer.text(marker, max(child_depth, 1) if rest_quoted else child_depth, max(level - 1, 0) * _LIST_INDENT)
            child_indent = max(level, 1) * _LIST_INDENT
        if name in _BLOCK_TAGS:
            stack.append(("end", name, depth, bool(lists), 0, in_pre))
        child_pre = in_pre or name == "pre"
        children = list(element)
        quoted_yet = attribution_depth == depth
        entries: list[tuple] = []
        if element.text:
            entries.append(("text", element.text, child_depth if quoted_yet else attribution_depth, child_lists, child_indent, child_pre))
        for child in children:
            if not quoted_yet and isinstance(child.tag, str) and (child.tag == "blockquote" or child.find(".//blockquote") is not None):
                quoted_yet = True  # children before the one holding the blockquote belong to the attribution
            this_depth = child_depth if quoted_yet else attribution_depth
            entries.append(("element", child, this_depth, child_lists, child_indent, child_pre))
            if child.tail:
                entries.append(("text", child.tail, this_depth, child_lists, child_indent, child_pre))
        stack.extend(reversed(entries))
    return writer.render()


def html_to_text(html: str) -> str:
    """Plain text from an HTML body: paragraphs, line breaks and lists kept, quoted parts as "> " lines."""
    try:
        return _render_html(html).replace("\u00a0", " ")
    except Exception:  # noqa: BLE001 - hostile markup the parser gives up on: the words without the tags still count
        return html_lib.unescape(re.sub(r"<[^<>]{0,2000}>", "\n", html)).replace("\u00a0", " ")


# ---------------------------------------------------------------------------------------------------- text


def _quoted(line: str) -> re.Match[str] | None:
    return _QUOTE_PREFIX_RE.match(line)


def _wrote_header_end(lines: list[str], end: int, library_budget: list[int]) -> int | None:
    """The first line of an "… wrote:" header that ends on line `end` (wrapped over up to three lines), if it is one."""
    for back in range(3):
        start = end - back
        if start < 0:
            return None
        window_lines = lines[start : end + 1]
        if any(not line.strip() or _quoted(line) for line in window_lines):
            return None
        window = " ".join(line.strip() for line in window_lines)
        if len(window) > _HEADER_MAX:
            return None
        if not re.search(r"\d", window):  # real headers carry a date or a time
            continue
        first = lines[start]
        if _ISO_HEADER_START_RE.match(first) and window.endswith(":"):
            return start
        if _WROTE_START_RE.match(first) and _WROTE_END_RE.search(window):
            return start
        if len(window) <= _LIBRARY_WINDOW_MAX and library_budget[0] > 0:
            library_budget[0] -= 1
            if _LIBRARY_WROTE_RE.match(window):
                return start
    return None


def _field_block_end(lines: list[str], start: int) -> int | None:
    """The line after an Outlook-style "From:/Sent:/To:/Subject:" block starting at `start`, if it is one."""
    sender = _FROM_FIELD_RE.match(lines[start])
    if not sender and _DATE_OR_SUBJECT_FIELD_RE.match(lines[start]) and start + 1 < len(lines):
        sender = _FROM_FIELD_RE.match(lines[start + 1])  # GMX and web.de put "Gesendet:" before "Von:"
    if not sender or lines[start][sender.end() :].lstrip()[:1].isdigit():
        return None  # "From: 3:30pm / To: 4:30pm / Date: …" is someone's availability, not a sender
    fields, dated, last = 1, False, start
    for index in range(start + 1, min(start + 8, len(lines))):
        line = lines[index]
        if not line.strip() or _quoted(line):
            break
        if len(line) <= _HEADER_MAX and _OTHER_FIELD_RE.match(line):
            fields, last = fields + 1, index
            dated = dated or bool(_DATE_OR_SUBJECT_FIELD_RE.match(line))
    return last + 1 if fields >= 3 and dated else None


def _find_headers(lines: list[str]) -> dict[int, int]:
    """Quote headers among the unquoted lines: first line -> the line after the header."""
    headers: dict[int, int] = {}
    library_budget = [_LIBRARY_TRIES]
    for index, line in enumerate(lines):
        if len(line) > _HEADER_MAX or not line.strip() or _quoted(line):
            continue
        if _SEPARATOR_RE.match(line) or _LIBRARY_SEPARATOR_RE.match(line.strip()):
            headers.setdefault(index, index + 1)
            continue
        if _UNDERSCORES_RE.match(line):
            following = next((l for l in lines[index + 1 : index + 4] if l.strip()), "")
            if _FROM_FIELD_RE.match(following) or _quoted(following):
                headers.setdefault(index, index + 1)
            continue
        zoho = _ZOHO_HEADER_RE.match(line)
        if zoho and _WROTE_VERB_RE.search(zoho[1]) and re.search(r"\d", zoho[1]):
            headers.setdefault(index, index + 1)
            continue
        block_end = _field_block_end(lines, index)
        if block_end is not None:
            headers.setdefault(index, block_end)
            continue
        stripped = line.rstrip()
        if stripped.endswith((":", "：")):
            start = _wrote_header_end(lines, index, library_budget)
            if start is not None and not any(start <= begun < index + 1 for begun in headers):
                headers[start] = index + 1
    return headers


def _is_sent_from(line: str) -> bool:
    """A mobile or app sign-off: a short whole line naming a device or app, not a sentence that starts the same way."""
    stripped = line.strip()
    if len(stripped) > 90 or not _SENT_FROM_RE.match(stripped):
        return False
    words = _TRAILING_LINK_RE.sub("", stripped).rstrip(" .")
    return not re.search(r"[,;:!?]", words) and not _DEVICES.isdisjoint(_WORD_RE.findall(words.lower()))


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2007", " ")
    return _INVISIBLE_RE.sub("", text)


def _cut_closing(kept: list[str], block_start: int) -> None:
    """Drop a closing ("Thanks,\nBen") that ends a block of the person's words, when words came before it."""
    filled = [index for index in range(block_start, len(kept)) if kept[index].strip()]
    for place, index in enumerate(filled[-3:]):
        after = filled[-3:][place + 1 :]
        if _CLOSING_RE.match(kept[index]) and all(len(kept[i].strip()) <= _NAME_LINE_MAX and not _NUMBERED_RE.match(kept[i]) for i in after):
            if any(line.strip() for line in kept[:index]):
                del kept[index:]
            return


def strip_quoted(text: str) -> str:
    """The person's own words in a reply, wherever typed: no quoted thread, no signature, no "Sent from my iPhone".

    Words typed under a quoted numbered question come out as "<number>. <words>".
    """
    lines = _normalise(text).split("\n")
    headers = _find_headers(lines)
    kept: list[str] = []
    after_quote = False  # the last line looked at was quoted (or a quote header)
    in_signature = False
    question: int | None = None  # the quoted numbered question the person's next words answer
    highest_question = 0
    blank_in_question = False
    answer_number: int | None = None
    block_start = 0  # where the current run of the person's own lines starts in `kept`
    index = 0
    while index < len(lines):
        if index in headers:
            end = headers[index]
            following = next((i for i in range(end, len(lines)) if lines[i].strip()), None)
            if following is None or not _quoted(lines[following]):
                break  # an old thread that is not ">"-quoted runs to the end of the mail
            if not after_quote:
                _cut_closing(kept, block_start)
            question, highest_question, blank_in_question = None, 0, False
            after_quote, in_signature = True, False
            index = end
            continue
        line = lines[index]
        index += 1
        prefix = _quoted(line)
        if prefix:
            if not after_quote:
                _cut_closing(kept, block_start)
            after_quote, in_signature = True, False
            content = line[prefix.end() :]
            if not content.strip():
                blank_in_question = question is not None
                continue
            numbered = _QUESTION_LINE_RE.match(content)
            if numbered and int(numbered[1]) > highest_question:
                # Numbers only ever rise through an email's questions; "1. Mentor" in the example below them is no question.
                question = highest_question = int(numbered[1])
                blank_in_question = False
            elif content[:1] in (" ", "\t") or (question is not None and not blank_in_question):
                pass  # options, help and a prompt wrapped onto the next line stay with their question
            else:
                question = None
            continue
        if in_signature:
            continue
        if _SIGNATURE_RE.match(line.rstrip()):
            in_signature = True
            continue
        if _is_sent_from(line):
            continue
        if after_quote:
            after_quote = False
            answer_number = question
            if kept and kept[-1].strip():
                kept.append("")
            block_start = len(kept)
        if answer_number is not None and line.strip():
            if not _NUMBERED_RE.match(line):
                line = f"{answer_number}. {line.strip()}"
            answer_number = None
        kept.append(line.rstrip())
    if not after_quote:
        _cut_closing(kept, block_start)
    out: list[str] = []
    for line in kept:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


# ---------------------------------------------------------------------------------------------------- answers


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


_BARE_NUMBER_RE = re.compile(r"^\s*(\d{1,2})\s+(\S.*)$")


def _with_bare_numbers_marked(body: str, by_number: Mapping[int, Asked]) -> str:
    """"1 K-2" / "2 ELA" typed on a phone, without the dot: read as numbered when every line starts with an asked
    question's number, rising, on at least two lines (so "3 mentees" alone stays an answer, not question 3)."""
    lines = [line for line in body.split("\n") if line.strip()]
    found = [_BARE_NUMBER_RE.match(line) for line in lines]
    numbers = [int(match[1]) for match in found if match]
    if len(lines) < 2 or len(numbers) != len(lines) or any(n not in by_number for n in numbers) or numbers != sorted(set(numbers)):
        return body
    return "\n".join(_BARE_NUMBER_RE.sub(r"\1. \2", line) for line in body.split("\n"))


def extract_answers(body: str, asked: Sequence[Asked], default: str | None = None) -> Extraction:
    """Map a reply body to raw answers for the questions in `asked` (numbered lines, labelled lines, or one answer).

    Text that is neither numbered nor labelled answers `default` (the first question still open), or the first
    question asked, when nothing else in the reply was an answer.
    """
    by_number = {question.number: question for question in asked}
    body = _with_bare_numbers_marked(body, by_number)
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
