"""Readable terminal output for imports, enrollments, terms, rounds, pools and match results (rich)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from bot.actions.rounds import PoolView
from bot.actions.terms import TermStatus
from bot.importer import ImportReport
from bot.rounds.kinds import describe
from bot.rounds.events import EVENT_KINDS, topic_lines
from bot.rounds.service import EnrollmentCounts, PairView
from storage.models import OutboxMessage, Round, ScheduledAction


def print_import(console: Console, report: ImportReport) -> None:
    """Summarise an import and list each bad row with its line and what to fix."""
    if report.strict_rejected:
        console.print(
            f"[red]Nothing imported[/red] from {report.path.name}: --strict is on and "
            f"{len({e.line for e in report.errors})} of {report.data_rows} rows have problems."
        )
    else:
        console.print(
            f"Imported {report.imported} of {report.data_rows} rows from {report.path.name}: "
            f"{report.created} new, {report.updated} updated, {report.unchanged} unchanged."
        )
    if report.errors:
        bad_rows = len({error.line for error in report.errors})
        console.print(f"[yellow]{bad_rows} row(s) were not imported:[/yellow]")
        table = Table("line", "column", "value", "problem", show_lines=False)
        for error in report.errors:
            table.add_row(str(error.line), error.column or "", error.value or "", error.message)
        console.print(table)


def print_enrollment_counts(console: Console, counts: EnrollmentCounts) -> None:
    """One line of who opted in."""
    console.print(
        f"Enrolled {counts.mentors} mentors, {counts.mentees} mentees and {counts.both} mentor-and-mentee; "
        f"{counts.opted_out} opted out; {counts.awaiting_approval} mentor(s) await their principal."
    )


def print_rounds(console: Console, term_name: str, rounds: Sequence[Round]) -> None:
    """A table of the term's rounds, each described as its kind says (a topic event by its topics, speed by its rotations)."""
    table = Table("id", "round", "status", "match on", "start", title=f"Rounds in {term_name}")
    for r in rounds:
        table.add_row(str(r.id), describe(r), r.status, str(r.match_on or ""), str(r.start_on or ""))
    console.print(table)


def print_round(console: Console, round_: Round, pairs: Sequence[PairView]) -> None:
    """A round as `round show`, `round match` and `round preview` give it: pairs and reasons, the unmatched, and, for
    topic events and interviews, each topic's result and which topic each pair is about."""
    print_match(console, round_, pairs)
    if round_.kind not in EVENT_KINDS or not round_.match_summary:
        return
    for line in topic_lines(round_.match_summary):
        console.print(f"  {line}", highlight=False)
    for pair in pairs:
        if pair.topic:
            console.print(f"  {pair.mentor_name} -> {pair.mentee_name}: {pair.topic}", highlight=False)


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def print_pool(console: Console, pool: PoolView) -> None:
    """The pool at a glance, from the matcher's own pool-health report: places, thin areas, the forecast; who is missing."""
    health = pool.report.health
    thin = [
        f"{a.rule} {a.area}: {_n(a.mentors, 'mentor')} for {_n(a.mentees, 'mentee')}" + (f", {a.forecast_unmatched} left unmatched" if a.forecast_unmatched else "")
        for a in health.areas
        if a.flagged
    ]
    lines = [
        f"{_n(health.mentors, 'mentor')} ready with room for {_n(health.seats, 'mentee')}; {_n(health.mentees, 'mentee')}"
        + (" (more mentees than places)" if health.mentees > health.seats else ""),
        f"{pool.report.awaiting_approval} mentor(s) waiting for their principal",
        f"a round now would match {pool.report.forecast_matched} of {_n(health.mentees, 'mentee')}",
        "thin areas: " + ("; ".join(thin[:8]) + (f"; and {len(thin) - 8} more" if len(thin) > 8 else "") if thin else "none"),
        f"{_n(len(pool.without_availability), 'mentee')} without availability"
        + (f": {', '.join(pool.without_availability[:10])}" if pool.without_availability else ""),
        f"{pool.invited} invited without an answer yet; {pool.opted_out} opted out",
    ]
    console.print(f"[bold]Pool of {pool.term.name}[/bold]")
    for line in lines:
        console.print(f"  {line}", highlight=False)


def print_term_status(console: Console, status: TermStatus) -> None:
    """Where the open term stands: who answered, roles, approvals, profiles, messages waiting, and its rounds."""
    statuses, roles, approvals = status.statuses, status.roles, status.approvals
    by = f" (opt-in by {status.term.opt_in_by})" if status.term.opt_in_by else ""
    console.print(f"[bold]{status.term.name}[/bold]{by}")
    for line in (
        f"{status.invited} invited: {statuses.get('opted_in', 0)} in, {statuses.get('opted_out', 0)} out, {statuses.get('invited', 0)} not answered yet",
        f"{roles.get('mentor', 0)} mentors, {roles.get('mentee', 0)} mentees, {roles.get('both', 0)} both",
        f"mentors: {approvals.get('approved', 0)} confirmed, {approvals.get('pending', 0)} waiting for principals, "
        f"{approvals.get('declined', 0)} declined, {approvals.get('not_required', 0)} need no approval",
        f"{status.profiles_complete} of {statuses.get('opted_in', 0)} profiles complete",
        f"messages: {status.messages_waiting} waiting to send, {status.messages_failed} failed",
        *([status.channels.summary(ZoneInfo(status.timezone))] if status.channels else []),
        *(f"  unreachable: {who.name} ({who.reason})" for who in (status.channels.unreachable[:10] if status.channels else [])),
    ):
        console.print(f"  {line}", highlight=False)
    if status.rounds:
        print_rounds(console, status.term.name, status.rounds)
    else:
        console.print("  No rounds yet.")


def _pairs_table(rows: Sequence[tuple[str, str, float, Sequence[str]]]) -> Table:
    table = Table("mentor", "mentee", "fit", "why", show_lines=True)
    for mentor, mentee, score, reasons in rows:
        table.add_row(mentor, mentee, f"{score:.0f}", "\n".join(reasons))
    return table


def print_match(console: Console, round_: Round, pairs: Sequence[PairView]) -> None:
    """The round's proposed or published pairs with reasons, then the unmatched with why."""
    summary = round_.match_summary or {}
    console.print(f"[bold]Round {round_.id}[/bold]: {describe(round_)}, {round_.status}")
    if not summary:
        console.print("Not matched yet.")
        return
    console.print(
        f"Matched {summary['matched']} of {summary['mentees']} mentees with {summary['mentors']} available mentors "
        f"(total fit {summary['total_score']:.0f}, solved in {summary['solve_seconds'] * 1000:.0f} ms)."
    )
    console.print(_pairs_table([(p.mentor_name, p.mentee_name, p.score, p.reasons) for p in pairs]))
    _print_unmatched(console, [(u["name"], u["reasons"]) for u in summary.get("unmatched", [])])


def _print_unmatched(console: Console, unmatched: Sequence[tuple[str, Sequence[str]]]) -> None:
    if not unmatched:
        console.print("[green]Every mentee has a mentor.[/green]")
        return
    table = Table("unmatched mentee", "why", title="Unmatched", show_lines=True)
    for name, reasons in unmatched:
        table.add_row(name, "\n".join(reasons))
    console.print(table)


def print_timeline(console: Console, actions: Sequence[ScheduledAction]) -> None:
    """The round's promises in time order: when, what, and how it went."""
    table = Table("due (UTC)", "action", "status", "result", title="Timeline")
    for action in actions:
        table.add_row(f"{action.due_at:%Y-%m-%d %H:%M}", action.idempotency_key, action.status, action.result or "")
    console.print(table)


PURPOSE_LABELS = {  # purpose -> (one, several)
    "pairing": ("pairing notice", "pairing notices"),
    "session.reminder": ("session reminder", "session reminders"),
    "touchpoint.share": ("prompt to share work", "prompts to share work"),
    "touchpoint.feedback": ("prompt to give feedback", "prompts to give feedback"),
    "prompt.check_in": ("check-in", "check-ins"),
    "escalation": ("escalation to admins", "escalations to admins"),
    "prompt.survey": ("survey", "surveys"),
}


def print_sent_by_day(console: Console, messages: Sequence[OutboxMessage], *, timezone_name: str) -> None:
    """What the schedule sent, day by day in the program's time zone."""
    days: dict[str, Counter[str]] = defaultdict(Counter)
    zone = ZoneInfo(timezone_name)
    for message in messages:
        days[message.created_at.astimezone(zone).strftime("%a %Y-%m-%d")][message.purpose] += 1
    table = Table("day", "messages queued (Slack DM or email)", title="Timeline")
    for day in sorted(days, key=lambda d: d.split()[1]):
        parts = []
        for purpose, count in days[day].items():
            one, several = PURPOSE_LABELS.get(purpose, (purpose, purpose))
            parts.append(f"{count} {one if count == 1 else several}")
        table.add_row(day, ", ".join(parts))
    console.print(table)
