"""`mentorbot match`, `speed` and `pool`: matching straight from a roster file, with no database.

The matcher (OR-Tools, numpy) and the roster reader load when one of these commands runs, never at start-up.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import CommandError, console, context_of, date_value, friendly_errors, progress_bar
from bot.cli_match import SPEED_RELAX, RosterPeople, read_roster_people

app = typer.Typer()


class MatchOptionError(CommandError):
    """A match, speed or pool request that cannot be carried out; the message says why."""


def _quotas(values: list[str] | None, option: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values or ():
        name, sep, count = value.rpartition("=")
        if not sep or not name.strip() or not count.strip().isdecimal():
            raise MatchOptionError(f'{option} takes NAME=COUNT, like {option} "Lincoln Elementary=12"; got "{value}"')
        out[name.strip()] = int(count)
    return out


def _people(ctx: typer.Context, roster: Path, week_of: date | None) -> tuple[RosterPeople, date]:
    context = context_of(ctx)
    week = week_of or context.now.date()
    return read_roster_people(roster, default_timezone=context.settings.default_timezone, week_of=week), week


@app.command("match")
@friendly_errors
def match_roster(
    ctx: typer.Context,
    roster: Annotated[Path, typer.Argument(help="Roster file, .csv or .xlsx.")],
    topic: Annotated[str | None, typer.Option(help="Topic round: mentors must list it as a strength.")] = None,
    sessions: Annotated[int, typer.Option(help="Sessions in the round: 1, 2 or 3.")] = 1,
    week_of: Annotated[date | None, typer.Option(parser=date_value("--week-of"), metavar="YYYY-MM-DD", help="Week the sessions fall in (for time zones).")] = None,
    group_size: Annotated[int | None, typer.Option(help="Small groups: each mentor hosts up to CAPACITY groups of this many mentees.")] = None,
    fair: Annotated[bool, typer.Option("--fair", help="Hold every site's mean fit to a floor (default: the plain result's overall mean).")] = False,
    fair_floor: Annotated[int | None, typer.Option(help="Fairness floor in fit points (implies --fair).")] = None,
    fair_by: Annotated[str, typer.Option(help="Groups the floor applies to: site or program.")] = "site",
    min_site: Annotated[list[str] | None, typer.Option(help='At least this many placements for a high-need site: "Site=N" (repeatable).')] = None,
    max_site: Annotated[list[str] | None, typer.Option(help='At most this many placements for a site: "Site=N" (repeatable).')] = None,
    max_program: Annotated[list[str] | None, typer.Option(help='At most this many placements for a program: "Program=N" (repeatable).')] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds CP-SAT may take for quotas, caps and the floor.")] = 30.0,
    require: Annotated[list[str] | None, typer.Option(help=(
        "Add a hard rule (repeatable): same_subject (both list subjects and share one), cross_site (mentor and "
        "mentee at different, known sites), interest (informational interviews: the mentor's position or site "
        "is in the mentee's `interests` column; positions come from the `position` column)."))] = None,
    relax: Annotated[list[str] | None, typer.Option(help=(
        "Relax a default hard rule (repeatable): grade_band, subject, availability or strengths."))] = None,
    show_report: Annotated[bool, typer.Option("--report", help="Also print match rate and fit per site and program, and mentor load.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write pairs to this CSV (or .xlsx) file.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Print every pair and every unmatched mentee with why (default: the first 20 pairs and the unmatched by cause).")] = False,
) -> None:
    """Match a roster file straight away, with no database: prints the pairs, the unmatched and why.

    The default hard rules are the minimal-match rules of the roster format. --require adds
    same_subject, cross_site or interest on top of them; --relax drops grade_band, subject, availability or strengths.

    Example: [bold]mentorbot match roster.csv --topic "classroom management" --fair --out pairings.csv[/bold]

    Informational interviews: [bold]mentorbot match roster.csv --require interest --require cross_site[/bold]
    """
    from bot import report_match  # start-up time: see the module's docstring
    from bot.matching import (
        RoundSettings, SideConstraints, match_lead, match_round, result_report, rule_names, solve_groups,
        solve_with_side_constraints,
    )

    if not 1 <= sessions <= 3:
        raise MatchOptionError("a round has 1, 2 or 3 sessions")
    if group_size is not None and group_size < 1:
        raise MatchOptionError("--group-size must be at least 1")
    if fair_by not in ("site", "program"):
        raise MatchOptionError(f'--fair-by takes "site" or "program", not "{fair_by}"')
    try:
        required, relaxed = rule_names(require or (), option="require"), rule_names(relax or (), option="relax")
    except ValueError as exc:
        raise MatchOptionError(str(exc)) from None
    quotas = dict(site_minimums=_quotas(min_site, "--min-site"), site_caps=_quotas(max_site, "--max-site"),
                  program_caps=_quotas(max_program, "--max-program"))
    fair = fair or fair_floor is not None
    constrained = fair or any(quotas.values())
    people, week = _people(ctx, roster, week_of)
    settings = RoundSettings(topic=topic, sessions=sessions, session_minutes=context_of(ctx).settings.session_minutes,
                             reference_date=week, require=required, relax=relaxed)
    try:
        if constrained:
            floor = fair_floor
            if fair and floor is None:
                # The program-wide mean of the plain result (groups or pairs, as asked): no site's
                # mentees should fare worse on average.
                plain = (solve_groups(people.participants, settings, group_size=group_size) if group_size is not None
                         else match_round(people.participants, settings))
                mean = result_report(plain, people.participants).mean_fit
                floor = int(mean) if mean is not None else None
            with progress_bar("Matching under the added rules") as progress:
                result = solve_with_side_constraints(people.participants, settings, constraints=SideConstraints(
                    **quotas, fairness_floor=floor, fairness_by=fair_by, time_limit_seconds=time_limit),
                    group_size=group_size, progress=progress)
        elif group_size is not None:
            result = solve_groups(people.participants, settings, group_size=group_size)
        else:
            result = match_round(people.participants, settings)
    except ValueError as exc:
        raise MatchOptionError(str(exc)) from None
    lead = match_lead(people.participants, settings, result)
    report_match.print_match(console, result, people, lead, show_all=show_all)
    if show_report:
        report_match.print_result_report(console, result_report(result, people.participants))
    if out is not None:
        _write_pairs(out, result)
        console.print(f"Wrote {len(result.pairs)} pairs to {out}")


def _write_table(out: Path, title: str, headers: list[str], rows: list[list]) -> None:
    """Write rows with the one export writer (`bot.exports`: formula-safe cells), as XLSX for a .xlsx name, else CSV."""
    from bot import exports  # start-up time: see the module's docstring

    table = exports.Table(title, headers, rows, out.stem)
    out.write_bytes(exports.to_xlsx(table) if out.suffix.lower() == ".xlsx" else exports.to_csv(table))


def _write_pairs(out: Path, result) -> None:
    group_of = {(g.mentor, m): g for g in result.groups for m in g.mentees}
    header = ["mentor_email", "mentee_email", "score", "reasons"] + (["group", "group_time"] if result.groups else [])
    rows = []
    for pair in result.pairs:
        row = [pair.mentor, pair.mentee, round(pair.score, 1), "; ".join(pair.reasons)]
        if result.groups:
            group = group_of[(pair.mentor, pair.mentee)]
            row += [group.number, group.time]
        rows.append(row)
    _write_table(out, "Pairs", header, rows)


@app.command("speed")
@friendly_errors
def speed_roster(
    ctx: typer.Context,
    roster: Annotated[Path, typer.Argument(help="Roster file, .csv or .xlsx.")],
    rotations: Annotated[int, typer.Option(help="How many rotations the event has.")],
    minutes: Annotated[int, typer.Option(help="Minutes per rotation.")] = 10,
    per_mentor: Annotated[int, typer.Option(help="Mentees a mentor meets at once in one rotation.")] = 1,
    week_of: Annotated[date | None, typer.Option(parser=date_value("--week-of"), metavar="YYYY-MM-DD", help="Week of the event (for time zones).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the schedule to this CSV.")] = None,
) -> None:
    """Plan a speed-mentoring event from a roster: every rotation each mentee meets a new mentor.

    Grade band, subject, strengths and availability are scored, not required, at a speed event;
    avoid lists and earlier pairings still rule a meeting out.

    Example: [bold]mentorbot speed roster.csv --rotations 8 --minutes 7 --out schedule.csv[/bold]
    """
    from bot import report_match  # start-up time: see the module's docstring
    from bot.matching import RoundSettings, speed_schedule

    if rotations < 1:
        raise MatchOptionError("--rotations must be at least 1")
    if minutes < 1 or per_mentor < 1:
        raise MatchOptionError("--minutes and --per-mentor must be at least 1")
    people, week = _people(ctx, roster, week_of)
    settings = RoundSettings(relax=SPEED_RELAX, reference_date=week)
    schedule = speed_schedule(people.participants, settings, rotations=rotations, minutes=minutes, per_mentor=per_mentor)
    report_match.print_speed(console, schedule, people)
    if out is not None:
        _write_table(out, "Speed mentoring", ["rotation", "mentor_email", "mentee_email", "score"],
                     [[m.rotation, m.mentor, m.mentee, round(m.score, 1)] for m in schedule.meetings])
        console.print(f"Wrote {len(schedule.meetings)} meetings to {out}")


@app.command("pool")
@friendly_errors
def pool_roster(
    ctx: typer.Context,
    roster: Annotated[Path, typer.Argument(help="Roster file, .csv or .xlsx.")],
    topic: Annotated[str | None, typer.Option(help="Check the pool for a topic round.")] = None,
    week_of: Annotated[date | None, typer.Option(parser=date_value("--week-of"), metavar="YYYY-MM-DD", help="Week the sessions fall in (for time zones).")] = None,
) -> None:
    """Pool health before a round: mentors per mentee in each grade band, subject and topic, and who would go unmatched.

    Example: [bold]mentorbot pool roster.csv --topic SEL[/bold]
    """
    from bot import report_match  # start-up time: see the module's docstring
    from bot.matching import RoundSettings, pool_health

    people, week = _people(ctx, roster, week_of)
    settings = RoundSettings(topic=topic, session_minutes=context_of(ctx).settings.session_minutes, reference_date=week)
    report_match.print_pool_health(console, pool_health(people.participants, settings), people.names)
