"""Pure matching core: hard rules, fit scores with reasons, exact flow solvers, CP-SAT for added
rules, speed-mentoring rotations, and equity and pool-health reports."""

from .availability import weekly_windows_utc
from .constrained import SideConstraints, solve_with_side_constraints
from .eligibility import ineligibility_reasons
from .groups import solve_groups
from .match import match_round
from .model import (
    ADDABLE_RULES,
    RELAXABLE_RULES,
    Group,
    History,
    MatchResult,
    Pair,
    Participant,
    Role,
    RoundSettings,
    ScorePart,
    SolveReport,
    Unmatched,
    WeeklyWindow,
    rule_names,
)
from .reports import (
    AreaHealth, CauseGroup, GroupStats, LoadCount, MatchLead, PoolHealth, ResultReport, match_lead, pool_health, result_report,
)
from .speed import Meeting, SitOut, SpeedSchedule, speed_schedule

__all__ = [
    "ADDABLE_RULES",
    "RELAXABLE_RULES",
    "AreaHealth",
    "CauseGroup",
    "Group",
    "GroupStats",
    "History",
    "LoadCount",
    "MatchLead",
    "MatchResult",
    "Meeting",
    "Pair",
    "Participant",
    "PoolHealth",
    "ResultReport",
    "rule_names",
    "Role",
    "RoundSettings",
    "ScorePart",
    "SideConstraints",
    "SitOut",
    "SolveReport",
    "SpeedSchedule",
    "Unmatched",
    "WeeklyWindow",
    "ineligibility_reasons",
    "match_lead",
    "match_round",
    "pool_health",
    "result_report",
    "solve_groups",
    "solve_with_side_constraints",
    "speed_schedule",
    "weekly_windows_utc",
]
