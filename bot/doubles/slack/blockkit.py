"""Slack's Block Kit limits, as Slack's reference states them: what the stand-in refuses with `invalid_blocks`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
LIMITS = {
    "section_text": 3000,
    "field_text": 2000,
    "fields": 10,
    "header_text": 150,
    "context_elements": 10,
    "actions_elements": 25,
    "button_text": 75,
    "button_value": 2000,
    "url": 3000,
    "id": 255,
    "options": 100,
    "option_groups": 100,
    "option_text": 75,
    "option_value": 150,
    "option_description": 75,
    "choice_options": 10,  # checkboxes and radio buttons
    "overflow_options": 5,
    "placeholder": 150,
    "label": 2000,
    "hint": 2000,
    "input_length": 3000,
    "view_title": 24,
    "view_button": 24,
    "private_metadata": 3000,
    "message_text": 40000,
}
_SELECTS = ("static_select", "multi_static_select")


def _text(obj: Any, where: str, limit: int, problems: list[str], *, plain_only: bool = False) -> None:
    if not isinstance(obj, Mapping) or obj.get("type") not in (("plain_text",) if plain_only else ("plain_text", "mrkdwn")):
        problems.append(f"{where}: must be a {'plain_text' if plain_only else 'text'} object")
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: text must not be empty")
    elif len(text) > limit:
        problems.append(f"{where}: must be at most {limit} characters (is {len(text)})")


def _options(options: Any, where: str, problems: list[str], *, most: int) -> list[Mapping[str, Any]]:
    if not isinstance(options, list) or not options:
        problems.append(f"{where}: needs at least one option")
        return []
    if len(options) > most:
        problems.append(f"{where}: at most {most} options (has {len(options)})")
    for n, option in enumerate(options):
        _text(option.get("text"), f"{where}.options[{n}].text", LIMITS["option_text"], problems)
        value = option.get("value")
        if not isinstance(value, str) or not value or len(value) > LIMITS["option_value"]:
            problems.append(f"{where}.options[{n}].value: 1 to {LIMITS['option_value']} characters")
        if "description" in option:
            _text(option["description"], f"{where}.options[{n}].description", LIMITS["option_description"], problems)
    return options


def _unique_id(value: Any, where: str, seen: set[str], problems: list[str], *, twice: str) -> None:
    """An action_id or block_id, when given: 1 to 255 characters, and not one already `seen` in its scope."""
    if value is None:
        return
    if not isinstance(value, str) or not 0 < len(value) <= LIMITS["id"]:
        problems.append(f"{where}: 1 to {LIMITS['id']} characters")
    elif value in seen:
        problems.append(f"{where}: {value!r} {twice}")
    seen.add(str(value))


def _element(element: Any, where: str, problems: list[str], action_ids: set[str]) -> None:
    if not isinstance(element, Mapping):
        problems.append(f"{where}: must be an object")
        return
    kind = element.get("type")
    _unique_id(element.get("action_id"), f"{where}.action_id", action_ids, problems, twice="is used twice in one block")
    if "placeholder" in element:
        _text(element["placeholder"], f"{where}.placeholder", LIMITS["placeholder"], problems, plain_only=True)
    if kind == "button":
        _text(element.get("text"), f"{where}.text", LIMITS["button_text"], problems, plain_only=True)
        if len(str(element.get("value", ""))) > LIMITS["button_value"]:
            problems.append(f"{where}.value: at most {LIMITS['button_value']} characters")
        if len(str(element.get("url", ""))) > LIMITS["url"]:
            problems.append(f"{where}.url: at most {LIMITS['url']} characters")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}.style: primary or danger")
    elif kind in _SELECTS:
        if "option_groups" in element:
            groups = element["option_groups"]
            if not isinstance(groups, list) or not 0 < len(groups) <= LIMITS["option_groups"]:
                problems.append(f"{where}.option_groups: 1 to {LIMITS['option_groups']} groups")
                groups = groups if isinstance(groups, list) else []
            options = [o for n, g in enumerate(groups) for o in _options(g.get("options"), f"{where}.option_groups[{n}]", problems, most=LIMITS["options"])]
        else:
            options = _options(element.get("options"), where, problems, most=LIMITS["options"])
        _initial_options(element, options, where, problems)
        if kind == "multi_static_select" and "max_selected_items" in element and int(element["max_selected_items"]) < 1:
            problems.append(f"{where}.max_selected_items: at least 1")
    elif kind in ("checkboxes", "radio_buttons"):
        options = _options(element.get("options"), where, problems, most=LIMITS["choice_options"])
        _initial_options(element, options, where, problems)
    elif kind == "overflow":
        _options(element.get("options"), where, problems, most=LIMITS["overflow_options"])
    elif kind == "plain_text_input":
        most = int(element.get("max_length", LIMITS["input_length"]))
        if most > LIMITS["input_length"]:
            problems.append(f"{where}.max_length: at most {LIMITS['input_length']}")
        if len(str(element.get("initial_value", ""))) > most:
            problems.append(f"{where}.initial_value: longer than max_length")
    elif kind == "number_input":
        if "is_decimal_allowed" not in element:
            problems.append(f"{where}: number_input needs is_decimal_allowed")
    elif kind in ("email_text_input", "datepicker", "timepicker", "image"):
        pass
    else:
        problems.append(f"{where}: unknown element type {kind!r}")


def _initial_options(element: Mapping[str, Any], options: list[Mapping[str, Any]], where: str, problems: list[str]) -> None:
    known = {(o.get("value"), json.dumps(o.get("text"), sort_keys=True)) for o in options}
    initial = element.get("initial_options") or ([element["initial_option"]] if "initial_option" in element else [])
    for option in initial:
        if (option.get("value"), json.dumps(option.get("text"), sort_keys=True)) not in known:
            problems.append(f"{where}: an initial option must be one of the options exactly")


def block_kit_problems(blocks: Any, *, surface: str) -> list[str]:
    """Every way `blocks` break Slack's Block Kit limits on a surface (message, modal or home); empty when fine."""
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS[surface]:
        problems.append(f"a {surface} has at most {MAX_BLOCKS[surface]} blocks (has {len(blocks)})")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        _unique_id(block.get("block_id"), f"{where}.block_id", block_ids, problems, twice="is used twice")
        kind = block.get("type")
        action_ids: set[str] = set()
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: a section needs text or fields")
            if "text" in block:
                _text(block["text"], f"{where}.text", LIMITS["section_text"], problems)
            fields = block.get("fields") or []
            if len(fields) > LIMITS["fields"]:
                problems.append(f"{where}.fields: at most {LIMITS['fields']}")
            for n, item in enumerate(fields):
                _text(item, f"{where}.fields[{n}]", LIMITS["field_text"], problems)
            if "accessory" in block:
                _element(block["accessory"], f"{where}.accessory", problems, action_ids)
        elif kind == "header":
            _text(block.get("text"), f"{where}.text", LIMITS["header_text"], problems, plain_only=True)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= LIMITS["context_elements"]:
                problems.append(f"{where}.elements: 1 to {LIMITS['context_elements']}")
            for n, item in enumerate(elements):
                if item.get("type") != "image":
                    _text(item, f"{where}.elements[{n}]", LIMITS["section_text"], problems)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= LIMITS["actions_elements"]:
                problems.append(f"{where}.elements: 1 to {LIMITS['actions_elements']}")
            for n, item in enumerate(elements):
                _element(item, f"{where}.elements[{n}]", problems, action_ids)
        elif kind == "input":
            if surface != "modal":
                problems.append(f"{where}: input blocks belong in modals")
            _text(block.get("label"), f"{where}.label", LIMITS["label"], problems, plain_only=True)
            if "hint" in block:
                _text(block["hint"], f"{where}.hint", LIMITS["hint"], problems, plain_only=True)
            _element(block.get("element"), f"{where}.element", problems, action_ids)
        elif kind in ("divider", "image"):
            pass
        else:
            problems.append(f"{where}: unknown block type {kind!r}")
    return problems


def view_problems(view: Any) -> list[str]:
    """What is wrong with a modal or Home tab view, Block Kit limits included."""
    if not isinstance(view, Mapping):
        return ["view must be an object"]
    surface = view.get("type")
    if surface not in ("modal", "home"):
        return ["view type must be modal or home"]
    problems = block_kit_problems(view.get("blocks"), surface=surface)
    if len(str(view.get("private_metadata", ""))) > LIMITS["private_metadata"]:
        problems.append(f"private_metadata: at most {LIMITS['private_metadata']} characters")
    if len(str(view.get("callback_id", ""))) > LIMITS["id"]:
        problems.append(f"callback_id: at most {LIMITS['id']} characters")
    if surface == "modal":
        _text(view.get("title"), "title", LIMITS["view_title"], problems, plain_only=True)
        for name in ("submit", "close"):
            if name in view:
                _text(view[name], name, LIMITS["view_button"], problems, plain_only=True)
        if any(b.get("type") == "input" for b in view.get("blocks") or []) and "submit" not in view:
            problems.append("a modal with inputs needs a submit button")
    return problems

