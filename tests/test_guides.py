"""Conversation guides: every guide in every form, Block Kit limits, valid HTML, escaping, overrides, the page."""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.guides import (
    GUIDE_NAMES,
    SHIPPED_TEMPLATES,
    GuideContext,
    Mentee,
    Mentor,
    SessionTime,
    block_kit_problems,
    guide_kind,
    parse_guide,
    pick_guide,
    render_document,
    render_email,
    render_print_page,
    render_slack_blocks,
    render_slack_message,
    shipped_source,
    validate_override,
    validate_overrides,
)
from bot.guides.context import split_minutes
from bot.guides.document import Agenda, GuideMarkupError
from bot.guides.render import document_slack_blocks
from bot.web.guides import guides_router

START = datetime(2027, 2, 2, 23, 30, tzinfo=timezone.utc)  # Tue 3:30 PM in Los Angeles, 6:30 PM in New York
URL = "https://mentoring.example/guides/pairing/7"


def make_context(
    *,
    sessions: int = 1,
    kind: str = "one_to_one",
    zone: str = "America/Los_Angeles",
    mentee_name: str = "Ben Ortiz",
    topic: str | None = "classroom management",
    custom_message: str | None = "Welcome to the spring round!\n\nQuestions? Reply to this message.",
    guide_url: str | None = URL,
    with_times: bool = True,
    session_minutes: int = 30,
) -> GuideContext:
    mentees = [Mentee(mentee_name, asked_for=("routines for transitions",), site="Rosa Parks Middle")]
    if kind == "small_group":
        mentees += [Mentee("Cara Diaz", asked_for=("lesson planning",)), Mentee("Dev Patel")]
    times = (
        tuple(
            SessionTime(n, START + timedelta(weeks=n - 1), START + timedelta(weeks=n - 1, minutes=session_minutes))
            for n in range(1, sessions + 1)
        )
        if with_times and kind != "speed"
        else ()
    )
    speed = {"rotation": 3, "rotation_minutes": 8, "rotation_starts_at": START} if kind == "speed" else {}
    return GuideContext(
        program_name="Unified Mentoring",
        mentor=Mentor("Ana Chen", offers=("calm classroom routines", "family engagement"), site="Lincoln Elementary"),
        mentees=tuple(mentees),
        topic=topic,
        sessions=1 if kind == "speed" else sessions,
        kind=kind,  # type: ignore[arg-type]
        reasons=("You both teach grades 6-8.", "Ana's strengths meet Ben's first need."),
        times=times,
        timezone=zone,
        session_minutes=session_minutes,
        custom_message=custom_message,
        guide_url=guide_url,
        **speed,  # type: ignore[arg-type]
    )


SHAPES = [(sessions, kind) for sessions in (1, 2, 3) for kind in ("one_to_one", "small_group")] + [(1, "speed")]
SHAPE_IDS = [f"{kind}-{sessions}" if kind != "speed" else "speed-card" for sessions, kind in SHAPES]


def every_context() -> list[tuple[str, GuideContext]]:
    """Each shape, once with everything filled in and once with only what is required."""
    out = []
    for (sessions, kind), shape in zip(SHAPES, SHAPE_IDS):
        out.append((f"{shape}-full", make_context(sessions=sessions, kind=kind)))
        out.append(
            (
                f"{shape}-bare",
                make_context(sessions=sessions, kind=kind, topic=None, custom_message=None, guide_url=None, with_times=False),
            )
        )
    return out


CONTEXTS = every_context()


# --- checkers -------------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
PHRASING_ONLY = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "th", "td", "dt", "dd"} - {"th", "td", "dd"}
BLOCK = {"p", "div", "ul", "ol", "dl", "table", "section", "aside", "header", "footer", "main", "h1", "h2", "h3", "blockquote"}


class HtmlChecker(HTMLParser):
    """Tags balanced and properly nested, no void end tags, no block inside a paragraph, unique ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()
        self.doctype = False
        self.tags: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id":
                if value in self.ids:
                    self.errors.append(f"duplicate id {value!r}")
                self.ids.add(value or "")
            if value is None and name not in {"data-essential"}:
                self.errors.append(f"<{tag}> attribute {name} has no value")
        if tag in BLOCK and self.stack and self.stack[-1] in PHRASING_ONLY:
            self.errors.append(f"<{tag}> inside <{self.stack[-1]}> at {self.getpos()}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.errors.append(f"<{tag}/> is not a void element")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.errors.append(f"</{tag}> closes a void element")
        elif not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> at {self.getpos()} but open is {self.stack[-1:]}")
        else:
            self.stack.pop()


def html_problems(page: str) -> list[str]:
    checker = HtmlChecker()
    checker.feed(page)
    checker.close()
    problems = list(checker.errors)
    if checker.stack:
        problems.append(f"never closed: {checker.stack}")
    if not checker.doctype:
        problems.append("no <!DOCTYPE html>")
    for required in ("html", "head", "title", "body"):
        if required not in checker.tags:
            problems.append(f"no <{required}>")
    if checker.tags.count("title") != 1:
        problems.append("a page has one <title>")
    return problems


PLACEHOLDERS = ("{{", "}}", "{%", "%}", "{#", "None", "Undefined", "undefined")


def assert_fully_rendered(text: str) -> None:
    for marker in PLACEHOLDERS:
        assert marker not in text, f"{marker!r} left in output: ...{text[max(0, text.find(marker) - 80): text.find(marker) + 80]}..."


TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")


def slack_texts(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(type, text) of every text object in the blocks."""
    out = []
    for block in blocks:
        for obj in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(obj, dict) and "text" in obj:
                inner = obj["text"]
                if isinstance(inner, dict):  # a button
                    out.append((inner["type"], inner["text"]))
                else:
                    out.append((obj["type"], inner))
    return out


def slack_plain(blocks: list[dict[str, Any]]) -> str:
    """All text of the blocks, mrkdwn entities decoded."""
    return "\n".join(html.unescape(text) if kind == "mrkdwn" else text for kind, text in slack_texts(blocks))


# --- every guide, every form ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "ctx"), CONTEXTS, ids=[name for name, _ in CONTEXTS])
def test_every_guide_renders_in_all_three_forms(name: str, ctx: GuideContext) -> None:
    message = render_slack_message(ctx)
    blocks = message["blocks"]
    assert blocks == render_slack_blocks(ctx)
    assert block_kit_problems(blocks, text=message["text"]) == []
    assert_fully_rendered("\n".join([message["text"]] + [text for _, text in slack_texts(blocks)]))
    assert "null" not in json.dumps(message)
    assert blocks[0]["type"] == "header"
    if ctx.guide_url:
        assert blocks[-1]["type"] == "actions"
        assert blocks[-1]["elements"][0]["url"] == ctx.guide_url

    subject, text, email_html = render_email(ctx)
    assert subject and "\n" not in subject and len(subject) <= 200
    for part in (subject, text, email_html):
        assert_fully_rendered(part)
    assert not TAG.search(text), f"HTML tag in plain text: {TAG.search(text)}"
    assert html_problems(email_html) == []

    page = render_print_page(ctx)
    assert_fully_rendered(page)
    assert html_problems(page) == []
    assert "@media print" in page


@pytest.mark.parametrize(("name", "ctx"), CONTEXTS, ids=[name for name, _ in CONTEXTS])
def test_every_guide_carries_what_the_issue_asks_for_in_every_form(name: str, ctx: GuideContext) -> None:
    subject, text, email_html = render_email(ctx)
    forms = {
        "slack": slack_plain(render_slack_blocks(ctx)),
        "text": text,
        "email": html.unescape(re.sub(r"<[^>]+>", " ", email_html)),
        "print": html.unescape(re.sub(r"<[^>]+>", " ", render_print_page(ctx))),
    }
    for form, body in forms.items():
        flat = " ".join(body.split())
        if ctx.topic:
            assert ctx.topic in flat, form
        assert "routines for transitions" in flat, f"{form}: what the mentee asked for"
        assert "calm classroom routines" in flat, f"{form}: what the mentor offers"
        assert "Ana's strengths meet Ben's first need." in flat, f"{form}: why they were matched"
        assert "Ana Chen" in flat and "Ben Ortiz" in flat, form
        assert "Mentoring is not evaluation" in flat, f"{form}: confidentiality"
        if ctx.kind == "speed":
            assert "Come open, listen more than you talk, ask before you advise" in flat, form
            assert "6:30 PM PST" not in flat and "3:30 PM PST" in flat, f"{form}: rotation time"
            continue
        for mindset in ("Openness.", "Listening and asking.", "A learning stance."):
            assert mindset in flat, f"{form}: mindset {mindset}"
        if ctx.times:
            for n in range(1, ctx.sessions + 1):
                day = (START + timedelta(weeks=n - 1)).day
                assert f"Feb {day}, 2027, 3:30–4:00 PM PST" in flat, f"{form}: time of session {n}"
        else:
            assert "To be agreed" in flat, form
        if ctx.custom_message:
            assert "Welcome to the spring round!" in flat, f"{form}: the admin's message"
        if ctx.kind == "small_group":
            assert "Cara Diaz" in flat and "Dev Patel" in flat and "Coaching a small group" in flat, form


@pytest.mark.parametrize(("sessions", "kind"), SHAPES, ids=SHAPE_IDS)
def test_the_guide_has_the_parts_of_its_shape(sessions: int, kind: str) -> None:
    ctx = make_context(sessions=sessions, kind=kind)
    doc = render_document(ctx)
    keys = [section.key for section in doc.sections]
    if kind == "speed":
        assert keys[:5] == ["who", "why", "openers", "time", "ground-rules"]
        openers = next(s for s in doc.sections if s.key == "openers")
        assert len(openers.blocks[0].items) == 3  # type: ignore[union-attr]
        assert len(render_slack_blocks(ctx)) <= 12, "a speed card fits on one screen"
        return
    common = ["at-a-glance", "program-note", "why-matched", "purpose", "working-together", "before-you-meet", "session-1"]
    for key in common + ["prompts", "closing", "follow-up"]:
        assert key in keys
    expected = {1: [], 2: ["between-sessions", "session-2"], 3: ["touchpoint-1", "session-2", "touchpoint-2", "session-3"]}
    for key in expected[sessions]:
        assert key in keys
    assert ("small-group" in keys) == (kind == "small_group")
    assert f"session-{sessions + 1}" not in keys


@pytest.mark.parametrize("minutes", [15, 30, 45, 60])
@pytest.mark.parametrize(("sessions", "kind"), SHAPES, ids=SHAPE_IDS)
def test_agenda_timings_add_up_to_the_session(sessions: int, kind: str, minutes: int) -> None:
    doc = render_document(make_context(sessions=sessions, kind=kind, session_minutes=minutes))
    agendas = [block for section in doc.sections for block in section.blocks if isinstance(block, Agenda)]
    assert len(agendas) == sessions
    for agenda in agendas:
        assert agenda.total_minutes == (8 if kind == "speed" else minutes)
        assert all(item.minutes >= 1 for item in agenda.items)


def test_split_minutes_keeps_the_total() -> None:
    for total in range(5, 121):
        for weights in ([3, 4, 13, 6, 4], [1, 6, 1], [1, 1], [5]):
            parts = split_minutes(total, weights)
            assert sum(parts) == total and min(parts) >= 1
    assert split_minutes(30, [3, 4, 13, 6, 4]) == [3, 4, 13, 6, 4]
    with pytest.raises(ValueError):
        split_minutes(2, [1, 1, 1])


def test_pick_guide_for_a_round() -> None:
    assert pick_guide(round_kind="micro", sessions=1) == "one_session.html"
    assert pick_guide(round_kind="micro", sessions=2) == "two_sessions.html"
    assert pick_guide(round_kind="micro", sessions=3) == "three_sessions.html"
    assert pick_guide(round_kind="speed", sessions=1) == "speed_card.html"
    assert guide_kind(round_kind="micro") == "one_to_one"
    assert guide_kind(round_kind="micro", mentees_in_group=3) == "small_group"
    assert guide_kind(round_kind="speed", mentees_in_group=3) == "speed"
    with pytest.raises(ValueError):
        pick_guide(round_kind="micro", sessions=4)
    with pytest.raises(ValueError):
        pick_guide(round_kind="marathon")
    assert make_context(sessions=2, kind="small_group").template_name == "two_sessions.html"


def test_context_refuses_what_would_render_wrong() -> None:
    mentor, mentee = Mentor("Ana"), Mentee("Ben")
    with pytest.raises(ValueError, match="aware"):
        SessionTime(1, datetime(2027, 2, 2, 15, 30), datetime(2027, 2, 2, 16, 0))
    with pytest.raises(ValueError, match="time zone"):
        GuideContext(program_name="P", mentor=mentor, mentees=(mentee,), timezone="PST")
    with pytest.raises(ValueError, match="small_group"):
        GuideContext(program_name="P", mentor=mentor, mentees=(mentee, Mentee("Cara")))
    with pytest.raises(ValueError, match="rotation"):
        GuideContext(program_name="P", mentor=mentor, mentees=(mentee,), kind="speed")
    with pytest.raises(ValueError, match="beyond"):
        GuideContext(program_name="P", mentor=mentor, mentees=(mentee,), times=(SessionTime(2, START, START + timedelta(minutes=30)),))
    with pytest.raises(TypeError):
        Mentee("Ben", asked_for="lesson planning")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="http"):
        GuideContext(program_name="P", mentor=mentor, mentees=(mentee,), guide_url="javascript:alert(1)")


# --- times ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("America/Los_Angeles", "Tue, Feb 2, 2027, 3:30–4:00 PM PST"),
        ("America/New_York", "Tue, Feb 2, 2027, 6:30–7:00 PM EST"),
        ("Asia/Kolkata", "Wed, Feb 3, 2027, 5:00–5:30 AM IST"),
        ("UTC", "Tue, Feb 2, 2027, 11:30 PM UTC – Wed, Feb 3, 2027, 12:00 AM UTC"),
    ],
)
def test_times_are_shown_in_the_readers_time_zone(zone: str, expected: str) -> None:
    ctx = make_context(zone=zone)
    subject, text, email_html = render_email(ctx)
    for body in (slack_plain(render_slack_blocks(ctx)), text, html.unescape(email_html), html.unescape(render_print_page(ctx))):
        assert expected in " ".join(body.split())


def test_speed_card_time_is_in_the_readers_zone() -> None:
    ctx = make_context(kind="speed", zone="America/Chicago")
    blocks = render_slack_blocks(ctx)
    assert "8 minutes, from Tue, Feb 2, 2027, 5:30 PM CST to 5:38 PM CST" in slack_plain(blocks)


def test_a_time_across_a_daylight_saving_change_says_both_zones() -> None:
    start = datetime(2027, 3, 14, 9, 30, tzinfo=timezone.utc)  # 1:30 AM PST; the clocks jump at 2:00
    ctx = GuideContext(
        program_name="P",
        mentor=Mentor("Ana"),
        mentees=(Mentee("Ben"),),
        times=(SessionTime(1, start, start + timedelta(hours=1)),),
        timezone="America/Los_Angeles",
    )
    assert "Sun, Mar 14, 2027, 1:30 AM PST – 3:30 AM PDT" in render_email(ctx)[1]


# --- escaping -------------------------------------------------------------------------------------

NASTY = '<script>alert("hi")</script> & <!channel>'


@pytest.mark.parametrize(("sessions", "kind"), SHAPES, ids=SHAPE_IDS)
def test_names_are_escaped_for_html_and_slack(sessions: int, kind: str) -> None:
    ctx = make_context(sessions=sessions, kind=kind, mentee_name=NASTY, topic="<b>fractions</b> & ratios")
    subject, text, email_html = render_email(ctx)
    for page in (email_html, render_print_page(ctx)):
        assert "<script>" not in page and "<b>" not in page and "<!channel>" not in page
        assert "&lt;script&gt;" in page and "&amp; &lt;!channel&gt;" in page
        assert "&lt;b&gt;fractions&lt;/b&gt; &amp; ratios" in page
        assert html_problems(page) == []
    blocks = render_slack_blocks(ctx)
    assert block_kit_problems(blocks) == []
    mrkdwn = [t for kind_, t in slack_texts(blocks) if kind_ == "mrkdwn"]
    joined = "\n".join(mrkdwn)
    assert "&lt;script&gt;alert(\"hi\")&lt;/script&gt; &amp; &lt;!channel&gt;" in joined
    for text_ in mrkdwn:
        without_links = re.sub(r"<https?://[^|>]+\|[^>]*>", "", text_)
        assert "<" not in without_links and ">" not in without_links.replace("\n>", "\n").lstrip(">")
        assert not re.search(r"&(?!amp;|lt;|gt;)", text_), "a bare & in mrkdwn"
    # Plain text is not HTML: it shows the name as typed.
    assert NASTY in text


# --- Block Kit limits -----------------------------------------------------------------------------


def test_block_kit_checker_finds_each_limit() -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    fields = {"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11}
    long_field = {"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}
    button = {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x" * 76}, "url": URL}]}
    empty = {"type": "section", "text": {"type": "mrkdwn", "text": ""}}
    problems = block_kit_problems([header, section, fields, long_field, button, empty])
    assert len(problems) == 6, problems
    assert block_kit_problems([{"type": "divider"}] * 51) == ["message has 51 blocks, more than 50"]
    assert block_kit_problems([{"type": "divider"}] * 50) == []
    assert block_kit_problems([{"type": "image"}])  # not a type guides use


@pytest.mark.parametrize(("sessions", "kind"), SHAPES, ids=SHAPE_IDS)
def test_a_huge_admin_message_and_long_names_stay_within_limits(sessions: int, kind: str) -> None:
    paragraph = "Our program runs on trust and good coffee. " * 120  # ~5,000 characters, one paragraph
    ctx = make_context(
        sessions=sessions,
        kind=kind,
        mentee_name="Maria " + "Fernanda " * 40 + "López",
        topic="supporting multilingual learners in " + "science and " * 30 + "math",
        custom_message="\n\n".join([paragraph] * 6),
    )
    message = render_slack_message(ctx)
    assert block_kit_problems(message["blocks"], text=message["text"]) == []
    assert message["blocks"][-1]["type"] == "actions"


@pytest.mark.parametrize(("sessions", "kind"), SHAPES, ids=SHAPE_IDS)
def test_long_guides_are_shortened_for_slack_and_link_to_the_page(sessions: int, kind: str) -> None:
    ctx = make_context(sessions=sessions, kind=kind)
    doc = render_document(ctx)
    for max_blocks, max_chars in ((50, 100_000), (20, 4000), (12, 1500), (8, 500)):
        blocks = document_slack_blocks(doc, program="P", guide_url=URL, max_blocks=max_blocks, max_chars=max_chars)
        assert block_kit_problems(blocks) == []
        assert len(blocks) <= max_blocks
        assert blocks[-1]["elements"][0]["text"]["text"] == "Read the full guide"
        shown = slack_plain(blocks)
        kept = [s for s in doc.sections if s.heading in shown]
        if len(kept) < len(doc.sections):
            assert "Shortened for Slack. Open the full guide for:" in shown
    if kind != "speed" and sessions == 3:  # the default budget shortens the longest guides
        assert "Shortened for Slack" in slack_plain(render_slack_blocks(ctx))


def test_essential_sections_survive_shortening() -> None:
    ctx = make_context(sessions=3)
    doc = render_document(ctx)
    blocks = document_slack_blocks(doc, program="P", guide_url=URL, max_chars=0)
    starts = {b["text"]["text"].split("\n")[0] for b in blocks if b["type"] == "section" and "text" in b}
    for section in doc.sections:
        assert (f"*{section.heading}*" in starts) == section.essential, section.key
    note = next(b for b in blocks if b["type"] == "context" and "Shortened" in b["elements"][0]["text"])
    for section in doc.sections:
        assert (section.heading in note["elements"][0]["text"]) != section.essential


# --- overrides ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED_TEMPLATES)
def test_every_shipped_template_passes_its_own_check(name: str) -> None:
    assert validate_override(shipped_source(name), name=name) == []


def test_an_override_replaces_the_shipped_template() -> None:
    source = shipped_source("one_session.html").replace("One conversation", "Coffee chat")
    assert validate_override(source, name="one_session.html") == []
    ctx = make_context()
    blocks = render_slack_blocks(ctx, overrides={"one_session.html": source})
    assert blocks[0]["text"]["text"] == "Coffee chat: classroom management"
    # A shared part can be overridden too, and every guide picks it up.
    macros = shipped_source("_macros.html").replace("The mindsets you share", "What we bring")
    for sessions in (1, 2, 3):
        text = render_email(make_context(sessions=sessions), overrides={"_macros.html": macros})[1]
        assert "WHAT WE BRING" in text


def test_an_override_syntax_error_is_reported_with_its_line() -> None:
    source = "<h1>Guide</h1>\n<section id=\"a\"><h2>A</h2>\n{% if mentor.name %}\n<p>hi</p>\n</section>\n"
    problems = validate_override(source, name="one_session.html")
    assert len(problems) == 1
    assert problems[0].line is not None and problems[0].line >= 3
    assert "syntax error" in problems[0].message
    assert str(problems[0]).startswith(f"line {problems[0].line}: ")


def test_an_unknown_variable_is_reported_with_its_line() -> None:
    source = '<h1>Guide for {{ mentor.name }}</h1>\n<section id="a">\n<h2>Hello</h2>\n<p>{{ mentee_nmae }}</p>\n</section>\n'
    problems = validate_override(source, name="one_session.html")
    assert [(p.line, "mentee_nmae" in p.message) for p in problems] == [(4, True)]


def test_an_unknown_attribute_is_reported_with_its_line() -> None:
    source = '<h1>Guide</h1>\n<section id="a">\n<h2>Hello</h2>\n\n<p>{{ mentor.nmae }}</p>\n</section>\n'
    problems = validate_override(source, name="two_sessions.html")
    assert len(problems) == 1 and problems[0].line == 5 and "nmae" in problems[0].message


def test_an_unknown_filter_is_reported_with_its_line() -> None:
    source = '<h1>Guide</h1>\n<section id="a">\n<h2>{{ focus|shout }}</h2>\n<p>x</p>\n</section>\n'
    problems = validate_override(source, name="one_session.html")
    assert len(problems) == 1 and problems[0].line == 3 and "shout" in problems[0].message


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__",
        "''.__class__.__mro__[1].__subclasses__()",
        "mentor.__dict__",
        "split_minutes.__globals__",
        "mentees.__len__()",
        "custom_message.append('x')",
    ],
)
def test_the_sandbox_refuses_python_internals(expression: str, caplog: pytest.LogCaptureFixture) -> None:
    source = '<h1>Guide</h1>\n<section id="a">\n<h2>Hello</h2>\n<p>{{ ' + expression + " }}</p>\n</section>\n"
    problems = validate_override(source, name="one_session.html")
    assert problems and problems[0].line == 4, problems
    assert any(word in problems[0].message for word in ("sandbox", "unsafe")), problems
    # At send time the broken override is never used: the shipped guide goes out instead.
    ctx = make_context()
    with caplog.at_level(logging.WARNING, logger="bot.guides.environment"):
        blocks = render_slack_blocks(ctx, overrides={"one_session.html": source})
    assert blocks == render_slack_blocks(ctx)
    assert "guide override failed" in caplog.text


def test_an_override_cannot_write_its_own_html() -> None:
    source = '<h1>Guide</h1>\n<section id="a">\n<h2>Hello</h2>\n<script>alert(1)</script>\n</section>\n'
    problems = validate_override(source, name="one_session.html")
    assert len(problems) == 1 and problems[0].line == 4 and "<script>" in problems[0].message


def test_an_override_that_breaks_only_some_shapes_is_caught() -> None:
    # Fine for one-to-one guides, broken for small groups: the preview renders every shape.
    source = shipped_source("_macros.html").replace(
        "{% macro small_group_coaching() %}", "{% macro small_group_coaching() %}{{ mentees[9].name }}"
    )
    problems = validate_override(source, name="_macros.html")
    assert len(problems) == 1 and "no element 9" in problems[0].message
    assert problems[0].line == source.splitlines().index(
        next(line for line in source.splitlines() if "mentees[9]" in line)
    ) + 1


def test_overrides_are_autoescaped() -> None:
    source = '<h1>Hello {{ mentee.name }}</h1>\n<section id="a"><h2>{{ program }}</h2><p>{{ mentee.name }}</p></section>\n'
    ctx = make_context(mentee_name="<img src=x onerror=alert(1)>")
    page = render_print_page(ctx, overrides={"one_session.html": source})
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_override_names_are_checked() -> None:
    problems = validate_override("<h1>x</h1>", name="six_sessions.html")
    assert problems and problems[0].line is None and "no guide template" in problems[0].message
    report = validate_overrides({"one_session.html": "{% if %}", "speed_card.html": shipped_source("speed_card.html")})
    assert list(report) == ["one_session.html"]


def test_an_override_of_the_shared_frame_is_checked_against_every_guide() -> None:
    frame = shipped_source("guide.html").replace("{{ m.working_together() }}", "{{ m.working_togther() }}")
    problems = validate_override(frame, name="guide.html")
    assert problems and problems[0].line == frame.splitlines().index("{{ m.working_togther() }}") + 1
    assert "working_togther" in problems[0].message


def test_a_standalone_override_is_checked_as_a_guide() -> None:
    good = '<h1>{{ focus }}</h1>\n<section id="s"><h2>Hi</h2><p>{{ mentor.name }} and {{ mentee_names }}</p></section>'
    assert validate_override(good) == []
    assert validate_override("<h1>{{ focus }}</h1>\n<p>no sections</p>")


# --- the markup parser ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "message"),
    [
        ("<section id='a'><h2>A</h2><p>x</p></section>", "title"),
        ("<h1>T</h1><p>x</p><p>y</p><section id='a'><h2>A</h2><p>x</p></section>", "lead"),
        ("<h1>T</h1><section id='a'><h2>A</h2><p>x</section>", "closed first"),
        ("<h1>T</h1><section id='a'><h2>A</h2><div>x</div></section>", "not part of guide markup"),
        ("<h1>T</h1><section id='a'><h2>A</h2><ol class='agenda'><li>x</li></ol></section>", "data-minutes"),
        ("<h1>T</h1><section id='A b'><h2>A</h2><p>x</p></section>", "id"),
        ("<h1>T</h1><section id='a'><h2>A</h2><p><a href='javascript:x'>x</a></p></section>", "href"),
        ("<h1>T</h1><section id='a'><h2>A</h2>loose text</section>", "outside"),
        ("<h1>T</h1><section id='a'><p>x</p></section>", "heading"),
    ],
)
def test_bad_markup_is_refused(markup: str, message: str) -> None:
    with pytest.raises(GuideMarkupError, match=message):
        parse_guide(markup)


def test_markup_whitespace_and_formatting() -> None:
    doc = parse_guide(
        "<h1>  Title </h1>\n<p class='lead'>Lead</p>\n<section id='a' data-essential>\n<h2>A</h2>\n"
        "<p>  one\n   <strong>two</strong>  three<br>\n four </p>\n</section>\n<section id='b'><h2>Empty</h2></section>"
    )
    assert doc.title == "Title"
    assert [s.key for s in doc.sections] == ["a"]  # an empty section is dropped
    spans = doc.sections[0].blocks[0].spans  # type: ignore[union-attr]
    assert [(s.text, s.bold) for s in spans] == [("one ", False), ("two", True), (" three", False), ("\n", False), ("four", False)]
    assert doc.sections[0].essential


# --- the printable page over HTTP -----------------------------------------------------------------


async def test_the_router_serves_the_printable_guide() -> None:
    contexts = {7: make_context(sessions=2)}
    app = FastAPI()
    app.include_router(guides_router(contexts.get))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mentorbot.test") as client:
        found = await client.get("/guides/pairing/7")
        missing = await client.get("/guides/pairing/8")
        eastern = await client.get("/guides/pairing/7", params={"tz": "America/New_York"})
        bad_zone = await client.get("/guides/pairing/7", params={"tz": "Mars/Olympus"})
        not_a_number = await client.get("/guides/pairing/seven")
    assert found.status_code == 200
    assert found.headers["content-type"].startswith("text/html")
    assert html_problems(found.text) == []
    assert "Two sessions: classroom management" in found.text
    assert "3:30–4:00 PM PST" in found.text
    assert missing.status_code == 404
    assert "couldn&#x27;t find that guide" in missing.text or "couldn't find that guide" in missing.text
    assert html_problems(missing.text) == []
    assert "6:30–7:00 PM EST" in eastern.text
    assert bad_zone.status_code == 200 and "3:30–4:00 PM PST" in bad_zone.text
    assert not_a_number.status_code == 422


async def test_the_router_uses_the_programs_overrides() -> None:
    source = shipped_source("two_sessions.html").replace("Two sessions", "Twice over")
    app = FastAPI()
    app.include_router(
        guides_router(lambda pairing_id: make_context(sessions=2), overrides_for=lambda ctx: {"two_sessions.html": source})
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mentorbot.test") as client:
        page = await client.get("/guides/pairing/1")
    assert "Twice over: classroom management" in page.text


def test_guide_names_cover_every_shape() -> None:
    assert {make_context(sessions=s, kind=k).template_name for s, k in SHAPES} == set(GUIDE_NAMES)
