"""The structured guide: what a template renders to, and what every channel renders from.

A guide template writes a small, strict subset of HTML ("guide markup"); `parse_guide` reads it into a
`Document` of sections, paragraphs, lists, timed agendas, fact lists and notes. Because the template
output is HTML, autoescaping protects it: a value can never become markup. The renderers then build
Slack blocks, email and the printable page from the `Document`, escaping again for their own target.

Guide markup:

    <h1>title</h1>  <p class="lead">one line under the title</p>
    <section id="key" data-essential>      (data-essential: kept when Slack has to shorten the guide)
      <h2>heading</h2>
      <p>, <h3>, <ul>/<ol> of <li>, <ol class="agenda"> of <li data-minutes="5">,
      <dl> of <dt>label</dt><dd>value</dd>, <aside> holding <p>, <ul> or <ol>
    </section>
    inline, inside p, li, dt, dd and headings: <strong>, <em>, <a href="https://...">, <br>
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from html.parser import HTMLParser

# --- the document -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A run of text with its inline formatting; text "\\n" is a line break."""

    text: str
    bold: bool = False
    italic: bool = False
    href: str | None = None


Inline = tuple[Span, ...]


@dataclass(frozen=True)
class Paragraph:
    spans: Inline


@dataclass(frozen=True)
class Subheading:
    spans: Inline


@dataclass(frozen=True)
class ItemList:
    items: tuple[Inline, ...]
    ordered: bool = False


@dataclass(frozen=True)
class AgendaItem:
    minutes: int
    spans: Inline


@dataclass(frozen=True)
class Agenda:
    items: tuple[AgendaItem, ...]

    @property
    def total_minutes(self) -> int:
        return sum(item.minutes for item in self.items)


@dataclass(frozen=True)
class Fact:
    label: Inline
    value: Inline


@dataclass(frozen=True)
class Facts:
    items: tuple[Fact, ...]


@dataclass(frozen=True)
class Note:
    blocks: tuple[Paragraph | ItemList, ...]


Block = Paragraph | Subheading | ItemList | Agenda | Facts | Note


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    blocks: tuple[Block, ...]
    essential: bool = False


@dataclass(frozen=True)
class Document:
    title: str
    lead: Inline
    sections: tuple[Section, ...]


def plain(spans: Inline) -> str:
    """The text of some spans, formatting dropped."""
    return "".join(span.text for span in spans)


# --- parsing --------------------------------------------------------------------------------------


class GuideMarkupError(ValueError):
    """The rendered template is not valid guide markup; `line` is the line of the rendered output."""

    def __init__(self, message: str, line: int, tag: str | None = None) -> None:
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line
        self.tag = tag


ROOT = "#root"
INLINE_TAGS = {"strong": "bold", "b": "bold", "em": "italic", "i": "italic", "a": "href"}
INLINE_HOLDERS = {"h1", "h2", "h3", "p", "li", "dt", "dd"}
PARENTS: dict[str, set[str]] = {
    "h1": {ROOT},
    "section": {ROOT},
    "p": {ROOT, "section", "aside"},
    "h2": {"section"},
    "h3": {"section"},
    "ul": {"section", "aside"},
    "ol": {"section", "aside"},
    "li": {"ul", "ol"},
    "dl": {"section"},
    "dt": {"dl"},
    "dd": {"dl"},
    "aside": {"section"},
}
SECTION_KEY = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
SAFE_HREF = re.compile(r"^(https?://|mailto:)[^\s<>\"]+$", re.IGNORECASE)


def normalize(spans: list[Span]) -> Inline:
    """Collapse whitespace like HTML does, trim the ends, and merge runs with the same formatting."""
    out: list[Span] = []
    at_space = True
    for span in spans:
        if span.text == "\n":
            if out and out[-1].text.endswith(" "):
                out[-1] = replace(out[-1], text=out[-1].text.rstrip(" "))
            out.append(span)
            at_space = True
            continue
        text = re.sub(r"\s+", " ", span.text)
        if at_space:
            text = text.lstrip(" ")
        if not text:
            continue
        at_space = text.endswith(" ")
        out.append(replace(span, text=text))
    while out and (out[-1].text == "\n" or not out[-1].text.strip()):
        out.pop()
    if out:
        out[-1] = replace(out[-1], text=out[-1].text.rstrip(" "))
    while out and out[0].text == "\n":
        out.pop(0)
    merged: list[Span] = []
    for span in out:
        if not span.text:
            continue
        if merged and span.text != "\n" and merged[-1].text != "\n" and replace(merged[-1], text="") == replace(span, text=""):
            merged[-1] = replace(merged[-1], text=merged[-1].text + span.text)
        else:
            merged.append(span)
    return tuple(merged)


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str | None]
    line: int


class _GuideParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Open] = []
        self.title: str | None = None
        self.lead: Inline = ()
        self.sections: list[Section] = []
        # the section being read
        self.section_attrs: dict[str, str | None] = {}
        self.section_heading: str | None = None
        self.blocks: list[Block] = []
        # containers inside a section
        self.list_items: list[Inline] = []
        self.agenda_items: list[AgendaItem] = []
        self.facts: list[Fact] = []
        self.pending_label: Inline | None = None
        self.note_blocks: list[Paragraph | ItemList] | None = None
        # inline text being collected
        self.spans: list[Span] | None = None
        self.bold = 0
        self.italic = 0
        self.hrefs: list[str] = []

    # helpers
    def fail(self, message: str, tag: str | None = None) -> None:
        raise GuideMarkupError(message, self.getpos()[0], tag)

    @property
    def parent(self) -> str:
        return self.stack[-1].tag if self.stack else ROOT

    def add_block(self, block: Paragraph | ItemList) -> None:
        if self.note_blocks is not None:
            self.note_blocks.append(block)
        else:
            self.blocks.append(block)

    # HTMLParser hooks
    def handle_decl(self, decl: str) -> None:
        self.fail("a guide template writes guide markup only, not a whole HTML page (no <!doctype>)")

    def handle_pi(self, data: str) -> None:
        self.fail("processing instructions are not guide markup")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.handle_starttag(tag, attrs)
        else:
            self.fail(f"<{tag} /> cannot be self-closing", tag)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "br":
            if self.spans is None:
                self.fail("<br> belongs inside a paragraph, list item or heading", tag)
            self.spans.append(Span("\n"))  # type: ignore[union-attr]
            return
        if tag in INLINE_TAGS:
            if self.spans is None:
                self.fail(f"<{tag}> belongs inside a paragraph, list item or heading", tag)
            if tag == "a":
                href = (attributes.get("href") or "").strip()
                if not SAFE_HREF.match(href):
                    self.fail("a link needs an href starting with https://, http:// or mailto:", tag)
                self.hrefs.append(href)
            elif INLINE_TAGS[tag] == "bold":
                self.bold += 1
            else:
                self.italic += 1
            self.stack.append(_Open(tag, attributes, self.getpos()[0]))
            return
        if tag not in PARENTS:
            self.fail(f"<{tag}> is not part of guide markup", tag)
        if self.parent not in PARENTS[tag]:
            where = "the top level" if self.parent == ROOT else f"<{self.parent}>"
            self.fail(f"<{tag}> cannot go inside {where}", tag)
        if tag == "h1" and (self.title is not None or self.sections):
            self.fail("a guide has one <h1> title, before its sections", tag)
        if tag == "section":
            key = attributes.get("id") or ""
            if not SECTION_KEY.match(key):
                self.fail('a <section> needs an id of lowercase letters, digits and dashes, like id="before-you-meet"', tag)
            if any(s.key == key for s in self.sections):
                self.fail(f'two sections have id="{key}"', tag)
            self.section_attrs, self.section_heading, self.blocks = attributes, None, []
        elif tag == "h2" and self.section_heading is not None:
            self.fail("a <section> has one <h2> heading", tag)
        elif tag not in ("h2",) and self.parent == "section" and self.section_heading is None:
            self.fail("a <section> starts with its <h2> heading", tag)
        if tag == "p" and self.parent == ROOT and (self.title is None or self.lead or self.sections):
            self.fail('outside sections, only one <p class="lead"> right after the <h1> title', tag)
        if tag in ("ul", "ol"):
            self.list_items, self.agenda_items = [], []
        if tag == "dl":
            self.facts, self.pending_label = [], None
        if tag == "dd" and self.pending_label is None:
            self.fail("each <dd> follows its <dt> label", tag)
        if tag == "dt" and self.pending_label is not None:
            self.fail("each <dt> label needs a <dd> value", tag)
        if tag == "aside":
            self.note_blocks = []
        if tag == "li" and self.stack[-1].attrs.get("class") == "agenda":
            minutes = attributes.get("data-minutes") or ""
            if not minutes.isdecimal() or not 1 <= int(minutes) <= 600:
                self.fail('each agenda item needs data-minutes="N", a whole number of minutes', tag)
        if tag in INLINE_HOLDERS:
            self.spans = []
        self.stack.append(_Open(tag, attributes, self.getpos()[0]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "br":
            return
        if not self.stack:
            self.fail(f"</{tag}> closes nothing", tag)
        top = self.stack[-1]
        if top.tag != tag:
            self.fail(f"</{tag}> found where <{top.tag}> (line {top.line}) should be closed first", tag)
        self.stack.pop()
        if tag in INLINE_TAGS:
            if tag == "a":
                self.hrefs.pop()
            elif INLINE_TAGS[tag] == "bold":
                self.bold -= 1
            else:
                self.italic -= 1
            return
        spans = normalize(self.spans) if tag in INLINE_HOLDERS and self.spans is not None else ()
        if tag in INLINE_HOLDERS:
            self.spans = None
        if tag == "h1":
            self.title = plain(spans)
            if not self.title:
                self.fail("the <h1> title is empty", tag)
        elif tag == "p":
            if self.parent == ROOT:
                self.lead = spans
            elif spans:
                self.add_block(Paragraph(spans))
        elif tag == "h2":
            self.section_heading = plain(spans)
            if not self.section_heading:
                self.fail("the <h2> heading is empty", tag)
        elif tag == "h3":
            if spans:
                self.blocks.append(Subheading(spans))
        elif tag == "li":
            if self.stack[-1].tag == "ol" and self.stack[-1].attrs.get("class") == "agenda":
                self.agenda_items.append(AgendaItem(int(top.attrs["data-minutes"] or 0), spans))
            elif spans:
                self.list_items.append(spans)
        elif tag in ("ul", "ol"):
            if top.attrs.get("class") == "agenda" and tag == "ol":
                if self.agenda_items:
                    self.blocks.append(Agenda(tuple(self.agenda_items)))
            elif self.list_items:
                self.add_block(ItemList(tuple(self.list_items), ordered=tag == "ol"))
            self.list_items, self.agenda_items = [], []
        elif tag == "dt":
            self.pending_label = spans
        elif tag == "dd":
            assert self.pending_label is not None
            if spans:
                self.facts.append(Fact(self.pending_label, spans))
            self.pending_label = None
        elif tag == "dl":
            if self.pending_label is not None:
                self.fail("each <dt> label needs a <dd> value", tag)
            if self.facts:
                self.blocks.append(Facts(tuple(self.facts)))
        elif tag == "aside":
            if self.note_blocks:
                self.blocks.append(Note(tuple(self.note_blocks)))
            self.note_blocks = None
        elif tag == "section":
            if self.section_heading is None:
                self.fail("a <section> needs an <h2> heading", tag)
            if self.blocks:  # a section whose parts were all left out by conditions is dropped
                self.sections.append(
                    Section(
                        key=self.section_attrs.get("id") or "",
                        heading=self.section_heading or "",
                        blocks=tuple(self.blocks),
                        essential="data-essential" in self.section_attrs,
                    )
                )
            self.section_heading, self.blocks = None, []

    def handle_data(self, data: str) -> None:
        if self.spans is not None:
            self.spans.append(Span(data, bool(self.bold), bool(self.italic), self.hrefs[-1] if self.hrefs else None))
        elif data.strip():
            snippet = " ".join(data.split())[:40]
            self.fail(f'text "{snippet}" is outside any paragraph, list item or heading')

    def finish(self) -> Document:
        self.close()
        if self.stack:
            top = self.stack[-1]
            raise GuideMarkupError(f"<{top.tag}> opened here is never closed", top.line, top.tag)
        if self.title is None:
            raise GuideMarkupError("a guide needs an <h1> title", 1, "h1")
        if not self.sections:
            raise GuideMarkupError("a guide needs at least one <section>", self.getpos()[0], "section")
        return Document(self.title, self.lead, tuple(self.sections))


def parse_guide(markup: str) -> Document:
    """Read rendered guide markup into a `Document`; `GuideMarkupError` says what is wrong and where."""
    parser = _GuideParser()
    parser.feed(markup)
    return parser.finish()
