"""`mentorbot import` and `mentorbot export`: people in from roster files, people and pairings out to CSV."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import ProgramOption, chosen_program, console, context_of, err_console, friendly_errors

import_app = typer.Typer(help="Bring people in from files.", no_args_is_help=True)
export_app = typer.Typer(help="Write people and pairings to CSV.", no_args_is_help=True)



@import_app.command("roster")
@friendly_errors
def import_roster_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Roster file, .csv or .xlsx (see the roster format in the README).")],
    strict: Annotated[bool, typer.Option("--strict", help="Import nothing if any row has a problem.")] = False,
    program: ProgramOption = None,
) -> None:
    """Import or update people from a roster; bad rows are reported by line and the good rows still land.

    Example: [bold]mentorbot import roster teachers.csv[/bold]
    """
    # Imported here, not at the top: the importer loads the database and the matcher's pools (start-up time).
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bot import report
    from bot.importer import import_roster

    context = context_of(ctx)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(f"Reading {file.name}", total=None)
        result = import_roster(
            context.engine,
            file,
            program_name=chosen_program(context, program, district_wide=True),  # the roster serves every program's pool
            default_timezone=context.settings.default_timezone,
            now=context.now,
            strict=strict,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    report.print_import(console, result)
    for name, (added, removed) in result.pool_changes.items():
        if added or removed:
            console.print(f"Pool of {name}: {added} joined, {removed} left.", highlight=False)
    if result.strict_rejected:
        raise typer.Exit(1)


@export_app.command("pairings")
@friendly_errors
def export_pairings(
    ctx: typer.Context,
    round_id: Annotated[int, typer.Argument(help="Round number.")],
    out: Annotated[Path, typer.Option(help="CSV file to write.")] = Path("pairings.csv"),
) -> None:
    """Write a round's pairs with scores and reasons to CSV.

    Example: [bold]mentorbot export pairings 1 --out spring-round-1.csv[/bold]
    """
    # Imported here, not at the top: the round service loads the database and the matcher (start-up time).
    from bot.rounds import service

    _round, pairs = service.round_pairs(context_of(ctx).engine, round_id=round_id)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mentor_email", "mentee_email", "mentor_name", "mentee_name", "score", "status", "reasons"])
        for pair in pairs:
            writer.writerow([pair.mentor_email, pair.mentee_email, pair.mentor_name, pair.mentee_name, f"{pair.score:.1f}", pair.status, "; ".join(pair.reasons)])
    console.print(f"Wrote {len(pairs)} pairs to {out}")


@export_app.command("people")
@friendly_errors
def export_people(
    ctx: typer.Context, out: Annotated[Path, typer.Option(help="CSV file to write.")] = Path("people.csv"), program: ProgramOption = None
) -> None:
    """Write everyone on file as a roster CSV that `mentorbot import roster` reads back.

    Example: [bold]mentorbot export people --out roster-backup.csv[/bold]
    """
    # Imported here, not at the top: the importer loads the database and the matcher's pools (start-up time).
    from bot.importer import write_roster_csv

    context = context_of(ctx)
    count = write_roster_csv(context.engine, out, program_name=chosen_program(context, program))
    console.print(f"Wrote {count} people to {out}")
