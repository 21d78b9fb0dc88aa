"""Readable terminal output for roster-file matching: results, equity reports, pool health, speed events."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

# Big rosters would print for minutes; beyond these the CSV holds the rest.
MAX_PAIR_ROWS = 200
MAX_UNMATCHED_ROWS = 100


def _name(names: dict[str, str], key: str) -> str:
    return names.get(key, key)


def _table(*headers: str, **options) -> Table:
    """A table whose cells wrap long text (a name with its email) instead of cutting it off."""
    table = Table(*headers, **options)
    for column in table.columns:
        column.overflow = "fold"
    return table


def print_match(console: Console, result, people) -> None:
    """Pairs (or groups), the unmatched with why, and a summary line with the solver's report."""
    names = people.names
    if people.skipped_rows:
        console.print(f"[yellow]{len({e.line for e in people.skipped_rows})} roster row(s) skipped for problems; "
                      "run `mentorbot import roster` to see them.[/yellow]")
    if result.groups:
        table = _table("mentor", "group", "meets", "mentees", title="Groups", show_lines=True)
        for group in result.groups[:MAX_PAIR_ROWS]:
            table.add_row(_name(names, group.mentor), str(group.number), group.time,
                          "\n".join(_name(names, m) for m in group.mentees))
        console.print(table)
    elif result.pairs:
        table = _table("mentor", "mentee", "fit", "why", show_lines=True)
        for pair in result.pairs[:MAX_PAIR_ROWS]:
            table.add_row(_name(names, pair.mentor), _name(names, pair.mentee), f"{pair.score:.0f}", "\n".join(pair.reasons))
        console.print(table)
    shown = len(result.groups or result.pairs)
    if shown > MAX_PAIR_ROWS:
        console.print(f"(first {MAX_PAIR_ROWS} of {shown} shown; --out writes them all)")
    if result.unmatched:
        table = _table("unmatched mentee", "why", title="Unmatched", show_lines=True)
        for entry in result.unmatched[:MAX_UNMATCHED_ROWS]:
            table.add_row(_name(names, entry.key), "\n".join(entry.reasons))
        console.print(table)
        if len(result.unmatched) > MAX_UNMATCHED_ROWS:
            console.print(f"(first {MAX_UNMATCHED_ROWS} of {len(result.unmatched)} unmatched shown)")
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
            console.print(f"[yellow]Note:[/yellow] {note}")


def _stats_table(title: str, rows: Sequence) -> Table:
    table = Table(title, "mentees", "matched", "match rate", "mean fit", title=f"By {title}")
    for row in rows:
        table.add_row(row.name, str(row.mentees), str(row.matched), f"{row.match_rate * 100:.0f} %",
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
                  title=f"Health per area (flagged under {health.healthy_ratio:g} mentors per mentee)")
    for area in health.areas:
        ratio = "-" if area.ratio is None else f"{area.ratio:.2f}"
        if area.flagged:
            ratio = f"[red]{ratio} (thin)[/red]"
        table.add_row(area.rule, area.area, str(area.mentors), str(area.seats), str(area.mentees), ratio,
                      str(area.forecast_unmatched))
    console.print(table)
    if not health.forecast:
        console.print("[green]Forecast: every mentee would be matched.[/green]")
        return
    table = _table("mentee", "why", title=f"Forecast: {len(health.forecast)} would go unmatched", show_lines=True)
    for entry in health.forecast[:MAX_UNMATCHED_ROWS]:
        table.add_row(_name(names, entry.key), "\n".join(entry.reasons))
    console.print(table)
    flagged = [a for a in health.areas if a.flagged and a.forecast_unmatched]
    if flagged:
        worst = sorted(flagged, key=lambda a: -a.forecast_unmatched)[:3]
        console.print("Recruit first for: " + "; ".join(
            f"{a.rule} {a.area} ({a.forecast_unmatched} would go unmatched)" for a in worst) + ".")


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
                      shown or "nobody")
    console.print(table)
    pairs = {(m.mentor, m.mentee) for m in schedule.meetings}
    console.print(
        f"{len(schedule.meetings)} meetings over {schedule.rotations} rotations of {schedule.minutes} minutes for "
        f"{schedule.mentors} mentors and {schedule.mentees} mentees; {len(schedule.meetings) - len(pairs)} repeats; "
        f"total fit {schedule.total_score:.0f}; planned in {schedule.solve_seconds * 1000:.0f} ms."
    )
