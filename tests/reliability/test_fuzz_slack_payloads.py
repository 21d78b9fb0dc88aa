"""Fuzzing Slack's interactive payloads: correctly signed, but forged or garbled, sent into `/slack/events` over HTTP.

A person's Slack client (or anyone holding a captured request) can send any button click, menu pick, modal
submission, closed modal or slash command, as long as Slack signs it: `action_id`, `block_id`, `value`,
`selected_option`, `private_metadata` and `state.values` are whatever the sender makes them. Generated here:
clicks with arbitrary or garbled ids and values (wrong types, huge strings, missing fields, unknown flows, other
people's dialog contexts), submissions and closed modals with any `private_metadata` and `state.values` of any
shape, and `/mentoring` with any text, from people on the roster, an admin and someone who is not on it.

What must hold: every answer is a 200 (a submission's may carry a well-formed `response_action`), never a 5xx;
nothing is logged at ERROR (no traceback); nobody's record changes but the clicker's own, and only in a dialog
that is theirs to answer (their own terms, pairings and rounds; a principal's approval of their own mentor);
the stored dialog state is what the snapshot reads and the profile agrees with it; and nobody is sent an
apology for an internal error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

from bot import dialogs
from bot.doubles.slack import slash_command, user_ref, view_problems
from bot.flows import FLOWS
from bot.slack import admin
from bot.slack import blocks as bk
from bot.slack import store
from storage import repo
from storage.db import session_scope
from storage.models import CheckIn, Enrollment
from tests.reliability.test_fuzz_dialogs import CUSTOM, _setup_on
from tests.slack_helpers import ADMIN, slack_harness

SORRY = "something went wrong on my side"
CLICKERS = ("UANA00001", "UBEN00001", "UCY000001", "UPAT00001", ADMIN, "UNOBODY01")  # UNOBODY01 is not on the roster
# Rows that belong to one person (by `person_id`, or the person row itself); outbox and receipts are the app's own.
OWNED_TABLES = ("person", "profile_answer", "enrollment", "dialog_state", "check_in", "survey_answer", "round_signup", "pool_member", "data_request")

# Slack sends valid UTF-8: no lone surrogates (they cannot be encoded in the answer either).
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
huge = st.sampled_from(["x" * 5000, "|" * 400, "ask|" + "a|" * 300, "💥" * 1000, "\x00" * 20])
junk_text = st.one_of(text, huge, st.sampled_from(["", " ", "null", "{}", "[]", "1", "-1", "¹", "\x00", "None"]))
wrong_types = st.one_of(st.none(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.booleans(), st.lists(st.integers(), max_size=3), st.dictionaries(text, st.integers(), max_size=2))
anything = st.one_of(junk_text, wrong_types)
answer_words = st.sampled_from([
    "mentor", "mentee", "both", "none", "approve", "change", "decline", "yes", "no", "met", "need_help", "rescheduled",
    "not_happening", "1", "2", "3", "5", "0", "11", "6-8", "K-2", "math", "SEL", "Tue 15:30-16:30", "early", "Desmos", "skip",
])  # fmt: skip
values = st.one_of(answer_words, junk_text, wrong_types, st.lists(st.one_of(answer_words, junk_text), max_size=4))

# Only what Slack itself guarantees is kept: the payload is signed, its JSON is valid UTF-8 (no lone surrogates), it
# names a user, and a person's admin commands are left out (they change other people's records by design).


def _contexts(world: Mapping[str, Any]) -> st.SearchStrategy[tuple[str, str]]:
    """(flow, context): everyone's real dialogs, and dialogs of the right shape that name nothing or someone else's."""
    people, term, pairing, round_ = world["people"], world["term"], world["pairing"], world["round"]
    ids = st.sampled_from([term, pairing, round_, *people.values(), 0, 99999, 2**40])  # 2**40: too large for the database
    term_ids = ids
    return st.one_of(
        st.sampled_from([("opt_in", f"term:{term}"), ("profile", f"term:{term}"), ("check_in", f"pairing:{pairing}"), ("survey", f"round:{round_}")]),
        st.sampled_from(list(people.values())).map(lambda p: ("approval", f"term:{term}:mentor:{p}")),
        st.builds(lambda f, n: (f, f"term:{n}"), st.sampled_from(["opt_in", "profile"]), term_ids),
        st.builds(lambda t, m: ("approval", f"term:{t}:mentor:{m}"), ids, ids),
        ids.map(lambda n: ("check_in", f"pairing:{n}")), ids.map(lambda n: ("survey", f"round:{n}")),
        st.builds(lambda f, n, tail: (f, f"term:{n}:{tail}"), st.sampled_from(["opt_in", "profile"]), term_ids, junk_text),  # some too long to be stored
        st.builds(lambda n: ("approval", f"term:{n}"), ids),  # an approval with its mentor left off
        st.builds(lambda f, c: (f, c), st.sampled_from(sorted(FLOWS)), st.sampled_from(["pairing:x", "round:", "term:1:mentor:x", "term:abc", "x", ""]) | junk_text),  # not the flow's shape
        st.builds(lambda f, c: (f, c), st.sampled_from(["bogus", "", "profile|x"]) | junk_text, st.sampled_from([f"term:{term}", f"pairing:{pairing}"]) | junk_text),  # no such flow
    )


def _keys() -> st.SearchStrategy[str]:
    keys = sorted({q.key for flow in FLOWS.values() for q in flow.questions} | {f"custom:{{program}}:{q['key']}" for q in CUSTOM})
    return st.one_of(st.sampled_from(keys + ["bogus", "custom:999:nothing"]), junk_text)


@st.composite
def clicks(draw: st.DrawFn, world: Mapping[str, Any]) -> dict[str, Any]:
    """A block_actions payload: an answer button, menu pick, form button or sign-up with forged ids and values."""
    (flow, context), key = draw(_contexts(world)), draw(_keys())
    action_id = draw(st.one_of(
        st.sampled_from(["answer:0", "answer:1", "answer:select", "open_flow", "open_flow:edit", "guide_link", admin.ERASE_CANCEL_ACTION]),
        st.sampled_from([f"signup:join:{world['round']}", f"signup:pick:{world['round']}", f"signup:join:{world['round']}:SEL", "signup:join:99999", "signup:x", "signup:", "signup:join:abc"]),
        st.builds(lambda s: "answer:" + s, junk_text), junk_text,
    ))  # fmt: skip
    block_id = draw(st.one_of(
        st.just(bk.ask_block_id(flow, context, key)), st.builds(lambda k: f"ask|{flow}|{context}|{k}", junk_text), st.builds(lambda c, k: f"ask|{flow}|{context}|{c}|{k}", junk_text, junk_text),
        junk_text, wrong_types,
    ))  # fmt: skip
    if action_id.startswith("open_flow"):
        value: Any = draw(st.one_of(
            st.just(json.dumps({"f": flow, "c": context, "e": draw(anything)})), st.builds(lambda d: json.dumps(d), st.dictionaries(st.sampled_from(["f", "c", "e"]), anything, max_size=3)), anything,
        ))  # fmt: skip
    else:
        value = draw(values)
    action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": draw(st.sampled_from(["button", "static_select", "nonsense"])), "action_ts": f"{time.time():.6f}"}
    if draw(st.booleans()) or action_id.startswith("open_flow"):
        action["value"] = value
    if draw(st.booleans()):
        option = st.fixed_dictionaries({}, optional={"value": values, "text": anything})
        action["selected_option"] = draw(st.one_of(option, anything))
    for field in draw(st.lists(st.sampled_from(["action_id", "block_id", "value", "action_ts", "type"]), max_size=2)):
        action.pop(field, None)  # missing fields
    if draw(st.integers(0, 9)) == 0:
        action["action_id"] = draw(wrong_types)
    container = draw(st.one_of(st.sampled_from([
        {"type": "message", "message_ts": "1.000001", "channel_id": "D-NOWHERE"}, {"type": "view", "view_id": "V-NOWHERE"}, {"type": "message"}, {}, {"type": "nonsense"},
    ]), anything))  # fmt: skip
    actions = draw(st.one_of(st.just([action]), st.just([action, dict(action)]), st.just([]), st.lists(anything, max_size=2), anything))
    payload = {"type": "block_actions", "container": container, "actions": actions, "trigger_id": draw(st.one_of(st.just("T-STALE"), junk_text)), "response_url": "{response_url}"}
    if draw(st.integers(0, 9)) == 0:
        payload.pop("response_url")
    return payload


def _metadata(world: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """A modal's private_metadata: a page of any dialog (anyone's), one with wrong types, or anything."""
    page = st.builds(
        lambda dialog, keys, rest, extra: json.dumps({"f": dialog[0], "c": dialog[1], "k": keys, "r": rest, **extra}),
        _contexts(world), st.lists(_keys(), max_size=4), st.lists(_keys(), max_size=3),
        st.fixed_dictionaries({}, optional={"n": st.one_of(st.integers(-3, 5), anything), "t": anything, "e": anything}),
    )
    wrong = st.fixed_dictionaries({}, optional={"f": anything, "c": anything, "k": anything, "r": anything, "n": anything}).map(json.dumps)
    return st.one_of(page, page, wrong, st.sampled_from(["[]", "1", "null", '"x"', "{", "{}"]), junk_text, wrong_types)


def _state_values(world: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """`state.values`: answers for any question (on the page or not) in any element shape, or a wrong shape."""
    element = st.one_of(
        st.fixed_dictionaries({"type": st.just("plain_text_input"), "value": st.one_of(values, anything)}),
        st.fixed_dictionaries({"type": st.just("radio_buttons"), "selected_option": st.one_of(st.fixed_dictionaries({"value": values}), anything)}),
        st.fixed_dictionaries({"type": st.just("checkboxes"), "selected_options": st.one_of(st.lists(st.fixed_dictionaries({"value": values}), max_size=3), st.lists(anything, max_size=2), anything)}),
        st.fixed_dictionaries({"type": st.just("number_input"), "value": anything}),
        anything,
    )
    block_id = st.one_of(_keys().map(bk.block_id_for), _keys().map(lambda k: bk.block_id_for(k) + bk.OTHER_SUFFIX), junk_text)
    shaped = st.dictionaries(block_id, st.one_of(st.dictionaries(st.sampled_from(["answer", "x"]), element, max_size=2), anything), max_size=5)
    return st.one_of(shaped, anything)


@st.composite
def modal_payloads(draw: st.DrawFn, world: Mapping[str, Any]) -> dict[str, Any]:
    """A view_submission or view_closed of the dialog modal, with forged metadata and state."""
    view: dict[str, Any] = {
        "id": "V-FORGED", "type": "modal", "callback_id": draw(st.one_of(st.just(bk.FLOW_CALLBACK), st.just(bk.FLOW_CALLBACK), st.sampled_from(["flow_done", ""]), junk_text)),
        "private_metadata": draw(_metadata(world)), "state": draw(st.one_of(st.fixed_dictionaries({}, optional={"values": _state_values(world)}), anything)),
    }  # fmt: skip
    for field in draw(st.lists(st.sampled_from(["private_metadata", "state", "callback_id"]), max_size=1)):
        view.pop(field)  # missing fields
    kind = draw(st.sampled_from(["view_submission", "view_closed"]))
    return {"type": kind, "view": view, "trigger_id": "T-STALE", **({"is_cleared": False} if kind == "view_closed" else {"response_urls": []})}


@st.composite
def command_texts(draw: st.DrawFn) -> str:
    """What follows `/mentoring`: personal and admin commands with garbled arguments, or any text."""
    word = draw(st.sampled_from(["", "help", "me", "profile", "opt-in", "my-data", "delete-my-data", "status", "program", "round", "match", "erase", "person", "--program", "-p"]))
    rest = draw(st.one_of(st.just(""), st.text(max_size=40), st.sampled_from(['"unclosed', "--program", "-p Nope", "--program=", "ben@d.example", "1 2 3", "\u201cx\u201d"])))
    return draw(st.one_of(st.just(f"{word} {rest}".strip()), st.text(max_size=100), huge))


@st.composite
def payloads(draw: st.DrawFn, world: Mapping[str, Any]) -> tuple[str, str, Any]:
    """(kind, clicker, payload or command text)."""
    kind = draw(st.sampled_from(["click", "click", "modal", "modal", "command"]))
    clicker = draw(st.sampled_from(CLICKERS))
    if kind == "command":
        return kind, draw(st.sampled_from([c for c in CLICKERS if c != ADMIN])), draw(command_texts())  # an admin's commands change others by design
    return kind, clicker, draw(clicks(world) if kind == "click" else modal_payloads(world))


class _Errors(logging.Handler):
    """Log records at ERROR or above (a traceback is logged at ERROR), kept as text."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(f"{record.name}: {record.getMessage()}" + (f"\n{logging.Formatter().formatException(record.exc_info)}" if record.exc_info else ""))


def _owned_rows(engine: Engine) -> dict[tuple[str, Any], tuple[int | None, dict]]:
    """Every row that belongs to a person: {(table, id): (person id, row values)}."""
    rows: dict[tuple[str, Any], tuple[int | None, dict]] = {}
    with engine.connect() as connection:
        for name in OWNED_TABLES:
            table = SQLModel.metadata.tables[name]
            owner = table.c.id if name == "person" else table.c.person_id
            for row in connection.execute(sa.select(table)):
                rows[(name, row.id)] = (row._mapping[owner.name], dict(row._mapping))
    return rows


def _allowed_context(flow: str, context: str, person_id: int, world: Mapping[str, Any], principal_of: Mapping[int, str], email_of: Mapping[int, str]) -> bool:
    """True when `context` is a dialog of `flow` that `person_id` may answer."""
    if flow in ("opt_in", "profile"):
        return context == f"term:{world['term']}" or context.startswith(f"term:{world['term']}:")  # their own, read by term
    if flow == "approval":
        prefix = f"term:{world['term']}:mentor:"
        mentor = context[len(prefix):] if context.startswith(prefix) else ""
        return mentor.isdecimal() and principal_of.get(int(mentor), "").lower() == email_of[person_id].lower()
    if flow == "check_in":
        return context in {f"pairing:{p}" for p in world["pairings_of"].get(person_id, ())}
    if flow == "survey":
        return context == f"round:{world['round']}"  # everyone in the term's round is asked for feedback
    return False


def _check_records(engine: Engine, settings_: Any, before: dict, after: dict, clicker_person: int | None, world: Mapping[str, Any], principal_of: Mapping[int, str], email_of: Mapping[int, str]) -> int:
    """Only the clicker's own rows changed, only in dialogs that are theirs, and what was saved agrees with itself. Returns changed rows."""
    changed = [key for key in before.keys() | after.keys() if before.get(key) != after.get(key)]
    for key in changed:
        owner = (after.get(key) or before.get(key))[0]
        table = key[0]
        if owner == clicker_person:
            continue
        # A principal's decision on their own mentor's approval changes that mentor's enrollment: the one exception.
        if table == "enrollment" and clicker_person is not None and principal_of.get(owner, "").lower() == email_of.get(clicker_person, "?").lower():
            continue
        raise AssertionError(f"{table} row {key[1]} of person {owner} changed by someone else (person {clicker_person}): {before.get(key)} -> {after.get(key)}")
    touched = {(row[1]["flow"], row[1]["context"]) for key, row in after.items() if key[0] == "dialog_state" and key in changed}  # (flow, context)
    for flow, context in touched:
        assert _allowed_context(flow, context, clicker_person, world, principal_of, email_of), f"person {clicker_person} answered {flow} in {context!r}, not theirs"
        state = dialogs.current_state(engine, person_id=clicker_person, flow=flow, context=context)
        snap = store.snapshot(engine, settings_, person_id=clicker_person, flow=flow, context=context)
        assert snap.answers == state.answers and snap.complete == (state.status == "complete"), (flow, context, snap.answers, state.answers)
        json.dumps(state.answers)
        if flow == "profile":
            with session_scope(engine) as session:
                profile = repo.profiles(session, person_ids=[clicker_person])[clicker_person]
            for key, value in state.answers.items():
                assert profile.get(key) == value, (key, profile.get(key), value)
    for key in changed:
        if key[0] == "check_in" and key in after:
            pairing_id = after[key][1]["pairing_id"]
            assert pairing_id in world["pairings_of"].get(clicker_person, ()), f"person {clicker_person} checked in on pairing {pairing_id}, not theirs"
    return len(changed)


def _apologies(standin: Any) -> int:
    """How many times the app has apologised for an internal error (in DMs, ephemeral messages, response URL posts, modals, Home tabs)."""
    return json.dumps([standin.messages, standin.ephemeral, standin.responses, standin.views, standin.homes], default=str).count(SORRY)


def _request_work(task: asyncio.Task) -> bool:
    """True for a task doing a request's work: the app's own, Bolt's, the web server's (not a kept-open SMTP session)."""
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and any(part in code.co_filename for part in ("/bot/", "slack_bolt", "uvicorn", "starlette"))


async def _settle(resting: set[asyncio.Task], timeout: float = 30.0) -> None:
    """Wait until every task started since `resting` doing a request's work has finished."""
    deadline = time.monotonic() + timeout
    while True:
        busy = {task for task in asyncio.all_tasks() - resting - {asyncio.current_task()} if _request_work(task)}
        if not busy:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the app is still busy after {timeout}s: {busy}")
        await asyncio.wait(busy, timeout=max(0.01, deadline - time.monotonic()))


def _form(kind: str, clicker: str, payload: Any, standin: Any) -> dict[str, str]:
    """The form body Slack posts: a signed interaction payload, or a slash command."""
    if kind == "command":
        return slash_command(standin, clicker, payload, response_url=standin.new_response_url(), trigger_id=standin.new_trigger(clicker))
    if payload.get("response_url") == "{response_url}":
        payload = {**payload, "response_url": standin.new_response_url()}
    body = {**payload, "user": user_ref(standin, clicker), "team": {"id": standin.team_id, "domain": "standin"}, "api_app_id": "ASTANDIN", "token": "legacy-verification-token"}
    return {"payload": json.dumps(body, default=str)}


def _check_answer(kind: str, payload: Any, status: int, text: str) -> str:
    """The HTTP answer is a 200, with a well-formed response_action when a submission is answered; returns the action."""
    assert status == 200, (status, text[:300], kind, json.dumps(payload, default=str)[:800])
    if kind == "modal" and payload["type"] == "view_submission" and text:
        answer = json.loads(text)
        action = answer.get("response_action")
        assert action in ("errors", "update", "clear", "push"), answer
        if action == "errors":
            assert isinstance(answer["errors"], dict) and answer["errors"] and all(isinstance(v, str) and v.strip() for v in answer["errors"].values()), answer
        else:
            assert not view_problems(answer["view"]), (view_problems(answer["view"]), answer)
        return action
    return "ack"


async def test_forged_slack_payloads_change_nothing_but_the_clickers_own_answers(tmp_path: Path, postgres_url: str, scale, record_figure) -> None:
    """Signed but forged clicks, submissions, closed modals and commands: always a 200, no traceback, no one else's
    record changed, the database consistent, and no apology for an internal error.

    On PostgreSQL, the stricter store. Each example waits until the work its request started has finished.
    """
    count = scale.pick(50, 10_000)
    async with slack_harness(tmp_path, postgres_url) as h:
        world = _setup_on(h.engine, tmp_path)
        with session_scope(h.engine) as session:
            people = {p.id: p for p in repo.list_people(session)}
            pairings = repo.round_pairings(session, round_id=world["round"])
        principal_of = {pid: p.principal_email or "" for pid, p in people.items()}
        email_of = {pid: p.email for pid, p in people.items()}
        world["pairings_of"] = {}
        for pairing in pairings:
            for member in (pairing.mentor_id, pairing.mentee_id):
                world["pairings_of"].setdefault(member, set()).add(pairing.id)
        person_of = {user: next((pid for pid, p in people.items() if p.email.split("@")[0] == name), None) for user, name in (("UANA00001", "ana"), ("UBEN00001", "ben"), ("UCY000001", "cy"), ("UPAT00001", "pat"), (ADMIN, "ada"), ("UNOBODY01", "nora"))}
        examples: list[tuple[str, str, Any]] = []

        @settings(max_examples=count, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
        @given(payloads(world))
        def collect(example: tuple[str, str, Any]) -> None:
            kind, clicker, payload = example
            if kind != "command":
                payload = json.loads(json.dumps(payload, default=str).replace("{program}", str(world["program"])))
            examples.append((kind, clicker, payload))

        collect()
        errors = _Errors()
        logging.getLogger().addHandler(errors)
        resting = asyncio.all_tasks()
        totals = {"click": 0, "modal": 0, "command": 0, "rows_changed": 0, "errors_answered": 0, "pages_answered": 0}
        started = time.monotonic()
        try:
            await _settle(resting)
            for kind, clicker, payload in examples:
                before, apologies = _owned_rows(h.engine), _apologies(h.standin)
                response = await h.driver.post_form(_form(kind, clicker, payload, h.standin))
                action = _check_answer(kind, payload, response.status_code, response.text)
                await _settle(resting)
                assert not errors.seen, (errors.seen, kind, clicker, json.dumps(payload, default=str)[:800])
                assert _apologies(h.standin) == apologies and SORRY not in response.text, (kind, clicker, json.dumps(payload, default=str)[:800])
                totals["rows_changed"] += _check_records(h.engine, h.settings, before, _owned_rows(h.engine), person_of[clicker], world, principal_of, email_of)
                totals[kind] += 1
                totals["errors_answered"] += action == "errors"
                totals["pages_answered"] += action == "update"
        finally:
            logging.getLogger().removeHandler(errors)
    record_figure(
        "Fuzzing: Slack payloads", tried="signed but forged block_actions, view_submission, view_closed and /mentoring over HTTP (garbled ids and values, wrong types, other people's contexts) (postgresql)",
        count=len(examples), held="always 200 (submissions: a well-formed response_action), no error logged, only the clicker's own records changed and only in their own dialogs, state = snapshot = profile, no apology",
        seconds=round(time.monotonic() - started, 1), **totals,
    )  # fmt: skip


# --- what the fuzzer found, kept as plain examples ------------------------------------------------------------


def _world(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    """The fuzz dialogs' world (a term, a round and its pairings) on a plain migrated engine."""
    from tests.reliability.test_fuzz_dialogs import _setup

    return _setup(engine, tmp_path)


def test_an_approval_whose_context_leaves_off_the_mentor_is_refused_not_applied(engine: Engine, tmp_path: Path) -> None:
    """Found by the fuzzer: an approval in "term:1" read the term id as the mentor's, and decided person 1's enrollment."""
    from tests.reliability.test_fuzz_dialogs import NOW

    world = _world(engine, tmp_path)
    pat, ana = world["people"]["pat"], world["people"]["ana"]
    with session_scope(engine) as session:
        before = [(e.person_id, e.approval, e.capacity) for e in session.exec(select(Enrollment).order_by(Enrollment.id))]
    result = dialogs.answer(engine, person_id=pat, flow="approval", context=f"term:{world['term']}", channel="slack", replies={"decision": "decline"}, now=NOW)
    assert result.outcome.saved == {} and result.outcome.errors["decision"] == dialogs.NOT_YOURS
    assert dialogs.current_state(engine, person_id=pat, flow="approval", context=f"term:{world['term']}") is None
    with session_scope(engine) as session:
        after = [(e.person_id, e.approval, e.capacity) for e in session.exec(select(Enrollment).order_by(Enrollment.id))]
    assert after == before and ana in [row[0] for row in after]


def test_a_check_in_forged_on_someone_elses_pairing_saves_nothing(engine: Engine, tmp_path: Path) -> None:
    """A button's context names any pairing: only its mentor and mentee may check in on it."""
    from tests.reliability.test_fuzz_dialogs import NOW

    world = _world(engine, tmp_path)
    context = dialogs.context_key(flow="check_in", pairing_id=world["pairing"])
    result = dialogs.answer(engine, person_id=world["people"]["pat"], flow="check_in", context=context, channel="slack", replies={"met": "met"}, now=NOW)
    assert result.outcome.saved == {} and "met" in result.outcome.errors
    with session_scope(engine) as session:
        assert session.exec(select(CheckIn)).all() == []
    mine = dialogs.answer(engine, person_id=world["people"]["ben"], flow="check_in", context=context, channel="slack", replies={"met": "met"}, now=NOW)
    assert mine.outcome.saved == {"met": "met"}  # the pairing's own mentee still can


def test_a_term_id_too_large_for_the_database_reads_as_no_term(engine: Engine, tmp_path: Path) -> None:
    """Found by the fuzzer: "term:1099511627776" in a form's metadata made PostgreSQL refuse the lookup (a 500)."""
    from tests.reliability.test_fuzz_dialogs import NOW

    world = _world(engine, tmp_path)
    context = f"term:{2**40}"
    assert dialogs.term_of(context) is None
    with session_scope(engine) as session:
        assert dialogs.dialog_scope(session, person_id=world["people"]["ben"], context=context).term is None
    result = dialogs.answer(engine, person_id=world["people"]["ben"], flow="profile", context=context, channel="slack", replies={"subjects": "math"}, now=NOW)
    assert result.outcome.saved == {} and result.outcome.errors


def test_a_context_with_a_nul_is_refused_and_read_as_no_dialog(engine: Engine, tmp_path: Path) -> None:
    """Found by the fuzzer: a button's block_id naming "term:1:\\x00" made PostgreSQL refuse the dialog lookup (an apology)."""
    from tests.reliability.test_fuzz_dialogs import NOW

    world = _world(engine, tmp_path)
    ben, context = world["people"]["ben"], f"term:{world['term']}:\x00"
    result = dialogs.answer(engine, person_id=ben, flow="profile", context=context, channel="slack", replies={"subjects": "math"}, now=NOW)
    assert result.outcome.saved == {} and result.outcome.errors["subjects"] == dialogs.NOT_YOURS
    assert dialogs.current_state(engine, person_id=ben, flow="profile", context=context) is None
    assert dialogs.current_state(engine, person_id=ben, flow="pro\x00file", context=f"term:{world['term']}") is None


def test_a_context_too_long_for_its_column_is_refused_not_stored(engine: Engine, tmp_path: Path) -> None:
    """Found by the fuzzer: a form's metadata naming "term:1:" and 200 more characters made PostgreSQL refuse the new row (a 500)."""
    from tests.reliability.test_fuzz_dialogs import NOW

    world = _world(engine, tmp_path)
    ben, context = world["people"]["ben"], f"term:{world['term']}:" + "|" * 200
    result = dialogs.answer(engine, person_id=ben, flow="profile", context=context, channel="slack", replies={"subjects": "math"}, now=NOW)
    assert result.outcome.saved == {} and result.outcome.errors["subjects"] == dialogs.NOT_YOURS
    assert dialogs.current_state(engine, person_id=ben, flow="profile", context=context) is None


def test_a_click_whose_block_id_is_not_text_is_ignored() -> None:
    """Found by the fuzzer: a block_id of true, 3.5 or null raised AttributeError in the click's listener (an apology)."""
    for block_id in (True, 3.5, None, ["ask|profile|term:1|subjects"], {"a": 1}, "", "ask|too|few"):
        assert bk.parse_ask_block_id(block_id) is None
    assert bk.parse_ask_block_id(bk.ask_block_id("profile", "term:1", "subjects")) == ("profile", "term:1", "subjects")


def test_a_form_whose_state_values_have_the_wrong_shape_reads_as_unanswered() -> None:
    """Found by the fuzzer: `state.values` holding text, lists or options that are not objects raised in read_state."""
    from bot.flows.model import Question

    questions = [Question(key="subjects", prompt="Subjects?", kind="multi_choice", parse=lambda value, ctx: value), Question(key="role", prompt="Role?", kind="choice", parse=lambda value, ctx: value)]
    shapes: list[Any] = [
        "x", [], None, 3, {"q:subjects": "x"}, {"q:subjects": {"answer": "x"}}, {"q:subjects": {"answer": {"selected_options": "math"}}},
        {"q:subjects": {"answer": {"selected_options": ["math", 3]}}, "q:role": {"answer": {"selected_option": "mentor"}}},
    ]  # fmt: skip
    for values_ in shapes:
        replies = bk.read_state(questions, values_)
        assert all(value in ("", None) or isinstance(value, list) for value in replies.values()), (values_, replies)
    good = {"q:subjects": {"answer": {"selected_options": [{"value": "math"}]}}, "q:role": {"answer": {"selected_option": {"value": "mentor"}}}}
    assert bk.read_state(questions, good) == {"subjects": ["math"], "role": "mentor"}


def test_a_page_never_asks_a_question_twice() -> None:
    """Found by the fuzzer: a submitted page whose metadata repeated a key in "r" got a next page with one block_id twice,
    a view Slack refuses."""
    from bot.flows import FlowContext, get_flow, questions_for
    from bot.doubles.slack import view_problems

    page = bk.paginate("profile", "term:1", ["match_weights", "match_weights", "needs", "match_weights", "strengths"], edit=True, number=5)
    assert page.keys == ("match_weights", "needs", "strengths") and page.rest == ()
    flow, ctx = get_flow("profile"), FlowContext()
    questions = [q for key in page.keys for q in questions_for(flow, ctx) if q.key == key]
    assert view_problems(bk.flow_modal(flow, page, questions, ctx, {})) == []


def test_private_metadata_that_names_no_page_raises_bad_page() -> None:
    """Found by the fuzzer: metadata of the wrong shape raised KeyError, TypeError or IndexError (a 500 to Slack)."""
    for metadata in ("", "[]", "1", "null", "{", '{"f": 1, "c": "term:1", "k": []}', '{"f": "profile", "c": "term:1", "k": "abc"}',
                     '{"f": "profile", "c": "term:1", "k": [1]}', '{"f": "profile", "c": "term:1", "k": [], "n": "x"}', None, 7, ["f"]):  # fmt: skip
        with pytest.raises(bk.BadPage):
            bk.Page.from_metadata(metadata)
    page = bk.paginate("profile", "term:1", ["a", "b", "c", "d"], edit=False)
    assert bk.Page.from_metadata(page.metadata()) == page


# --- found by the fuzzer, fixed in bot/slack/app.py (its listeners now in bot/slack/listeners/), inbox.py and store.py (9c6d460, fe66c62)


async def _sent_over_http(tmp_path: Path, database_url: str, kind: str, clicker: str, payload: Any) -> tuple[int, str, list[str], int]:
    """Send one forged payload into a running app; (status, body, errors logged, apologies sent) once its work is done."""
    async with slack_harness(tmp_path, database_url) as h:
        world = _setup_on(h.engine, tmp_path)
        payload = json.loads(json.dumps(payload).replace("{term}", str(world["term"])).replace("{ana}", str(world["people"]["ana"])).replace("{round}", str(world["round"]))) if kind != "command" else payload
        errors = _Errors()
        logging.getLogger().addHandler(errors)
        resting = asyncio.all_tasks()
        try:
            response = await h.driver.post_form(_form(kind, clicker, payload, h.standin))
            await _settle(resting)
        finally:
            logging.getLogger().removeHandler(errors)
        return response.status_code, response.text, errors.seen, _apologies(h.standin)


def _click(action: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "block_actions", "container": {"type": "message", "message_ts": "1.000001", "channel_id": "D-NOWHERE"}, "actions": action, "trigger_id": "T-STALE", "response_url": "{response_url}", **extra}


def _submission(metadata: Any, state: Any = None, callback_id: str = bk.FLOW_CALLBACK) -> dict[str, Any]:
    view = {"id": "V-FORGED", "type": "modal", "callback_id": callback_id, "private_metadata": metadata, "state": {"values": {}} if state is None else state}
    return {"type": "view_submission", "view": view, "trigger_id": "T-STALE", "response_urls": []}


OPEN_PAGE = json.dumps({"f": "profile", "c": "term:{term}", "k": ["subjects"], "r": []})
OPEN_CASES = {
    # name: (payload kind, clicker, payload, the fix it needed)
    "actions_not_a_list": ("click", "UBEN00001", _click(True), "bot/slack/inbox.py delivery_of + bot/slack/router.py: answer a signed but malformed interaction 200 instead of handing it to Bolt (500)"),
    "action_without_action_id": ("click", "UBEN00001", _click([{"block_id": "x", "value": "1"}]), "bot/slack/inbox.py delivery_of: an action without a text action_id is malformed (Bolt's matcher raises KeyError)"),
    "action_id_not_text": ("click", "UBEN00001", _click([{"action_id": 7, "block_id": "x", "value": "1", "action_ts": "1.0"}]), "bot/slack/inbox.py delivery_of: an action_id that is not text is malformed (Bolt's regex raises TypeError)"),
    "submission_of_another_callback": ("modal", "UBEN00001", _submission(OPEN_PAGE, callback_id="flow_done"), "bot/slack/listeners/__init__.py register: a catch-all view listener that acks (Bolt answers 404)"),
    "metadata_not_a_page": ("modal", "UBEN00001", _submission('{"f": 1}'), "bot/slack/listeners/views.py on_submit and _keep_half_done: catch bk.BadPage from Page.from_metadata"),
    "view_state_not_an_object": ("modal", "UBEN00001", _submission(OPEN_PAGE, state="x"), "bot/slack/listeners/views.py on_submit and _keep_half_done: read state.values only from an object"),
    "open_flow_value_not_json": ("click", "UBEN00001", _click([{"action_id": "open_flow", "block_id": "x", "value": "not json", "action_ts": "1.0"}]), "bot/slack/listeners/actions.py _open_from_button: a value that is not {\"f\", \"c\"} is ignored"),
    "selected_option_not_an_object": ("click", "UBEN00001", _click([{"action_id": "answer:select", "block_id": "ask|profile|term:{term}|subjects", "selected_option": "math", "action_ts": "1.0"}]), "bot/slack/listeners/actions.py _answer: read selected_option only from an object"),
    "container_not_an_object": ("click", "UBEN00001", _click([{"action_id": "answer:0", "block_id": "ask|profile|term:{term}|subjects", "value": "math", "action_ts": "1.0"}], container="x"), "bot/slack/listeners/actions.py _answer: read the container only from an object"),
    "unknown_flow": ("click", "UBEN00001", _click([{"action_id": "answer:0", "block_id": "ask|bogus|term:{term}|subjects", "value": "math", "action_ts": "1.0"}]), "bot/slack/listeners/actions.py _answer (and views.py on_submit, _open_from_button): a flow not in FLOWS is ignored before store.apply/snapshot"),
    "context_not_in_its_flows_shape": ("click", "UBEN00001", _click([{"action_id": "answer:0", "block_id": "ask|check_in|pairing:x|met", "value": "met", "action_ts": "1.0"}]), "bot/slack/store.py apply/snapshot: refuse (NotAllowed) when dialogs.refusal() names the context, before snapshot_in reads its ids with int()"),
    "id_too_large_in_a_check_in": ("click", "UBEN00001", _click([{"action_id": "answer:0", "block_id": f"ask|check_in|pairing:{2**40}|met", "value": "met", "action_ts": "1.0"}]), "bot/slack/store.py apply/snapshot: refuse when dialogs.refusal() names the context, before snapshot_in looks the pairing up"),
    "refused_page_without_questions": ("modal", "UCY000001", _submission(json.dumps({"f": "approval", "c": "term:{term}:mentor:{ana}", "k": [], "r": []})), "bot/slack/listeners/views.py on_submit: a NotAllowed page with no keys answers errors under a fixed block_id (page.keys[0] raises IndexError)"),
    "open_flow_context_too_long_for_metadata": ("click", "UBEN00001", _click([{"action_id": "open_flow", "block_id": "x", "value": json.dumps({"f": "profile", "c": "term:{term}:" + "x" * 3000}), "action_ts": "1.0"}]), "bot/slack/listeners/actions.py _open_from_button: refuse a context dialogs.refusal() names before building the modal (Page.metadata raises ValueError past 3,000 characters)"),
    "message_container_without_channel": ("click", "UBEN00001", _click([{"action_id": "answer:0", "block_id": "ask|profile|term:{term}|subjects", "value": "math", "action_ts": "1.0"}], container={"type": "message"}), "bot/slack/listeners/actions.py _answer: a message container without channel_id or message_ts gets the prompt by DM (container[\"channel_id\"] raises KeyError)"),
    "cancel_without_response_url": ("click", "UBEN00001", _click([{"action_id": admin.ERASE_CANCEL_ACTION, "block_id": "data_erase", "value": "cancel", "action_ts": "1.0"}], response_url=None), "bot/slack/listeners/erasure.py on_erase_cancelled: without a response_url, say it by DM (respond raises)"),
}  # fmt: skip


async def test_a_signup_pick_whose_selected_option_is_not_an_object_gets_no_apology(tmp_path: Path, postgres_url: str) -> None:
    """Found by the fuzzer at full scale: a sign-up menu pick whose selected_option is text raised in the listener (an apology)."""
    action = {"action_id": "signup:pick:{round}", "block_id": "x", "selected_option": "SEL", "action_ts": "1.0"}
    status, text, errors, apologies = await _sent_over_http(tmp_path, postgres_url, "click", "UBEN00001", _click([action]))
    assert (status, errors, apologies) == (200, [], 0), (status, text[:200], errors)


@pytest.mark.parametrize("case", sorted(OPEN_CASES))
async def test_a_forged_payload_the_fuzzer_found_is_answered_cleanly(case: str, tmp_path: Path, postgres_url: str) -> None:
    """Each of these is answered 200 with nothing logged at ERROR and no apology (each names the fix it needed).

    On PostgreSQL, which refuses to look up an id too large for its integer keys (SQLite just finds nothing).
    """
    kind, clicker, payload, fix = OPEN_CASES[case]
    status, text, errors, apologies = await _sent_over_http(tmp_path, postgres_url, kind, clicker, payload)
    assert (status, errors, apologies) == (200, [], 0), (case, status, text[:200], errors, fix)
