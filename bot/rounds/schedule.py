"""A round's calendar made real: publish plans every promised action; the sweep keeps each promise exactly once.

The database holds the truth. Each due action is claimed, carried out and marked done in ONE transaction:
if the process dies half-way, the transaction rolls back and the action is still pending, so it runs once
after the restart; a second instance that reaches for the same action waits on the row and then finds it
done. What an action sends goes through the outbox (keyed), so sending is exactly-once as well.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import notices
from bot.dialogs import context_key
from bot.guides import GuideContext, Mentee, Mentor
from bot.matching import History, WeeklyWindow, match_round
from bot.notify import prompt_flow, remind_unanswered, send_notice
from bot.outbox import drop_unsent, enqueue
from bot.rounds import events, service
from bot.rounds.kinds import ANNOUNCE_ACTION, MATCH_ACTION, SPEED_PLAN_ACTION, Matcher, describe, kind_of, speed_start
from bot.rounds.guides import guide_context, guide_renderings, overrides_of, program_of
from bot.rounds.calendar import PairPlan, PlannedAction, ProgramCalendar, is_quiet, next_sendable, plan_round, propose_sessions
from bot.rounds.participants import availability_windows, history_from, round_settings_for, to_participant
from bot.settings import Settings
from storage import repo
from storage.db import in_transaction, session_scope
from storage.models import CheckIn, OutboxMessage, Pairing, Person, PlannedSession, Program, Round, ScheduledAction, Term

logger = logging.getLogger(__name__)

# How long after its due time an action is still worth doing when the server was down when it fell due.
STILL_USEFUL = {
    "round.notify": timedelta(days=14),
    "touchpoint.share": timedelta(days=3),
    "touchpoint.feedback": timedelta(days=3),
    "checkin.ask": timedelta(days=5),
    "checkin.escalate": timedelta(days=14),
    "survey.ask": timedelta(days=14),
    "term.remind": timedelta(days=2),
    ANNOUNCE_ACTION: timedelta(days=14),
}


@dataclass(frozen=True)
class ScheduleConfig:
    """What the sweep needs from the settings."""

    session_minutes: int = 30
    public_base_url: str = "http://127.0.0.1:8000"
    slack_admin_ids: tuple[str, ...] = ()
    link_secret: str | None = None  # signs guide links (EMAIL_TOKEN_SECRET); None leaves them unsigned


def schedule_config(settings: Settings) -> ScheduleConfig:
    """The parts of the settings the scheduled actions need."""
    return ScheduleConfig(
        session_minutes=settings.session_minutes,
        public_base_url=settings.public_base_url,
        slack_admin_ids=tuple(settings.slack_admin_ids),
        link_secret=settings.token_secret,
    )


def program_calendar(session: Session, *, term_id: int) -> tuple[Program, ProgramCalendar]:
    """The program a term belongs to, and its calendar."""
    term = session.get(Term, term_id)
    program = session.get(Program, term.program_id)
    return program, ProgramCalendar.from_settings(program.settings or {}, timezone_name=program.timezone)


# --- publishing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishOutcome:
    """A published round: its pairs (a speed event: its meetings), the actions scheduled, and for a speed event when what happens."""

    round_id: int
    pairs: int
    actions: int
    timing: SpeedTiming | None = None


def _shared_windows(a: tuple[WeeklyWindow, ...], b: tuple[WeeklyWindow, ...]) -> list[tuple[int, int]]:
    if not a or not b:
        return [(w.start, w.end) for w in (a or b)]
    shared = []
    for x in a:
        for y in b:
            start, end = max(x.start, y.start), min(x.end, y.end)
            if end > start:
                shared.append((start, end))
    return shared


# Progress is reported at most this often (in pairs planned, or actions written): a few dozen ticks for a big round.
PROGRESS_EVERY = 250
WRITE_CHUNK = 20_000  # scheduled actions per bulk write: each is one COPY on PostgreSQL; a big round still moves the bar


def publish_in(
    session: Session, *, round_id: int, now: datetime, config: ScheduleConfig, message: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PublishOutcome:
    """Publish a reviewed round: propose session times per pair and schedule every notice, reminder and check-in.

    `progress(done, total)`, when given, hears how far it is: planning each pair, then writing its actions.
    A round whose match paired nobody is refused (a Conflict saying why and what to do next): publishing it would
    send nothing and leave the term with a round that looks under way.
    Set-based: the pairs and their people are read in a few queries, every session and action is planned in memory,
    and each table is written in bulk (upserts keyed as before, so publishing again adds nothing)."""
    round_ = repo.get_round(session, round_id=round_id, for_update=True)
    pairs = repo.round_pair_rows(session, round_id=round_id)
    if round_.status == "review" and not any(p.status != "cancelled" for p in pairs):
        raise service.RoundError(_nothing_to_publish(session, round_))
    if kind_of(round_).matcher is Matcher.ROTATION:
        return _publish_rotations(session, round_=round_, now=now, message=message)
    round_ = service.move_round_in(session, round_id=round_id, target="published", now=now)
    if message:
        round_.settings = {**round_.settings, "message": message.strip()}
    # Matched by hand before its match date: the date's matcher run has nothing left to do (and the timeline says so).
    repo.drop_pending_actions(session, round_id=round_id, why="matched and published before its match date", now=now, kind=MATCH_ACTION)
    total = 2 * len(pairs) or 1
    tick = progress or (lambda done, total: None)
    plans = _plan_pairs(session, round_=round_, pairs=pairs, now=now, config=config, tick=lambda done: tick(done, total))
    _, calendar = program_calendar(session, term_id=round_.term_id)
    actions = plan_round(round_id=round_id, published_at=now, end_on=round_.end_on, pairs=plans, calendar=calendar)
    _schedule(session, round_id=round_id, actions=actions, tick=lambda done: tick(len(pairs) + done * len(pairs) // max(len(actions), 1), total))
    tick(total, total)
    return PublishOutcome(round_id=round_id, pairs=len(pairs), actions=len(actions))


publish_round = in_transaction(publish_in)


def _publish_rotations(session: Session, *, round_: Round, now: datetime, message: str | None) -> PublishOutcome:
    """Publish a speed event's reviewed plan: nothing is sent now; the day-before job sends each person's schedule
    from this plan, and each rotation is announced as it starts."""
    service.move_round_in(session, round_id=round_.id, target="published", now=now)
    if message:
        round_.settings = {**(round_.settings or {}), "message": message.strip()}
    program, _calendar = program_calendar(session, term_id=round_.term_id)
    (planned,) = kind_of(round_).plan(round_, timezone=program.timezone, now=now)
    job = repo.schedule_action(
        session, idempotency_key=planned.key, kind=planned.action, due_at=planned.due_at, round_id=round_.id, payload=planned.payload
    )  # fmt: skip
    if job.status != "pending":  # the job was used up (it waited out a review past the event start): one more, for this publish
        repo.schedule_action(
            session, idempotency_key=f"{planned.key}:{now:%Y%m%dT%H%M%S}", kind=planned.action, due_at=max(planned.due_at, now), round_id=round_.id,
            payload=planned.payload,
        )  # fmt: skip
    pairs = sum(1 for p in repo.round_pairings(session, round_id=round_.id) if p.status != "cancelled")
    return PublishOutcome(round_id=round_.id, pairs=pairs, actions=1, timing=speed_timing(session, round_=round_, now=now))


def _nothing_to_publish(session: Session, round_: Round) -> str:
    """Why a round in review has no pairs, in plain words, and the ways on from there."""
    summary = round_.match_summary or {}
    waiting = sum(1 for e, _p in repo.enrollments(session, term_id=round_.term_id) if e.status == "opted_in" and e.approval == "pending")
    mentees, mentors = summary.get("mentees", 0), summary.get("mentors", 0)
    why = f"the match paired none of its {mentees} mentee{'' if mentees == 1 else 's'} ({mentors} mentor{' was' if mentors == 1 else 's were'} available"
    why += f"; {waiting} {'is' if waiting == 1 else 'are'} waiting for approval)" if waiting else ")"
    reasons = Counter(u["reasons"][0] for u in summary.get("unmatched", []) if u.get("reasons"))
    if reasons:
        reason, count = reasons.most_common(1)[0]
        why += f"; most often: {reason} ({count})"
    return (
        f"round {round_.id} has no pairs to publish: {why}. Nothing was sent. Next: approve the mentors waiting for their "
        f"principals, or relax a rule and match the round again, or cancel round {round_.id}"
    )


def _plan_pairs(
    session: Session, *, round_: Round, pairs: Sequence[Any], now: datetime, config: ScheduleConfig, tick: Callable[[int], None] | None = None
) -> list[PairPlan]:
    """Propose each pair's session times (written once per pair and number) and what the planner needs of the pair.

    `pairs` are pairings or rows with id, mentor_id and mentee_id. Someone no longer enrolled in the term plans with
    no availability in the program's time zone. Pairs sharing the same windows share one proposal: a district's
    thousands of pairs offer a few dozen distinct slot combinations."""
    _, calendar = program_calendar(session, term_id=round_.term_id)
    week_of = round_.start_on or now.date()
    first_day = max(round_.start_on or now.date(), now.date())
    enrolled = repo.enrolled_availability(session, term_id=round_.term_id)
    windows_of: dict[tuple[Any, str], tuple] = {}

    def person(person_id: int) -> tuple[str, tuple] | None:
        found = enrolled.get(person_id)
        if found is None:
            return None
        timezone_name, answer = found
        key = (tuple(answer or ()), timezone_name)
        if key not in windows_of:
            windows_of[key] = availability_windows(answer, timezone=timezone_name, week_of=week_of)
        return timezone_name, windows_of[key]

    proposals: dict[tuple, list[tuple[datetime, datetime]]] = {}
    plans, session_rows = [], []
    for done, pairing in enumerate(pairs, start=1):
        mentor, mentee = person(pairing.mentor_id), person(pairing.mentee_id)
        shared = tuple(_shared_windows(mentor[1], mentee[1])) if mentor and mentee else ()
        if shared not in proposals:
            proposals[shared] = propose_sessions(
                shared, sessions=round_.sessions, session_minutes=config.session_minutes, first_day=first_day, calendar=calendar, not_before=now,
            )  # fmt: skip
        times = proposals[shared]
        session_rows += [
            {"pairing_id": pairing.id, "number": number, "starts_at": start, "ends_at": end} for number, (start, end) in enumerate(times, start=1)
        ]
        plans.append(PairPlan(pairing.id, mentor[0] if mentor else calendar.timezone, mentee[0] if mentee else calendar.timezone, tuple(times)))
        if tick is not None and done % PROGRESS_EVERY == 0:
            tick(done)
    repo.add_planned_sessions(session, rows=session_rows)  # a session planned before (a publish again) stays as it was
    if tick is not None:
        tick(len(plans))
    return plans


def _schedule(session: Session, *, round_id: int, actions: Sequence[PlannedAction], tick: Callable[[int], None] | None = None) -> None:
    """Write the planned actions, each once by its key (a pending one already there moves to the planned time)."""
    rows = [
        {
            "idempotency_key": action.key, "kind": action.kind, "due_at": action.due_at, "round_id": round_id,
            "payload": {**action.payload, "quiet_tz": action.person_timezone} if action.person_timezone else dict(action.payload),
        }
        for action in actions
    ]  # fmt: skip
    for start in range(0, len(rows), WRITE_CHUNK):
        repo.schedule_actions(session, rows=rows[start : start + WRITE_CHUNK])
        if tick is not None:
            tick(min(start + WRITE_CHUNK, len(rows)))


def schedule_term_reminders_in(session: Session, *, term_id: int, now: datetime, offsets_days: tuple[int, ...] = (3, 7)) -> int:
    """Remind people who have not answered the opt-in (or left the profile half done) after each offset."""
    program, _calendar = program_calendar(session, term_id=term_id)
    for n, days in enumerate(offsets_days, start=2):
        repo.schedule_action(
            session, idempotency_key=f"term.remind:{term_id}:{n}", kind="term.remind", due_at=now + timedelta(days=days),
            payload={"term_id": term_id, "attempt": n, "quiet_tz": program.timezone},
        )  # fmt: skip
    return len(offsets_days)


schedule_term_reminders = in_transaction(schedule_term_reminders_in)


# --- the sweep ---------------------------------------------------------------------------------


def run_due_actions(engine: Engine, *, now: datetime, config: ScheduleConfig, limit: int = 200) -> list[tuple[int, str, str]]:
    """Carry out every action due by `now`, each exactly once; returns (id, status, result) for each one run."""
    with session_scope(engine) as session:
        due = repo.due_action_ids(session, now=now, limit=limit)
    outcomes = []
    for action_id in due:
        try:
            with session_scope(engine) as session:
                if not repo.claim_action(session, action_id=action_id):
                    continue  # another instance has it, or has done it
                action = repo.get_action(session, action_id=action_id)
                status, result = _carry_out(session, action, now=now, config=config)
                if status == "deferred":
                    action.status = "pending"  # back in the queue, at the time it may be sent
                else:
                    repo.finish_action(session, action_id=action_id, status=status, result=result, now=now)
        except Exception as exc:  # the transaction rolled back; record the failure so it is not retried forever
            logger.exception("scheduled action %s failed", action_id)
            with session_scope(engine) as session:
                repo.finish_action(session, action_id=action_id, status="failed", result=f"{type(exc).__name__}: {exc}", now=now)
            status, result = "failed", str(exc)
        outcomes.append((action_id, status, result))
    return outcomes


def _carry_out(session: Session, action: ScheduledAction, *, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    quiet_tz = action.payload.get("quiet_tz")
    if quiet_tz:
        program_cal = _calendar_for_action(session, action)
        if is_quiet(now, person_timezone=quiet_tz, calendar=program_cal):
            action.due_at = next_sendable(now, person_timezone=quiet_tz, calendar=program_cal)
            return "deferred", f"quiet time; moved to {action.due_at.isoformat()}"
    useful_for = STILL_USEFUL.get(action.kind)
    if useful_for is not None and now - action.due_at > useful_for:
        return "skipped", f"fell due {action.due_at:%Y-%m-%d %H:%M} UTC while mentorbot was down and is no longer useful"
    handler = HANDLERS.get(action.kind)
    if handler is None:
        return "skipped", f"no handler for '{action.kind}'"
    return handler(session, action, now, config)


def _calendar_for_action(session: Session, action: ScheduledAction) -> ProgramCalendar:
    term_id = action.payload.get("term_id")
    if term_id is None and action.round_id is not None:
        term_id = session.get(Round, action.round_id).term_id
    return program_calendar(session, term_id=term_id)[1]


# --- handlers: each returns (status, result) and only writes through `session` -----------------


def _round_match(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    round_ = repo.get_round(session, round_id=action.round_id)
    if round_.status == "draft":
        service.move_round_in(session, round_id=round_.id, target="collecting", now=now)
    elif round_.status != "collecting":
        return "skipped", f"round {round_.id} was already {round_.status} when its match date came"
    outcome = service.match_in(session, round_id=round_.id, session_minutes=config.session_minutes, now=now)
    matched = f"matched {len(outcome.result.pairs)} of {outcome.mentees} mentees"
    program, _calendar = program_calendar(session, term_id=round_.term_id)
    if (round_.settings or {}).get("auto_publish", (program.settings or {}).get("auto_publish", False)):
        if not outcome.result.pairs:
            return "done", f"{matched}; left in review, as there are no pairs to publish"
        publish_in(session, round_id=round_.id, now=now, config=config)
        return "done", f"{matched}; published"
    return "done", matched


def _pair_people(session: Session, pairing: Pairing) -> tuple[Person, Person]:
    return session.get(Person, pairing.mentor_id), session.get(Person, pairing.mentee_id)


def _sessions(session: Session, pairing_id: int) -> list[PlannedSession]:
    return list(session.exec(select(PlannedSession).where(PlannedSession.pairing_id == pairing_id).order_by(PlannedSession.number)))


def pairing_notice(
    session: Session, *, pairing: Pairing, round_: Round, reader: Person, partner: Person, role: str, config: ScheduleConfig,
    ics_sequence: int = 0, changed: str | None = None,
) -> notices.Pairing:
    """The channel-neutral pairing notice for one side of a pair, with a plain-text fallback (`changed`: what moved)."""
    times = [(s.starts_at, s.ends_at) for s in _sessions(session, pairing.id)]
    zone = ZoneInfo(reader.timezone)
    shown = [f"{start.astimezone(zone):%a %b %-d, %H:%M}-{end.astimezone(zone):%H:%M}" for start, end in times]
    the_topic = events.pairing_topic(round_, pairing)
    topic = f" on {the_topic}" if the_topic else ""
    ctx = guide_context(session, pairing=pairing, round_=round_, reader=reader, base_url=config.public_base_url, session_minutes=config.session_minutes, link_secret=config.link_secret)
    guide = guide_renderings(ctx, overrides=overrides_of(program_of(session, round_)))
    message = (round_.settings or {}).get("message")
    text = "\n".join(
        [
            f"You're matched with {partner.name} ({partner.email}) as their {'mentor' if role == 'mentor' else 'mentee'} "
            f"for {round_.sessions} session(s){topic}.",
            "Why: " + "; ".join(pairing.reasons),
            "Proposed times: " + ", ".join(shown) + f" ({reader.timezone})" if shown else "Agree a time that suits you both.",
            *([message] if message else []),
            f"Your conversation guide: {ctx.guide_url}",
        ]
    )
    return notices.Pairing(
        round_id=round_.id,
        pairing_id=pairing.id,
        role=role,
        partner_name=partner.name,
        partner_email=partner.email,
        reasons=list(pairing.reasons),
        topic=the_topic,
        sessions=round_.sessions,
        proposed=[[start.isoformat(), end.isoformat()] for start, end in times],
        custom_message=message,
        guide_url=ctx.guide_url,
        guide=guide,
        text=text,
        ics_sequence=ics_sequence,
        changed=changed,
    )


def _round_notify(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    round_ = repo.get_round(session, round_id=action.round_id)
    if round_.status not in ("published", "running"):
        return "skipped", f"round {round_.id} is {round_.status}"
    pairings = [p for p in repo.round_pairings(session, round_id=round_.id) if p.status not in ("cancelled",)]
    # Read once for the whole round, not per pair: everyone's person row, and what their calendars were already sent.
    people = repo.people_by_id(session, ids={i for p in pairings for i in (p.mentor_id, p.mentee_id)})
    sequences = _calendar_sequences(session, person_ids=list(people))
    sent = 0
    for pairing in pairings:
        sent += notify_pairing(session, pairing=pairing, round_=round_, now=now, config=config, sequence=sequences.get(pairing.id, 0))
    return "done", f"queued {sent} pairing notices"


def _calendar_sequences(session: Session, *, person_ids: list[int]) -> dict[int, int]:
    """`calendar_sequence` of every pairing these people were sent calendar notices about, in one read."""
    top: dict[int, int] = {}
    for message in repo.messages_to(session, person_ids=person_ids, purposes=CALENDAR_NOTICES):
        pairing_id = message.body.get("pairing_id")
        if pairing_id is not None:
            top[pairing_id] = max(top.get(pairing_id, -1), int(message.body.get("ics_sequence") or 0))
    return {pairing_id: sequence + 1 for pairing_id, sequence in top.items()}


def notify_pairing(
    session: Session, *, pairing: Pairing, round_: Round, now: datetime, config: ScheduleConfig, sequence: int | None = None
) -> int:
    """Queue the pairing notice to both sides (their channel, and email as well); `sequence`: the calendar's, when known."""
    mentor, mentee = _pair_people(session, pairing)
    sequence = calendar_sequence(session, pairing=pairing) if sequence is None else sequence
    queued = 0
    for reader, partner, role in ((mentor, mentee, "mentor"), (mentee, mentor, "mentee")):
        notice = pairing_notice(session, pairing=pairing, round_=round_, reader=reader, partner=partner, role=role, config=config, ics_sequence=sequence)
        queued += len(send_notice(session, person=reader, purpose="pairing", key=f"{pairing.id}:{reader.id}", notice=notice, now=now, email_copy=True))
    return queued


# --- the pair's calendar entries: updates and cancels -----------------------------------------

# Notices that carry a pairing's sessions as calendar entries (the email attaches them as an iTIP .ics).
CALENDAR_NOTICES = ("pairing", "pairing.update", "pairing.cancelled")


def _calendar_notices(session: Session, pairing: Pairing) -> list[OutboxMessage]:
    statement = select(OutboxMessage).where(
        col(OutboxMessage.purpose).in_(CALENDAR_NOTICES), col(OutboxMessage.person_id).in_([pairing.mentor_id, pairing.mentee_id])
    )
    return [m for m in session.exec(statement) if m.body.get("pairing_id") == pairing.id]


def calendar_sequence(session: Session, *, pairing: Pairing) -> int:
    """The SEQUENCE the pair's next calendar message carries: one above any already queued, 0 for the first.

    Kept in the outbox rows themselves (each notice carries its `ics_sequence`), so it survives restarts and
    every later update or cancel outranks what people's calendars already hold.
    """
    sent = [int(m.body.get("ics_sequence") or 0) for m in _calendar_notices(session, pairing)]
    return max(sent) + 1 if sent else 0


def withdraw_pairing(session: Session, *, pairing: Pairing, now: datetime, why: str) -> int:
    """Tell each person who was sent this pairing that it is off, with a calendar CANCEL of its sessions (once per person)."""
    told = {m.person_id for m in _calendar_notices(session, pairing) if m.purpose != "pairing.cancelled"}
    if not told:
        return 0  # nobody heard of the pair, so nobody has its sessions in a calendar
    sequence = calendar_sequence(session, pairing=pairing)
    times = [[s.starts_at.isoformat(), s.ends_at.isoformat()] for s in _sessions(session, pairing.id)]
    round_ = repo.get_round(session, round_id=pairing.round_id)
    mentor, mentee = _pair_people(session, pairing)
    queued = 0
    for reader, partner, role in ((mentor, mentee, "mentor"), (mentee, mentor, "mentee")):
        if reader.id not in told:
            continue
        notice = notices.PairingCancelled(
            round_id=pairing.round_id, pairing_id=pairing.id, role=role, partner_name=partner.name, partner_email=partner.email,
            topic=events.pairing_topic(round_, pairing), proposed=times, ics_sequence=sequence,
            text=f"Your mentoring pairing with {partner.name} is cancelled, and its planned sessions with it: {why}",
        )  # fmt: skip
        queued += len(send_notice(session, person=reader, purpose="pairing.cancelled", key=f"{pairing.id}:{reader.id}", notice=notice, now=now, email_copy=True))
    return queued


# --- calling a round off ----------------------------------------------------------------------

# What the round's people may have been sent about it: the notices that tell of a pair, and what follows them.
TELLS_OF_A_PAIR = ("pairing", "pairing.update", "speed.schedule", "speed.rotation")
FOLLOWS_A_PAIR = ("session.reminder", "touchpoint.share", "touchpoint.feedback", "prompt.check_in", "prompt.survey")
# A message a worker has taken, or that went out, may have reached its reader; a skipped email did not.
REACHED = ("sending", "committing", "sent")


@dataclass(frozen=True)
class CancelOutcome:
    """What calling a round off did: pairs called off, people who will hear of it, and what will never be sent."""

    round: Round
    pairs: int
    told: int
    actions_dropped: int
    messages_dropped: int


def cancel_round_in(session: Session, *, round_id: int, now: datetime, by: str, message: str | None = None) -> CancelOutcome:
    """Call off a round in any state but closed: its pairs are cancelled, what it scheduled and what is still queued is
    dropped, and each person who was already told of a pair hears once (their channel, and email with the calendar
    CANCEL of their sessions) that it is off, with the admin's `message`. The round ends closed and marked cancelled."""
    round_ = repo.get_round(session, round_id=round_id, for_update=True)
    stamp = (round_.settings or {}).get("cancelled_at")
    if stamp:
        raise service.RoundError(f"round {round_id} was cancelled already ({stamp[:10]}); there is nothing more to call off")
    if round_.status == "closed":
        raise service.RoundError(f"round {round_id} is closed: its sessions are over, so there is nothing to call off")
    live, about_round, told = _reach(session, round_)
    why = f"round {round_id} was cancelled"
    unsent = drop_unsent(session, message_ids=[m.id for m in about_round if m.status == "pending"], why=why)
    # Each reader's pairs, and the sessions their calendars hold, read before the pairs are marked cancelled.
    pairs_of: dict[int, list[notices.CancelledPair]] = {person_id: [] for person_id in told}
    # Read once for the round, not per pair: the people, their sessions, and what their calendars were sent.
    repo.people_by_id(session, ids={i for p in live.values() for i in (p.mentor_id, p.mentee_id)})
    sessions_of = repo.planned_sessions_of(session, pairing_ids=list(live))
    sequences = _calendar_sequences(session, person_ids=sorted({i for p in live.values() for i in (p.mentor_id, p.mentee_id)}))
    for pairing in live.values():
        times = [[s.starts_at.isoformat(), s.ends_at.isoformat()] for s in sessions_of.get(pairing.id, [])]
        sequence = sequences.get(pairing.id, 0) if times else 0
        mentor, mentee = _pair_people(session, pairing)
        for reader, partner in ((mentor, mentee), (mentee, mentor)):
            if reader.id in pairs_of:
                pairs_of[reader.id].append(
                    notices.CancelledPair(
                        pairing_id=pairing.id, partner_name=partner.name, partner_email=partner.email, topic=events.pairing_topic(round_, pairing),
                        proposed=times, ics_sequence=sequence,
                    )  # fmt: skip
                )
    called_off = repo.set_pairing_status(session, round_id=round_id, status="cancelled", only_from=("proposed", "published", "active", "stalled"))
    repo.cancel_planned_sessions(session, pairing_ids=live)
    actions = repo.drop_pending_actions(session, round_id=round_id, why=why, now=now)
    note = (message or "").strip() or None
    what = describe(round_)
    for person_id in sorted(told):
        reader = session.get(Person, person_id)
        notice = notices.RoundCancelled(
            round_id=round_id, round_name=what, pairs=pairs_of[person_id], custom_message=note, subject=f"Called off: {what}",
            text=_cancel_text(what, pairs_of[person_id], note),
        )  # fmt: skip
        send_notice(session, person=reader, purpose="round.cancelled", key=f"{round_id}:{person_id}", notice=notice, now=now, email_copy=True)
    round_.status, round_.status_changed_at = "closed", now
    round_.settings = {
        **(round_.settings or {}), "cancelled_at": now.isoformat(), "cancelled_by": by, "cancelled_told": len(told),
        **({"cancel_message": note} if note else {}),
    }  # fmt: skip
    return CancelOutcome(round_, called_off, len(told), actions, unsent)


def cancel_reach(session: Session, *, round_: Round) -> tuple[int, int]:
    """What cancelling the round now would reach: (live pairs called off, people told); nothing changes."""
    live, _messages, told = _reach(session, round_)
    return len(live), len(told)


def _reach(session: Session, round_: Round) -> tuple[dict[int, Pairing], list[OutboxMessage], set[int]]:
    """The round's live pairs, the outbox messages about them or the round, and who has (or may have) been told of a pair."""
    live = {p.id: p for p in repo.round_pairings(session, round_id=round_.id) if p.status not in ("cancelled", "completed")}
    people = {person_id for p in live.values() for person_id in (p.mentor_id, p.mentee_id)}
    about_round = [m for m in repo.messages_to(session, person_ids=people, purposes=TELLS_OF_A_PAIR + FOLLOWS_A_PAIR) if _about(m, round_.id, live)]
    told = {
        m.person_id for m in about_round
        if m.purpose in TELLS_OF_A_PAIR and m.status in REACHED and not (m.provider_id or "").startswith("skipped:")
    }  # fmt: skip
    return live, about_round, told


def _about(message: OutboxMessage, round_id: int, live: dict[int, Pairing]) -> bool:
    """Whether an outbox message is about this round or one of its live pairs."""
    body = message.body or {}
    if body.get("round_id") == round_id or body.get("pairing_id") in live:
        return True
    context = body.get("context")
    return context == context_key(flow="survey", round_id=round_id) or context in {context_key(flow="check_in", pairing_id=p) for p in live}


def _cancel_text(what: str, pairs: list[notices.CancelledPair], note: str | None) -> str:
    partners = sorted({pair.partner_name for pair in pairs})
    named = ", ".join(partners[:-1]) + f" and {partners[-1]}" if len(partners) > 1 else (partners[0] if partners else "your partner")
    lines = [
        f"The mentoring round you were paired in ({what}) has been called off.",
        f"Your {'meetings' if len(pairs) > 1 else 'pairing'} with {named} won't go ahead"
        + (", and the planned sessions are cancelled." if any(pair.proposed for pair in pairs) else "."),
    ]
    if note:
        lines.append(f"A note from the program: {note}")
    return "\n".join(lines)


def move_session(engine: Engine, *, pairing_id: int, number: int, starts_at: datetime, now: datetime, config: ScheduleConfig) -> PlannedSession:
    """Move one planned session (same length) and re-send the pair's invite with a higher SEQUENCE; its reminders follow."""
    with session_scope(engine) as session:
        pairing = session.get(Pairing, pairing_id)
        if pairing is None:
            raise repo.NotFound(f"there is no pairing {pairing_id}")
        if pairing.status not in ("published", "active", "stalled"):
            raise service.RoundError(f"pairing {pairing_id} is {pairing.status}; only a running pair's sessions can move")
        planned = next((s for s in _sessions(session, pairing.id) if s.number == number), None)
        if planned is None:
            raise repo.NotFound(f"pairing {pairing_id} has no session {number}")
        if starts_at <= now:
            raise service.RoundError("a session can only move to a time that is still ahead")
        length = planned.ends_at - planned.starts_at
        planned.starts_at, planned.ends_at = starts_at, starts_at + length
        session.flush()
        round_ = repo.get_round(session, round_id=pairing.round_id)
        mentor, mentee = _pair_people(session, pairing)
        times = tuple((s.starts_at, s.ends_at) for s in _sessions(session, pairing.id))
        # The session's reminders move with it (pending ones only; a reminder already sent stays sent).
        _, calendar = program_calendar(session, term_id=round_.term_id)
        plan = PairPlan(pairing.id, mentor.timezone, mentee.timezone, times)
        reminders = [
            a for a in plan_round(round_id=round_.id, published_at=now, end_on=round_.end_on, pairs=[plan], calendar=calendar)
            if a.kind == "session.reminder" and a.payload.get("number") == number
        ]  # fmt: skip
        _schedule(session, round_id=round_.id, actions=reminders)
        sequence = calendar_sequence(session, pairing=pairing)
        for reader, partner, role in ((mentor, mentee, "mentor"), (mentee, mentor, "mentee")):
            local = starts_at.astimezone(ZoneInfo(reader.timezone))
            notice = pairing_notice(
                session, pairing=pairing, round_=round_, reader=reader, partner=partner, role=role, config=config, ics_sequence=sequence,
                changed=f"session {number} moved to {local:%a %b %-d, %H:%M} ({reader.timezone}).",
            )  # fmt: skip
            send_notice(session, person=reader, purpose="pairing.update", key=f"{pairing.id}:{reader.id}:{sequence}", notice=notice, now=now, email_copy=True)
        return planned


def _round_status(target: str, allowed_from: tuple[str, ...]):
    def handler(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
        round_ = repo.get_round(session, round_id=action.round_id)
        if round_.status not in allowed_from:
            return "skipped", f"round {round_.id} is {round_.status}"
        service.move_round_in(session, round_id=round_.id, target=target, now=now)
        return "done", f"round {round_.id} is {target}"

    return handler


def _live_pairing(session: Session, action: ScheduledAction) -> Pairing | None:
    pairing = session.get(Pairing, action.payload["pairing_id"])
    return pairing if pairing is not None and pairing.status in ("published", "active", "stalled") else None


def _session_reminder(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    pairing = _live_pairing(session, action)
    if pairing is None:
        return "skipped", "the pairing is no longer running"
    number = action.payload["number"]
    planned = next((s for s in _sessions(session, pairing.id) if s.number == number), None)
    if planned is None or planned.starts_at <= now:
        return "skipped", f"session {number} has already started"
    mentor, mentee = _pair_people(session, pairing)
    reader, partner = (mentor, mentee) if action.payload["role"] == "mentor" else (mentee, mentor)
    local = planned.starts_at.astimezone(ZoneInfo(reader.timezone))
    when = "tomorrow" if action.payload["before"] == "day" else "in an hour"
    text = f"Reminder: session {number} with {partner.name} is {when}, {local:%a %b %-d at %H:%M} ({reader.timezone})."
    notice = notices.SessionReminder(pairing_id=pairing.id, number=number, partner_name=partner.name, starts_at=planned.starts_at.isoformat(), text=text)
    send_notice(session, person=reader, purpose="session.reminder", key=action.idempotency_key, notice=notice, now=now)
    return "done", f"reminded {reader.email}"


TOUCHPOINTS: dict[str, type[notices.TouchpointShare | notices.TouchpointFeedback]] = {
    "share": notices.TouchpointShare, "feedback": notices.TouchpointFeedback,
}  # fmt: skip


def _touchpoint(kind: str):
    def handler(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
        pairing = _live_pairing(session, action)
        if pairing is None:
            return "skipped", "the pairing is no longer running"
        after = action.payload["after_session"]
        upcoming = next((s for s in _sessions(session, pairing.id) if s.number == after + 1), None)
        if upcoming is not None and upcoming.starts_at <= now:
            return "skipped", f"session {after + 1} has already started"
        mentor, mentee = _pair_people(session, pairing)
        if kind == "share":
            reader, text = mentee, (
                f"Between sessions: share your plan or work product with {mentor.name} by email before session {after + 1}, "
                "so there is something concrete to look at together."
            )
        else:
            reader, text = mentor, (
                f"Between sessions: {mentee.name} should have shared their plan or work by now. A few lines of feedback "
                f"before session {after + 1} make the next conversation count."
            )
        notice = TOUCHPOINTS[kind](pairing_id=pairing.id, after_session=after, text=text)
        send_notice(session, person=reader, purpose=f"touchpoint.{kind}", key=action.idempotency_key, notice=notice, now=now)
        return "done", f"prompted {reader.email}"

    return handler


def _check_in_ask(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    pairing = _live_pairing(session, action)
    if pairing is None:
        return "skipped", "the pairing is no longer running"
    mentor, mentee = _pair_people(session, pairing)
    context = context_key(flow="check_in", pairing_id=pairing.id)
    for person, partner in ((mentor, mentee), (mentee, mentor)):
        if session.exec(select(CheckIn).where(CheckIn.pairing_id == pairing.id, CheckIn.person_id == person.id)).first() is None:
            session.add(CheckIn(pairing_id=pairing.id, person_id=person.id, number=1, asked_at=now))
        prompt_flow(session, person=person, flow="check_in", context=context, now=now, extra={"partner_name": partner.name, "text": f"Did you and {partner.name} meet? Reply: met, rescheduled, need help, or not going to happen."})
    return "done", "asked both sides"


def _check_in_escalate(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    pairing = _live_pairing(session, action)
    if pairing is None:
        return "skipped", "the pairing is no longer running"
    answers = [c.answer for c in session.exec(select(CheckIn).where(CheckIn.pairing_id == pairing.id))]
    trouble = [a for a in answers if a in ("need_help", "not_happening")]
    if answers and not trouble and all(answers):
        return "done", "the pair is on track"
    pairing.status = "stalled"
    mentor, mentee = _pair_people(session, pairing)
    why = "no answer to the check-in" if not any(answers) else ", ".join(sorted(set(trouble)) or ["only one side answered"])
    text = (
        f"The pair {mentor.name} and {mentee.name} (round {pairing.round_id}) looks stalled: {why}. "
        f"Rematch the mentee with `mentorbot round rematch {pairing.id}` or `/mentoring rematch {pairing.id}`."
    )
    body = notices.Escalation(pairing_id=pairing.id, why=why, text=text).to_payload()
    program, _calendar = program_calendar(session, term_id=repo.get_round(session, round_id=pairing.round_id).term_id)
    for email in (program.settings or {}).get("admin_emails") or ():
        enqueue(session, idempotency_key=f"escalation:{pairing.id}:email:{email}", channel="email", purpose="escalation", recipient=email, body=body, now=now)
    for slack_id in config.slack_admin_ids:
        enqueue(session, idempotency_key=f"escalation:{pairing.id}:slack:{slack_id}", channel="slack", purpose="escalation", recipient=slack_id, body=body, now=now)
    return "done", f"escalated: {why}"


def _survey_ask(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    round_ = repo.get_round(session, round_id=action.round_id)
    if round_.status not in ("published", "running"):
        return "skipped", f"round {round_.id} is {round_.status}"
    people = {p for pairing in repo.round_pairings(session, round_id=round_.id) if pairing.status != "cancelled" for p in (pairing.mentor_id, pairing.mentee_id)}
    context = context_key(flow="survey", round_id=round_.id)
    for person_id in sorted(people):
        prompt_flow(session, person=session.get(Person, person_id), flow="survey", context=context, now=now)
    return "done", f"asked {len(people)} people"


def _term_remind(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    term = session.get(Term, action.payload["term_id"])
    if term is None or term.status != "open" or (term.opt_in_by and now.date() > term.opt_in_by):
        return "skipped", "opt-in has closed"
    reminded = remind_unanswered(session, term=term, now=now, attempt=str(action.payload["attempt"]), principals=False)
    return "done", f"reminded {reminded.total} people"


# --- speed-mentoring events -------------------------------------------------------------------


def _speed_plan(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    """The day before a speed event: send each person their rotation schedule, and time the rotations.

    A round an admin planned and published (`round match` / `round publish`) goes out as planned; if someone opted in
    or out since it was planned, the whole event is planned again first (nobody has seen a schedule yet, and a plan
    over the wrong people would seat someone absent). A round nobody planned (draft or collecting) is planned and
    published here, as before. A round still in review waits for its admin (checked every half hour until the event).
    """
    round_ = repo.get_round(session, round_id=action.round_id, for_update=True)
    program, _calendar = program_calendar(session, term_id=round_.term_id)
    starts = speed_start(round_, timezone_name=program.timezone)
    if round_.status == "review":
        if now >= starts:
            return "skipped", f"round {round_.id} was still in review when the event began"
        action.due_at = min(now + timedelta(minutes=30), starts)
        return "deferred", f"round {round_.id} is in review: waiting for an admin to publish it"
    if round_.status in ("draft", "collecting"):
        for step in ("collecting", "matching")[("draft", "collecting").index(round_.status):]:
            service.move_round_in(session, round_id=round_.id, target=step, now=now)
        service.plan_rotations_in(session, round_=round_, now=now, status="proposed")
        service.move_round_in(session, round_id=round_.id, target="review", now=now)
        service.move_round_in(session, round_id=round_.id, target="published", now=now)
        how = "planned and published now"
    elif round_.status == "published":
        planned_for = set((round_.match_summary or {}).get("people") or ())
        taking_part = {p.id for _, p in service.speed_people(session, round_=round_)}
        if planned_for == taking_part:
            how = "as planned"
        else:
            service.plan_rotations_in(session, round_=round_, now=now, status="published")
            joined, left = len(taking_part - planned_for), len(planned_for - taking_part)
            how = f"planned again: {joined} joined and {left} left since it was planned"
    else:
        return "skipped", f"round {round_.id} was already {round_.status}"
    pairings = [p for p in repo.round_pairings(session, round_id=round_.id) if p.status != "cancelled"]
    told = _send_speed_schedules(session, round_=round_, pairings=pairings, starts=starts, now=now)
    minutes = round_.rotation_minutes or 10
    for rotation in range(1, (round_.rotations or 1) + 1):
        repo.schedule_action(
            session, idempotency_key=f"speed.rotation:{round_.id}:{rotation}", kind="speed.rotation",
            due_at=starts + timedelta(minutes=(rotation - 1) * minutes), round_id=round_.id, payload={"rotation": rotation},
        )  # fmt: skip
    repo.schedule_action(session, idempotency_key=f"round.start:{round_.id}", kind="round.start", due_at=starts, round_id=round_.id)
    end = starts + timedelta(minutes=minutes * (round_.rotations or 1))
    repo.schedule_action(session, idempotency_key=f"round.close:{round_.id}", kind="round.close", due_at=end + timedelta(hours=1), round_id=round_.id)
    resting = len((round_.match_summary or {}).get("sitting_out") or ())
    return "done", f"{len(pairings)} meetings over {round_.rotations} rotations ({how}); schedules to {told} people; {resting} sit out a rotation"


def _send_speed_schedules(session: Session, *, round_: Round, pairings: list[Pairing], starts: datetime, now: datetime) -> int:
    """Each person's tables, from the stored plan (the round's pairings and who sits out), once per person."""
    minutes = round_.rotation_minutes or 10
    people = {person.id: person for _enrollment, person in service.speed_people(session, round_=round_)}
    for pairing in pairings:  # someone who left the term after the plan still hears where they were seated
        for person_id in (pairing.mentor_id, pairing.mentee_id):
            people.setdefault(person_id, session.get(Person, person_id))
    rows: dict[int, list[tuple[int, str]]] = {}
    for pairing in pairings:
        rows.setdefault(pairing.mentor_id, []).append((pairing.rotation, people[pairing.mentee_id].name))
        rows.setdefault(pairing.mentee_id, []).append((pairing.rotation, people[pairing.mentor_id].name))
    by_email = {person.email: person for person in people.values()}
    for entry in (round_.match_summary or {}).get("sitting_out") or ():
        person = by_email.get(entry["email"])
        if person is not None:
            rows.setdefault(person.id, []).extend((rotation, "a short break") for rotation in entry["rotations"])
    note = (round_.settings or {}).get("message")
    for person_id, entries in rows.items():
        reader = people[person_id]
        zone = ZoneInfo(reader.timezone)
        lines = [
            f"Rotation {rotation} at {(starts + timedelta(minutes=(rotation - 1) * minutes)).astimezone(zone):%H:%M}: {who}"
            for rotation, who in sorted(entries)
        ]
        text = f"Your speed-mentoring schedule for {starts.astimezone(zone):%a %b %-d} ({reader.timezone}), {minutes} minutes each:\n" + "\n".join(lines)
        if note:
            text += f"\n{note}"
        notice = notices.SpeedSchedule(round_id=round_.id, rotations=sorted(entries), text=text)
        send_notice(session, person=reader, purpose="speed.schedule", key=f"{round_.id}:{reader.id}", notice=notice, now=now, email_copy=True)
    return len(rows)


@dataclass(frozen=True)
class SpeedTiming:
    """When a speed event's schedules go out (or went out) and when its rotations begin, in program time."""

    schedules_at: datetime | None  # None: nothing will send them (the round is closed or the job is gone)
    schedules_sent: bool
    starts_at: datetime
    timezone: str
    rotations: int
    minutes: int
    waits_for_publish: bool

    def lines(self) -> list[str]:
        """What will happen when, in plain words."""
        lines = []
        if self.schedules_sent:
            lines.append(f"Rotation schedules went out on {_day(self.schedules_at)} program time ({self.timezone}).")
        elif self.schedules_at is not None:
            after = " once the round is published" if self.waits_for_publish else ""
            lines.append(f"Rotation schedules go out on {_day(self.schedules_at)} program time ({self.timezone}){after}.")
        lines.append(
            f"The event starts {_day(self.starts_at)}: {self.rotations} rotation{'' if self.rotations == 1 else 's'} of {self.minutes} minutes, "
            "each announced to its tables as it starts."
        )
        return lines


def _day(moment: datetime | None) -> str:
    return f"{moment:%a} {moment.day} {moment:%b} at {moment:%H:%M}" if moment else "(unknown)"


def speed_timing(session: Session, *, round_: Round, now: datetime) -> SpeedTiming:
    """When the round's rotation schedules go out (the day-before job, moved out of quiet time as the sweep will) and when it starts."""
    program, calendar = program_calendar(session, term_id=round_.term_id)
    zone = ZoneInfo(program.timezone)
    starts = speed_start(round_, timezone_name=program.timezone)
    jobs = [a for a in repo.round_actions(session, round_id=round_.id) if a.kind == SPEED_PLAN_ACTION]
    sent = next((a for a in jobs if a.status == "done"), None)
    pending = next((a for a in jobs if a.status in ("pending", "running")), None)
    if sent is not None:
        when = sent.done_at
    elif pending is not None:
        when = max(pending.due_at, now)
        if is_quiet(when, person_timezone=program.timezone, calendar=calendar):
            when = next_sendable(when, person_timezone=program.timezone, calendar=calendar)
    else:
        when = None
    return SpeedTiming(
        schedules_at=when.astimezone(zone) if when else None, schedules_sent=sent is not None, starts_at=starts.astimezone(zone), timezone=program.timezone,
        rotations=round_.rotations or 1, minutes=round_.rotation_minutes or 10, waits_for_publish=round_.status == "review",
    )  # fmt: skip


def _speed_rotation(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    """As a rotation starts, tell each table who they are meeting, with the speed card."""
    round_ = repo.get_round(session, round_id=action.round_id)
    if round_.status not in ("published", "running"):
        return "skipped", f"round {round_.id} is {round_.status}"
    rotation = action.payload["rotation"]
    minutes = round_.rotation_minutes or 10
    if now > action.due_at + timedelta(minutes=minutes):
        return "skipped", f"rotation {rotation} is already over"
    program, _calendar = program_calendar(session, term_id=round_.term_id)
    told = 0
    for pairing in repo.round_pairings(session, round_id=round_.id):
        if pairing.rotation != rotation or pairing.status == "cancelled":
            continue
        mentor, mentee = _pair_people(session, pairing)
        for reader, partner in ((mentor, mentee), (mentee, mentor)):
            card = GuideContext(
                program_name=program.name, kind="speed", mentor=Mentor(name=mentor.name), mentees=(Mentee(name=mentee.name),),
                topic=round_.topic, timezone=reader.timezone, rotation=rotation, rotation_minutes=minutes, rotation_starts_at=action.due_at,
            )  # fmt: skip
            notice = notices.SpeedRotation(
                round_id=round_.id, rotation=rotation, partner_name=partner.name, guide=guide_renderings(card, overrides=overrides_of(program)),
                text=f"Rotation {rotation} is starting: you're meeting {partner.name} for {minutes} minutes.",
            )  # fmt: skip
            send_notice(session, person=reader, purpose="speed.rotation", key=f"{round_.id}:{rotation}:{reader.id}", notice=notice, now=now)
            told += 1
    return "done", f"rotation {rotation}: told {told} people"


def _round_announce(session: Session, action: ScheduledAction, now: datetime, config: ScheduleConfig) -> tuple[str, str]:
    """When sign-ups open: open the round and invite its pool (each person once, through the outbox)."""
    round_ = repo.get_round(session, round_id=action.round_id)
    if round_.status not in ("draft", "collecting"):
        return "skipped", f"round {round_.id} was already {round_.status} when its sign-ups were due to open"
    queued = events.open_round_in(session, round_id=round_.id, now=now)
    return "done", f"announced to {queued} people or channels"


HANDLERS = {
    ANNOUNCE_ACTION: _round_announce,
    SPEED_PLAN_ACTION: _speed_plan,
    "speed.rotation": _speed_rotation,
    MATCH_ACTION: _round_match,
    "round.notify": _round_notify,
    "round.start": _round_status("running", ("published",)),
    "round.close": _round_status("closed", ("running",)),
    "session.reminder": _session_reminder,
    "touchpoint.share": _touchpoint("share"),
    "touchpoint.feedback": _touchpoint("feedback"),
    "checkin.ask": _check_in_ask,
    "checkin.escalate": _check_in_escalate,
    "survey.ask": _survey_ask,
    "term.remind": _term_remind,
}


# --- rematch -----------------------------------------------------------------------------------


def rematch_in(session: Session, *, pairing_id: int, now: datetime, config: ScheduleConfig) -> Pairing | None:
    """Cancel a stalled pairing and find the mentee a new mentor with the matcher (never the same one again)."""
    old = session.get(Pairing, pairing_id)
    if old is None:
        raise repo.NotFound(f"there is no pairing {pairing_id}")
    if old.status in ("cancelled", "completed"):
        raise service.RoundError(f"pairing {pairing_id} is {old.status}; only a running pair can be rematched")
    round_ = repo.get_round(session, round_id=old.round_id)
    old.status = "cancelled"
    session.flush()
    withdraw_pairing(session, pairing=old, now=now, why="the program is finding the mentee a new mentor.")
    week_of = round_.start_on or now.date()
    people = repo.enrollments(session, term_id=round_.term_id)
    answers = repo.profiles(session, person_ids=[p.id for _, p in people])
    earlier = [p for p in repo.earlier_pairings_in_term(session, term_id=round_.term_id, before_round_id=round_.id + 1)]
    load = repo.mentor_load(p for p in earlier if p.status != "cancelled")
    participants = []
    for enrollment, person in people:
        if enrollment.status != "opted_in":
            continue
        if person.id == old.mentee_id:
            mentee = to_participant(enrollment, person, answers[person.id], capacity_left=0, week_of=week_of)
            participants.append(replace(mentee, role="mentee"))
        elif enrollment.role in ("mentor", "both"):
            participant = to_participant(enrollment, person, answers[person.id], capacity_left=enrollment.capacity - load.get(person.id, 0), week_of=week_of)
            # Only the one mentee is being placed: everyone else takes part as a mentor here.
            participants.append(replace(participant, role="mentor"))
    email_of = {person.id: person.email for _, person in people}
    history = history_from(earlier, email_of)
    history = History(past_pairs=history.past_pairs | {(email_of[old.mentor_id], email_of[old.mentee_id])}, recent_load=history.recent_load)
    # The round's own relaxations and its program's rules hold for a replacement mentor as for the first match.
    settings = round_settings_for(session, round_, topic=round_.topic, sessions=round_.sessions, session_minutes=config.session_minutes, reference_date=week_of)
    result = match_round(participants, settings, history)
    if not result.pairs:
        return None
    (pair,) = result.pairs
    id_of = {person.email: person.id for _, person in people}
    new = Pairing(
        round_id=round_.id, mentor_id=id_of[pair.mentor], mentee_id=id_of[pair.mentee], score=pair.score,
        breakdown={part.factor: part.points for part in pair.breakdown}, reasons=list(pair.reasons),
        status="active" if round_.status == "running" else "published", created_at=now,
    )  # fmt: skip
    session.add(new)
    session.flush()
    plans = _plan_pairs(session, round_=round_, pairs=[new], now=now, config=config)
    _, calendar = program_calendar(session, term_id=round_.term_id)
    actions = [a for a in plan_round(round_id=round_.id, published_at=now, end_on=round_.end_on, pairs=plans, calendar=calendar) if a.kind not in ("round.notify", "survey.ask", "round.close", "round.start")]
    _schedule(session, round_id=round_.id, actions=actions)
    notify_pairing(session, pairing=new, round_=round_, now=now, config=config)
    return new


rematch = in_transaction(rematch_in)
