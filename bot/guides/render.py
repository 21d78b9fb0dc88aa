"""One guide, three renderings: Slack Block Kit, email (plain text and HTML), and the printable page.

Each renderer reads the `Document` that the guide template produced and escapes for its own target:
HTML entities for email and print, Slack's `&amp; &lt; &gt;` for mrkdwn, nothing for plain text.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

from bot.guides import blockkit
from bot.mrkdwn import escape
from bot.guides.context import GuideContext
from bot.guides.document import (
    Agenda,
    Block,
    Document,
    Facts,
    Inline,
    ItemList,
    Note,
    Paragraph,
    Section,
    Subheading,
    plain,
)
from bot.guides.environment import render_document

Overrides = Mapping[str, str] | None
FULL_GUIDE_BUTTON = "Read the full guide"
SLACK_CHAR_BUDGET = 4000  # past this a DM stops being a quick read; the rest is a click away


def agenda_labels(agenda: Agenda) -> list[str]:
    """`0–5 min`, `5–12 min`, … for each agenda item."""
    labels, start = [], 0
    for item in agenda.items:
        labels.append(f"{start}–{start + item.minutes} min")
        start += item.minutes
    return labels


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


# --- Slack ----------------------------------------------------------------------------------------


def mrkdwn_escape(text: str) -> str:
    """Text shown as written in Slack mrkdwn (`bot.mrkdwn.escape`: entities, no marks, no mentions); the guide's own bold,
    italics and links come from its spans, never from the words."""
    return escape(text)


def _slack_url(url: str) -> str:
    return url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


def spans_to_mrkdwn(spans: Inline) -> str:
    out = []
    for span in spans:
        if span.text == "\n":
            out.append("\n")
            continue
        text = mrkdwn_escape(span.text)
        core = text.strip()
        if not core:
            out.append(text)
            continue
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
        if span.href:
            core = f"<{_slack_url(span.href)}|{core.replace('|', '¦')}>"
        if span.bold:
            core = f"*{core}*"
        if span.italic:
            core = f"_{core}_"
        out.append(lead + core + trail)
    return "".join(out)


def _block_mrkdwn(block: Block) -> str:
    if isinstance(block, Paragraph):
        return spans_to_mrkdwn(block.spans)
    if isinstance(block, Subheading):
        return f"*{mrkdwn_escape(plain(block.spans))}*"
    if isinstance(block, ItemList):
        marks = [f"{n}." for n in range(1, len(block.items) + 1)] if block.ordered else ["•"] * len(block.items)
        return "\n".join(f"{mark} {spans_to_mrkdwn(item)}" for mark, item in zip(marks, block.items))
    if isinstance(block, Agenda):
        return "\n".join(
            f"`{label}`  {spans_to_mrkdwn(item.spans)}" for label, item in zip(agenda_labels(block), block.items)
        )
    if isinstance(block, Facts):
        return "\n".join(f"*{spans_to_mrkdwn(f.label)}:* {spans_to_mrkdwn(f.value)}" for f in block.items)
    if isinstance(block, Note):
        lines = "\n".join(_block_mrkdwn(inner) for inner in block.blocks).split("\n")
        return "\n".join(f">{line}" for line in lines)
    raise TypeError(f"unknown block {block!r}")


def _chunks(text: str, limit: int) -> list[str]:
    """Split mrkdwn at line ends into pieces of at most `limit` characters."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one very long line: cut at a space, never inside an entity or link
            cut = line.rfind(" ", 0, limit - 1)
            cut = cut if cut > limit // 2 else limit - 1
            head, line = line[:cut], line[cut:].lstrip()
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _facts_fields(facts: Facts) -> list[dict[str, Any]] | None:
    fields = [
        {"type": "mrkdwn", "text": f"*{spans_to_mrkdwn(f.label)}*\n{spans_to_mrkdwn(f.value)}"} for f in facts.items
    ]
    if len(fields) > blockkit.SECTION_FIELDS or any(len(f["text"]) > blockkit.FIELD_TEXT for f in fields):
        return None
    return fields


def section_blocks(section: Section) -> list[dict[str, Any]]:
    """Block Kit blocks for one guide section: its heading and text, split to fit, facts as fields."""
    blocks: list[dict[str, Any]] = []
    pending = f"*{mrkdwn_escape(section.heading)}*"

    def flush() -> None:
        nonlocal pending
        for piece in _chunks(pending, blockkit.SECTION_TEXT):
            blocks.append(_section(piece))
        pending = ""

    for block in section.blocks:
        fields = _facts_fields(block) if isinstance(block, Facts) else None
        if fields is not None:
            if pending and len(pending) <= blockkit.SECTION_TEXT:
                blocks.append({**_section(pending), "fields": fields})
            else:
                flush()
                blocks.append({"type": "section", "fields": fields})
            pending = ""
            continue
        text = _block_mrkdwn(block)
        pending = f"{pending}\n{text}" if pending else text
    flush()
    return blocks


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, blockkit.CONTEXT_TEXT)}]}


def document_slack_blocks(
    doc: Document,
    *,
    program: str,
    guide_url: str | None,
    max_blocks: int = blockkit.MAX_BLOCKS,
    max_chars: int = SLACK_CHAR_BUDGET,
) -> list[dict[str, Any]]:
    """Blocks for a whole guide; a guide too long for one message keeps its essential sections and links to the rest."""
    head: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(doc.title, blockkit.HEADER_TEXT), "emoji": False}},
        _context(" · ".join(part for part in (spans_to_mrkdwn(doc.lead), mrkdwn_escape(program)) if part)),
    ]
    button_ok = bool(guide_url) and len(guide_url or "") <= blockkit.BUTTON_URL
    footer: list[dict[str, Any]] = []
    if button_ok:
        footer = [
            {"type": "divider"},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": FULL_GUIDE_BUTTON},
                        "url": guide_url,
                        "action_id": "guide_open_full",
                    }
                ],
            },
        ]
    rendered = [(section, section_blocks(section)) for section in doc.sections]

    def size(blocks: list[dict[str, Any]]) -> int:
        return sum(len(b.get("text", {}).get("text", "")) + sum(len(f["text"]) for f in b.get("fields", [])) for b in blocks)

    # Room for the head, the footer and one "shortened" note.
    room = max_blocks - len(head) - len(footer) - 1
    essential_blocks = sum(len(blocks) for section, blocks in rendered if section.essential)
    essential_chars = sum(size(blocks) for section, blocks in rendered if section.essential)
    used_blocks, used_chars = essential_blocks, essential_chars
    kept: list[dict[str, Any]] = []
    left_out: list[str] = []
    truncating = False
    for section, blocks in rendered:
        if not section.essential:
            if truncating or used_blocks + len(blocks) > room or used_chars + size(blocks) > max_chars:
                truncating = True
                left_out.append(section.heading)
                continue
            used_blocks += len(blocks)
            used_chars += size(blocks)
        kept.extend(blocks)
    if len(kept) > room:  # even the essential sections are too many blocks: cut at the block limit
        kept = kept[:room]
        left_out.append("the rest of the guide")
    note: list[dict[str, Any]] = []
    if left_out:
        where = "Open the full guide for" if button_ok else "The full guide also has"
        note = [_context(f"Shortened for Slack. {where}: {mrkdwn_escape(', '.join(left_out))}.")]
    return head + kept + note + footer


def render_slack_blocks(ctx: GuideContext, *, overrides: Overrides = None) -> list[dict[str, Any]]:
    """The guide as Block Kit blocks, within Slack's limits, linking to the printable page."""
    doc = render_document(ctx, overrides=overrides)
    return document_slack_blocks(doc, program=ctx.program_name, guide_url=ctx.guide_url)


def render_slack_message(ctx: GuideContext, *, overrides: Overrides = None) -> dict[str, Any]:
    """`{"text": fallback, "blocks": [...]}`, ready for chat.postMessage."""
    doc = render_document(ctx, overrides=overrides)
    blocks = document_slack_blocks(doc, program=ctx.program_name, guide_url=ctx.guide_url)
    return {"text": mrkdwn_escape(_clip(f"{doc.title} ({ctx.program_name})", 300)), "blocks": blocks}


# --- HTML (email and print) ----------------------------------------------------------------------

Styler = Callable[[str], str]


def _no_style(_tag: str) -> str:
    return ""


def spans_to_html(spans: Inline) -> str:
    out = []
    for span in spans:
        if span.text == "\n":
            out.append("<br>")
            continue
        text = html.escape(span.text, quote=False)
        if span.bold:
            text = f"<strong>{text}</strong>"
        if span.italic:
            text = f"<em>{text}</em>"
        if span.href:
            text = f'<a href="{html.escape(span.href, quote=True)}">{text}</a>'
        out.append(text)
    return "".join(out)


def _block_html(block: Block, style: Styler) -> str:
    if isinstance(block, Paragraph):
        return f"<p{style('p')}>{spans_to_html(block.spans)}</p>"
    if isinstance(block, Subheading):
        return f"<h3{style('h3')}>{spans_to_html(block.spans)}</h3>"
    if isinstance(block, ItemList):
        tag = "ol" if block.ordered else "ul"
        items = "".join(f"<li{style('li')}>{spans_to_html(item)}</li>" for item in block.items)
        return f"<{tag}{style(tag)}>{items}</{tag}>"
    if isinstance(block, Agenda):
        rows = "".join(
            f"<tr><td{style('agenda-time')}>{html.escape(label)}</td><td{style('agenda-what')}>{spans_to_html(item.spans)}</td></tr>"
            for label, item in zip(agenda_labels(block), block.items)
        )
        return (
            f'<table class="agenda"{style("table")}><thead><tr><th{style("th")}>Time</th>'
            f"<th{style('th')}>What happens</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    if isinstance(block, Facts):
        rows = "".join(
            f'<tr><th scope="row"{style("fact-label")}>{spans_to_html(f.label)}</th><td{style("fact-value")}>{spans_to_html(f.value)}</td></tr>'
            for f in block.items
        )
        return f'<table class="facts"{style("table")}><tbody>{rows}</tbody></table>'
    if isinstance(block, Note):
        inner = "".join(_block_html(b, style) for b in block.blocks)
        return f'<div class="note"{style("note")}>{inner}</div>'
    raise TypeError(f"unknown block {block!r}")


def document_html_body(doc: Document, style: Styler = _no_style) -> str:
    """The guide's sections as HTML (no page around them)."""
    parts = []
    for section in doc.sections:
        blocks = "".join(_block_html(block, style) for block in section.blocks)
        parts.append(
            f'<section id="{html.escape(section.key)}"{style("section")}>'
            f"<h2{style('h2')}>{html.escape(section.heading)}</h2>{blocks}</section>"
        )
    return "\n".join(parts)


EMAIL_STYLES: Mapping[str, str] = {
    "body": "margin:0;padding:0;background:#f4f2ee;",
    "wrap": "max-width:640px;margin:0 auto;padding:28px 24px;background:#ffffff;"
    "font-family:Georgia,'Times New Roman',serif;font-size:16px;line-height:1.5;color:#1f2a33;",
    "h1": "font-size:24px;line-height:1.25;margin:0 0 8px;color:#1b3a4b;",
    "lead": "font-size:17px;margin:0 0 20px;color:#3d4f5c;",
    "section": "margin:0 0 22px;",
    "h2": "font-size:19px;margin:0 0 8px;color:#1b3a4b;border-bottom:1px solid #d9d4ca;padding-bottom:4px;",
    "h3": "font-size:16px;margin:14px 0 4px;color:#1b3a4b;",
    "p": "margin:0 0 10px;",
    "ul": "margin:0 0 10px;padding-left:22px;",
    "ol": "margin:0 0 10px;padding-left:22px;",
    "li": "margin:0 0 4px;",
    "table": "border-collapse:collapse;width:100%;margin:0 0 10px;",
    "th": "text-align:left;font-size:14px;color:#5b6b76;padding:4px 8px 4px 0;border-bottom:1px solid #d9d4ca;",
    "agenda-time": "white-space:nowrap;vertical-align:top;padding:6px 12px 6px 0;color:#5b6b76;font-size:14px;",
    "agenda-what": "vertical-align:top;padding:6px 0;",
    "fact-label": "text-align:left;vertical-align:top;padding:4px 12px 4px 0;white-space:nowrap;font-weight:bold;",
    "fact-value": "vertical-align:top;padding:4px 0;",
    "note": "background:#f7f4e8;border-left:4px solid #c9a227;padding:10px 14px;margin:0 0 10px;",
    "footer": "font-size:14px;color:#5b6b76;margin:24px 0 0;",
}


def _email_style(tag: str) -> str:
    value = EMAIL_STYLES.get(tag)
    return f' style="{value}"' if value else ""


def _subject(doc: Document, program: str) -> str:
    return _clip(" ".join(f"{doc.title} | {program}".split()), 200)


def document_email_fragment(doc: Document, *, program: str, guide_url: str | None) -> str:
    """The guide as a block of HTML to place inside another email's body: no page, head or body of its own."""
    footer = f"Sent by {html.escape(program)} through mentorbot."
    if guide_url:
        footer = (
            f'Printable version: <a href="{html.escape(guide_url, quote=True)}">{html.escape(guide_url)}</a><br>' + footer
        )
    lead = f"<p{_email_style('lead')}>{spans_to_html(doc.lead)}</p>" if doc.lead else ""
    return (
        f'<div class="guide"{_email_style("wrap")}>'
        f"<h1{_email_style('h1')}>{html.escape(doc.title)}</h1>{lead}\n"
        f"{document_html_body(doc, _email_style)}\n"
        f"<p{_email_style('footer')}>{footer}</p>"
        "</div>\n"
    )


def document_email_html(doc: Document, *, program: str, guide_url: str | None) -> str:
    """The guide as a whole HTML email of its own."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(doc.title)}</title></head>\n"
        f"<body{_email_style('body')}>{document_email_fragment(doc, program=program, guide_url=guide_url)}</body></html>\n"
    )


# --- plain text -----------------------------------------------------------------------------------

WIDTH = 72


def spans_to_text(spans: Inline) -> str:
    out = []
    for span in spans:
        if span.href and span.text.strip() and span.text.strip() != span.href:
            out.append(f"{span.text} ({span.href})")
        else:
            out.append(span.text)
    return "".join(out)


@functools.lru_cache(maxsize=4096)  # most of a guide's paragraphs are the same in every pair's guide
def _wrap(text: str, indent: str = "", hanging: str | None = None) -> str:
    hanging = indent if hanging is None else hanging
    lines = []
    for number, line in enumerate(text.split("\n")):
        first = indent if number == 0 else hanging
        lines.append(
            textwrap.fill(line, WIDTH, initial_indent=first, subsequent_indent=hanging, break_long_words=False, break_on_hyphens=False)
            or first.rstrip()
        )
    return "\n".join(lines)


def _block_text(block: Block, indent: str = "") -> str:
    if isinstance(block, Paragraph):
        return _wrap(spans_to_text(block.spans), indent)
    if isinstance(block, Subheading):
        return _wrap(spans_to_text(block.spans).upper(), indent)
    if isinstance(block, ItemList):
        out = []
        for number, item in enumerate(block.items, start=1):
            mark = f"{number}. " if block.ordered else "- "
            out.append(_wrap(spans_to_text(item), indent + "  " + mark, indent + "  " + " " * len(mark)))
        return "\n".join(out)
    if isinstance(block, Agenda):
        labels = agenda_labels(block)
        width = max(len(label) for label in labels) + 2
        return "\n".join(
            _wrap(spans_to_text(item.spans), indent + "  " + label.ljust(width), indent + "  " + " " * width)
            for label, item in zip(labels, block.items)
        )
    if isinstance(block, Facts):
        return "\n".join(
            _wrap(f"{spans_to_text(f.label)}: {spans_to_text(f.value)}", indent + "  ", indent + "    ") for f in block.items
        )
    if isinstance(block, Note):
        return f"\n{indent}|\n".join(_block_text(inner, indent + "| ") for inner in block.blocks)
    raise TypeError(f"unknown block {block!r}")


def document_text(doc: Document, *, program: str, guide_url: str | None) -> str:
    """The guide as plain text, wrapped at 72 columns."""
    parts = [doc.title, "=" * min(len(doc.title), WIDTH)]
    if doc.lead:
        parts += [_wrap(spans_to_text(doc.lead))]
    out = ["\n".join(parts)]
    for section in doc.sections:
        body = "\n\n".join(_block_text(block) for block in section.blocks)
        out.append(f"{section.heading}\n{'-' * min(len(section.heading), WIDTH)}\n{body}")
    footer = f"Sent by {program} through mentorbot."
    if guide_url:
        footer = f"Printable version: {guide_url}\n{footer}"
    out.append(footer)
    return "\n\n".join(out) + "\n"


def render_email(ctx: GuideContext, *, overrides: Overrides = None) -> tuple[str, str, str]:
    """`(subject, plain text, HTML)` for the guide."""
    doc = render_document(ctx, overrides=overrides)
    return (
        _subject(doc, ctx.program_name),
        document_text(doc, program=ctx.program_name, guide_url=ctx.guide_url),
        document_email_html(doc, program=ctx.program_name, guide_url=ctx.guide_url),
    )


# --- the shared part of a guide, rendered once ------------------------------------------------------
#
# A round's guides differ from one pairing to the next mostly by the people's names and sites and the guide's link;
# the template run and the HTML parse behind them are the same for every pair with the same topic, asks, reasons,
# times and time zone. So the document is rendered once for a context whose names, sites and link are stand-in
# tokens, kept, and each reader's copy is that document with the tokens replaced by the real words.

_TOKEN_OPEN, _TOKEN_CLOSE = "\ue000", "\ue001"  # private-use characters: never in a name, untouched by the template


def _token(number: int) -> str:
    return f"{_TOKEN_OPEN}{number}{_TOKEN_CLOSE}"


def _substitutable(value: str) -> bool:
    # The template prints names and sites as they are; parsing collapses runs of white space, so only single-spaced
    # words come back unchanged from the document. Anything else is rendered the ordinary way.
    return bool(value) and value == " ".join(value.split()) and _TOKEN_OPEN not in value and _TOKEN_CLOSE not in value


def _with_tokens(ctx: GuideContext) -> tuple[GuideContext, dict[str, str]] | None:
    """`ctx` with names, sites and link as tokens, and what each token stands for; None when that can't be exact."""
    words: dict[str, str] = {}

    def stand_in(value: str, prefix: str = "") -> str:
        token = prefix + _token(len(words))
        words[token] = value
        return token

    def person(who: Any) -> Any:
        name, site = who.name.strip(), (who.site or "").strip()
        if not _substitutable(name) or (site and not _substitutable(site)):
            raise ValueError
        return dataclasses.replace(who, name=stand_in(name), site=stand_in(site) if site else who.site)

    try:
        mentor = person(ctx.mentor)
        mentees = tuple(person(mentee) for mentee in ctx.mentees)
    except ValueError:
        return None
    # The reasons name the people too ("Ana's strength … meets Ben's top need"): the same stand-ins there make pairs
    # with the same topic and times share one document. A name of digits alone could match inside a token, so it
    # stays; any other name can only match real text, and putting the tokens back restores it exactly.
    reasons = ctx.reasons
    for token, word in sorted(words.items(), key=lambda item: -len(item[1])):
        if not word.isdigit():
            reasons = tuple(reason.replace(word, token) for reason in reasons)
    guide_url = ctx.guide_url
    if guide_url:
        if not _substitutable(guide_url):
            return None
        guide_url = stand_in(guide_url, prefix="https://guide.invalid/")  # the context accepts only an http(s) address
    return dataclasses.replace(ctx, mentor=mentor, mentees=mentees, reasons=reasons, guide_url=guide_url), words


@functools.lru_cache(maxsize=512)
def _shared_document(ctx: GuideContext) -> tuple[Document, frozenset[int]]:
    """The document of a shape, and the ids of its parts that hold a token (the only parts `_put_back` rebuilds)."""
    doc = render_document(ctx)
    holding: set[int] = set()

    def walk(value: Any) -> bool:  # every child is walked (lists, not generators, inside `any`): each one is marked
        if isinstance(value, str):
            found = _TOKEN_OPEN in value
        elif isinstance(value, tuple):
            found = any([walk(item) for item in value])
        elif dataclasses.is_dataclass(value):
            found = any([walk(getattr(value, f.name)) for f in dataclasses.fields(value)])
        else:
            found = False
        if found:
            holding.add(id(value))
        return found

    walk(doc)
    return doc, frozenset(holding)


def _put_back(value: Any, words: Mapping[str, str], holding: frozenset[int]) -> Any:
    """`value` (a document or any part of one) with every token replaced by its words; parts whose id is not in
    `holding` have no token and are kept as they are (the same object)."""
    if id(value) not in holding:
        return value
    if isinstance(value, str):
        for token, word in words.items():
            value = value.replace(token, word)
        return value
    if isinstance(value, tuple):
        return tuple(_put_back(item, words, holding) for item in value)
    changes = {f.name: _put_back(getattr(value, f.name), words, holding) for f in dataclasses.fields(value) if id(getattr(value, f.name)) in holding}
    return dataclasses.replace(value, **changes)


def guide_document(ctx: GuideContext, *, overrides: Overrides = None) -> Document:
    """`render_document(ctx)`, from a kept rendering of its shared part when there is no override (same result)."""
    if overrides:
        return render_document(ctx, overrides=overrides)
    tokens = _with_tokens(ctx)
    if tokens is None:
        return render_document(ctx)
    shape, words = tokens
    doc, holding = _shared_document(shape)
    return _put_back(doc, words, holding)


def render_email_parts(ctx: GuideContext, *, overrides: Overrides = None) -> tuple[str, str]:
    """`(plain text, HTML fragment)` of the guide, to include in another email (a pairing notice)."""
    # A pair's two readers mostly share a time zone, and so the whole guide: kept for the second reader.
    return _kept_email_parts(ctx, tuple(sorted(overrides.items())) if overrides else ())


@functools.lru_cache(maxsize=256)
def _kept_email_parts(ctx: GuideContext, overrides: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    return _email_parts(ctx, overrides=dict(overrides) or None)


def _email_parts(ctx: GuideContext, *, overrides: Overrides = None) -> tuple[str, str]:
    doc = guide_document(ctx, overrides=overrides)
    return (
        document_text(doc, program=ctx.program_name, guide_url=ctx.guide_url),
        document_email_fragment(doc, program=ctx.program_name, guide_url=ctx.guide_url),
    )


def render_text(ctx: GuideContext, *, overrides: Overrides = None) -> str:
    """The plain-text guide alone."""
    return render_email(ctx, overrides=overrides)[1]


# --- printable page -------------------------------------------------------------------------------

PRINT_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f2ee; color: #1f2a33;
  font: 17px/1.55 Georgia, "Times New Roman", serif; }
main { max-width: 46rem; margin: 2rem auto; padding: 2.5rem 3rem; background: #fff;
  box-shadow: 0 1px 4px rgba(0,0,0,.08); }
.program { margin: 0 0 .25rem; font: 600 .85rem/1.3 system-ui, sans-serif; letter-spacing: .06em;
  text-transform: uppercase; color: #7a6a3a; }
h1 { font-size: 1.8rem; line-height: 1.2; margin: 0 0 .5rem; color: #1b3a4b; }
.lead { font-size: 1.1rem; color: #3d4f5c; margin: 0 0 1.5rem; }
section { margin: 0 0 1.6rem; break-inside: avoid-page; }
h2 { font-size: 1.25rem; color: #1b3a4b; border-bottom: 1px solid #d9d4ca; padding-bottom: .2rem;
  margin: 0 0 .6rem; break-after: avoid; }
h3 { font-size: 1.02rem; color: #1b3a4b; margin: 1rem 0 .3rem; break-after: avoid; }
p { margin: 0 0 .7rem; }
ul, ol { margin: 0 0 .7rem; padding-left: 1.4rem; }
li { margin: 0 0 .3rem; }
table { border-collapse: collapse; width: 100%; margin: 0 0 .7rem; }
th, td { text-align: left; vertical-align: top; padding: .3rem .8rem .3rem 0; }
table.agenda thead th { font: 600 .8rem system-ui, sans-serif; color: #5b6b76;
  border-bottom: 1px solid #d9d4ca; }
table.agenda td:first-child { white-space: nowrap; color: #5b6b76; font-size: .92rem; width: 7.5rem; }
table.agenda tr + tr td { border-top: 1px dotted #e3ded4; }
table.facts th { white-space: nowrap; width: 12rem; }
.note { background: #f7f4e8; border-left: 4px solid #c9a227; padding: .7rem 1rem; margin: 0 0 .7rem; }
.note p:last-child { margin-bottom: 0; }
.tools { text-align: right; margin: 0 0 1rem; }
.tools button { font: 600 .9rem system-ui, sans-serif; padding: .45rem .9rem; border: 1px solid #1b3a4b;
  background: #fff; color: #1b3a4b; border-radius: 4px; cursor: pointer; }
footer { margin-top: 2rem; font-size: .85rem; color: #5b6b76; }
@media (max-width: 40rem) { main { margin: 0; padding: 1.25rem; } table.facts th { white-space: normal; width: auto; } }
@page { margin: 1.6cm 1.8cm; }
@media print {
  body { background: #fff; font-size: 11.5pt; }
  main { box-shadow: none; margin: 0; padding: 0; max-width: none; }
  .tools { display: none; }
  a { color: inherit; }
}
""".strip()


def document_print_page(doc: Document, *, program: str) -> str:
    """A whole HTML page for the guide, laid out to read on screen and print cleanly."""
    lead = f'<p class="lead">{spans_to_html(doc.lead)}</p>' if doc.lead else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(doc.title)} | {html.escape(program)}</title>\n"
        f"<style>\n{PRINT_CSS}\n</style>\n</head>\n<body>\n<main>\n"
        '<div class="tools"><button type="button" onclick="window.print()">Print this guide</button></div>\n'
        f'<header><p class="program">{html.escape(program)}</p><h1>{html.escape(doc.title)}</h1>{lead}</header>\n'
        f"{document_html_body(doc)}\n"
        f"<footer><p>Shared with you by {html.escape(program)} through mentorbot. "
        "Keep it handy for your meetings.</p></footer>\n"
        "</main>\n</body>\n</html>\n"
    )


def render_print_page(ctx: GuideContext, *, overrides: Overrides = None) -> str:
    """The printable HTML page for the guide (served by the app at /guides/pairing/{id})."""
    doc = render_document(ctx, overrides=overrides)
    return document_print_page(doc, program=ctx.program_name)
