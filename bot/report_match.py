"""Readable terminal output for roster-file matching: results, equity reports, pool health, speed events."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.matching.reports import SHOWN_PAIRS, names_and_more

MAX_UNMATCHED_ROWS = 100


def print_lead(console: Console, paragraph: str | None) -> None:
    """The lead paragraph of a result, as plain text (names and topics in it are people's own words)."""
    if paragraph:
        console.print(escape(paragraph), highlight=False)


def print_unmatched_by_cause(console: Console, groups: Sequence[tuple[str, Sequence[str]]]) -> None:
    """The unmatched grouped by cause: each cause with its count and a few names."""
    table = Table("unmatched", "cause", "who", title="Unmatched, by cause", show_lines=True)
    for column in table.columns:
        column.overflow = "fold"
    for cause, names in groups:
        table.add_row(str(len(names)), escape(cause), escape(names_and_more(list(names))))
    console.print(table)


def grouped_by_reasons(unmatched: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[str, list[str]]]:
    """Unmatched (name, reasons) grouped by identical reasons, biggest group first (for results without a lead)."""
    groups: dict[str, list[str]] = {}
    for name, reasons in unmatched:
        groups.setdefault("; ".join(reasons) or "no reason given", []).append(name)
    return sorted(groups.items(), key=lambda item: -len(item[1]))


def _name(names: dict[str, str], key: str) -> str:
    return names.get(key, key)


def _table(*headers: str, **options) -> Table:
    """A table whose cells wrap long text (a name with its email) instead of cutting it off."""
    table = Table(*headers, **options)
    for column in table.columns:
        column.overflow = "fold"
    return table


def print_match(console: Console, result, people, lead=None, *, show_all: bool = False) -> None:
    """The lead paragraph, the pairs (or groups; 20 unless `show_all`), the unmatched by cause (each with why when
    `show_all`), a summary line with the solver's report, and the lead paragraph again, last."""
    names = people.names
    paragraph = lead.paragraph("mentorbot") if lead is not None else None
    if people.skipped_rows:
        console.print(f"[yellow]{len({e.line for e in people.skipped_rows})} roster row(s) skipped for problems; "
                      "run `mentorbot import roster` to see them.[/yellow]")
    print_lead(console, paragraph)
    limit = None if show_all else SHOWN_PAIRS
    if result.groups:
        table = _table("mentor", "group", "meets", "mentees", title="Groups", show_lines=True)
        for group in result.groups[:limit]:
            table.add_row(escape(_name(names, group.mentor)), str(group.number), escape(group.time),
                          escape("\n".join(_name(names, m) for m in group.mentees)))
        console.print(table)
    elif result.pairs:
        table = _table("mentor", "mentee", "fit", "why", show_lines=True)
        for pair in result.pairs[:limit]:
            table.add_row(escape(_name(names, pair.mentor)), escape(_name(names, pair.mentee)), f"{pair.score:.0f}",
                          escape("\n".join(pair.reasons)))
        console.print(table)
    shown = len(result.groups or result.pairs)
    if limit is not None and shown > limit:
        what = "groups" if result.groups else "pairs"
        console.print(f"({limit} of {shown} {what} shown; --all prints every one, --out writes them to a file)")
    if result.unmatched:
        if show_all:
            table = _table("unmatched mentee", "why", title="Unmatched", show_lines=True)
            for entry in result.unmatched:
                table.add_row(escape(_name(names, entry.key)), escape("\n".join(entry.reasons)))
            console.print(table)
        elif lead is not None and lead.groups:
            print_unmatched_by_cause(console, [(g.cause, [_name(names, k) for k in g.keys]) for g in lead.groups])
        else:
            print_unmatched_by_cause(console, grouped_by_reasons([(_name(names, u.key), u.reasons) for u in result.unmatched]))
    else:
        console.print("[green]Every mentee has a mentor.[/green]")
    solver = result.solver
    how = ""
    if solver is not None:
        how = f" ({solver.method}, {solver.status}"
        if solver.method == "CP-SAT":
            gap = "no bound proven" if solver.bound is None else f"gap to the best bound {solver.gap * 100:.2f} %"
            how += f", {solver.seconds:.1f} s, {gap}"
            if solver.warm_start_score is not None:
                how += f"; without the added rules total fit would be {solver.warm_start_score:.0f}"
        how += ")"
    console.print(
        f"Matched {len(result.pairs)} of {people.mentees} mentees with {people.mentors} mentors; "
        f"{len(result.unmatched)} unmatched; total fit {result.total_score:.0f}; "
        f"{result.candidate_edges} eligible pairs considered; solved in {result.solve_seconds * 1000:.0f} ms{how}."
    )
    if solver is not None:
        for note in solver.notes:
            console.print(f"[yellow]Note:[/yellow] {escape(note)}")
    print_lead(console, paragraph)


def _stats_table(title: str, rows: Sequence) -> Table:
    table = Table(title, "mentees", "matched", "match rate", "mean fit", title=f"By {title}")
    for row in rows:
        table.add_row(escape(row.name), str(row.mentees), str(row.matched), f"{row.match_rate * 100:.0f} %",
                      "-" if row.mean_fit is None else f"{row.mean_fit:.1f}")
    return table


def print_result_report(console: Console, report) -> None:
    """Match rate and mean fit per site and program (worst first), and mentor load."""
    mean = "-" if report.mean_fit is None else f"{report.mean_fit:.1f}"
    console.print(f"Overall: {report.matched} of {report.mentees} mentees matched "
                  f"({report.match_rate * 100:.0f} %), mean fit {mean}; {report.seats_used} of {report.seats} mentor seats used.")
    console.print(_stats_table("site", report.by_site))
    console.print(_stats_table("program", report.by_program))
    table = Table("mentees this round", "mentors", title="Mentor load")
    for row in report.mentor_load:
        table.add_row(str(row.mentees), str(row.mentors))
    console.print(table)


def print_pool_health(console: Console, health, names: dict[str, str]) -> None:
    """Mentors per mentee in each area (thin ones flagged) and the forecast of who goes unmatched."""
    console.print(f"Pool: {health.mentors} mentors with {health.seats} seats for {health.mentees} mentees.")
    table = Table("rule", "area", "mentors", "seats", "mentees", "mentors per mentee", "forecast unmatched",
                  title="Health per area (short: fewer seats than mentees)")
    for area in health.areas:
        ratio = "-" if area.ratio is None else f"{area.ratio:.2f}"
        if area.short:
            ratio = f"[red]{ratio} (short)[/red]"
        table.add_row(area.rule, escape(area.area), str(area.mentors), str(area.seats), str(area.mentees), ratio,
                      str(area.forecast_unmatched))
    console.print(table)
    if not health.forecast:
        console.print("[green]Forecast: every mentee would be matched.[/green]")
        return
    if health.lead is not None and health.lead.groups:
        console.print(f"Forecast: {len(health.forecast)} would go unmatched.")
        print_unmatched_by_cause(console, [(g.cause, [_name(names, k) for k in g.keys]) for g in health.lead.groups])
    else:
        table = _table("mentee", "why", title=f"Forecast: {len(health.forecast)} would go unmatched", show_lines=True)
        for entry in health.forecast[:MAX_UNMATCHED_ROWS]:
            table.add_row(escape(_name(names, entry.key)), escape("\n".join(entry.reasons)))
        console.print(table)
    print_lead(console, health.advice())


def print_speed(console: Console, schedule, people) -> None:
    """Each rotation's meetings and sit-outs, and a summary."""
    names = people.names
    sit_outs: dict[int, list[str]] = {}
    for entry in schedule.sit_outs:
        sit_outs.setdefault(entry.rotation, []).append(_name(names, entry.key))
    table = Table("rotation", "starts", "meetings", "sitting out", title="Speed mentoring")
    per_rotation: dict[int, int] = {}
    for meeting in schedule.meetings:
        per_rotation[meeting.rotation] = per_rotation.get(meeting.rotation, 0) + 1
    for rotation in range(1, schedule.rotations + 1):
        out = sit_outs.get(rotation, [])
        shown = ", ".join(out[:6]) + (f" and {len(out) - 6} more" if len(out) > 6 else "")
        table.add_row(str(rotation), f"+{(rotation - 1) * schedule.minutes} min", str(per_rotation.get(rotation, 0)),
                      escape(shown) or "nobody")
    console.print(table)
    pairs = {(m.mentor, m.mentee) for m in schedule.meetings}
    console.print(
        f"{len(schedule.meetings)} meetings over {schedule.rotations} rotations of {schedule.minutes} minutes for "
        f"{schedule.mentors} mentors and {schedule.mentees} mentees; {len(schedule.meetings) - len(pairs)} repeats; "
        f"total fit {schedule.total_score:.0f}; planned in {schedule.solve_seconds * 1000:.0f} ms."
    )
