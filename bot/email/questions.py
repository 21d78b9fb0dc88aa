"""The questions an email asks, numbered the same way in every email of a dialog, from `bot.flows`.

A question's number is its place among the flow's questions that apply to this person (answered or not),
so "3." means the same question in the first prompt, in the follow-up and in a reply to an old email.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot import dialogs
from bot.email.replies import Asked
from bot.flows import FlowContext, get_flow, start
from bot.flows.engine import questions_for
from bot.flows.model import Choice, Flow, Question
from storage.db import in_transaction

# Words people may put before a colon to answer a question by name ("Availability: Tue 3-4pm").
LABELS: dict[str, tuple[str, ...]] = {
    "role": ("Role", "take part", "taking part", "participation", "mentor or mentee"),
    "capacity": ("Mentees", "capacity", "how many", "number of mentees", "how many mentees"),
    "grade_bands": ("Grade bands", "grades", "grade", "grade band", "grade levels"),
    "subjects": ("Subjects", "subject"),
    "strengths": ("Strengths", "strength", "can help with", "help with", "topics I can help with"),
    "needs": ("Needs", "need", "support on", "support", "topics", "want support on"),
    "availability": ("Availability", "available", "free", "times", "when", "schedule"),
    "match_weights": ("What matters", "matters", "priorities", "most important", "match"),
    "decision": ("Decision", "approve", "approval"),
    "met": ("Met", "check-in", "check in", "status"),
    "voice": ("Voice",),
    "useful": ("Useful",),
    "again": ("Again",),
    "comment": ("Comment", "comments", "anything else"),
}


@dataclass(frozen=True)
class NumberedQuestion:
    number: int
    question: Question
    options: tuple[Choice, ...]

    @property
    def label(self) -> str:
        return LABELS.get(self.question.key, (self.question.key.split(":")[-1].replace("_", " ").capitalize(),))[0]

    def asked(self) -> Asked:
        labels = LABELS.get(self.question.key, ()) + (self.question.prompt.rstrip("?"),)
        return Asked(self.number, self.question.key, labels)


@dataclass(frozen=True)
class DialogView:
    """A person's dialog as an email shows it: every applicable question numbered, and which are still open."""

    flow: Flow
    context: str
    ctx: FlowContext
    answers: Mapping[str, Any]
    numbered: tuple[NumberedQuestion, ...]
    pending: tuple[NumberedQuestion, ...]
    complete: bool
    person_role: str  # the roster role, for "yes" to the opt-in question


def dialog_view_in(session: Session, *, person_id: int, flow: str, context: str, now: datetime, every: bool = False) -> DialogView:
    """Load the dialog and the program's options and number its questions (`every`: also those not asked of this person yet)."""
    the_flow = get_flow(flow)
    scope = dialogs.dialog_scope(session, person_id=person_id, context=context)
    person, ctx = scope.person, scope.ctx
    state = dialogs.current_state_in(session, person_id=person_id, flow=flow, context=context) or start(the_flow, now=now, ctx=ctx)
    answers = dict(state.answers)
    # `every`: a reply may volunteer answers to questions its person is not asked yet (a mentee's needs in the
    # same sentence that makes them a mentee), so they can be read before the role is saved.
    applicable = [q for q in questions_for(the_flow, ctx) if every or q.ask_if(answers, ctx)]
    numbered = tuple(NumberedQuestion(n, q, q.options(ctx)) for n, q in enumerate(applicable, start=1))
    pending = tuple(item for item in numbered if item.question.key not in answers)
    return DialogView(
        flow=the_flow, context=context, ctx=ctx, answers=answers, numbered=numbered, pending=pending,
        complete=state.status == "complete", person_role=person.role,
    )  # fmt: skip


dialog_view = in_transaction(dialog_view_in)


def show_value(question: Question, value: Any, options: tuple[Choice, ...]) -> str:
    """An answer as a person would read it back: option labels, lists joined, slots as written."""
    labels = {choice.value: choice.label for choice in options}
    if value is None:
        return "(skipped)"
    if isinstance(value, dict):  # match weights: what was picked counts fully
        return ", ".join(labels.get(key, key) for key, weight in value.items() if weight >= 1.0)
    if isinstance(value, (list, tuple)):
        return ", ".join(labels.get(str(item), str(item)) for item in value)
    return labels.get(str(value), str(value))
