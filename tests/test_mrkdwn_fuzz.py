"""Slack mrkdwn injection: a fuzzing pass over every Block Kit text field with hostile strings.

Every Slack surface is rendered twice: once with people, rounds, topics, answers and admin notes holding a hostile
string, once holding a harmless name ("Ann Lee"). Every mrkdwn text of the blocks (sections, fields, contexts, wherever
they sit) and the `text` fallback is walked (plain_text objects, which Slack never parses, are left out); the hostile rendering may hold no more mentions, links,
channel links, bare @here or formatting marks than the harmless one: whatever the program writes itself (its
`<url|label>` links, its `*bold*`) is in both, and nothing a person typed adds one.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st
from sqlmodel import select

from bot.importer import import_roster
from bot.mrkdwn import CONTROL_SEQUENCES, escape
from bot.notices import KINDS, CancelledPair, FlowPrompt, FlowReply, Notice
from bot.rounds import schedule, service
from bot.settings import Settings
from bot.slack import admin, store
from bot.slack.home import home_view
from bot.slack.messages import render_notice
from bot.slack.sender import SlackSender
from storage import db
from storage.db import session_scope
from storage.models import OutboxMessage

ZWJ = "\u200d"
HOSTILE = (
    "<!here>",
    "<!channel>",
    "<!everyone>",
    "<!subteam^S123|@admins>",
    "<@U12345>",
    "<@W0ADMIN1|boss>",
    "<#C123>",
    "<#C0GENERAL|general>",
    "<https://evil.example|click>",
    "<https://evil.example/login|Reset your Slack password>",
    "<!here> <https://evil.example/login|Reset your Slack password>",
    "<mailto:ceo@evil.example|the superintendent>",
    "&lt;!here&gt;",
    "&lt;https://evil.example|click&gt;",
    "&amp;lt;@U12345&amp;gt;",
    "*bold* _italic_ ~strike~",
    "`code` and ```block```",
    "``` closing a code block <!here> ```",
    "> a quote\n>> and <!channel>",
    "@here @channel @everyone",
    f"<{ZWJ}!here> <!{ZWJ}channel> Ann{ZWJ}Lee",
    "\u202eereh!<\u202c right-to-left",
    ":rotating_light: :here: :skull_and_crossbones:",
    "Ann <b>Lee</b> & \"friends\" 'O'Brien'",
    "<" * 40 + "!here" + ">" * 40,
    "x" * 2500 + "<!here>",
    "José Ñúñez <@U0ZOE0001> 😀",
    "||<!here>||<https://a.example|b>||",
)
HARMLESS = "Ann Lee"
# What a person's words could add: the control sequences, a bare mention, and the formatting marks.
WATCHED = (*CONTROL_SEQUENCES, "```", "`", "*", "~")
BARE_MENTION = re.compile(r"(?<![\w\u2060])@(here|channel|everyone)\b", re.IGNORECASE)
TRIED: dict[str, int] = {}  # surface -> renderings checked (run with -s to see the figure at the end)


def texts(value: Any) -> Iterator[str]:
    """Every text Slack parses in a message or view: each mrkdwn text object, and the message's `text` fallback (mrkdwn
    too). A plain_text object is shown as written, never parsed: "<!here>" on a button is only those characters."""
    if isinstance(value, Mapping):
        if value.get("type") == "plain_text":
            return
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            elif key not in ("action_id", "block_id", "value", "url", "private_metadata", "callback_id"):
                yield from texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from texts(item)


CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)


def counts(rendered: Any) -> dict[str, int]:
    whole = "\n".join(texts(rendered))
    found = {seq: whole.count(seq) for seq in WATCHED}
    outside_code = CODE_BLOCK.sub("", whole)  # inside our code blocks (an export's CSV) * and ~ are only characters
    found.update({mark: outside_code.count(mark) for mark in ("*", "~")})
    found["bare mention"] = len(BARE_MENTION.findall(whole))
    return found


def assert_no_more(surface: str, hostile: str, attacked: Any, baseline: Any) -> None:
    """`attacked` (rendered with `hostile` in people's fields) holds no control sequence `baseline` lacks."""
    got, expected = counts(attacked), counts(baseline)
    extra = {seq: (got[seq], expected[seq]) for seq in got if got[seq] > expected[seq]}
    assert not extra, f"{surface} with {hostile[:60]!r} adds {extra}:\n{json.dumps(attacked, ensure_ascii=False)[:3000]}"
    TRIED[surface] = TRIED.get(surface, 0) + 1


# --- the one function ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_escaped_words_hold_no_control_sequence(hostile: str) -> None:
    shown = escape(hostile)
    assert "<" not in shown and ">" not in shown
    assert not BARE_MENTION.search(shown) and "`" not in shown and "*" not in shown and "~" not in shown
    assert "```" not in escape(hostile, in_code=True)


@hypothesis_settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>&!@#|*_~`:/ \n\u200d\u2060ahtpsUC1;")) | st.characters(), max_size=80))
def test_any_text_escaped_is_shown_as_typed(words: str) -> None:
    shown = escape(words)
    assert "<" not in shown and ">" not in shown and not BARE_MENTION.search(shown)
    # Every & is the start of one of the three entities: the words come back whole when Slack decodes them.
    assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", shown, flags=re.DOTALL)
    decoded = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    for mark, lookalike in (("*", "\u2217"), ("_", "\u02cd"), ("~", "\u223c"), ("`", "\u02cb")):
        decoded = decoded.replace(lookalike, mark)
    decoded = decoded.replace("\u2060\uff1e", ">").replace("@\u2060", "@")
    assert decoded == words.replace("\u02cd", "_").replace("\u2217", "*").replace("\u223c", "~").replace("\u02cb", "`").replace("@\u2060", "@").replace("\u2060\uff1e", ">")


# --- every notice kind -------------------------------------------------------------------------------------------

# Fields the program fills (ids, dates, links it signs, flow names), not people.
PROGRAM_FIELDS = {
    "flow", "context", "approval", "role", "round_kind", "guide_url", "page_url", "from_slack_id", "starts_at", "match_on", "end_on",
    "changed", "status", "next_flow", "next_context", "done_message", "program_name",
}  # fmt: skip


def notice_with(model: type[Notice], words: str) -> Notice:
    """A notice of `model` whose every person-authored field holds `words`."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation = str(field.annotation)
        if name in PROGRAM_FIELDS or name in ("thread", "guide", "data", "asks", "proposals", "dropped"):
            continue
        if name == "proposed" and model is not FlowReply:
            values[name] = [["2027-03-09T23:30:00+00:00", "2027-03-10T00:00:00+00:00"]]
        elif name == "pairs":
            values[name] = [CancelledPair(partner_name=words, partner_email=words, topic=words)]
        elif name == "rotations":
            values[name] = [(1, words), (2, words)]
        elif name == "errors":
            values[name] = {"strengths": words}
        elif "list[list" in annotation:
            values[name] = [[words, words]]
        elif "list[str]" in annotation:
            values[name] = [words, words]
        elif annotation in ("<class 'str'>", "str | None"):
            values[name] = words
    if model is FlowPrompt:
        values.update(flow="opt_in", context="opt_in:t1")
    elif model is FlowReply:
        values.update(flow="profile", context="profile:t1")
    return model(**values)


@pytest.mark.parametrize("kind", sorted(set(KINDS) - {FlowPrompt.kind}))  # a prompt is rendered from its dialog: below
@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_notice_kind_shows_hostile_words_as_typed(kind: str, hostile: str) -> None:
    model = KINDS[kind]
    for zone in (None, "America/Los_Angeles"):
        attacked, baseline = render_notice(notice_with(model, hostile), timezone=zone), render_notice(notice_with(model, HARMLESS), timezone=zone)
        assert_no_more(f"notice {kind}", hostile, {"text": attacked.text, "blocks": attacked.blocks}, {"text": baseline.text, "blocks": baseline.blocks})


# --- a whole term with hostile people: prompts, pairings, the Home tab and /mentoring answers ---------------------

ZONE = "America/Los_Angeles"
AT = datetime(2027, 3, 1, 9, 0, tzinfo=ZoneInfo(ZONE))
HEADER = "email,name,role,slack_user_id,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity"
SURFACE_HOSTILE = HOSTILE[:: 3] + (HOSTILE[10],)  # a spread of the list: each term is a whole database


def _csv(value: str) -> str:
    return '"' + value.replace('"', '""').replace("\n", " ") + '"'


def _render_outbox(engine: Any, sender: SlackSender, out: dict[str, Any]) -> None:
    """Each message waiting in the outbox (Slack or its email copy), rendered as the Slack sender would post it; then marked sent (as if delivered)."""
    with session_scope(engine) as session:
        for message in session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all():
            rendered = sender.render(message)
            out.setdefault(f"outbox {message.purpose}", []).append({"text": rendered.text, "blocks": rendered.blocks})
            message.status = "sent"


def term_rendered(template: Path, folder: Path, words: str) -> dict[str, Any]:
    """Every Slack surface of a small term whose people, sites, strengths, needs, topic and admin notes are `words`."""
    database = folder / "mentorbot.db"
    shutil.copyfile(template, database)
    engine = db.create_db_engine(f"sqlite:///{database.as_posix()}")
    settings = Settings(_env_file=None, data_dir=folder, program_name="Riverside", public_base_url="https://m.example", email_token_secret="t" * 32)
    one = " ".join(words.replace(";", " ").split())  # one strength, need and topic (";" would make several)
    rows = [
        HEADER,
        f"mentor@r.example,{_csv(words + ' Mentor')},mentor,U0MENTOR1,{_csv(words)},6-8,math,{_csv(one)},,Tue 15:00-16:30,{ZONE},2",
        f"mentee@r.example,{_csv(words + ' Mentee')},mentee,U0MENTEE1,{_csv(words)},6-8,math,,{_csv(one)},Tue 15:30-16:30,{ZONE},",
        f"late@r.example,{_csv(words + ' Late')},mentee,U0LATE001,{_csv(words)},9-12,art,,{_csv(one)},,{ZONE},",
    ]
    (folder / "roster.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_roster(engine, folder / "roster.csv", program_name="Riverside", default_timezone=ZONE, now=AT)
    out: dict[str, Any] = {}
    actor = admin.slack_actor("U0ADMIN01", site_admin=True, member=None)
    out["/mentoring term open"] = admin.answer(engine, settings, admin.parse(f"term open {json.dumps(words)}"), actor=actor, now=AT)  # everyone is asked
    sender = SlackSender(settings, engine=engine)
    with session_scope(engine) as session:
        prompts = session.exec(select(OutboxMessage)).all()
        out["opt-in prompt"] = [{"text": r.text, "blocks": r.blocks} for r in map(sender.render, prompts)]
    service.enroll_from_roster(engine, program_name="Riverside", term_name=None, require_approval=False, now=AT)
    round_ = service.create_round(
        engine, program_name="Riverside", term_name=None, now=AT,
        request=service.RoundRequest(sessions=2, topic=one, start_on=date(2027, 3, 8), end_on=date(2027, 4, 9)),
    )  # fmt: skip
    for command in ("round list", f"round preview {round_.id}", "status", "pool", "export", f"export {round_.id}", "program show", "program list",
                    f"round timeline {round_.id}", "erase mentor@r.example", f'program set topics "{words.replace(chr(34), "")}; SEL"'):
        out[f"/mentoring {command.split(' ')[0]} {command.split(' ')[1] if ' ' in command else ''}".strip()] = admin.answer(
            engine, settings, admin.parse(command), actor=actor, now=AT
        )
    out["/mentoring round publish"] = admin.answer(engine, settings, admin.parse(f"round publish {round_.id} --message {json.dumps(words)}"), actor=actor, now=AT)
    config = schedule.ScheduleConfig(session_minutes=30, public_base_url="https://m.example", link_secret="g" * 32)
    schedule.run_due_actions(engine, now=AT + timedelta(minutes=5), config=config)  # the pairings go out
    _render_outbox(engine, sender, out)
    schedule.run_due_actions(engine, now=datetime(2027, 3, 8, 15, 45, tzinfo=ZoneInfo(ZONE)), config=config)  # the day-before reminders
    out["/mentoring round timeline"] = admin.answer(engine, settings, admin.parse(f"round timeline {round_.id}"), actor=actor, now=AT)
    _render_outbox(engine, sender, out)  # pairings, reminders, check-ins and surveys; then taken as sent
    out["/mentoring round cancel"] = admin.answer(engine, settings, admin.parse(f"round cancel {round_.id} --message {json.dumps(words)}"), actor=actor, now=AT)
    _render_outbox(engine, sender, out)  # the word that the round is off, with the admin's note
    for user in ("U0MENTOR1", "U0MENTEE1", "U0LATE001"):
        model = store.home_model(engine, settings, slack_user_id=user, now=AT)
        out[f"home tab {user[:8]}"] = home_view(model, public_base_url="https://m.example", link_secret="g" * 32)
    out["/mentoring me"] = admin.me_blocks(engine, settings, person_id=1)
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def harmless_term(migrated_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return term_rendered(migrated_sqlite_template, tmp_path_factory.mktemp("harmless"), HARMLESS)


@pytest.mark.parametrize("hostile", SURFACE_HOSTILE)
def test_a_term_of_hostile_people_shows_their_words_as_typed(hostile: str, harmless_term: dict[str, Any], migrated_sqlite_template: Path, tmp_path: Path) -> None:
    attacked = term_rendered(migrated_sqlite_template, tmp_path, hostile)
    assert set(attacked) == set(harmless_term), set(attacked) ^ set(harmless_term)
    assert {"outbox pairing", "outbox round.cancelled", "/mentoring round preview", "home tab U0MENTEE"} <= set(attacked)
    assert len(attacked["opt-in prompt"]) == 3  # the opt-in question, rendered from each person's dialog
    for surface in sorted(attacked):
        assert_no_more(surface, hostile, attacked[surface], harmless_term[surface])
