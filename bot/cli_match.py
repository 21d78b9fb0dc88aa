"""`mentorbot match` (and its relatives): matching straight from a roster file, with no database."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot import report
from bot.rounds import service


def register(app: typer.Typer) -> None:
    """Add the roster-file matching commands to the `mentorbot` app."""
    from bot.cli import friendly_errors

    app.command("match")(friendly_errors(match_roster))


def match_roster(
    ctx: typer.Context,
    roster: Annotated[Path, typer.Argument(help="Roster file, .csv or .xlsx.")],
    topic: Annotated[str | None, typer.Option(help="Topic round: mentors must list it as a strength.")] = None,
    sessions: Annotated[int, typer.Option(help="Sessions in the round: 1, 2 or 3.")] = 1,
    week_of: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"], help="Week the sessions fall in (for time zones).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write pairs to this CSV.")] = None,
) -> None:
    """Match a roster file straight away, with no database: prints the pairs, the unmatched and why.

    Example: [bold]mentorbot match roster.csv --topic "classroom management" --out pairings.csv[/bold]
    """
    from bot.rounds.participants import match_roster_file

    from bot.cli import _ctx, console

    context = _ctx(ctx)
    if not 1 <= sessions <= 3:
        raise service.RoundError("a round has 1, 2 or 3 sessions")
    outcome = match_roster_file(
        roster,
        default_timezone=context.settings.default_timezone,
        topic=topic,
        sessions=sessions,
        session_minutes=context.settings.session_minutes,
        week_of=week_of or context.now.date(),
    )
    report.print_roster_match(console, outcome)
    if out is not None:
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["mentor_email", "mentee_email", "score", "reasons"])
            for pair in outcome.result.pairs:
                writer.writerow([pair.mentor, pair.mentee, f"{pair.score:.1f}", "; ".join(pair.reasons)])
        console.print(f"Wrote {len(outcome.result.pairs)} pairs to {out}")
