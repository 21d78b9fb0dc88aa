"""The round and term state machines."""

from __future__ import annotations

import itertools

import pytest

from bot.rounds.lifecycle import (
    ROUND_MOVES,
    ROUND_STATES,
    IllegalTransition,
    allowed_round_moves,
    check_round_move,
    check_term_accepts_rounds,
    check_term_close,
)


def test_the_happy_path_walks_every_state_in_order() -> None:
    for before, after in itertools.pairwise(ROUND_STATES):
        assert check_round_move(before, after).after == after


def test_review_can_go_back_to_matching_for_a_rerun() -> None:
    assert check_round_move("review", "matching").meaning == "run the matcher again"


@pytest.mark.parametrize(
    ("before", "after"),
    [pair for pair in itertools.product(ROUND_STATES, ROUND_STATES) if pair not in ROUND_MOVES and pair[0] != pair[1]],
)
def test_every_other_move_is_refused_with_a_reason(before: str, after: str) -> None:
    with pytest.raises(IllegalTransition) as refused:
        check_round_move(before, after)
    message = str(refused.value)
    assert f"cannot become {after}" in message
    assert ":" in message  # the reason follows


def test_skipping_review_says_what_to_do_first() -> None:
    with pytest.raises(IllegalTransition, match="a round that is collecting cannot become published: run matching first"):
        check_round_move("collecting", "published")


def test_unknown_state_and_same_state_are_refused() -> None:
    with pytest.raises(IllegalTransition, match="'archived' is not a round state"):
        check_round_move("draft", "archived")
    with pytest.raises(IllegalTransition, match="already review"):
        check_round_move("review", "review")


def test_allowed_moves() -> None:
    assert allowed_round_moves("review") == ["matching", "published"]
    assert allowed_round_moves("closed") == []


def test_terms_close_only_when_their_rounds_are_closed() -> None:
    check_term_close("open", [])
    with pytest.raises(IllegalTransition, match=r"round 4 \(running\)"):
        check_term_close("open", [(4, "running")])
    with pytest.raises(IllegalTransition, match="already closed"):
        check_term_close("closed", [])
    with pytest.raises(IllegalTransition, match="the term is closed"):
        check_term_accepts_rounds("closed")
