"""Block Kit rendered from flow data stays within Slack's limits, and the stand-in enforces those limits like Slack."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.doubles.slack import SlackStandIn, block_kit_problems, view_problems
from bot.flows import FLOWS, PROFILE, FlowContext, Question, pending_questions, questions_for
from bot.slack import blocks as bk
from bot.slack.home import home_view
from bot.slack.messages import render_notice, render_prompt
from bot.slack.store import HomeModel, Member, PairingView, Snapshot

MANY_TOPICS = tuple(f"topic {n}: " + "a rather long description of a teaching practice " * 2 for n in range(150))


def _snapshot(flow_key: str, ctx: FlowContext, answers: dict | None = None) -> Snapshot:
    flow = FLOWS[flow_key]
    answers = answers or {}
    applicable = tuple(q for q in questions_for(flow, ctx) if q.ask_if(answers, ctx))
    return Snapshot(flow, "term:1:mentor:2" if flow_key == "approval" else "term:1", ctx, answers, answers, applicable, pending_questions(flow, answers, ctx), False, False, 1, "Spring 2027")


def test_every_flow_renders_as_a_message_slack_accepts() -> None:
    ctx = FlowContext(role="both", topics=MANY_TOPICS, max_capacity=10)
    for key in FLOWS:
        rendered = render_prompt(_snapshot(key, ctx))
        assert block_kit_problems(rendered.blocks, surface="message") == [], key
        assert len(rendered.text) <= 3000


def test_the_profile_modal_fits_with_150_long_topics_and_long_custom_questions() -> None:
    custom = tuple((f"q{n}", "Tell us about your practice " * 100) for n in range(12))
    ctx = FlowContext(role="both", topics=MANY_TOPICS, custom_questions=custom)
    questions = questions_for(PROFILE, ctx)
    keys = [q.key for q in questions]
    page = bk.paginate("profile", "term:1", keys, edit=True)
    pages = 0
    while True:
        pages += 1
        view = bk.flow_modal(PROFILE, page, [q for q in questions if q.key in page.keys], ctx, {"strengths": [MANY_TOPICS[3], "my own thing"]})
        assert view_problems(view) == [], view_problems(view)
        if not page.rest:
            break
        page = bk.paginate("profile", "term:1", list(page.rest), edit=True, number=page.number + 1)
    assert pages == -(-len(keys) // bk.PAGE_SIZE)
    first = bk.flow_modal(PROFILE, bk.paginate("profile", "term:1", keys, edit=True), questions[:3], ctx, {"strengths": [MANY_TOPICS[3], "my own thing"]})
    strengths = next(b for b in first["blocks"] if b.get("block_id") == "q:strengths")["element"]
    assert "option_groups" in strengths and sum(len(g["options"]) for g in strengths["option_groups"]) == 150
    other = next(b for b in first["blocks"] if b.get("block_id") == "q:strengths::other")["element"]
    assert other["initial_value"] == "my own thing"


def test_reading_a_modal_back_gives_the_flow_replies() -> None:
    questions = [PROFILE.question("needs"), PROFILE.question("availability")]
    values = {
        "q:needs": {"answer": {"type": "multi_static_select", "selected_options": [{"value": "SEL"}]}},
        "q:needs::other": {"answer": {"type": "plain_text_input", "value": "newcomers; \nfamilies"}},
        "q:availability": {"answer": {"type": "plain_text_input", "value": "Tue 15:30-16:30\n\nThu 07:30-08:15"}},
    }
    assert bk.read_state(questions, values) == {"needs": ["SEL", "newcomers", "families"], "availability": "Tue 15:30-16:30; Thu 07:30-08:15"}


def test_long_text_and_long_lists_are_split_within_limits() -> None:
    text = "\n".join("x" * 180 for _ in range(100)) + "\n" + "y" * 7000
    sections = bk.text_sections(text)
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert "".join(s["text"]["text"].replace("\n", "") for s in sections) == text.replace("\n", "")
    messages = bk.split_blocks([bk.section(str(n)) for n in range(120)])
    assert [len(m) for m in messages] == [50, 50, 20]
    long_choice = Question("pick", "Pick one " * 400, "choice", lambda raw, ctx: raw, choices=lambda ctx: tuple(bk.Choice(f"v{n}" * 80, "label " * 30) for n in range(30)), help="h" * 3000)
    blocks = bk.answer_blocks(FLOWS["opt_in"], "term:1", long_choice, FlowContext())
    assert block_kit_problems(blocks, surface="message") == []
    assert blocks[1]["elements"][0]["type"] == "static_select"  # more than five choices read better as a menu
    inputs = bk.question_inputs(long_choice, FlowContext())
    assert view_problems({"type": "modal", "title": bk.plain("t"), "submit": bk.plain("s"), "blocks": inputs}) == []


def test_home_with_many_pairings_fits_in_a_home_tab() -> None:
    now = datetime(2027, 2, 1, 16, tzinfo=timezone.utc)
    pairings = [
        PairingView(n, 1, "micro", "SEL", "mentor", f"Mentee {n}", f"m{n}@d.example", ["a long reason " * 40] * 5, "published",
                    [(now + timedelta(days=7 * k), now + timedelta(days=7 * k, minutes=30), "proposed", k + 1) for k in range(3)])
        for n in range(40)
    ]  # fmt: skip
    model = HomeModel("Program", Member(1, "Ana", "ana@d.example", "America/Los_Angeles"), pairings=pairings)
    model.upcoming = [(s[0], s[1], p.partner_name, s[3]) for p in pairings for s in p.sessions]
    view = home_view(model, public_base_url="http://x.test")
    assert view_problems(view) == [] and len(view["blocks"]) <= 100
    assert "…and 30 more." in str(view["blocks"])


def test_notices_render_within_limits() -> None:
    long_text = "word " * 3000
    for notice in ({"notice": "reminder", "text": long_text}, {"notice": "approval_decided", "approval": "declined", "by": "Pat"}, {"notice": "pairing", "reasons": ["r" * 4000], "partner_name": "A"}):
        assert block_kit_problems(render_notice(notice).blocks, surface="message") == []


@pytest.mark.parametrize(
    ("blocks", "surface", "problem"),
    [
        ([bk.section("x")] * 51, "message", "at most 50 blocks"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "message", "at most 3000"),
        ([{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}, "action_id": "a"}]}], "message", "at most 75"),
        ([{"type": "actions", "elements": [{"type": "static_select", "action_id": "s", "options": [{"text": {"type": "plain_text", "text": str(n)}, "value": str(n)} for n in range(101)]}]}], "message", "at most 100 options"),
        ([{"type": "input", "label": {"type": "plain_text", "text": "l"}, "element": {"type": "plain_text_input", "action_id": "a"}}], "message", "belong in modals"),
    ],
)
def test_the_stand_in_refuses_what_slack_refuses(blocks: list, surface: str, problem: str) -> None:
    assert any(problem in p for p in block_kit_problems(blocks, surface=surface))


def test_the_stand_in_refuses_long_modal_titles() -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "A title that is too long!"}, "blocks": []}
    assert any("title" in p for p in view_problems(view))


async def test_the_stand_in_answers_invalid_blocks_over_http() -> None:
    async with SlackStandIn() as standin:
        standin.add_user("U1", "One")
        client = AsyncWebClient(token=standin.bot_token, base_url=standin.api_url)
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel="U1", text="x", blocks=[bk.section("x")] * 51)
        assert caught.value.response["error"] == "invalid_blocks"
        with pytest.raises(SlackApiError) as caught:
            await client.conversations_open(users="UNKNOWN")
        assert caught.value.response["error"] == "user_not_found"
        bad = AsyncWebClient(token="xoxb-wrong", base_url=standin.api_url)
        with pytest.raises(SlackApiError) as caught:
            await bad.auth_test()
        assert caught.value.response["error"] == "invalid_auth"
