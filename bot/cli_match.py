"""`mentorbot match`, `speed` and `pool`: matching straight from a roster file, with no database."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot import report_match
from bot.rounds import service

# Speed events bring everyone to one room at one time and rotate quickly: the grade-band,
# subject, strengths and availability rules score a conversation instead of ruling it out.
SPEED_RELAX = frozenset({"grade_band", "subject", "strengths", "availability"})


class MatchOptionError(service.RoundError):
    """A match, speed or pool request that cannot be carried out; the message says why."""


@dataclass
class RosterPeople:
    """The people of a roster file as the matcher sees them."""

    participants: list
    names: dict[str, str]
    skipped_rows: list = field(default_factory=list)

    @property
    def mentors(self) -> int:
        return sum(1 for p in self.participants if p.role in ("mentor", "both") and p.capacity > 0)

    @property
    def mentees(self) -> int:
        return sum(1 for p in self.participants if p.role in ("mentee", "both"))


def roster_participants(rows, *, week_of: date, default_capacity: int = 1) -> list:
    """The matcher's view of parsed roster rows, as `match_roster_file` builds it but without the
    storage models in between (a 75k-row roster converts in about a second)."""
    from functools import lru_cache

    from bot.matching.availability import weekly_windows_many
    from bot.matching.graph import no_gc_pauses
    from bot.matching.model import participants_from_columns

    # Roster rows are already trimmed, de-duplicated and (emails) lower-cased by the reader. Rows
    # repeat the same lists again and again, so each distinct list becomes one shared frozenset.
    frozen = lru_cache(maxsize=None)(frozenset)
    rows = list(rows)
    with no_gc_pauses():
        # One pass over the rows reads every field (the columns come out of a C-level transpose).
        (email, name, role, site, program, bands, subjects, strengths, needs, slots, timezone, capacity, avoid,
         custom) = zip(*map(_ROW_FIELDS, rows)) if rows else ((),) * 14
        availability = weekly_windows_many(slots, timezone, week_of)
        mentoring = ("mentor", "both")
        columns = {
            "key": email, "name": name, "role": role, "site": site, "program": program,
            "grade_bands": list(map(frozen, bands)),
            "subjects": list(map(frozen, subjects)),
            "strengths": list(map(frozen, strengths)),
            "needs": list(map(tuple, needs)),
            "availability": availability,
            "timezone": timezone,
            "capacity": [
                max((count if count is not None else default_capacity), 0) if part in mentoring else 0
                for part, count in zip(role, capacity)
            ],
            "avoid": list(map(frozen, avoid)),
        }
        # Position and interests live in their own columns or among the custom answers.
        if any(custom) or any(map(hasattr, rows, repeat("position"))):
            no_interests: frozenset[str] = frozenset()
            extra = [bool(answers) or hasattr(row, "position") for row, answers in zip(rows, custom)]
            columns["position"] = [_row_position(row) if wanted else None for row, wanted in zip(rows, extra)]
            columns["interests"] = [frozen(_row_interests(row)) if wanted else no_interests
                                    for row, wanted in zip(rows, extra)]
        return participants_from_columns(columns)


_ROW_FIELDS = attrgetter("email", "name", "role", "site", "program", "grade_bands", "subjects", "strengths", "needs",
                         "availability", "timezone", "capacity", "avoid", "custom")


def _custom_answer(row, column: str) -> str | None:
    # Columns the roster reader does not know arrive as custom answers, headers as written.
    for title, value in row.custom:
        if title.strip().casefold() == column:
            return value
    return None


def _row_position(row) -> str | None:
    """The `position` column: a person's job title or role at work."""
    value = getattr(row, "position", None) or _custom_answer(row, "position")
    return value.strip() or None if isinstance(value, str) else None


def _row_interests(row) -> tuple[str, ...]:
    """The `interests` column: positions or sites a mentee wants to learn about, `;`-separated."""
    value = getattr(row, "interests", None)
    if value is None:
        value = _custom_answer(row, "interests") or ""
    items = value.split(";") if isinstance(value, str) else value
    return tuple(sorted({item.strip() for item in items if item.strip()}))


def read_roster_people(path: Path, *, default_timezone: str, week_of: date) -> RosterPeople:
    """Read a roster file for matching; bad rows are left out and reported."""
    from bot.roster import read_roster

    read = read_roster(path, default_timezone=default_timezone)
    return RosterPeople(
        participants=roster_participants(read.rows, week_of=week_of),
        names=distinct_names((row.email, row.name) for row in read.rows),
        skipped_rows=read.errors,
    )


def distinct_names(people) -> dict[str, str]:
    """Each (email, name)'s name as printed: with the email added when someone else has the same name,
    so two different people never look like one person listed twice."""
    people = [(email, name.strip()) for email, name in people]
    emails_by_name: dict[str, set[str]] = {}
    for email, name in people:
        emails_by_name.setdefault(name.casefold(), set()).add(email)
    shown = {}
    for email, name in people:
        if not name:
            shown[email] = email
        elif len(emails_by_name[name.casefold()]) > 1:
            shown[email] = f"{name} ({email})"
        else:
            shown[email] = name
    return shown


def register(app: typer.Typer) -> None:
    """Add the roster-file matching commands to the `mentorbot` app."""
    from bot.cli import friendly_errors

    app.command("match")(friendly_errors(match_roster))
    app.command("speed")(friendly_errors(speed_roster))
    app.command("pool")(friendly_errors(pool_roster))


def _quotas(values: list[str] | None, option: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values or ():
        name, sep, count = value.rpartition("=")
        if not sep or not name.strip() or not count.strip().isdecimal():
            raise MatchOptionError(f'{option} takes NAME=COUNT, like {option} "Lincoln Elementary=12"; got "{value}"')
        out[name.strip()] = int(count)
    return out


def _people(ctx: typer.Context, roster: Path, week_of: date | None) -> tuple[RosterPeople, date]:
    from bot.cli import _ctx

    context = _ctx(ctx)
    week = week_of or context.now.date()
    return read_roster_people(roster, default_timezone=context.settings.default_timezone, week_of=week), week


def match_roster(
    ctx: typer.Context,
    roster: Annotated[Path, typer.Argument(help="Roster file, .csv or .xlsx.")],
    topic: Annotated[str | None, typer.Option(help="Topic round: mentors must list it as a strength.")] = None,
    sessions: Annotated[int, typer.Option(help="Sessions in the round: 1, 2 or 3.")] = 1,
    week_of: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"], help="Week the sessions fall in (for time zones).")] = None,
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
    show_report: Annotated[bool, typer.Option("--report", help="Also print match rate and fit per site and program, and mentor load.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write pairs to this CSV.")] = None,
) -> None:
    """Match a roster file straight away, with no database: prints the pairs, the unmatched and why.

    The default hard rules are the minimal-match rules of the roster format. --require adds
    same_subject, cross_site or interest on top of them.

    Example: [bold]mentorbot match roster.csv --topic "classroom management" --fair --out pairings.csv[/bold]

    Informational interviews: [bold]mentorbot match roster.csv --require interest --require cross_site[/bold]
    """
    from bot.cli import console
    from bot.matching import RoundSettings, SideConstraints, match_round, result_report, solve_groups
    from bot.matching import solve_with_side_constraints

    if not 1 <= sessions <= 3:
        raise MatchOptionError("a round has 1, 2 or 3 sessions")
    if group_size is not None and group_size < 1:
        raise MatchOptionError("--group-size must be at least 1")
    if fair_by not in ("site", "program"):
        raise MatchOptionError(f'--fair-by takes "site" or "program", not "{fair_by}"')
    from bot.matching import ADDABLE_RULES

    required = frozenset(rule.strip().lower().replace("-", "_") for rule in require or ())
    if required - ADDABLE_RULES:
        unknown = ", ".join(sorted(required - ADDABLE_RULES))
        raise MatchOptionError(f"--require takes {', '.join(sorted(ADDABLE_RULES))}; got {unknown}")
    quotas = dict(site_minimums=_quotas(min_site, "--min-site"), site_caps=_quotas(max_site, "--max-site"),
                  program_caps=_quotas(max_program, "--max-program"))
    fair = fair or fair_floor is not None
    constrained = fair or any(quotas.values())
    from bot.cli import _ctx

    people, week = _people(ctx, roster, week_of)
    settings = RoundSettings(topic=topic, sessions=sessions, session_minutes=_ctx(ctx).settings.session_minutes,
                             reference_date=week, require=required)
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
            result = solve_with_side_constraints(people.participants, settings, constraints=SideConstraints(
                **quotas, fairness_floor=floor, fairness_by=fair_by, time_limit_seconds=time_limit),
                group_size=group_size)
        elif group_size is not None:
            result = solve_groups(people.participants, settings, group_size=group_size)
        else:
            result = match_round(people.participants, settings)
    except ValueError as exc:
        raise MatchOptionError(str(exc)) from None
    report_match.print_match(console, result, people)
    if show_report:
        report_match.print_result_report(console, result_report(result, people.participants))
    if out is not None:
        _write_pairs(out, result)
        console.print(f"Wrote {len(result.pairs)} pairs to {out}")


def _write_pairs(out: Path, result) -> None:
    group_of = {(g.mentor, m): g for g in result.groups for m in g.mentees}
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        header = ["mentor_email", "mentee_email", "score", "reasons"]
        writer.writerow(header + (["group", "group_time"] if result.groups else []))
        for pair in result.pairs:
            row = [pair.mentor, pair.mentee, f"{pair.score:.1f}", "; ".join(pair.reasons)]
            if result.groups:
                group = group_of[(pair.mentor, pair.mentee)]
                row += [str(group.number), group.time]
            writer.writerow(row)


def speed_roster(
    ctx: typer.Context,
    roster: Annotated[Path, typer.Argument(help="Roster file, .csv or .xlsx.")],
    rotations: Annotated[int, typer.Option(help="How many rotations the event has.")],
    minutes: Annotated[int, typer.Option(help="Minutes per rotation.")] = 10,
    per_mentor: Annotated[int, typer.Option(help="Mentees a mentor meets at once in one rotation.")] = 1,
    week_of: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"], help="Week of the event (for time zones).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the schedule to this CSV.")] = None,
) -> None:
    """Plan a speed-mentoring event from a roster: every rotation each mentee meets a new mentor.

    Grade band, subject, strengths and availability are scored, not required, at a speed event;
    avoid lists and earlier pairings still rule a meeting out.

    Example: [bold]mentorbot speed roster.csv --rotations 8 --minutes 7 --out schedule.csv[/bold]
    """
    from bot.cli import console
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
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["rotation", "mentor_email", "mentee_email", "score"])
            for meeting in schedule.meetings:
                writer.writerow([meeting.rotation, meeting.mentor, meeting.mentee, f"{meeting.score:.1f}"])
        console.print(f"Wrote {len(schedule.meetings)} meetings to {out}")


def pool_roster(
    ctx: typer.Context,
    roster: Annotated[Path, typer.Argument(help="Roster file, .csv or .xlsx.")],
    topic: Annotated[str | None, typer.Option(help="Check the pool for a topic round.")] = None,
    week_of: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"], help="Week the sessions fall in (for time zones).")] = None,
) -> None:
    """Pool health before a round: mentors per mentee in each grade band, subject and topic, and who would go unmatched.

    Example: [bold]mentorbot pool roster.csv --topic SEL[/bold]
    """
    from bot.cli import _ctx, console
    from bot.matching import RoundSettings, pool_health

    people, week = _people(ctx, roster, week_of)
    settings = RoundSettings(topic=topic, session_minutes=_ctx(ctx).settings.session_minutes, reference_date=week)
    report_match.print_pool_health(console, pool_health(people.participants, settings), people.names)
