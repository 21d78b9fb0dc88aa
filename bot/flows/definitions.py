"""The dialogs mentorbot holds with people, declared once; Slack and email both ask exactly these."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot.flows.model import (
    SKIP_WORDS,
    Choice,
    Flow,
    FlowContext,
    Question,
    _as_items,
    parse_multi_choice,
    parse_single_choice,
)
from bot.flows.parsers import AnswerError, parse_capacity, parse_grade_bands, parse_slots

DEFAULT_TOPICS = (
    "classroom management",
    "lesson planning",
    "differentiation",
    "assessment",
    "data-driven instruction",
    "family engagement",
    "SEL",
    "restorative practices",
    "co-teaching",
    "technology integration",
)
DEFAULT_SUBJECTS = ("math", "science", "ELA", "social studies", "SPED", "ELD", "arts", "PE")
GRADE_BAND_CHOICES = tuple(Choice(band, band) for band in ("PK", "K-2", "3-5", "6-8", "9-12"))

ROLE_CHOICES = (
    Choice("mentor", "Mentor: I'd like to support a colleague"),
    Choice("mentee", "Mentee: I'd like support from a colleague"),
    Choice("both", "Both"),
    Choice("none", "Not this term"),
)
# What people may say matters most to them; values are the matcher's weight factors.
WHAT_MATTERS = (
    Choice("grade_band", "Same grade band"),
    Choice("subject", "Same subject"),
    Choice("schedule", "Plenty of shared time"),
    Choice("needs", "Their approach fits what I need"),
    Choice("cross_site", "Someone from another school"),
)
APPROVAL_CHOICES = (
    Choice("approve", "Approve"),
    Choice("change", "Approve with a different number of mentees"),
    Choice("decline", "Decline this term"),
)
CHECK_IN_CHOICES = (
    Choice("met", "We met"),
    Choice("rescheduled", "We rescheduled"),
    Choice("need_help", "We need help"),
    Choice("not_happening", "It's not going to happen"),
)
LIKERT = tuple(
    Choice(str(score), label)
    for score, label in enumerate(("Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"), start=1)
)


def _is_mentor(answers: Mapping[str, Any], ctx: FlowContext) -> bool:
    return (answers.get("role") or ctx.role) in ("mentor", "both")


def _is_mentee(answers: Mapping[str, Any], ctx: FlowContext) -> bool:
    return (answers.get("role") or ctx.role) in ("mentee", "both")


def _role(raw: Any, ctx: FlowContext) -> str:
    return parse_single_choice(raw, ROLE_CHOICES)


def _capacity(raw: Any, ctx: FlowContext) -> int:
    capacity = parse_capacity(None if raw is None else str(raw), default=ctx.default_capacity)
    if capacity > ctx.max_capacity:
        raise AnswerError(f"this program lets a mentor take at most {ctx.max_capacity} mentees")
    return capacity


def _topics(raw: Any, ctx: FlowContext) -> list[str]:
    picked = parse_multi_choice(raw, _topic_choices(ctx), allow_other=True, max_picks=None)
    if not picked:
        raise AnswerError("please name at least one topic, e.g. " + ", ".join(ctx.topics[:2] or DEFAULT_TOPICS[:2]))
    return picked


def _topic_choices(ctx: FlowContext) -> tuple[Choice, ...]:
    return tuple(Choice(topic, topic) for topic in (ctx.topics or DEFAULT_TOPICS))


def _subject_choices(ctx: FlowContext) -> tuple[Choice, ...]:
    return tuple(Choice(subject, subject) for subject in (ctx.subjects or DEFAULT_SUBJECTS))


def _subjects(raw: Any, ctx: FlowContext) -> list[str]:
    return parse_multi_choice(raw, _subject_choices(ctx), allow_other=True, max_picks=None)


def _grade_bands(raw: Any, ctx: FlowContext) -> list[str]:
    text = ";".join(_as_items(raw)) if isinstance(raw, (list, tuple)) else str(raw or "")
    bands = list(parse_grade_bands(text))
    if not bands:
        raise AnswerError('please name at least one grade band, like "K-2" or "6-8"')
    return bands


def _availability(raw: Any, ctx: FlowContext) -> list[str]:
    text = ";".join(_as_items(raw)) if isinstance(raw, (list, tuple)) else str(raw or "")
    slots = parse_slots(text)
    if not slots:
        raise AnswerError('please give at least one weekly time, like "Tue 15:30-16:30"')
    return [str(slot) for slot in slots]


def _what_matters(raw: Any, ctx: FlowContext) -> dict[str, float]:
    picked = parse_multi_choice(raw, WHAT_MATTERS, allow_other=False, max_picks=3)
    if not picked:
        raise AnswerError("please pick one to three things")
    # What people pick counts fully; what they leave out still counts a little.
    return {choice.value: (1.0 if choice.value in picked else 0.25) for choice in WHAT_MATTERS}


def _decision(raw: Any, ctx: FlowContext) -> str:
    return parse_single_choice(raw, APPROVAL_CHOICES)


def _check_in(raw: Any, ctx: FlowContext) -> str:
    return parse_single_choice(raw, CHECK_IN_CHOICES)


def _likert(raw: Any, ctx: FlowContext) -> int:
    return int(parse_single_choice(raw, LIKERT))


def _comment(raw: Any, ctx: FlowContext) -> str:
    text = " ".join(_as_items(raw)) if isinstance(raw, (list, tuple)) else str(raw or "").strip()
    if len(text) > 2000:
        raise AnswerError("please keep the comment under 2,000 characters")
    return text


OPT_IN = Flow(
    key="opt_in",
    title="Mentoring this term",
    intro="A new mentoring term is opening. Would you like to take part?",
    questions=(
        Question("role", "How would you like to take part this term?", "choice", _role, target="enrollment", choices=lambda ctx: ROLE_CHOICES),
        Question(
            "capacity",
            "How many mentees can you take this term?",
            "number",
            _capacity,
            target="enrollment",
            help="a number from 1 to 3 is typical; 0 means not this term",
            ask_if=_is_mentor,
        ),
    ),
    done_message="Thanks! Next, a few questions about what you'd like from mentoring.",
    timeout=timedelta(days=14),
)

PROFILE = Flow(
    key="profile",
    title="Your mentoring profile",
    intro="A few questions so we can find you a good match. You can stop at any time; your answers are kept.",
    questions=(
        Question(
            "grade_bands", "Which grade bands do you teach?", "grade_bands", _grade_bands,
            help='e.g. "K-2" or "6-8; 9-12"', choices=lambda ctx: GRADE_BAND_CHOICES,
        ),
        Question(
            "subjects", "Which subjects do you teach?", "multi_choice", _subjects,
            help='e.g. "math; science"', choices=_subject_choices, allow_other=True,
        ),
        Question(
            "strengths", "Which topics could you help a colleague with?", "multi_choice", _topics,
            help="pick from the list or add your own", choices=_topic_choices, allow_other=True, ask_if=_is_mentor,
        ),
        Question(
            "needs", "Which topics would you like support on? Put the most important first.", "multi_choice", _topics,
            help="pick from the list or add your own", choices=_topic_choices, allow_other=True, ask_if=_is_mentee,
        ),
        Question(
            "availability", "When are you usually free to meet each week?", "slots", _availability,
            help='e.g. "Tue 15:30-16:30; Thu 07:30-08:15"',
        ),
        Question(
            "match_weights", "What matters most to you in a match? Pick up to three.", "multi_choice", _what_matters,
            choices=lambda ctx: WHAT_MATTERS, max_picks=3,
        ),
    ),  # fmt: skip
    done_message="Your profile is complete. We'll let you know when you're matched.",
)

APPROVAL = Flow(
    key="approval",
    title="Approve a mentor",
    intro="A teacher at your school has offered to mentor this term.",
    questions=(
        Question("decision", "Do you approve?", "choice", _decision, target="decision", choices=lambda ctx: APPROVAL_CHOICES),
        Question(
            "capacity", "How many mentees should they take?", "number", _capacity, target="decision",
            ask_if=lambda answers, ctx: answers.get("decision") == "change",
        ),
    ),  # fmt: skip
    done_message="Thank you; we've let them know.",
)

CHECK_IN = Flow(
    key="check_in",
    title="Did you meet?",
    intro="A quick check-in on your mentoring pair.",
    questions=(Question("met", "How is it going?", "choice", _check_in, target="decision", choices=lambda ctx: CHECK_IN_CHOICES),),
    done_message="Thanks for letting us know.",
    timeout=timedelta(days=5),
)

SURVEY_ITEMS = (
    ("voice", "I had a voice in who I was matched with."),
    ("useful", "Our conversations were useful for my teaching."),
    ("again", "I would take part in mentoring again."),
)
SURVEY = Flow(
    key="survey",
    title="End of round survey",
    intro="The round is over. Three quick statements and a comment help us improve.",
    questions=tuple(
        Question(key, text, "choice", _likert, target="decision", choices=lambda ctx: LIKERT) for key, text in SURVEY_ITEMS
    )
    + (Question("comment", "Anything you'd like to add?", "text", _comment, target="decision", required=False),),
    done_message="Thank you for your reflections.",
)

FLOWS: dict[str, Flow] = {flow.key: flow for flow in (OPT_IN, PROFILE, APPROVAL, CHECK_IN, SURVEY)}


def is_skip(raw: Any) -> bool:
    """True when a reply means "skip this optional question"."""
    return isinstance(raw, str) and raw.strip().lower() in SKIP_WORDS
