"""What a guided dialog is made of: questions with their parsers, flows, and the state of one person's dialog."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.flows.parsers import AnswerError

Kind = Literal["choice", "multi_choice", "text", "number", "slots", "grade_bands", "email"]
Target = Literal["enrollment", "profile", "decision"]


@dataclass(frozen=True)
class Choice:
    """One option of a choice question: the stored value and the label people see."""

    value: str
    label: str


@dataclass(frozen=True)
class CustomQuestion:
    """A program's own profile question: free text, one or several options, or a number on a scale."""

    key: str
    prompt: str
    kind: Literal["text", "choice", "multi_choice", "scale"] = "text"
    options: tuple[str, ...] = ()
    minimum: int = 1  # scale only
    maximum: int = 5  # scale only
    required: bool = False


@dataclass(frozen=True)
class FlowContext:
    """What a flow needs to know about the program and the person, passed in by the channel."""

    role: str | None = None  # the person's role this term, once known: mentor | mentee | both | none
    topics: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    default_capacity: int = 1
    max_capacity: int = 10
    # The program's own questions: CustomQuestion, or (key, prompt) for a free-text one.
    custom_questions: tuple[CustomQuestion | tuple[str, str], ...] = ()
    program_id: int | None = None  # answers to the program's questions are kept under its id


@dataclass(frozen=True)
class Question:
    """One question, asked the same way on Slack and by email."""

    key: str
    prompt: str
    kind: Kind
    parse: Callable[[Any, FlowContext], Any]
    target: Target = "profile"
    help: str = ""  # an example of a good answer, shown under the question and in error messages
    required: bool = True
    choices: Callable[[FlowContext], tuple[Choice, ...]] = lambda ctx: ()
    allow_other: bool = False  # free text accepted besides the choices
    max_picks: int | None = None  # multi_choice: at most this many
    ask_if: Callable[[Mapping[str, Any], FlowContext], bool] = lambda answers, ctx: True

    def options(self, ctx: FlowContext) -> tuple[Choice, ...]:
        """The choices in force for this program and person."""
        return self.choices(ctx)


@dataclass(frozen=True)
class Flow:
    """A dialog declared once as data: its questions in order, and how long it may sit idle."""

    key: str
    title: str  # short, fits a Slack modal title (24 characters)
    intro: str
    questions: tuple[Question, ...]
    done_message: str
    timeout: timedelta = timedelta(days=7)

    def question(self, key: str) -> Question:
        """The question with this key."""
        for question in self.questions:
            if question.key == key:
                return question
        raise KeyError(key)


@dataclass(frozen=True)
class DialogState:
    """Where one person is in one flow; saved after every answer so a restart loses nothing."""

    flow: str
    answers: Mapping[str, Any] = field(default_factory=dict)
    step: str | None = None  # the next question to ask; None once every question is answered
    status: Literal["active", "complete"] = "active"
    updated_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """What one reply did: the new state, what was saved, what was wrong, and what to ask next."""

    state: DialogState
    saved: Mapping[str, Any]
    errors: Mapping[str, str]
    ignored: tuple[str, ...]
    pending: tuple[Question, ...]  # every question still to ask, in order

    @property
    def next_question(self) -> Question | None:
        """The question to ask now, if any."""
        return self.pending[0] if self.pending else None

    @property
    def complete(self) -> bool:
        """True once every required question that applies has an answer (optional ones may still be offered)."""
        return self.state.status == "complete"


# --- parsers for choice questions --------------------------------------------------------------

_SPLIT_RE = re.compile(r"\s*(?:[;,\n]|\band\b|&)\s*", re.IGNORECASE)
SKIP_WORDS = frozenset({"skip", "none", "n/a", "na", "-", "pass", "no thanks"})


def _as_items(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, (list, tuple)):
        return [str(item).strip() for item in raw if str(item).strip()]
    return [piece for piece in (p.strip() for p in _SPLIT_RE.split(str(raw))) if piece]


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def match_choice(item: str, choices: Sequence[Choice]) -> Choice | None:
    """The choice a typed item means: its number, its value or label in any case, or a close spelling."""
    text = item.strip().rstrip(".)")
    if text.isdecimal() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    wanted = _normal(text)
    by_name = {_normal(c.value): c for c in choices} | {_normal(c.label): c for c in choices}
    if wanted in by_name:
        return by_name[wanted]
    close = difflib.get_close_matches(wanted, list(by_name), n=1, cutoff=0.8)
    return by_name[close[0]] if close else None


def parse_single_choice(raw: Any, choices: Sequence[Choice]) -> str:
    """One choice from a typed or clicked answer; a friendly error lists the options."""
    items = _as_items(raw) if isinstance(raw, (list, tuple)) else [str(raw or "").strip()]
    items = [item for item in items if item]
    if len(items) != 1:
        raise AnswerError(f"please pick one of: {_listing(choices)}")
    found = match_choice(items[0], choices)
    if found is None:
        raise AnswerError(f'"{items[0][:40]}" is not one of the options; please pick one of: {_listing(choices)}')
    return found.value


def parse_multi_choice(raw: Any, choices: Sequence[Choice], *, allow_other: bool, max_picks: int | None) -> list[str]:
    """Several choices (and free text where allowed), kept in the order given, without repeats."""
    picked: list[str] = []
    unknown: list[str] = []
    for item in _as_items(raw):
        found = match_choice(item, choices) if choices else None
        if found is not None:
            value = found.value
        elif allow_other:
            value = re.sub(r"^(?:other\s*:\s*)", "", item, flags=re.IGNORECASE).strip()
        else:
            unknown.append(item)
            continue
        if value and value.lower() not in {p.lower() for p in picked}:
            picked.append(value)
    if unknown:
        raise AnswerError(
            f"I didn't recognise {', '.join(repr(u[:40]) for u in unknown)}; the options are: {_listing(choices)}"
        )
    if max_picks is not None and len(picked) > max_picks:
        raise AnswerError(f"please pick at most {max_picks}")
    return picked


def _listing(choices: Sequence[Choice]) -> str:
    return ", ".join(f"{number}. {choice.label}" for number, choice in enumerate(choices, start=1))
