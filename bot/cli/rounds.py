"""`mentorbot round`: create micro-mentoring rounds, speed events, topic events and interviews, and move them along.

Every command runs one operation of `bot/actions/rounds.py` and imports it, and the reports, when it runs, not when
this module loads: they bring in the database, OR-Tools and the matcher, which `--help` and the other commands never need.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

import typer

from bot.cli.common import ProgramOption, console, date_value, datetime_value, friendly_errors, perform, progress_bar

app = typer.Typer(
    help="Create micro-mentoring rounds, speed events, topic events and interviews; preview, publish or cancel them.", no_args_is_help=True
)

RoundId = Annotated[int, typer.Argument(help="Round number.")]
ShowAll = Annotated[bool, typer.Option("--all", help="Print every pair and every unmatched mentee with why (default: the first 20 pairs and the unmatched by cause).")]


@app.command("new")
@friendly_errors
def round_new(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="micro, speed, event (topic event) or interview (informational interviews)")],
    topic: Annotated[str | None, typer.Option(help="Topic of a micro round; mentors must list it as a strength.")] = None,
    sessions: Annotated[int, typer.Option(help="Sessions in a micro round or per event topic: 1, 2 or 3.")] = 1,
    start: Annotated[date | None, typer.Option("--start", "--start-on", parser=date_value("--start"), metavar="YYYY-MM-DD", help="First day of sessions (events and interviews: the day sign-ups open and the round announces itself).")] = None,
    match_on: Annotated[date | None, typer.Option(parser=date_value("--match-on"), metavar="YYYY-MM-DD", help="Day the matcher runs by itself.")] = None,
    end: Annotated[date | None, typer.Option("--end", "--end-on", parser=date_value("--end"), metavar="YYYY-MM-DD", help="Last day of the round (events: the event day).")] = None,
    topics: Annotated[str | None, typer.Option(help='Topic events: the topics, separated by ";" (e.g. "SEL; assessment; family communication").')] = None,
    rotations: Annotated[int | None, typer.Option(help="Speed events: partners each mentee meets.")] = None,
    minutes: Annotated[int | None, typer.Option(help="Speed events: minutes per rotation.")] = None,
    at: Annotated[
        datetime | None,
        typer.Option(parser=datetime_value("--at"), metavar="\"YYYY-MM-DD HH:MM\"", help="Speed events: when the first rotation starts, program time."),
    ] = None,
    relax: Annotated[list[str] | None, typer.Option(help="Relax a matching rule for this round (repeatable): grade_band, subject, availability or strengths.")] = None,
    require: Annotated[list[str] | None, typer.Option(help="Add a matching rule for this round (repeatable): same_subject, cross_site or interest.")] = None,
    term: Annotated[str | None, typer.Option(help="Term name (default: the open term).")] = None,
    program: ProgramOption = None,
) -> None:
    """Create a round in the open term; --relax and --require add to the program's own matching rules, for this round.

    Examples:
      [bold]mentorbot round new micro --topic SEL --sessions 2 --start 2027-02-01 --match-on 2027-01-25[/bold]
      [bold]mentorbot round new speed --rotations 6 --minutes 10 --at "2027-03-04 15:30"[/bold]
      [bold]mentorbot round new event --topics "SEL; assessment; family communication" --sessions 1 --start-on 2027-02-01 --match-on 2027-02-05 --end-on 2027-02-09[/bold]
      [bold]mentorbot round new interview --start-on 2027-02-01 --match-on 2027-02-05[/bold]
      [bold]mentorbot round new micro --relax availability --require same_subject[/bold]
    """
    from bot.actions import rounds  # start-up time: see the module's docstring

    request = rounds.RoundRequest(
        kind=kind, topic=topic, topics=topics, sessions=sessions, start_on=start, match_on=match_on, end_on=end, rotations=rotations,
        rotation_minutes=minutes, starts_at=at,  # naive: the program's own wall-clock time
        relax=tuple(relax or ()), require=tuple(require or ()),
    )  # fmt: skip
    round_ = perform(ctx, rounds.create_round, request=request, term=term, program=program)
    console.print(f"Created {round_.kind} round [bold]{round_.id}[/bold] ({round_.status})")
    if relax or require:
        settings = round_.settings or {}
        added = "; ".join(
            part for part in (f"relaxes {', '.join(settings.get('relax') or [])}" if settings.get("relax") else "",
                              f"adds {', '.join(settings.get('require') or [])}" if settings.get("require") else "") if part
        )  # fmt: skip
        console.print(f"Its matching {added} (with the program's own rules).", markup=False, highlight=False)


@app.command("list")
@friendly_errors
def round_list(ctx: typer.Context, term: Annotated[str | None, typer.Option(help="Term name.")] = None, program: ProgramOption = None) -> None:
    """List the term's rounds.

    Example: [bold]mentorbot round list[/bold]
    """
    from bot import report  # start-up time: see the module's docstring
    from bot.actions import rounds

    the_term, listed = perform(ctx, rounds.list_rounds, term=term, program=program)
    report.print_rounds(console, the_term.name, listed)


def _move_command(operation: str, verb: str) -> Callable[..., None]:
    @friendly_errors
    def command(ctx: typer.Context, round_id: RoundId, program: ProgramOption = None) -> None:
        from bot.actions import rounds  # start-up time: see the module's docstring

        moved = perform(ctx, getattr(rounds, operation), round_id=round_id, program=program)
        if moved.announced:
            console.print(f"Announced to {moved.announced} people or channels.")
        console.print(f"Round {moved.round.id} is now [bold]{moved.round.status}[/bold]")

    command.__doc__ = f"{verb}.\n\nExample: [bold]mentorbot round {{name}} 1[/bold]"
    return command


for _name, _operation, _verb in (
    ("open", "open_round", "Open a draft round to participants (collecting); a topic event or interview round announces itself"),
    ("start", "start_round", "Start a published round's sessions"),
    ("close", "close_round", "Close a running round"),
):
    _command = _move_command(_operation, _verb)
    _command.__doc__ = _command.__doc__.replace("{name}", _name)
    app.command(_name)(_command)


@app.command("cancel")
@friendly_errors
def round_cancel(
    ctx: typer.Context,
    round_id: RoundId,
    message: Annotated[str | None, typer.Option(help="A note from the program for everyone who is told the round is off.")] = None,
    program: ProgramOption = None,
) -> None:
    """Call off a round in any state but closed: its pairs are cancelled and nothing it scheduled is sent.

    Everyone already told of a pair (a published or running round) hears once that it is off, with your --message;
    the round is closed, so the term can close.

    Example: [bold]mentorbot round cancel 3 --message "We'll run it again in the autumn."[/bold]
    """
    from bot.actions import rounds  # start-up time: see the module's docstring

    cancelled = perform(ctx, rounds.cancel_round, round_id=round_id, message=message, program=program)
    console.print(cancelled.summary(), highlight=False)


@app.command("preview")
@friendly_errors
def round_preview(
    ctx: typer.Context,
    round_id: RoundId,
    rematch: Annotated[bool, typer.Option("--rematch", help="Run the matcher again on a round already in review.")] = False,
    show_all: ShowAll = False,
    program: ProgramOption = None,
) -> None:
    """Show a round as it would go out: open a draft, match it if it has no pairs yet, and show the pool; nothing is sent.

    Example: [bold]mentorbot round preview 1[/bold]
    """
    from bot import report  # start-up time: see the module's docstring
    from bot.actions import rounds

    with progress_bar("Matching") as progress:
        preview = perform(ctx, rounds.preview_round, round_id=round_id, rematch=rematch, program=program, progress=progress)
    if preview.opened:
        console.print(f"Round {preview.round.id} was a draft: it is open now (collecting), as `round open` does.")
    if preview.matched:
        console.print("The matcher ran on the round's pool just now.")
    elif preview.round.status == "review":
        console.print("These are the pairs of the last match; add --rematch to match again.")
    report.print_round(console, preview.round, preview.pairs, preview.timing, show_all=show_all, closing=False)
    report.print_pool(console, preview.pool)
    if preview.round.status == "review":
        console.print(
            f"Nothing has been sent. Publish with `mentorbot round publish {preview.round.id}`, "
            f"or match again with `mentorbot round preview {preview.round.id} --rematch`.",
            highlight=False,
        )
    report.print_round_lead(console, preview.round)  # last, so it is not scrolled away


@app.command("publish")
@friendly_errors
def round_publish(
    ctx: typer.Context,
    round_id: RoundId,
    message: Annotated[str | None, typer.Option(help="A note from the program added to every pairing notice.")] = None,
    program: ProgramOption = None,
) -> None:
    """Publish a reviewed round: propose session times and schedule notices, reminders, check-ins and the survey.

    Example: [bold]mentorbot round publish 1 --message "Thank you for mentoring this spring!"[/bold]
    """
    from bot.actions import rounds  # start-up time: see the module's docstring

    with progress_bar("Publishing") as progress:
        outcome = perform(ctx, rounds.publish_round, round_id=round_id, message=message, program=program, progress=progress)
    if outcome.timing is not None:  # a speed event: nothing goes out now
        console.print(f"Round {round_id} is now [bold]published[/bold]: {outcome.pairs} meetings.")
        for line in outcome.timing.lines():
            console.print(line, highlight=False)
        return
    console.print(f"Round {round_id} is now [bold]published[/bold]: {outcome.pairs} pairs, {outcome.actions} scheduled actions.")


@app.command("rematch")
@friendly_errors
def round_rematch(
    ctx: typer.Context, pairing_id: Annotated[int, typer.Argument(help="The stalled pairing's number.")], program: ProgramOption = None
) -> None:
    """Cancel a stalled pairing and match its mentee again (never with the same mentor).

    Example: [bold]mentorbot round rematch 12[/bold]
    """
    from bot.actions import rounds  # start-up time: see the module's docstring

    rematched = perform(ctx, rounds.rematch, pairing_id=pairing_id, program=program)
    if rematched.new is None:
        console.print(f"Pairing {pairing_id} is cancelled; no other mentor can take this mentee now.")
    else:
        console.print(f"Pairing {pairing_id} is cancelled; new pairing {rematched.new.id}: {'; '.join(rematched.reasons)}")


@app.command("timeline")
@friendly_errors
def round_timeline(
    ctx: typer.Context,
    round_id: RoundId,
    show_all: Annotated[bool, typer.Option("--all", help="List every scheduled action with whom it is for (default: by day and kind).")] = False,
    program: ProgramOption = None,
) -> None:
    """Show what the round has sent and what is due, day by day in the program's time zone.

    Example: [bold]mentorbot round timeline 1 --all[/bold]
    """
    from bot import report  # start-up time: see the module's docstring
    from bot.actions import rounds

    report.print_timeline(console, perform(ctx, rounds.round_timeline, round_id=round_id, program=program), show_all=show_all)


@app.command("match")
@friendly_errors
def round_match(ctx: typer.Context, round_id: RoundId, show_all: ShowAll = False, program: ProgramOption = None) -> None:
    """Run the matcher on a collecting round (or re-run it in review) and show the proposed pairs.

    A speed event has its rotations planned now (who meets whom in each rotation, who sits out and why), for review.

    Example: [bold]mentorbot round match 1[/bold]
    """
    from bot import report  # start-up time: see the module's docstring
    from bot.actions import rounds

    with progress_bar("Matching") as progress:
        matched = perform(ctx, rounds.match_round, round_id=round_id, program=program, progress=progress)
    report.print_round(console, matched.round, matched.pairs, matched.timing, show_all=show_all, closing=False)
    if matched.round.status == "review":
        console.print(f"Nothing has been sent. Publish with `mentorbot round publish {matched.round.id}`.", highlight=False)
    report.print_round_lead(console, matched.round)  # last, where the reader ends up


@app.command("show")
@friendly_errors
def round_show(ctx: typer.Context, round_id: RoundId, show_all: ShowAll = False, program: ProgramOption = None) -> None:
    """Show a round, its pairs with reasons, and who is unmatched and why.

    Example: [bold]mentorbot round show 1[/bold]
    """
    from bot import report  # start-up time: see the module's docstring
    from bot.actions import rounds

    shown = perform(ctx, rounds.show_round, round_id=round_id, program=program)
    report.print_round(console, shown.round, shown.pairs, shown.timing, show_all=show_all, closing=False)
    console.print(shown.rules.line(), markup=False, highlight=False)
    report.print_round_lead(console, shown.round)  # last, where the reader ends up
