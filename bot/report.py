"""Readable terminal output for imports, enrollments, terms, rounds, pools and match results (rich)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.actions.rounds import PoolView, Timeline, lead_of
from bot.actions.terms import TermStatus
from bot.importer import ImportReport
from bot.report_match import SHOWN_PAIRS, grouped_by_reasons, print_lead, print_unmatched_by_cause
from bot.rounds.events import EVENT_KINDS, topic_lines
from bot.rounds.kinds import describe
from bot.rounds.reports import rotation_lines, timeline_by_day
from bot.rounds.schedule import SpeedTiming
from bot.rounds.service import EnrollmentCounts, PairView
from storage.models import OutboxMessage, Round


def print_import(console: Console, report: ImportReport) -> None:
    """Summarise an import, list each bad row with its line and what to fix, then each value skipped with a warning."""
    bad_rows = len({error.line for error in report.errors})
    if report.strict_rejected:
        problems = [f"{bad_rows} of {report.data_rows} rows have problems"] if report.errors else []
        if report.warnings:
            count = len(report.warnings)
            problems.append(f"{count} value{'' if count == 1 else 's'} would be skipped or corrected with a warning")
        console.print(f"[red]Nothing imported[/red] from {escape(report.path.name)}: --strict is on: {' and '.join(problems)}.")
    else:
        warned = report.warning_summary()
        console.print(
            f"Imported {report.imported} of {report.data_rows} rows from {escape(report.path.name)}: "
            f"{report.created} new, {report.updated} updated, {report.unchanged} unchanged" + (f"; {warned}." if warned else ".")
        )
    if report.errors:
        console.print(f"[yellow]{bad_rows} row(s) were not imported:[/yellow]")
        table = Table("line", "column", "value", "problem", show_lines=False)
        for error in report.errors:
            table.add_row(str(error.line), escape(error.column or ""), escape(error.value or ""), escape(error.message))
        console.print(table)
    if report.warnings:
        if report.strict_rejected:
            console.print(f"[yellow]{len(report.warnings)} value(s) to fix (their rows are otherwise fine):[/yellow]")
        else:
            console.print(f"[yellow]{len(report.warnings)} value(s) with a warning (their rows were imported):[/yellow]")
        table = Table("line", "column", "value", "warning", show_lines=False)
        for warning in report.warnings:
            # Under --strict nothing was done, so only the problem is shown, not what an import would have done.
            text = warning.problem if report.strict_rejected else warning.message
            table.add_row(str(warning.line), escape(warning.column), escape(warning.value), escape(text))
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


def print_round(
    console: Console, round_: Round, pairs: Sequence[PairView], timing: SpeedTiming | None = None, *, show_all: bool = False,
    closing: bool = True,
) -> None:
    """A round as `round show`, `round match` and `round preview` give it: the lead paragraph, pairs and reasons, the
    unmatched, and, for topic events and interviews, each topic's result and which topic each pair is about; for a
    speed event, its rotation plan and what happens when; then (with `closing`) the lead paragraph again, so it is
    the last thing on the screen."""
    if round_.match_summary and "rotations" in round_.match_summary:
        _print_rotations(console, round_, pairs, show_all=show_all)
    else:
        print_match(console, round_, pairs, show_all=show_all)
    for line in timing.lines() if timing else ():
        console.print(escape(line), highlight=False)
    if round_.kind in EVENT_KINDS and round_.match_summary:
        for line in topic_lines(round_.match_summary):
            console.print(f"  {escape(line)}", highlight=False)
        topical = [pair for pair in pairs if pair.topic]
        for pair in topical if show_all else topical[:SHOWN_PAIRS]:
            console.print(f"  {escape(pair.mentor_name)} -> {escape(pair.mentee_name)}: {escape(pair.topic)}", highlight=False)
        if not show_all and len(topical) > SHOWN_PAIRS:
            console.print(f"  ({SHOWN_PAIRS} of {len(topical)} shown; --all prints every one)", highlight=False)
    if closing:
        print_round_lead(console, round_)


def print_round_lead(console: Console, round_: Round) -> None:
    """The lead paragraph of the round's last match, if it has one."""
    lead = lead_of(round_.match_summary)
    print_lead(console, lead.paragraph("mentorbot") if lead is not None else None)


def _print_rotations(console: Console, round_: Round, pairs: Sequence[PairView], *, show_all: bool = False) -> None:
    """A speed event's plan: the summary (rotations, people, pairs per rotation, who sits out and why), then who meets
    whom (the first rotations' worth unless `show_all`)."""
    console.print(f"[bold]Round {round_.id}[/bold]: {escape(describe(round_))}, {round_.status}")
    for line in rotation_lines(round_.match_summary):
        console.print(escape(line), highlight=False)
    live = [p for p in pairs if p.status != "cancelled"]
    shown = live if show_all else live[:SHOWN_PAIRS]
    if shown:
        table = Table("rotation", "mentor", "mentee")
        for pair in shown:
            table.add_row(str(pair.rotation or ""), escape(pair.mentor_name), escape(pair.mentee_name))
        console.print(table)
    if len(shown) < len(live):
        console.print(f"({len(shown)} of {len(live)} meetings shown; --all prints every one)", highlight=False)


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def print_pool(console: Console, pool: PoolView) -> None:
    """The pool at a glance, from the matcher's own pool-health report: places, thin areas, the forecast; who is missing."""
    health = pool.report.health
    lines = [
        f"{_n(health.mentors, 'mentor')} ready with room for {_n(health.seats, 'mentee')}; {_n(health.mentees, 'mentee')}"
        + (" (more mentees than places)" if health.mentees > health.seats else ""),
        f"{pool.report.awaiting_approval} mentor(s) waiting for their principal",
        f"a round now would match {pool.report.forecast_matched} of {_n(health.mentees, 'mentee')}",
        health.advice() or "no area is short of places",
        f"{_n(len(pool.without_availability), 'mentee')} without availability"
        + (f": {', '.join(pool.without_availability[:10])}" if pool.without_availability else ""),
        f"{pool.invited} invited without an answer yet; {pool.opted_out} opted out",
    ]
    console.print(f"[bold]Pool of {escape(pool.term.name)}[/bold]")
    for line in lines:
        console.print(f"  {escape(line)}", highlight=False)


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
        status.approval.line(),
        *([status.channels.summary(ZoneInfo(status.timezone))] if status.channels else []),
        *(f"  unreachable: {who.name} ({who.reason})" for who in (status.channels.unreachable[:10] if status.channels else [])),
    ):
        console.print(f"  {line}", highlight=False, markup=False)
    if status.rounds:
        print_rounds(console, status.term.name, status.rounds)
    else:
        console.print("  No rounds yet.")


def _pairs_table(rows: Sequence[tuple[str, str, float, Sequence[str]]]) -> Table:
    table = Table("mentor", "mentee", "fit", "why", show_lines=True)
    for mentor, mentee, score, reasons in rows:
        table.add_row(escape(mentor), escape(mentee), f"{score:.0f}", escape("\n".join(reasons)))
    return table


def print_match(console: Console, round_: Round, pairs: Sequence[PairView], *, show_all: bool = False) -> None:
    """The lead paragraph, the round's proposed or published pairs with reasons (20 unless `show_all`), then the
    unmatched: grouped by cause with a few names each, or every one with why when `show_all`."""
    summary = round_.match_summary or {}
    console.print(f"[bold]Round {round_.id}[/bold]: {escape(describe(round_))}, {round_.status}", highlight=False)
    if not summary:
        console.print("Not matched yet.")
        return
    lead = lead_of(summary)
    solved = f"total fit {summary['total_score']:.0f}, solved in {summary['solve_seconds'] * 1000:.0f} ms"
    if lead is not None:
        print_lead(console, lead.paragraph("mentorbot"))
        console.print(f"({solved}.)", highlight=False)
    else:
        console.print(
            f"Matched {summary['matched']} of {summary['mentees']} mentees with {summary['mentors']} available mentors ({solved}).",
            highlight=False,
        )
    shown = pairs if show_all else pairs[:SHOWN_PAIRS]
    if shown:
        console.print(_pairs_table([(p.mentor_name, p.mentee_name, p.score, p.reasons) for p in shown]))
    if len(shown) < len(pairs):
        console.print(f"({len(shown)} of {len(pairs)} pairs shown; --all prints every one)", highlight=False)
    unmatched = summary.get("unmatched", [])
    if not unmatched:
        console.print("[green]Every mentee has a mentor.[/green]")
    elif show_all:
        _print_unmatched(console, [(u["name"], u["reasons"]) for u in unmatched])
    elif lead is not None and lead.groups:
        name_of = {u["email"]: u["name"] for u in unmatched}
        print_unmatched_by_cause(console, [(g.cause, [name_of.get(k, k) for k in g.keys]) for g in lead.groups])
    else:
        print_unmatched_by_cause(console, grouped_by_reasons([(u["name"], u["reasons"]) for u in unmatched]))


def _print_unmatched(console: Console, unmatched: Sequence[tuple[str, Sequence[str]]]) -> None:
    table = Table("unmatched mentee", "why", title="Unmatched", show_lines=True)
    for name, reasons in unmatched:
        table.add_row(escape(name), escape("\n".join(reasons)))
    console.print(table)


def print_timeline(console: Console, timeline: Timeline, *, show_all: bool = False) -> None:
    """The round's promises in the program's time zone: by day and kind, or (`show_all`) every one on its own line."""
    entries = timeline.entries
    if not entries:
        console.print(f"Round {timeline.round.id} has nothing scheduled yet (it is {timeline.round.status}).", highlight=False)
        return
    if show_all:
        for entry in entries:
            extra = f" ({entry.result})" if entry.result and entry.status in ("skipped", "failed") else ""
            console.print(escape(entry.line() + extra), highlight=False)
        return
    table = Table("day", "what", "how many", "status", title=f"Timeline of round {timeline.round.id} ({escape(timeline.timezone)})")
    for day in timeline_by_day(entries):
        table.add_row(day.day, escape(day.what), str(day.count), day.statuses)
    console.print(table)
    console.print(f"{len(entries)} scheduled actions; --all lists every one with whom it is for.", highlight=False)


def print_match_brief(console: Console, round_: Round, pairs: Sequence[PairView], *, shown: int = 10) -> None:
    """The round in a few lines: the match rate, the first `shown` pairs, and the unmatched grouped by cause."""
    summary = round_.match_summary or {}
    console.print(f"[bold]Round {round_.id}[/bold]: {escape(describe(round_))}, {round_.status}")
    if not summary:
        console.print("Not matched yet.")
        return
    lead = lead_of(summary)
    if lead is not None:  # the one paragraph every match result leads with
        print_lead(console, lead.paragraph("mentorbot"))
    else:
        matched, mentees = summary["matched"], summary["mentees"]
        rate = f" ({matched / mentees:.0%})" if mentees else ""
        console.print(f"Matched {matched} of {mentees} mentees{rate} with {summary['mentors']} available mentors.", highlight=False)
    table = Table("mentor", "mentee", "fit", box=None, padding=(0, 2), pad_edge=False)
    for pair in pairs[:shown]:
        table.add_row(escape(pair.mentor_name), escape(pair.mentee_name), f"{pair.score:.0f}")
    console.print(table)
    if len(pairs) > shown:
        console.print(f"… and {len(pairs) - shown} more pairs.")
    unmatched = summary.get("unmatched", [])
    if lead is not None and lead.groups:  # the causes the lead paragraph found, each with its people
        name_of = {u["email"]: u["name"] for u in unmatched}
        groups = {g.cause: [name_of.get(k, k) for k in g.keys] for g in lead.groups}
    else:
        groups = dict(grouped_by_reasons([(u["name"], u["reasons"]) for u in unmatched]))
    if not groups:
        console.print("[green]Every mentee has a mentor.[/green]")
        return
    console.print(f"Unmatched ({sum(len(names) for names in groups.values())}), by reason:")
    for cause, names in groups.items():
        console.print(f"  {escape(cause)}: {escape(', '.join(names))}", highlight=False)


PURPOSE_LABELS = {  # purpose -> (one, several)
    "pairing": ("pairing notice", "pairing notices"),
    "session.reminder": ("session reminder", "session reminders"),
    "touchpoint.share": ("prompt to share work", "prompts to share work"),
    "touchpoint.feedback": ("prompt to give feedback", "prompts to give feedback"),
    "prompt.check_in": ("check-in", "check-ins"),
    "escalation": ("escalation to admins", "escalations to admins"),
    "prompt.survey": ("survey", "surveys"),
}


def print_sent_summary(console: Console, messages: Sequence[OutboxMessage], *, timezone_name: str) -> None:
    """What the schedule queued, in one sentence: how many, over which days, of which kinds."""
    if not messages:
        console.print("Nothing was queued.")
        return
    zone = ZoneInfo(timezone_name)
    days = sorted({m.created_at.astimezone(zone).date() for m in messages})
    kinds = Counter(m.purpose for m in messages)
    parts = []
    for purpose, count in kinds.most_common():
        one, several = PURPOSE_LABELS.get(purpose, (purpose, purpose))
        parts.append(f"{count} {one if count == 1 else several}")
    console.print(
        f"{len(messages)} messages queued on {len(days)} days from {days[0]:%a %b %-d} to {days[-1]:%a %b %-d %Y}: "
        + ", ".join(parts) + ".",
        highlight=False,
    )


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
