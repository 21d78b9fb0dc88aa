"""The dialog engine: pure functions from (flow, state, replies, now) to the next state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.flows.definitions import FLOWS, _comment, is_skip
from bot.flows.model import (
    Choice,
    CustomQuestion,
    DialogState,
    Flow,
    FlowContext,
    Outcome,
    Question,
    parse_multi_choice,
    parse_single_choice,
)
from bot.flows.parsers import AnswerError

CUSTOM_PREFIX = "custom:"


def custom_answer_key(key: str, program_id: int | None) -> str:
    """Where an answer to a program's own question is kept: per program, so two programs never share answers."""
    return f"{CUSTOM_PREFIX}{program_id}:{key}" if program_id is not None else f"{CUSTOM_PREFIX}{key}"


def custom_question(spec: CustomQuestion | tuple[str, str], program_id: int | None) -> Question:
    """A program's own question as a flow question of its kind, asked the same way on Slack and by email."""
    if not isinstance(spec, CustomQuestion):
        spec = CustomQuestion(key=spec[0], prompt=spec[1])
    key = custom_answer_key(spec.key, program_id)
    if spec.kind == "choice":
        choices = tuple(Choice(option, option) for option in spec.options)
        return Question(key, spec.prompt, "choice", lambda raw, ctx: parse_single_choice(raw, choices), required=spec.required, choices=lambda ctx: choices)
    if spec.kind == "multi_choice":
        choices = tuple(Choice(option, option) for option in spec.options)

        def pick_several(raw: Any, ctx: FlowContext) -> list[str]:
            picked = parse_multi_choice(raw, choices, allow_other=False, max_picks=None)
            if not picked:
                raise AnswerError("please pick at least one of the options")
            return picked

        return Question(key, spec.prompt, "multi_choice", pick_several, required=spec.required, choices=lambda ctx: choices)
    if spec.kind == "scale":
        # A scale is a choice of numbers, so Slack shows buttons and email numbers them like any other choice.
        steps = tuple(Choice(str(n), str(n)) for n in range(spec.minimum, spec.maximum + 1))
        return Question(
            key, spec.prompt, "choice", lambda raw, ctx: int(parse_single_choice(raw, steps)), required=spec.required,
            choices=lambda ctx: steps, help=f"a number from {spec.minimum} to {spec.maximum}",
        )  # fmt: skip
    return Question(key, spec.prompt, "text", _comment, required=spec.required)


def get_flow(key: str) -> Flow:
    """The flow declared under `key`."""
    return FLOWS[key]


def questions_for(flow: Flow, ctx: FlowContext) -> tuple[Question, ...]:
    """The flow's questions plus, for the profile, the program's own custom questions."""
    if flow.key != "profile" or not ctx.custom_questions:
        return flow.questions
    return flow.questions + tuple(custom_question(spec, ctx.program_id) for spec in ctx.custom_questions)


def pending_questions(flow: Flow, answers: Mapping[str, Any], ctx: FlowContext) -> tuple[Question, ...]:
    """Questions that apply to this person and have no answer yet, in order."""
    return tuple(q for q in questions_for(flow, ctx) if q.key not in answers and q.ask_if(answers, ctx))


def start(flow: Flow, *, now: datetime, ctx: FlowContext, prefill: Mapping[str, Any] | None = None) -> DialogState:
    """A new dialog, optionally with answers already known (from the roster, say) so they are not asked again."""
    answers = dict(prefill or {})
    return _settle(flow, DialogState(flow=flow.key), answers, now=now, ctx=ctx)


def advance(
    flow: Flow, state: DialogState, replies: Mapping[str, Any], *, now: datetime, ctx: FlowContext
) -> Outcome:
    """Apply replies (question key -> raw answer): keep what parses, report what doesn't, and say what is left.

    Answers are kept as soon as they parse, so a dialog abandoned halfway loses nothing. A reply to a
    question already answered replaces the earlier answer (that is how people edit their profile).
    """
    keyed = {q.key: q for q in questions_for(flow, ctx)}
    answers = dict(state.answers)
    saved: dict[str, Any] = {}
    errors: dict[str, str] = {}
    ignored: list[str] = []
    for key, raw in replies.items():
        question = keyed.get(key)
        if question is None:
            ignored.append(key)
            continue
        if _blank(raw) or (not question.required and is_skip(raw)):
            if question.required:
                errors[key] = f"this one needs an answer; {question.help or 'please reply with your answer'}"
            else:
                answers[key] = saved[key] = None
            continue
        try:
            value = question.parse(raw, ctx)
        except AnswerError as exc:
            errors[key] = str(exc)
            continue
        answers[key] = saved[key] = value
    # Answers to questions that no longer apply (a mentor who became a mentee) are dropped, not kept stale.
    applicable = {q.key for q in questions_for(flow, ctx) if q.ask_if(answers, ctx)}
    answers = {key: value for key, value in answers.items() if key in applicable}
    new_state = _settle(flow, state, answers, now=now, ctx=ctx)
    return Outcome(
        state=new_state,
        saved={k: v for k, v in saved.items() if k in answers},
        errors=errors,
        ignored=tuple(ignored),
        pending=pending_questions(flow, answers, ctx),
    )


def is_stale(state: DialogState, *, now: datetime) -> bool:
    """True when an unfinished dialog has sat idle past its flow's timeout (time to remind, never to forget)."""
    return state.status == "active" and state.expires_at is not None and now >= state.expires_at


def _settle(flow: Flow, state: DialogState, answers: dict[str, Any], *, now: datetime, ctx: FlowContext) -> DialogState:
    pending = pending_questions(flow, answers, ctx)
    # Optional questions are offered but never hold a dialog open.
    required_left = any(question.required for question in pending)
    return replace(
        state,
        answers=answers,
        step=pending[0].key if pending else None,
        status="active" if required_left else "complete",
        updated_at=now,
        expires_at=now + flow.timeout,
    )


def _blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, (list, tuple)):
        return not any(str(item).strip() for item in raw)
    return not str(raw).strip()
