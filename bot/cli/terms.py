"""`mentorbot term`: open, list and close terms; enroll people and record principal approval."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import ProgramOption, chosen_program, console, context_of, friendly_errors

app = typer.Typer(help="Open, list and close terms; enroll people and record principal approval.", no_args_is_help=True)


@app.command("open")
@friendly_errors
def term_open(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help='Term name, e.g. "Spring 2027".')],
    opt_in_by: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"], help="Last day to opt in.")] = None,
    enroll_roster: Annotated[
        bool, typer.Option("--enroll-roster", help="Enroll everyone as their roster row says instead of asking them.")
    ] = False,
    program: ProgramOption = None,
) -> None:
    """Open a term.

    Example: [bold]mentorbot term open "Spring 2027" --opt-in-by 2027-01-22 --enroll-roster[/bold]
    """
    # Imported here, not at the top: the round service loads the database and the matcher (start-up time).
    from bot import report
    from bot.rounds import service

    context = context_of(ctx)
    settings = context.settings
    program_name = chosen_program(context, program)
    term = service.open_term(
        context.engine,
        program_name=program_name,
        timezone=settings.default_timezone,
        name=name,
        opt_in_by=opt_in_by,
        now=context.now,
    )
    console.print(f"Opened term [bold]{term.name}[/bold]" + (f", opt-in by {term.opt_in_by}" if term.opt_in_by else ""))
    if not enroll_roster:
        # Imported here: inviting and reminding load only when people are asked rather than enrolled.
        from bot.notify import invite_to_term
        from bot.rounds.schedule import schedule_term_reminders

        asked = invite_to_term(context.engine, term_id=term.id, now=context.now)
        schedule_term_reminders(context.engine, term_id=term.id, now=context.now)
        console.print(f"Asked {asked} people to opt in (Slack DM or email); reminders follow after 3 and 7 days.")
    else:
        counts = service.enroll_from_roster(
            context.engine,
            program_name=program_name,
            term_name=term.name,
            require_approval=settings.require_principal_approval,
            now=context.now,
        )
        report.print_enrollment_counts(console, counts)


@app.command("list")
@friendly_errors
def term_list(ctx: typer.Context, program: ProgramOption = None) -> None:
    """List the program's terms.

    Example: [bold]mentorbot term list[/bold]
    """
    # Imported here, not at the top: SQLAlchemy and the models load only when a command uses them (start-up time).
    from storage import repo
    from storage.db import session_scope

    context = context_of(ctx)
    with session_scope(context.engine) as session:
        the_program = repo.get_program(session, name=chosen_program(context, program))
        terms = repo.list_terms(session, program_id=the_program.id)
    table = Table("term", "status", "opt-in by", "opened")
    for term in terms:
        table.add_row(term.name, term.status, str(term.opt_in_by or ""), term.opened_at.strftime("%Y-%m-%d") if term.opened_at else "")
    console.print(table)


@app.command("close")
@friendly_errors
def term_close(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Term to close.")], program: ProgramOption = None) -> None:
    """Close a term once all its rounds are closed.

    Example: [bold]mentorbot term close "Spring 2027"[/bold]
    """
    # Imported here, not at the top: the round service loads the database and the matcher (start-up time).
    from bot.rounds import service

    context = context_of(ctx)
    term = service.close_term(context.engine, program_name=chosen_program(context, program), name=name, now=context.now)
    console.print(f"Closed term [bold]{term.name}[/bold]")


@app.command("approve")
@friendly_errors
def term_approve(
    ctx: typer.Context,
    mentor_email: Annotated[str, typer.Argument(help="The mentor's email.")],
    decline: Annotated[bool, typer.Option("--decline", help="Decline instead of approving.")] = False,
    capacity: Annotated[int | None, typer.Option(help="Change how many mentees they take this term.")] = None,
    by: Annotated[str, typer.Option(help="Who decided (a principal's email).")] = "admin",
    term: Annotated[str | None, typer.Option(help="Term name (default: the open term).")] = None,
    program: ProgramOption = None,
) -> None:
    """Record a principal's decision on a mentor.

    Example: [bold]mentorbot term approve ana.chen@district.example --capacity 2 --by principal@district.example[/bold]
    """
    # Imported here, not at the top: the round service loads the database and the matcher (start-up time).
    from bot.rounds import service

    context = context_of(ctx)
    enrollment = service.decide_approval(
        context.engine,
        program_name=chosen_program(context, program),
        term_name=term,
        mentor_email=mentor_email,
        approve=not decline,
        decided_by=by,
        capacity=capacity,
        now=context.now,
    )
    console.print(f"{mentor_email}: {enrollment.approval}, capacity {enrollment.capacity}")


