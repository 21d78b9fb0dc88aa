"""The term and round state machines: which moves are legal, and why a move (or any term or round request) is refused."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import Conflict

ROUND_STATES = ("draft", "collecting", "matching", "review", "published", "running", "closed")
TERM_STATES = ("open", "closed")

# Each legal move, with what it means to an admin; anything else is refused.
ROUND_MOVES: dict[tuple[str, str], str] = {
    ("draft", "collecting"): "open the round to participants",
    ("collecting", "matching"): "close collection and run the matcher",
    ("matching", "review"): "hand the proposed pairs to an admin",
    ("review", "matching"): "run the matcher again",
    ("review", "published"): "publish the pairs",
    ("published", "running"): "start the sessions",
    ("running", "closed"): "close the round",
}

# What to say when someone asks for a move that skips steps, keyed by the state the round is in.
_NEXT_STEP_HINT = {
    "draft": "open it for collection first",
    "collecting": "run matching first",
    "matching": "wait for matching to finish and hand the pairs to review",
    "review": "publish the reviewed pairs first",
    "published": "start the round first",
    "running": "close it when the sessions are over",
    "closed": "it is closed; create a new round instead",
}


class RoundError(Conflict):
    """A request about a term or round that cannot be carried out as things stand; the message is meant for the admin."""


class IllegalTransition(Conflict):
    """A state change the lifecycle does not allow; the message says why, in plain words."""


@dataclass(frozen=True)
class Transition:
    before: str
    after: str
    meaning: str


def check_round_move(current: str, target: str) -> Transition:
    """Return the transition from `current` to `target`, or raise IllegalTransition with the reason."""
    if target not in ROUND_STATES:
        raise IllegalTransition(
            f"'{target}' is not a round state; rounds go {' -> '.join(ROUND_STATES)}"
        )
    if current == target:
        raise IllegalTransition(f"the round is already {current}")
    meaning = ROUND_MOVES.get((current, target))
    if meaning is None:
        raise IllegalTransition(
            f"a round that is {current} cannot become {target}: {_NEXT_STEP_HINT[current]}"
        )
    return Transition(current, target, meaning)


def allowed_round_moves(current: str) -> list[str]:
    """The states a round in `current` may move to next."""
    return [after for (before, after) in ROUND_MOVES if before == current]


def check_term_close(current: str, unfinished_rounds: list[tuple[int, str]]) -> None:
    """Refuse to close a term that is closed already or still has rounds that are not closed."""
    if current == "closed":
        raise IllegalTransition("the term is already closed")
    if unfinished_rounds:
        listed = ", ".join(f"round {round_id} ({status})" for round_id, status in unfinished_rounds)
        raise IllegalTransition(f"the term still has rounds that are not closed: {listed}")


def check_term_accepts_rounds(current: str) -> None:
    """Only an open term takes new rounds or new enrollments."""
    if current != "open":
        raise IllegalTransition("the term is closed; open a new term for new rounds")
