"""`mentorbot program`: programs defined by YAML files kept in version control, and their settings one at a time.

Every command runs one operation of `bot/actions/programs.py`, imported when it runs: the program store loads the
database, which `--help` never needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from bot.cli.common import ProgramOption, console, friendly_errors, perform

app = typer.Typer(help="Define programs in YAML files (apply, export, list, show); change one setting or question.", no_args_is_help=True)
question_app = typer.Typer(help="Add or remove a custom profile question of the program.", no_args_is_help=True)
app.add_typer(question_app, name="question")


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
    from bot.actions import programs  # start-up time: see the module's docstring
    from bot.programs.yamlfile import read_programs

    specs = read_programs(file)  # a bad file is a ProgramFileError: every problem with its line, exit code 1
    changes = perform(ctx, programs.apply_programs, specs=specs, dry_run=dry_run)
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
    from bot.actions import programs  # start-up time: see the module's docstring
    from bot.programs.yamlfile import dump_programs

    specs = perform(ctx, programs.export_programs, names=names or None)
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
    from bot.actions import programs  # start-up time: see the module's docstring

    table = Table("program", "time zone", "pool", "admins", "questions", "open terms")
    summaries = perform(ctx, programs.program_summaries)
    for row in summaries:
        table.add_row(
            row.program.name, row.program.timezone, "everyone" if row.pool_size is None else str(row.pool_size), str(len(row.spec.admins)),
            str(len(row.spec.custom_questions)), ", ".join(row.open_terms) or "-",
        )  # fmt: skip
    console.print(table if summaries else "No programs yet; create one with `mentorbot program apply FILE`.")


@app.command("show")
@friendly_errors
def program_show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Program name.")]) -> None:
    """Show one program's definition as YAML, then (as YAML comments) what applies where the file and the settings meet.

    Example: [bold]mentorbot program show "New Teacher Induction"[/bold]
    """
    from bot.actions import programs  # start-up time: see the module's docstring
    from bot.programs.yamlfile import dump_programs

    specs = perform(ctx, programs.export_programs, names=[name])
    view = perform(ctx, programs.show_program, program=specs[0].name)
    print(dump_programs(specs), end="")
    print(f"# {view.approval.line()}")


@app.command("set")
@friendly_errors
def program_set(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="require_approval, max_capacity, topics, subjects, admin_emails or allow_weekends.")],
    value: Annotated[str, typer.Argument(help='on/off, a number, or a list separated by ";" (e.g. "SEL; assessment").')],
    program: ProgramOption = None,
) -> None:
    """Change one setting of the program, checked as its definition file would be.

    Examples:
      [bold]mentorbot program set require_approval off[/bold]
      [bold]mentorbot program set topics "SEL; assessment; family communication"[/bold]
    """
    from bot.actions import programs  # start-up time: see the module's docstring

    stored = perform(ctx, programs.set_option, key=key.strip().lower(), value=value, program=program)
    console.print(f"{key.strip().lower()} is now [bold]{escape(_shown(stored))}[/bold].")


@question_app.command("add")
@friendly_errors
def question_add(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="One word of letters, digits and _, e.g. coaching_style.")],
    prompt: Annotated[str, typer.Argument(help="The question as people read it.")],
    kind: Annotated[str, typer.Option(help="text, choice, multi_choice or scale.")] = "text",
    options: Annotated[str | None, typer.Option(help='Choices separated by ";" (choice and multi_choice).')] = None,
    minimum: Annotated[int | None, typer.Option("--min", help="Lowest number of a scale (default 1).")] = None,
    maximum: Annotated[int | None, typer.Option("--max", help="Highest number of a scale (default 5).")] = None,
    required: Annotated[bool, typer.Option("--required", help="The profile is not complete without an answer.")] = False,
    program: ProgramOption = None,
) -> None:
    """Add a custom profile question (or replace the one with this key); everyone's profile asks it from now on.

    Example: [bold]mentorbot program question add coaching_style "How do you like feedback?" --kind choice --options "Written notes; A quick chat"[/bold]
    """
    from bot.actions import programs  # start-up time: see the module's docstring

    question = perform(
        ctx, programs.add_question, key=key, prompt=prompt, kind=kind.strip().lower(), options=options, minimum=minimum, maximum=maximum,
        required=required, program=program,
    )  # fmt: skip
    console.print(f"Question [bold]{question.key}[/bold] added; everyone's profile asks it from now on.")


@question_app.command("remove")
@friendly_errors
def question_remove(
    ctx: typer.Context, key: Annotated[str, typer.Argument(help="The question's key.")], program: ProgramOption = None
) -> None:
    """Remove a custom profile question (answers already given stay in people's data).

    Example: [bold]mentorbot program question remove coaching_style[/bold]
    """
    from bot.actions import programs  # start-up time: see the module's docstring

    perform(ctx, programs.remove_question, key=key, program=program)
    console.print(f"Question [bold]{key.strip().lower()}[/bold] removed.")


def _shown(stored: Any) -> str:
    """A stored setting as it was typed: on/off, a number, or a list separated by ";"."""
    if isinstance(stored, bool):
        return "on" if stored else "off"
    if isinstance(stored, list):
        return "; ".join(stored)
    return str(stored)
