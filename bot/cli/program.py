"""`mentorbot program apply|export|list|show`: programs defined by YAML files kept in version control."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import console, context_of, err_console, friendly_errors

app = typer.Typer(help="Define programs in YAML files: apply, export, list and show them.", no_args_is_help=True)


@app.command("apply")
@friendly_errors
def program_apply(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="YAML file with one program or a list of programs.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and say what would change; change nothing.")] = False,
) -> None:
    """Create or update programs from a YAML file; a bad file is reported line by line and changes nothing.

    Example: [bold]mentorbot program apply programs.yaml --dry-run[/bold]
    """
    # Imported here, not at the top: the program store loads the database (start-up time).
    from bot.programs.store import apply_specs
    from bot.programs.yamlfile import ProgramFileError, read_programs

    context = context_of(ctx)
    try:
        specs = read_programs(file)
    except ProgramFileError as exc:
        err_console.print(f"[red]Error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    changes = apply_specs(context.engine, specs, now=context.now, dry_run=dry_run)
    for change in changes:
        console.print(("(dry run) " if dry_run else "") + change.describe(), highlight=False)
    if dry_run:
        console.print("Dry run: nothing was changed.")


@app.command("export")
@friendly_errors
def program_export(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Programs to export (default: all).")] = None,
    out: Annotated[Path | None, typer.Option(help="YAML file to write (default: print it).")] = None,
) -> None:
    """Write programs as YAML that `mentorbot program apply` reads back unchanged.

    Example: [bold]mentorbot program export "New Teacher Induction" --out induction.yaml[/bold]
    """
    # Imported here, not at the top: the program store loads the database (start-up time).
    from bot.programs.store import export_specs
    from bot.programs.yamlfile import dump_programs

    specs = export_specs(context_of(ctx).engine, names=names or None)
    text = dump_programs(specs) if specs else ""
    if out is None:
        print(text, end="")
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote {len(specs)} program{'' if len(specs) == 1 else 's'} to {out}", highlight=False)


@app.command("list")
@friendly_errors
def program_list(ctx: typer.Context) -> None:
    """List the programs with their pools, admins and questions.

    Example: [bold]mentorbot program list[/bold]
    """
    # Imported here, not at the top: the program store and the models load the database (start-up time).
    from sqlmodel import select

    from bot.programs.store import list_programs
    from storage.db import session_scope
    from storage.models import Term

    table = Table("program", "time zone", "pool", "admins", "questions", "open terms")
    engine = context_of(ctx).engine
    rows = list_programs(engine)
    with session_scope(engine) as session:
        open_terms = {
            program.id: ", ".join(t.name for t in session.exec(select(Term).where(Term.program_id == program.id, Term.status == "open")))
            for program, _spec, _size in rows
        }
    for program, spec, size in rows:
        table.add_row(
            program.name, program.timezone, "everyone" if size is None else str(size), str(len(spec.admins)),
            str(len(spec.custom_questions)), open_terms[program.id] or "-",
        )  # fmt: skip
    console.print(table if rows else "No programs yet; create one with `mentorbot program apply FILE`.")


@app.command("show")
@friendly_errors
def program_show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Program name.")]) -> None:
    """Show one program's definition as YAML.

    Example: [bold]mentorbot program show "New Teacher Induction"[/bold]
    """
    # Imported here, not at the top: the program store loads the database (start-up time).
    from bot.programs.store import export_specs
    from bot.programs.yamlfile import dump_programs

    print(dump_programs(export_specs(context_of(ctx).engine, names=[name])), end="")
