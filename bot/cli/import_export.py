"""`mentorbot import` and `mentorbot export`: people in from roster files, people and pairings out to CSV.

The exports write the same tables as the admin pages and `/mentoring export` with the one export writer
(`bot.exports`), formula-safe: CSV, or XLSX when the --out name ends in .xlsx.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import ProgramOption, console, context_of, err_console, friendly_errors, perform

import_app = typer.Typer(help="Bring people in from files.", no_args_is_help=True)
export_app = typer.Typer(help="Write people and pairings to CSV.", no_args_is_help=True)


@import_app.command("roster")
@friendly_errors
def import_roster_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Roster file, .csv or .xlsx (see the roster format in docs/admin-guide.md).")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Import nothing if any row has a problem or any value would be skipped with a warning.")
    ] = False,
    program: ProgramOption = None,
) -> None:
    """Import or update people from a roster; bad rows are reported by line and the good rows still land.

    A bad optional value (a Slack member ID, a slot, a time zone, ...) is skipped with a warning and its row still lands.

    Example: [bold]mentorbot import roster teachers.csv[/bold]
    """
    # Imported here, not at the top: the roster reader, the importer and the database load only to import (start-up time).
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bot import report
    from bot.actions import roster as roster_actions
    from bot.roster import read_roster

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
        rows = read_roster(
            file, default_timezone=context.settings.default_timezone, on_progress=lambda done, total: progress.update(task, completed=done, total=total)
        )
    # The roster serves every program's pool: without --program it lands under the default program, never refused.
    result = perform(ctx, roster_actions.import_roster, roster=rows, path=file, strict=strict, program=program)
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
    out: Annotated[Path, typer.Option(help="CSV (or .xlsx) file to write.")] = Path("pairings.csv"),
    program: ProgramOption = None,
) -> None:
    """Write a round's pairs with sites, fit, reasons and proposed session times to CSV (the admin pages' columns).

    Example: [bold]mentorbot export pairings 1 --out spring-round-1.csv[/bold]
    """
    # Imported here, not at the top: the exports load the database and openpyxl (start-up time).
    from bot import exports
    from bot.actions import exports as export_actions

    table = perform(ctx, export_actions.export_pairings, round_id=round_id, program=program)
    out.write_bytes(_file_bytes(exports, table, out))
    console.print(f"Wrote {len(table.rows)} pairs to {out}")


@export_app.command("people")
@friendly_errors
def export_people(
    ctx: typer.Context, out: Annotated[Path, typer.Option(help="CSV (or .xlsx) file to write.")] = Path("people.csv"), program: ProgramOption = None
) -> None:
    """Write everyone in the program's pool as a roster CSV that `mentorbot import roster` reads back.

    Example: [bold]mentorbot export people --out roster-backup.csv[/bold]
    """
    # Imported here, not at the top: the exports load the database and openpyxl (start-up time).
    from bot import exports
    from bot.actions import exports as export_actions

    table = perform(ctx, export_actions.export_people, program=program)
    out.write_bytes(_file_bytes(exports, table, out))
    console.print(f"Wrote {len(table.rows)} people to {out}")


def _file_bytes(exports, table, out: Path) -> bytes:
    """The table as the file `out` names: XLSX for .xlsx, CSV otherwise (both formula-safe)."""
    return exports.to_xlsx(table) if out.suffix.lower() == ".xlsx" else exports.to_csv(table)
