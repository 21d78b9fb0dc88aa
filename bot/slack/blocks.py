"""Block Kit from flow data: questions become buttons, selects and modal inputs; Slack's answers become flow replies.

Nothing here knows a question by name. Every question is rendered from its `kind`, `options(ctx)`, `help`,
`required`, `allow_other` and `max_picks`, so Slack asks exactly what `bot/flows/` declares (and what email asks).
Every text is cut to Slack's limits, long option lists are grouped, and long lists of blocks are split.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.flows import Choice, Flow, FlowContext, Question
from bot.mrkdwn import escape  # the one escaping function for a person's words in mrkdwn; Slack's renderers use bk.escape

# Slack's Block Kit limits (https://docs.slack.dev/reference/block-kit).
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
CHOICE_OPTIONS = 10  # radio buttons and checkboxes
LABEL_TEXT = 2000
PLACEHOLDER = 150
VIEW_TITLE = 24
ID_LENGTH = 255
METADATA = 3000
BUTTONS_AT_MOST = 5  # more choices than this read better as a menu

PAGE_SIZE = 3  # questions per modal page: short pages keep the dialog guided
FLOW_CALLBACK = "flow_page"
ASK_PREFIX = "ask|"
QUESTION_PREFIX = "q:"
OTHER_SUFFIX = "::other"


def trim(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": trim(text or " ", limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": trim(text or " ", limit)}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text)]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(text: str, *, action_id: str, value: str = "", style: str | None = None, url: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, BUTTON_TEXT), "action_id": action_id[:ID_LENGTH]}
    if value:
        element["value"] = value
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    return element


def text_sections(text: str, *, limit: int = SECTION_TEXT) -> list[dict[str, Any]]:
    """Sections holding `text`, split on line boundaries so none passes Slack's 3,000 characters."""
    chunks: list[str] = []
    current = ""
    for line in str(text).splitlines() or [""]:
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return [section(chunk) for chunk in chunks if chunk.strip()]


def split_blocks(blocks: Sequence[Mapping[str, Any]], *, size: int = MESSAGE_BLOCKS) -> list[list[dict[str, Any]]]:
    """Blocks cut into messages of at most `size` blocks (Slack's 50 per message)."""
    blocks = [dict(b) for b in blocks]
    return [blocks[start : start + size] for start in range(0, len(blocks), size)] or [[]]


def bullet_sections(title: str, lines: Iterable[str]) -> list[dict[str, Any]]:
    """A titled list packed into as few sections as fit."""
    return text_sections("\n".join([title, *(f"• {line}" for line in lines)]))


# --- options ---------------------------------------------------------------------------------------


def option_value(choice: Choice, index: int) -> str:
    """The value Slack carries for a choice: the choice itself, or its number when too long for Slack."""
    return choice.value if 0 < len(choice.value) <= OPTION_VALUE else str(index + 1)


def option(choice: Choice, index: int) -> dict[str, Any]:
    return {"text": plain(choice.label, OPTION_TEXT), "value": option_value(choice, index)}


def _select_options(choices: Sequence[Choice]) -> dict[str, Any]:
    """`options`, or `option_groups` of 100 when there are more than Slack shows in one list."""
    options = [option(choice, n) for n, choice in enumerate(choices)]
    if len(options) <= SELECT_OPTIONS:
        return {"options": options}
    groups = []
    for start in range(0, min(len(options), SELECT_OPTIONS * SELECT_OPTIONS), SELECT_OPTIONS):
        chunk = options[start : start + SELECT_OPTIONS]
        groups.append({"label": plain(f"{start + 1}–{start + len(chunk)}", OPTION_TEXT), "options": chunk})
    return {"option_groups": groups}


def _initial(choices: Sequence[Choice], values: Iterable[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The options matching stored values, and the values that are no option (free text)."""
    by_value = {choice.value.lower(): (n, choice) for n, choice in enumerate(choices)}
    picked, other = [], []
    for value in values:
        found = by_value.get(str(value).lower())
        if found is None:
            other.append(str(value))
        else:
            picked.append(option(found[1], found[0]))
    return picked, other


# --- a question inside a modal ---------------------------------------------------------------------


def block_id_for(key: str) -> str:
    """The block_id of a question's input in a modal."""
    return f"{QUESTION_PREFIX}{key}"[:ID_LENGTH]


def stored_as_raw(value: Any) -> list[str] | str | None:
    """A stored answer back in the shape a reply has (what matters: the factors picked in full)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return [str(k) for k, weight in value.items() if float(weight) >= 1.0]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return str(value)


def question_inputs(question: Question, ctx: FlowContext, current: Any = None) -> list[dict[str, Any]]:
    """The input block(s) asking `question` in a modal, pre-filled with the current answer."""
    raw = stored_as_raw(current)
    choices = question.options(ctx)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id_for(question.key),
        "label": plain(question.prompt, LABEL_TEXT),
        "optional": not question.required,
    }
    if question.help:
        block["hint"] = plain(question.help, LABEL_TEXT)
    element: dict[str, Any] = {"action_id": "answer"}
    other_text: list[str] = []
    if question.kind == "choice":
        element["type"] = "radio_buttons" if len(choices) <= CHOICE_OPTIONS else "static_select"
        element.update(_select_options(choices) if element["type"] == "static_select" else {"options": [option(c, n) for n, c in enumerate(choices)]})
        picked, _ = _initial(choices, [raw] if isinstance(raw, str) else [])
        if picked:
            element["initial_option"] = picked[0]
    elif question.kind in ("multi_choice", "grade_bands") and choices:
        many = len(choices) > 6
        element["type"] = "multi_static_select" if many else "checkboxes"
        element.update(_select_options(choices) if many else {"options": [option(c, n) for n, c in enumerate(choices)]})
        if many and question.max_picks:
            element["max_selected_items"] = question.max_picks
        if many:
            element["placeholder"] = plain("Pick from the list", PLACEHOLDER)
        picked, other_text = _initial(choices, raw if isinstance(raw, list) else ([raw] if raw else []))
        if picked:
            element["initial_options"] = picked
        if question.allow_other:
            block["optional"] = True  # free text alone is a fine answer; the flow still checks one is given
    elif question.kind == "number":
        element.update(type="number_input", is_decimal_allowed=False, min_value="0", max_value=str(ctx.max_capacity))
        if raw is not None:
            element["initial_value"] = str(raw)
    elif question.kind == "email":
        element["type"] = "email_text_input"
        if raw:
            element["initial_value"] = str(raw)
    else:  # text, slots, and a multi_choice without options
        element.update(type="plain_text_input", multiline=True, max_length=2000)
        if question.help:
            element["placeholder"] = plain(question.help, PLACEHOLDER)
        if raw:
            element["initial_value"] = trim("\n".join(raw) if isinstance(raw, list) else raw, 2000)
    block["element"] = element
    blocks = [block]
    if question.allow_other and element["type"] != "plain_text_input":
        other: dict[str, Any] = {"type": "plain_text_input", "action_id": "answer", "max_length": 500, "placeholder": plain("Separate several with ;", PLACEHOLDER)}
        if other_text:
            other["initial_value"] = trim("; ".join(other_text), 500)
        blocks.append({"type": "input", "block_id": block_id_for(question.key) + OTHER_SUFFIX, "label": plain("Anything not in the list?"), "optional": True, "element": other})
    return blocks


def read_state(questions: Sequence[Question], values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """Flow replies (question key -> raw answer) from a modal's `state.values`."""
    replies: dict[str, Any] = {}
    for question in questions:
        state = _element_state(values, block_id_for(question.key))
        if state is None:
            continue
        if "selected_options" in state:
            picked = state.get("selected_options")
            raw: Any = [_option_value(item) for item in picked] if isinstance(picked, list) else None
        elif "selected_option" in state:
            raw = _option_value(state.get("selected_option"))
        else:
            raw = state.get("value")
            if question.kind == "slots" and raw:
                raw = "; ".join(line.strip() for line in str(raw).splitlines() if line.strip())
        other = _element_state(values, block_id_for(question.key) + OTHER_SUFFIX)
        if other is not None and (other.get("value") or "").strip():
            extra = [item.strip() for item in str(other["value"]).replace("\n", ";").split(";") if item.strip()]
            raw = (raw if isinstance(raw, list) else ([raw] if raw else [])) + extra
        # A choice too long for an option value travels as its number, which the flow parsers read as that choice.
        replies[question.key] = "" if raw is None else raw
    return replies


def _element_state(values: Any, block_id: str) -> Mapping[str, Any] | None:
    """The state of the one element in a block; None when missing or not shaped as Slack sends it (a forged form)."""
    found = values.get(block_id) if isinstance(values, Mapping) else None
    if not isinstance(found, Mapping) or not found:
        return None
    state = next(iter(found.values()))
    return state if isinstance(state, Mapping) else None


def _option_value(option_: Any) -> Any:
    """A picked option's value (None when the option is not an object)."""
    return option_.get("value") if isinstance(option_, Mapping) else None


def input_errors(errors: Mapping[str, str], questions: Sequence[Question]) -> dict[str, str]:
    """`response_action: errors` for the questions on this page, keyed by block_id."""
    on_page = {q.key for q in questions}
    return {block_id_for(key): trim(message[:1].upper() + message[1:], 150) for key, message in errors.items() if key in on_page}


# --- modals ------------------------------------------------------------------------------------------


class BadPage(ValueError):
    """A modal's private_metadata that names no dialog page."""


@dataclass(frozen=True)
class Page:
    """One modal page of a flow: its questions, and the keys of the questions on the pages after it."""

    flow: str
    context: str
    keys: tuple[str, ...]
    rest: tuple[str, ...] = ()
    number: int = 1
    total: int = 1
    edit: bool = False  # going through every question (editing), not just the ones still unanswered

    def metadata(self) -> str:
        data = {"f": self.flow, "c": self.context, "k": list(self.keys), "r": list(self.rest), "n": self.number, "t": self.total, "e": self.edit}
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > METADATA:
            raise ValueError("too many questions for one dialog")
        return text

    @classmethod
    def from_metadata(cls, text: Any) -> Page:
        """The page a modal's private_metadata names; BadPage when it is not one (forged, or from another modal)."""
        try:
            data = json.loads(text or "{}") if isinstance(text, str) else None
            flow, context, keys, rest = data["f"], data["c"], data["k"], data.get("r") or []
            number, total = int(data.get("n", 1)), int(data.get("t", 1))
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            raise BadPage(f"not a dialog page: {exc}") from None
        if not (isinstance(flow, str) and isinstance(context, str) and isinstance(keys, list) and isinstance(rest, list)):
            raise BadPage("not a dialog page: wrong types")
        if not all(isinstance(key, str) for key in [*keys, *rest]):
            raise BadPage("not a dialog page: question keys must be text")
        return cls(flow, context, tuple(keys), tuple(rest), number, total, bool(data.get("e")))


def paginate(flow: str, context: str, keys: Sequence[str], *, edit: bool, number: int = 1, total: int | None = None) -> Page:
    """The first page of `keys` (PAGE_SIZE questions), remembering the rest; each question once."""
    keys = list(dict.fromkeys(keys))  # a page's metadata can be forged to repeat a key, and Slack refuses a block_id twice
    pages_left = max(1, -(-len(keys) // PAGE_SIZE))
    return Page(flow, context, tuple(keys[:PAGE_SIZE]), tuple(keys[PAGE_SIZE:]), number, total or number - 1 + pages_left, edit)


def flow_modal(flow: Flow, page: Page, questions: Sequence[Question], ctx: FlowContext, current: Mapping[str, Any], *, intro: str | None = None) -> dict[str, Any]:
    """A modal asking one page of a flow's questions, with its place in the dialog."""
    blocks: list[dict[str, Any]] = []
    if page.number == 1:
        blocks.append(section(intro or flow.intro))
    if page.total > 1:
        blocks.append(context(f"Step {page.number} of {page.total} · your answers are saved at each step"))
    for question in questions:
        blocks.extend(question_inputs(question, ctx, current.get(question.key)))
    last = not page.rest
    return {
        "type": "modal",
        "callback_id": FLOW_CALLBACK,
        "private_metadata": page.metadata(),
        "title": plain(flow.title, VIEW_TITLE),
        "submit": plain("Save" if last else "Next", VIEW_TITLE),
        "close": plain("Later", VIEW_TITLE),
        "notify_on_close": True,
        "blocks": blocks[:VIEW_BLOCKS],
    }


def done_modal(flow: Flow, lines: Sequence[str] = ()) -> dict[str, Any]:
    """The modal a finished dialog ends on."""
    return {
        "type": "modal",
        "callback_id": "flow_done",
        "title": plain(flow.title, VIEW_TITLE),
        "close": plain("Done", VIEW_TITLE),
        "blocks": [section(f":white_check_mark: {flow.done_message}"), *(section(line) for line in lines)][:VIEW_BLOCKS],
    }


# --- a question inside a message (buttons), for one-click answers --------------------------------------


def ask_block_id(flow: str, context_key: str, key: str) -> str:
    """The block_id that carries which dialog and question a button answers."""
    return f"{ASK_PREFIX}{flow}|{context_key}|{key}"[:ID_LENGTH]


def parse_ask_block_id(block_id: Any) -> tuple[str, str, str] | None:
    """(flow, context, question key) a button's block_id names; None for anything else (a click can carry any value)."""
    if not isinstance(block_id, str) or not block_id.startswith(ASK_PREFIX):
        return None
    parts = block_id[len(ASK_PREFIX) :].split("|")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def clickable(question: Question, ctx: FlowContext) -> bool:
    """True when a question can be answered by one click in a message (a choice, or a small number)."""
    return question.kind == "choice" or (question.kind == "number" and ctx.max_capacity <= SELECT_OPTIONS)


def _number_choices(ctx: FlowContext) -> tuple[Choice, ...]:
    return tuple(Choice(str(n), str(n)) for n in range(1, ctx.max_capacity + 1))


def answer_blocks(flow: Flow, context_key: str, question: Question, ctx: FlowContext, *, selected: Any = None) -> list[dict[str, Any]]:
    """The question and one button per answer (a menu when there are many), or a form button for typed answers."""
    # A custom question's prompt and help are an admin's words: shown as typed.
    prompt = f"*{escape(question.prompt)}*" + (f"\n_{escape(question.help)}_" if question.help else "")
    block_id = ask_block_id(flow.key, context_key, question.key)
    if not clickable(question, ctx):
        return [
            section(prompt + "\nReply here in a message, or use the form."),
            {"type": "actions", "block_id": f"open|{flow.key}|{context_key}"[:ID_LENGTH], "elements": [open_flow_button(flow.key, context_key, "Open the form")]},
        ]
    choices = question.options(ctx) if question.kind == "choice" else _number_choices(ctx)
    if len(choices) <= BUTTONS_AT_MOST or (question.kind == "number" and len(choices) <= 10):
        elements = [
            button(choice.label, action_id=f"answer:{n}", value=option_value(choice, n), style="primary" if str(selected) == choice.value else None)
            for n, choice in enumerate(choices)
        ]
    else:
        elements = [{"type": "static_select", "action_id": "answer:select", "placeholder": plain("Choose…", PLACEHOLDER), **_select_options(choices)}]
    return [section(prompt), {"type": "actions", "block_id": block_id, "elements": elements}]


def open_flow_button(flow: str, context_key: str, text: str, *, edit: bool = False, style: str | None = "primary") -> dict[str, Any]:
    """A button that opens the flow's form in a modal."""
    value = json.dumps({"f": flow, "c": context_key, "e": edit}, separators=(",", ":"))
    return button(text, action_id="open_flow" + (":edit" if edit else ""), value=value, style=style)


@dataclass
class Rendered:
    """A message ready for chat.postMessage: fallback text and blocks."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


_MRKDWN_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_EMOJI = re.compile(r":[a-z0-9_+-]+: ?")


def plain_text_of(blocks: Sequence[Mapping[str, Any]], *, limit: int = 3000) -> str:
    """The whole message in plain words, for the `text` Slack shows in notifications and screen readers read.

    Headers, sections (and their fields), context lines and the buttons' and menus' labels, in order; mrkdwn marks,
    emoji codes and link markup are dropped (a link keeps its words).
    """
    lines: list[str] = []

    def add(text: Any) -> None:
        if isinstance(text, Mapping):
            # Slack reads `text` as mrkdwn: words from a plain_text object (a header, a button) are escaped first.
            text = escape(text.get("text")) if text.get("type") == "plain_text" else text.get("text")
        if isinstance(text, str) and text.strip():
            words = _MRKDWN_LINK.sub(r"\2", text)
            words = _EMOJI.sub("", words).replace("*", "").replace("~", "").replace("`", "")
            lines.append(words.strip())

    for block in blocks:
        kind = block.get("type")
        if kind in ("header", "section"):
            add(block.get("text"))
            for part in block.get("fields") or ():
                add(part)
        elif kind == "context":
            for element in block.get("elements") or ():
                add(element)
        elif kind == "actions":
            labels = [escape(element["text"].get("text")) for element in block.get("elements") or () if isinstance(element.get("text"), Mapping)]
            if labels:
                lines.append("Choices: " + " · ".join(label for label in labels if label))
    return trim("\n".join(lines) or "mentorbot", limit)


def with_plain_text(rendered: Rendered) -> Rendered:
    """The same message with its `text` made from all of its blocks (after a listener added or changed some)."""
    return Rendered(text=plain_text_of(rendered.blocks), blocks=rendered.blocks)


def answered_line(question: Question, value: Any, ctx: FlowContext) -> str:
    """How an answer reads back to the person: the labels of the choices, or the value itself (plain text: escape it for mrkdwn)."""
    labels = {c.value: c.label for c in question.options(ctx)}
    raw = stored_as_raw(value)
    if raw is None:
        return "(skipped)"
    if isinstance(raw, list):
        return ", ".join(labels.get(item, item) for item in raw) or "(none)"
    return labels.get(raw, raw)
