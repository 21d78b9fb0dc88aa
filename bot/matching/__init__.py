"""Pure matching core: hard rules, fit scores with reasons, and an exact min-cost-flow solver."""

from .availability import weekly_windows_utc
from .eligibility import ineligibility_reasons
from .match import match_round
from .model import (
    History,
    MatchResult,
    Pair,
    Participant,
    Role,
    RoundSettings,
    ScorePart,
    Unmatched,
    WeeklyWindow,
)

__all__ = [
    "History",
    "MatchResult",
    "Pair",
    "Participant",
    "Role",
    "RoundSettings",
    "ScorePart",
    "Unmatched",
    "WeeklyWindow",
    "ineligibility_reasons",
    "match_round",
    "weekly_windows_utc",
]
