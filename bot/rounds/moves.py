"""Moving a round along its lifecycle in the caller's transaction: the state, and the pairings that follow it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.rounds.lifecycle import check_round_move
from storage import repo
from storage.db import in_transaction
from storage.models import Round


def step_round(round_: Round, target: str, now: datetime) -> None:
    """Move the round to `target` if its lifecycle allows it (IllegalTransition with the reason if not)."""
    check_round_move(round_.status, target)
    round_.status, round_.status_changed_at = target, now


def move_round_in(session: Session, *, round_id: int, target: str, now: datetime) -> Round:
    """Move a round along its lifecycle, refusing illegal moves with the reason; pairings follow the round (published, active, completed)."""
    round_ = repo.get_round(session, round_id=round_id, for_update=True)
    step_round(round_, target, now)
    if target in ("published", "running", "closed"):
        pairing_status = {"published": "published", "running": "active", "closed": "completed"}[target]
        # A stalled pair stays stalled (the record admins learn from); only live pairs move on.
        repo.set_pairing_status(session, round_id=round_id, status=pairing_status, only_from=("proposed", "published", "active"))
    return round_


move_round = in_transaction(move_round_in)
