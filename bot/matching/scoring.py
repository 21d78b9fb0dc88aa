"""Integer fit points per factor, and the load cost of a mentor's k-th mentee."""

from __future__ import annotations

import math

from .availability import usable_minutes
from .eligibility import Profile
from .model import RoundSettings

# Points before the participants' weights scale them. Integers keep the solver exact.
NEED_POINTS = 40            # the most central need; the i-th need earns NEED_POINTS // i
BAND_POINTS = 20
SUBJECT_POINTS = 20
SCHEDULE_POINTS = 15        # earned in full once the shared usable time reaches the cap below
SCHEDULE_CAP_SESSIONS = 4   # more shared time than four sessions' worth adds nothing
CROSS_SITE_POINTS = 10
LOAD_STEP = 8               # cost of each mentee a mentor already has (this round or recently)

FIT_FACTORS = ("needs", "grade_band", "subject", "schedule", "cross_site")
DEFAULT_WEIGHT = 0.5        # a factor nobody weighted keeps its points unchanged


def need_points(position: int) -> int:
    """Points for meeting the need at `position` (0 = most central) of a mentee's list."""
    return NEED_POINTS // (position + 1)  # fit_parts inlines this


def multiplier(mentor: Profile, mentee: Profile, factor: str) -> float:
    """Scale for a factor from both people's own weights: 0.5 (neither cares) .. 1.5 (both care most)."""
    return 0.5 + (mentor.weights.get(factor, DEFAULT_WEIGHT) + mentee.weights.get(factor, DEFAULT_WEIGHT)) / 2


def _scaled(base: int, mentor: Profile, mentee: Profile, factor: str) -> int:
    if base == 0:
        return 0
    return math.floor(base * multiplier(mentor, mentee, factor) + 0.5)


def schedule_base(usable: int, session_minutes: int) -> int:
    """Unweighted schedule points for `usable` shared minutes."""
    cap = SCHEDULE_CAP_SESSIONS * session_minutes
    return SCHEDULE_POINTS * min(usable, cap) // cap


def shared_usable_minutes(mentor: Profile, mentee: Profile, session_minutes: int) -> int:
    """Minutes of common free time that lie in stretches of at least one session."""
    starts = mentor.starts(session_minutes) & mentee.starts(session_minutes)
    return usable_minutes(starts, session_minutes)


def fit_parts(mentor: Profile, mentee: Profile, settings: RoundSettings) -> tuple[int, int, int, int, int]:
    """Weighted integer points for each factor in FIT_FACTORS."""
    strengths = mentor.strengths
    needs = 0
    for i, (need, _) in enumerate(mentee.needs):  # a plain loop: this runs once per candidate edge
        if need in strengths:
            needs += NEED_POINTS // (i + 1)
    band = BAND_POINTS if mentor.bands and not mentor.bands.keys().isdisjoint(mentee.bands.keys()) else 0
    subject = (
        SUBJECT_POINTS if mentor.subjects and not mentor.subjects.keys().isdisjoint(mentee.subjects.keys()) else 0
    )
    schedule = schedule_base(shared_usable_minutes(mentor, mentee, settings.session_minutes), settings.session_minutes)
    cross = 0
    if settings.cross_site != "neutral" and mentor.site and mentee.site and mentor.site != mentee.site:
        cross = CROSS_SITE_POINTS if settings.cross_site == "prefer" else -CROSS_SITE_POINTS
    if not mentor.weights and not mentee.weights:
        return (needs, band, subject, schedule, cross)  # every multiplier is 1: skip the floats
    return (
        _scaled(needs, mentor, mentee, "needs"),
        _scaled(band, mentor, mentee, "grade_band"),
        _scaled(subject, mentor, mentee, "subject"),
        _scaled(schedule, mentor, mentee, "schedule"),
        _scaled(cross, mentor, mentee, "cross_site"),
    )


def fit(mentor: Profile, mentee: Profile, settings: RoundSettings) -> int:
    """Total fit of a pair before load, in integer points."""
    return sum(fit_parts(mentor, mentee, settings))


def load_cost(k: int, recent: int) -> int:
    """Cost of giving a mentor its k-th mentee this round (k >= 1) after `recent` recent mentees."""
    # Grows with k, so a flow fills a mentor's cheap arcs first and spreads mentees out.
    return LOAD_STEP * (k - 1 + recent)
