"""`mentorbot term`: open, list and close terms; decide on mentors; nudge who hasn't answered; the term at a glance.

Every command runs one operation of `bot/actions/terms.py` and imports it when it runs: the actions bring in the
database and the domain, which `--help` and the other commands never need.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import CommandError, ProgramOption, console, date_value, friendly_errors, perform

TermOption = Annotated[str | None, typer.Option(help="Term name (default: the open term).")]

app = typer.Typer(
    help="Open, list and close terms; decide on mentors; nudge who hasn't answered; see where the term stands.", no_args_is_help=True
)


@app.command("open")
@friendly_errors
def term_open(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help='Term name, e.g. "Spring 2027".')],
    opt_in_by: Annotated[date | None, typer.Option(parser=date_value("--opt-in-by"), metavar="YYYY-MM-DD", help="Last day to opt in.")] = None,
    enroll_roster: Annotated[
        bool, typer.Option("--enroll-roster", help="Enroll everyone as their roster row says instead of asking them.")
    ] = False,
    alongside: Annotated[
        bool, typer.Option("--alongside", help="Open it while another term of the program is still open (then name the term in each command).")
    ] = False,
    program: ProgramOption = None,
) -> None:
    """Open a term and ask everyone to opt in (reminders follow), or enroll them as the roster says.

    Example: [bold]mentorbot term open "Spring 2027" --opt-in-by 2027-01-22 --enroll-roster[/bold]
    """
    from bot.actions import terms  # start-up time: see the module's docstring

    opened = perform(ctx, terms.open_term, name=name, opt_in_by=opt_in_by, enroll_roster=enroll_roster, alongside=alongside, program=program)
    console.print(opened.summary(), markup=False, highlight=False)


@app.command("list")
@friendly_errors
def term_list(ctx: typer.Context, program: ProgramOption = None) -> None:
    """List the program's terms.

    Example: [bold]mentorbot term list[/bold]
    """
    from bot.actions import terms  # start-up time: see the module's docstring

    table = Table("term", "status", "opt-in by", "opened")
    for term in perform(ctx, terms.list_terms, program=program):
        table.add_row(term.name, term.status, str(term.opt_in_by or ""), term.opened_at.strftime("%Y-%m-%d") if term.opened_at else "")
    console.print(table)


@app.command("close")
@friendly_errors
def term_close(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Term to close (default: the open term).")] = None,
    program: ProgramOption = None,
) -> None:
    """Close a term once all its rounds are closed.

    Example: [bold]mentorbot term close "Spring 2027"[/bold]
    """
    from bot.actions import terms  # start-up time: see the module's docstring

    term = perform(ctx, terms.close_term, name=name, program=program)
    console.print(f"Closed term [bold]{term.name}[/bold]")


@app.command("approve")
@friendly_errors
def term_approve(
    ctx: typer.Context,
    mentor_email: Annotated[str | None, typer.Argument(help="The mentor's email.")] = None,
    all_waiting: Annotated[
        bool, typer.Option("--all", "--all-pending", help="Approve every mentor still waiting for their principal.")
    ] = False,
    site: Annotated[str | None, typer.Option(help="Approve the waiting mentors of this site (case and spacing don't matter).")] = None,
    principal: Annotated[str | None, typer.Option(help="Approve the waiting mentors whose principal has this email.")] = None,
    decline: Annotated[bool, typer.Option("--decline", help="Decline instead of approving.")] = False,
    capacity: Annotated[int | None, typer.Option(help="Change how many mentees they take this term.")] = None,
    by: Annotated[str, typer.Option(help="Who decided (a principal's email).")] = "admin",
    term: Annotated[str | None, typer.Option(help="Term name (default: the open term).")] = None,
    program: ProgramOption = None,
) -> None:
    """Record a principal's decision on a mentor (the mentor is told), or approve everyone waiting: all, or a site's, or a principal's.

    Examples:
      [bold]mentorbot term approve ana.chen@district.example --capacity 2 --by principal@district.example[/bold]
      [bold]mentorbot term approve --all[/bold]
      [bold]mentorbot term approve --site "Lincoln High"[/bold]
      [bold]mentorbot term approve --principal r.diaz@district.example[/bold]
    """
    from bot.actions import terms  # start-up time: see the module's docstring

    if all_waiting or site is not None or principal is not None:
        if mentor_email or decline or capacity is not None:
            raise CommandError(
                "--all, --site and --principal approve the waiting mentors as they offered: name no mentor, and no --decline or --capacity"
            )
        if (site is not None and not site.strip()) or (principal is not None and not principal.strip()):
            raise CommandError("--site and --principal need a value, e.g. --site \"Lincoln High\"")
        approved = perform(ctx, terms.approve_all, site=site, principal=principal, decided_by=by, term=term, program=program)
        # Hundreds of approvals would bury the total: the first few, then the count (the People page lists everyone).
        for decision in approved.decisions[: terms.SHOWN_DECISIONS]:
            console.print(decision.summary(), markup=False, highlight=False)
        if len(approved.decisions) > terms.SHOWN_DECISIONS:
            console.print(f"… and {len(approved.decisions) - terms.SHOWN_DECISIONS} more.", highlight=False)
        console.print(approved.summary(), markup=False, highlight=False)
        return
    if not mentor_email or not mentor_email.strip():
        raise CommandError("name the mentor by email (mentorbot term approve ana.chen@district.example), or use --all, --site or --principal")
    decision = perform(
        ctx, terms.decide_on_mentor, mentor_email=mentor_email.strip(), approve=not decline, capacity=capacity, decided_by=by, term=term,
        program=program,
    )  # fmt: skip
    console.print(decision.summary(), markup=False, highlight=False)


@app.command("nudge")
@friendly_errors
def term_nudge(ctx: typer.Context, term: TermOption = None, program: ProgramOption = None) -> None:
    """Ask again everyone in the open term who hasn't answered: the opt-in, their profile, a principal's decision.

    Running it twice in the same minute reaches each person once.

    Example: [bold]mentorbot term nudge[/bold]
    """
    from bot.actions import terms  # start-up time: see the module's docstring

    reminded = perform(ctx, terms.nudge, term=term, program=program)
    console.print(reminded.summary(), markup=False, highlight=False)


@app.command("status")
@friendly_errors
def term_status(ctx: typer.Context, term: TermOption = None, program: ProgramOption = None) -> None:
    """Show where the open term stands: answers, roles, approvals, profiles, messages waiting and rounds.

    Example: [bold]mentorbot term status[/bold]
    """
    from bot import report  # start-up time: see the module's docstring
    from bot.actions import terms

    report.print_term_status(console, perform(ctx, terms.term_status, term=term, program=program))
