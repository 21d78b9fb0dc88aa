"""`mentorbot program apply|export|list|show`: programs defined by YAML files kept in version control."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.programs.store import apply_specs, export_specs, list_programs
from bot.programs.yamlfile import ProgramFileError, dump_programs, read_programs

program_app = typer.Typer(help="Define programs in YAML files: apply, export, list and show them.", no_args_is_help=True)


def program_apply(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="YAML file with one program or a list of programs.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and say what would change; change nothing.")] = False,
) -> None:
    """Create or update programs from a YAML file; a bad file is reported line by line and changes nothing.

    Example: [bold]mentorbot program apply programs.yaml --dry-run[/bold]
    """
    from bot.cli import _ctx, console, err_console

    context = _ctx(ctx)
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


def program_export(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Programs to export (default: all).")] = None,
    out: Annotated[Path | None, typer.Option(help="YAML file to write (default: print it).")] = None,
) -> None:
    """Write programs as YAML that `mentorbot program apply` reads back unchanged.

    Example: [bold]mentorbot program export "New Teacher Induction" --out induction.yaml[/bold]
    """
    from bot.cli import _ctx, console

    specs = export_specs(_ctx(ctx).engine, names=names or None)
    text = dump_programs(specs) if specs else ""
    if out is None:
        print(text, end="")
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote {len(specs)} program{'' if len(specs) == 1 else 's'} to {out}", highlight=False)


def program_list(ctx: typer.Context) -> None:
    """List the programs with their pools, admins and questions.

    Example: [bold]mentorbot program list[/bold]
    """
    from bot.cli import _ctx, console

    table = Table("program", "time zone", "pool", "admins", "questions", "open terms")
    from sqlmodel import select

    from storage.db import session_scope
    from storage.models import Term

    engine = _ctx(ctx).engine
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


def program_show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Program name.")]) -> None:
    """Show one program's definition as YAML.

    Example: [bold]mentorbot program show "New Teacher Induction"[/bold]
    """
    from bot.cli import _ctx

    print(dump_programs(export_specs(_ctx(ctx).engine, names=[name])), end="")


def register(app: typer.Typer) -> None:
    """Add `mentorbot program ...` to the app."""
    from bot.cli import friendly_errors

    program_app.command("apply")(friendly_errors(program_apply))
    program_app.command("export")(friendly_errors(program_export))
    program_app.command("list")(friendly_errors(program_list))
    program_app.command("show")(friendly_errors(program_show))
    app.add_typer(program_app, name="program")
