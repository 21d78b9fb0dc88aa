"""School-calendar rules, pure: blackout dates, quiet hours, and proposing session times from shared availability.

Every function takes the moment it reasons about; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

WEEK_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class ProgramCalendar:
    """When a program may send nudges and hold sessions."""

    timezone: str = "America/Los_Angeles"
    blackouts: tuple[tuple[date, date], ...] = ()  # inclusive ranges: breaks, testing windows
    quiet_start: time = time(19, 0)  # no nudges from this local time ...
    quiet_end: time = time(7, 0)  # ... until this local time
    allow_weekends: bool = False
    session_spacing_days: int = 7  # between one session of a pair and the next

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], *, timezone_name: str) -> ProgramCalendar:
        """Read the calendar from a program's settings JSON, with defaults where it says nothing."""
        blackouts = tuple(
            (date.fromisoformat(str(start)), date.fromisoformat(str(end))) for start, end in settings.get("blackouts") or ()
        )
        quiet = settings.get("quiet_hours") or ("19:00", "07:00")
        return cls(
            timezone=timezone_name,
            blackouts=blackouts,
            quiet_start=time.fromisoformat(quiet[0]),
            quiet_end=time.fromisoformat(quiet[1]),
            allow_weekends=bool(settings.get("allow_weekends", False)),
            session_spacing_days=int(settings.get("session_spacing_days", 7)),
        )

    def is_blackout(self, day: date) -> bool:
        """True on a day inside any blackout range."""
        return any(start <= day <= end for start, end in self.blackouts)


def is_quiet(moment: datetime, *, person_timezone: str, calendar: ProgramCalendar) -> bool:
    """True when a nudge at `moment` would land at night, on a weekend, or on a blackout day for this person."""
    local = moment.astimezone(ZoneInfo(person_timezone))
    if calendar.is_blackout(local.date()):
        return True
    if not calendar.allow_weekends and local.weekday() >= 5:
        return True
    clock = local.time()
    if calendar.quiet_start > calendar.quiet_end:  # the quiet period crosses midnight
        return clock >= calendar.quiet_start or clock < calendar.quiet_end
    return calendar.quiet_start <= clock < calendar.quiet_end


def next_sendable(moment: datetime, *, person_timezone: str, calendar: ProgramCalendar) -> datetime:
    """The first moment at or after `moment` when a nudge may reach this person (start of their next allowed morning)."""
    zone = ZoneInfo(person_timezone)
    candidate = moment
    for _ in range(400):  # a year of days is far more than any blackout; the bound keeps a bad calendar finite
        if not is_quiet(candidate, person_timezone=person_timezone, calendar=calendar):
            return candidate
        local = candidate.astimezone(zone)
        morning = datetime.combine(local.date(), calendar.quiet_end, zone)
        candidate = (morning if morning > local else morning + timedelta(days=1)).astimezone(timezone.utc)
    raise ValueError("the program calendar leaves no time to send anything")


def _window_minutes(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted((int(start), int(end)) for start, end in windows)


def propose_sessions(
    shared_windows: Sequence[tuple[int, int]],
    *,
    sessions: int,
    session_minutes: int,
    first_day: date,
    calendar: ProgramCalendar,
    not_before: datetime,
) -> list[tuple[datetime, datetime]]:
    """Concrete UTC times for each session: the earliest shared weekly window from `first_day`, then one per spacing.

    `shared_windows` are UTC minutes from Monday 00:00 (as the matcher gives them); with none, sessions go at
    15:30 program time on school days. Blackout days and weekends (unless allowed) are skipped.
    """
    zone = ZoneInfo(calendar.timezone)
    windows = _window_minutes(w for w in shared_windows if w[1] - w[0] >= session_minutes)
    proposals: list[tuple[datetime, datetime]] = []
    earliest = max(not_before, datetime.combine(first_day, time(0), zone).astimezone(timezone.utc))
    for _ in range(sessions):
        start = _first_slot(windows, earliest, session_minutes, calendar, zone)
        proposals.append((start, start + timedelta(minutes=session_minutes)))
        earliest = start + timedelta(days=calendar.session_spacing_days) - timedelta(hours=12)
    return proposals


def _first_slot(
    windows: list[tuple[int, int]], earliest: datetime, minutes: int, calendar: ProgramCalendar, zone: ZoneInfo
) -> datetime:
    for day_offset in range(0, 120):
        day = (earliest + timedelta(days=day_offset)).astimezone(zone).date()
        local_day = datetime.combine(day, time(0), zone)
        if calendar.is_blackout(day) or (not calendar.allow_weekends and day.weekday() >= 5):
            continue
        if not windows:
            start = datetime.combine(day, time(15, 30), zone).astimezone(timezone.utc)
            if start >= earliest:
                return start
            continue
        for window_start, _window_end in windows:
            candidate = _week_minute_on(local_day.astimezone(timezone.utc), window_start)
            if candidate >= earliest and candidate.astimezone(zone).date() == day:
                return candidate
    raise ValueError("no school day in the next four months fits a session")


def _week_minute_on(moment: datetime, week_minute: int) -> datetime:
    """The UTC datetime in `moment`'s UTC week (or the next) that sits at `week_minute` from Monday 00:00 UTC."""
    monday = (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    candidate = monday + timedelta(minutes=week_minute % WEEK_MINUTES)
    return candidate if candidate >= moment - timedelta(days=1) else candidate + timedelta(days=7)


@dataclass(frozen=True)
class PlannedAction:
    """One promise the round makes, with the moment it falls due."""

    key: str
    kind: str
    due_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    person_timezone: str | None = None  # set for nudges that must respect quiet hours


@dataclass(frozen=True)
class PairPlan:
    """What the planner needs to know about one pair."""

    pairing_id: int
    mentor_timezone: str
    mentee_timezone: str
    sessions: tuple[tuple[datetime, datetime], ...]


def plan_round(
    *,
    round_id: int,
    published_at: datetime,
    end_on: date | None,
    pairs: Sequence[PairPlan],
    calendar: ProgramCalendar,
) -> list[PlannedAction]:
    """Every action a published micro round owes its pairs, in time order, with quiet hours applied."""
    zone = ZoneInfo(calendar.timezone)
    program_zone = calendar.timezone  # round-wide messages wait for the program's school hours
    # A district's pairs meet at a few dozen distinct times: each reminder time and quiet-hours move is worked out once.
    reminder_times: dict[tuple[datetime, str, str], datetime | None] = {}
    sendable: dict[tuple[datetime, str], datetime] = {}

    def reminder_time(due: datetime, label: str, person_timezone: str) -> datetime | None:
        key = (due, label, person_timezone)
        if key not in reminder_times:
            reminder_times[key] = _reminder_time(due, label=label, person_timezone=person_timezone, calendar=calendar)
        return reminder_times[key]

    def respect_quiet(action: PlannedAction) -> PlannedAction:
        if action.person_timezone is None:
            return action
        key = (action.due_at, action.person_timezone)
        if key not in sendable:
            sendable[key] = next_sendable(action.due_at, person_timezone=action.person_timezone, calendar=calendar)
        due = sendable[key]
        return action if due == action.due_at else PlannedAction(action.key, action.kind, due, action.payload, action.person_timezone)

    actions: list[PlannedAction] = [PlannedAction(f"round.notify:{round_id}", "round.notify", published_at, {"round_id": round_id}, program_zone)]
    last_session = published_at
    for pair in pairs:
        sessions = pair.sessions
        for number, (start, _end) in enumerate(sessions, start=1):
            for role, person_timezone in (("mentor", pair.mentor_timezone), ("mentee", pair.mentee_timezone)):
                for label, before in (("day", timedelta(days=1)), ("hour", timedelta(hours=1))):
                    due = reminder_time(start - before, label, person_timezone)
                    if due is None:
                        continue  # an hour-before reminder in the night is dropped; the day-before one stands
                    actions.append(
                        PlannedAction(
                            f"session.reminder:{pair.pairing_id}:{number}:{label}:{role}",
                            "session.reminder",
                            due,
                            {"pairing_id": pair.pairing_id, "number": number, "before": label, "role": role},
                        )
                    )
            if number < len(sessions):
                # Between sessions: the mentee shares their work two days on, the mentor answers two days later.
                actions.append(
                    PlannedAction(
                        f"touchpoint.share:{pair.pairing_id}:{number}", "touchpoint.share", start + timedelta(days=2),
                        {"pairing_id": pair.pairing_id, "after_session": number}, pair.mentee_timezone,
                    )
                )  # fmt: skip
                actions.append(
                    PlannedAction(
                        f"touchpoint.feedback:{pair.pairing_id}:{number}", "touchpoint.feedback", start + timedelta(days=4),
                        {"pairing_id": pair.pairing_id, "after_session": number}, pair.mentor_timezone,
                    )
                )  # fmt: skip
        if sessions:
            first_start = sessions[0][0]
            check_in = first_start + timedelta(days=1)
            actions.append(
                PlannedAction(f"checkin.ask:{pair.pairing_id}", "checkin.ask", check_in, {"pairing_id": pair.pairing_id}, pair.mentee_timezone)
            )
            actions.append(
                PlannedAction(f"checkin.escalate:{pair.pairing_id}", "checkin.escalate", check_in + timedelta(days=3), {"pairing_id": pair.pairing_id}, program_zone)
            )
            last_session = max(last_session, sessions[-1][1])
    survey_day = max(end_on or last_session.astimezone(zone).date(), last_session.astimezone(zone).date())
    survey_at = datetime.combine(survey_day + timedelta(days=1), time(9, 0), zone).astimezone(timezone.utc)
    actions.append(PlannedAction(f"survey.ask:{round_id}", "survey.ask", survey_at, {"round_id": round_id}, program_zone))
    actions.append(PlannedAction(f"round.close:{round_id}", "round.close", survey_at + timedelta(days=7), {"round_id": round_id}))
    if pairs:
        start_at = min(p.sessions[0][0] for p in pairs if p.sessions) if any(p.sessions for p in pairs) else published_at
        actions.append(PlannedAction(f"round.start:{round_id}", "round.start", min(start_at - timedelta(days=1), survey_at), {"round_id": round_id}))
    return sorted((respect_quiet(a) for a in actions), key=lambda a: (a.due_at, a.key))


def _reminder_time(due: datetime, *, label: str, person_timezone: str, calendar: ProgramCalendar) -> datetime | None:
    """A reminder must come before its session: if it would land in quiet time, move it earlier, or drop it."""
    if not is_quiet(due, person_timezone=person_timezone, calendar=calendar):
        return due
    if label == "hour":
        return None
    for hours_back in range(1, 96):
        earlier = due - timedelta(hours=hours_back)
        if not is_quiet(earlier, person_timezone=person_timezone, calendar=calendar):
            return earlier
    return None
