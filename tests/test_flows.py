"""The dialog engine, pure: questions declared once, answers kept as they come, errors that say what to write."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.flows import APPROVAL, CHECK_IN, FLOWS, OPT_IN, PROFILE, SURVEY, FlowContext, advance, is_stale, start
from bot.flows.model import Choice, match_choice

MENTEE = FlowContext(role="mentee")
MENTOR = FlowContext(role="mentor")


def test_every_flow_fits_a_slack_modal_title_and_has_unique_keys() -> None:
    for flow in FLOWS.values():
        assert len(flow.title) <= 24, flow.key
        keys = [q.key for q in flow.questions]
        assert len(keys) == len(set(keys)), flow.key


def test_opt_in_asks_capacity_only_of_mentors(now: datetime) -> None:
    state = start(OPT_IN, now=now, ctx=FlowContext())
    assert state.step == "role"
    mentee = advance(OPT_IN, state, {"role": "mentee"}, now=now, ctx=FlowContext())
    assert mentee.complete and mentee.state.answers == {"role": "mentee"}
    mentor = advance(OPT_IN, state, {"role": "Mentor"}, now=now, ctx=FlowContext())
    assert not mentor.complete and mentor.next_question.key == "capacity"
    done = advance(OPT_IN, mentor.state, {"capacity": "two"}, now=now, ctx=FlowContext())
    assert done.complete and done.state.answers == {"role": "mentor", "capacity": 2}


def test_a_wrong_answer_is_explained_and_the_right_ones_are_kept(now: datetime) -> None:
    state = start(PROFILE, now=now, ctx=MENTEE)
    outcome = advance(
        PROFILE,
        state,
        {"grade_bands": "6-8", "subjects": "Math, sciense", "needs": "classroom managment; 3", "availability": "Tuesday-ish"},
        now=now,
        ctx=MENTEE,
    )
    assert outcome.saved == {
        "grade_bands": ["6-8"],
        "subjects": ["math", "science"],
        "needs": ["classroom management", "differentiation"],
    }
    assert outcome.errors["availability"].startswith('"Tuesday-ish" is not a time slot')
    assert [q.key for q in outcome.pending] == ["availability", "match_weights"]
    again = advance(PROFILE, outcome.state, {"availability": "Tue 15:30-16:30", "match_weights": "1, 3"}, now=now, ctx=MENTEE)
    assert again.complete
    assert again.state.answers["availability"] == ["Tue 15:30-16:30"]
    assert again.state.answers["match_weights"]["grade_band"] == 1.0
    assert again.state.answers["match_weights"]["subject"] == 0.25


def test_mentors_are_asked_strengths_and_mentees_needs(now: datetime) -> None:
    assert "strengths" in [q.key for q in advance(PROFILE, start(PROFILE, now=now, ctx=MENTOR), {}, now=now, ctx=MENTOR).pending]
    pending = [q.key for q in advance(PROFILE, start(PROFILE, now=now, ctx=MENTEE), {}, now=now, ctx=MENTEE).pending]
    assert "needs" in pending and "strengths" not in pending


def test_free_text_topics_are_kept_beside_the_list(now: datetime) -> None:
    outcome = advance(PROFILE, start(PROFILE, now=now, ctx=MENTOR), {"strengths": "SEL; other: newcomer students"}, now=now, ctx=MENTOR)
    assert outcome.saved["strengths"] == ["SEL", "newcomer students"]


def test_required_answers_cannot_be_blank_but_optional_ones_can_be_skipped(now: datetime) -> None:
    ctx = FlowContext(role="mentee", custom_questions=(("why", "Why do you teach?"),))
    outcome = advance(PROFILE, start(PROFILE, now=now, ctx=ctx), {"subjects": "  ", "custom:why": "skip"}, now=now, ctx=ctx)
    assert "needs an answer" in outcome.errors["subjects"]
    assert outcome.state.answers["custom:why"] is None
    assert "custom:why" not in [q.key for q in outcome.pending]


def test_unknown_keys_are_ignored_not_applied(now: datetime) -> None:
    outcome = advance(OPT_IN, start(OPT_IN, now=now, ctx=FlowContext()), {"role": "mentee", "is_admin": "yes"}, now=now, ctx=FlowContext())
    assert outcome.ignored == ("is_admin",)
    assert "is_admin" not in outcome.state.answers


def test_changing_role_drops_answers_that_no_longer_apply(now: datetime) -> None:
    mentor = advance(OPT_IN, start(OPT_IN, now=now, ctx=FlowContext()), {"role": "mentor", "capacity": "2"}, now=now, ctx=FlowContext())
    changed = advance(OPT_IN, mentor.state, {"role": "mentee"}, now=now, ctx=FlowContext())
    assert changed.state.answers == {"role": "mentee"}


def test_approval_asks_for_a_new_capacity_only_when_changing(now: datetime) -> None:
    ctx = FlowContext()
    approve = advance(APPROVAL, start(APPROVAL, now=now, ctx=ctx), {"decision": "approve"}, now=now, ctx=ctx)
    assert approve.complete
    change = advance(APPROVAL, start(APPROVAL, now=now, ctx=ctx), {"decision": "2"}, now=now, ctx=ctx)
    assert change.next_question.key == "capacity"
    too_many = advance(APPROVAL, change.state, {"capacity": "9"}, now=now, ctx=FlowContext(max_capacity=3))
    assert "at most 3" in too_many.errors["capacity"]


def test_check_in_and_survey_take_one_word_answers(now: datetime) -> None:
    check = advance(CHECK_IN, start(CHECK_IN, now=now, ctx=FlowContext()), {"met": "we met"}, now=now, ctx=FlowContext())
    assert check.state.answers == {"met": "met"}
    survey = advance(SURVEY, start(SURVEY, now=now, ctx=FlowContext()), {"voice": "4", "useful": "strongly agree", "again": "Agree"}, now=now, ctx=FlowContext())
    assert survey.complete and survey.state.answers["useful"] == 5


def test_idle_dialogs_become_stale_but_keep_their_answers(now: datetime) -> None:
    outcome = advance(PROFILE, start(PROFILE, now=now, ctx=MENTEE), {"grade_bands": "K-2"}, now=now, ctx=MENTEE)
    assert not is_stale(outcome.state, now=now + timedelta(days=6))
    assert is_stale(outcome.state, now=now + timedelta(days=7))
    later = advance(PROFILE, outcome.state, {"subjects": "math"}, now=now + timedelta(days=30), ctx=MENTEE)
    assert later.state.answers["grade_bands"] == ["K-2"]


def test_prefilled_answers_are_not_asked_again(now: datetime) -> None:
    state = start(PROFILE, now=now, ctx=MENTEE, prefill={"grade_bands": ["6-8"], "subjects": ["math"]})
    assert state.step == "needs"


CHOICES = tuple(Choice(v, v) for v in ("classroom management", "SEL", "assessment"))


@given(st.sampled_from(CHOICES), st.sampled_from([str.upper, str.lower, str.title, lambda s: f"  {s}. "]))
def test_choices_match_despite_case_and_padding(choice: Choice, style) -> None:
    assert match_choice(style(choice.label), CHOICES) == choice


def test_numbers_pick_choices_and_nonsense_does_not() -> None:
    assert match_choice("2", CHOICES) == CHOICES[1]
    assert match_choice("7", CHOICES) is None
    assert match_choice("gardening", CHOICES) is None


@pytest.mark.parametrize("flow", list(FLOWS.values()), ids=list(FLOWS))
def test_each_flow_completes_with_its_first_choices(flow, now: datetime) -> None:
    ctx = FlowContext(role="both")
    state = start(flow, now=now, ctx=ctx)
    for _ in range(len(flow.questions) + 1):
        if state.step is None:
            break
        question = flow.question(state.step)
        raw = {"number": "1", "slots": "Mon 15:00-16:00", "grade_bands": "6-8", "text": "fine"}.get(question.kind, "1")
        state = advance(flow, state, {question.key: raw}, now=now, ctx=ctx).state
    assert state.status == "complete"
