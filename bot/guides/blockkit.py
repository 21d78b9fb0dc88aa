"""Block Kit limits that a guide message must stay within, and a checker for them.

Numbers from Slack's Block Kit reference: at most 50 blocks in a message; header text 150 characters
(plain_text); section text 3,000 and each of at most 10 fields 2,000; context at most 10 elements;
actions at most 25 elements; button text 75 and url 3,000; block_id and action_id 255.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MAX_BLOCKS = 50
HEADER_TEXT = 150
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 3000
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_URL = 3000
ID_LENGTH = 255
MESSAGE_TEXT = 40000


def _text_problems(obj: Any, where: str, *, limit: int, kinds: Iterable[str]) -> list[str]:
    if not isinstance(obj, Mapping):
        return [f"{where}: a text object is required"]
    problems = []
    if obj.get("type") not in set(kinds):
        problems.append(f"{where}: text type must be one of {sorted(kinds)}, not {obj.get('type')!r}")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: text must be a non-empty string")
    elif len(text) > limit:
        problems.append(f"{where}: text is {len(text)} characters, more than {limit}")
    return problems


def block_kit_problems(blocks: list[Mapping[str, Any]], *, text: str | None = None) -> list[str]:
    """Every way `blocks` (and the message's fallback `text`) break the limits above; empty when fine."""
    problems: list[str] = []
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"message has {len(blocks)} blocks, more than {MAX_BLOCKS}")
    if text is not None and len(text) > MESSAGE_TEXT:
        problems.append(f"message text is {len(text)} characters, more than {MESSAGE_TEXT}")
    ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"block {index}"
        kind = block.get("type")
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 1 <= len(block_id) <= ID_LENGTH:
                problems.append(f"{where}: block_id must be 1..{ID_LENGTH} characters")
            elif block_id in ids:
                problems.append(f"{where}: block_id {block_id!r} is used twice")
            ids.add(str(block_id))
        if kind == "header":
            problems += _text_problems(block.get("text"), where, limit=HEADER_TEXT, kinds=["plain_text"])
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: a section needs text or fields")
            if "text" in block:
                problems += _text_problems(block["text"], where, limit=SECTION_TEXT, kinds=["plain_text", "mrkdwn"])
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or not 1 <= len(fields) <= SECTION_FIELDS:
                    problems.append(f"{where}: a section has 1..{SECTION_FIELDS} fields")
                else:
                    for number, field in enumerate(fields):
                        problems += _text_problems(
                            field, f"{where} field {number}", limit=FIELD_TEXT, kinds=["plain_text", "mrkdwn"]
                        )
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= CONTEXT_ELEMENTS:
                problems.append(f"{where}: a context has 1..{CONTEXT_ELEMENTS} elements")
            else:
                for number, element in enumerate(elements):
                    problems += _text_problems(
                        element, f"{where} element {number}", limit=CONTEXT_TEXT, kinds=["plain_text", "mrkdwn"]
                    )
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= ACTIONS_ELEMENTS:
                problems.append(f"{where}: actions have 1..{ACTIONS_ELEMENTS} elements")
            else:
                for number, element in enumerate(elements):
                    spot = f"{where} element {number}"
                    if element.get("type") != "button":
                        problems.append(f"{spot}: only buttons are used in guide messages")
                        continue
                    problems += _text_problems(element.get("text"), spot, limit=BUTTON_TEXT, kinds=["plain_text"])
                    url = element.get("url")
                    if url is not None and (not isinstance(url, str) or not 1 <= len(url) <= BUTTON_URL):
                        problems.append(f"{spot}: button url must be 1..{BUTTON_URL} characters")
                    action_id = element.get("action_id")
                    if action_id is not None and (not isinstance(action_id, str) or not 1 <= len(action_id) <= ID_LENGTH):
                        problems.append(f"{spot}: action_id must be 1..{ID_LENGTH} characters")
        elif kind == "divider":
            extra = set(block) - {"type", "block_id"}
            if extra:
                problems.append(f"{where}: a divider takes no {sorted(extra)}")
        else:
            problems.append(f"{where}: unexpected block type {kind!r}")
    return problems
