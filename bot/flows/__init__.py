"""Guided dialogs declared once as data, and the pure engine that walks them."""

from bot.flows.definitions import APPROVAL, CHECK_IN, FLOWS, OPT_IN, PROFILE, SURVEY
from bot.flows.engine import advance, get_flow, is_stale, pending_questions, questions_for, start
from bot.flows.model import Choice, DialogState, Flow, FlowContext, Outcome, Question
from bot.flows.parsers import AnswerError

__all__ = [
    "APPROVAL", "CHECK_IN", "FLOWS", "OPT_IN", "PROFILE", "SURVEY", "AnswerError", "Choice", "DialogState", "Flow",
    "FlowContext", "Outcome", "Question", "advance", "get_flow", "is_stale", "pending_questions", "questions_for", "start",
]  # fmt: skip
