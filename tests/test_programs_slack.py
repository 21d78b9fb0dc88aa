"""/mentoring with several programs, through signed requests into the app: --program picks one, a program's own
admins act on that program only, and `program list` shows them all."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from bot.programs.store import apply_specs
from bot.programs.yamlfile import parse_programs
from bot.rounds import service
from storage import repo
from storage.db import session_scope
from tests.slack_helpers import ADMIN, PROGRAM, slack_harness

PROGRAMS = f"""\
- name: {PROGRAM}
  admins: [UBEN00001]
  require_approval: false
- name: SEL Series
  admins: [UCY000001]
  pool:
    sites: [Lincoln]
  require_approval: false
  custom_questions:
    - key: hope
      prompt: What would make this worth your time?
"""


async def _run(h, user: str, text: str) -> str:
    response, url = await h.driver.command(user, text)
    assert response.status_code == 200 and response.text == ""  # acknowledged at once; the answer follows by response_url
    return json.dumps(await h.responses(url), ensure_ascii=False)


async def test_program_admins_run_commands_for_their_own_program_only(tmp_path: Path, database_url: str) -> None:
    now = datetime.now(timezone.utc)
    async with slack_harness(tmp_path, database_url) as h:
        apply_specs(h.engine, parse_programs(PROGRAMS), now=now)
        opened = await _run(h, "UCY000001", 'term open "Fall 2026" -p "SEL Series"')
        assert "Opened *Fall 2026*" in opened and "Asked 3 people" in opened  # Lincoln only: Ana, Dee and Pat
        with session_scope(h.engine) as session:
            sel = repo.get_program(session, name="SEL Series")
            term = repo.get_term(session, program_id=sel.id, name="Fall 2026")
            assert {p.email for _e, p in repo.enrollments(session, term_id=term.id)} == {"ana@d.example", "dee@d.example", "pat@d.example"}
        assert f":lock: Only the program's admins of {PROGRAM} can do that" in await _run(h, "UCY000001", "status")  # the default program is not theirs
        assert ":lock: Only the program's admins of SEL Series can do that" in await _run(h, "UBEN00001", "status --program 'SEL Series'")
        assert ":lock: Only the program's admins of SEL Series" in await _run(h, "UANA00001", "round list -p 'SEL Series'")  # a member, not an admin

        ben_opened = await _run(h, "UBEN00001", 'term open "Fall 2026"')
        assert "Opened *Fall 2026*" in ben_opened and "Asked 5 people" in ben_opened  # everyone, the same term name
        request = service.RoundRequest(kind="micro", sessions=1)
        sel_round = service.create_round(h.engine, program_name="SEL Series", term_name="Fall 2026", request=request, now=now)
        # A round is acted on in its own program: another program's admin is refused, and naming the wrong program is refused.
        refused = await _run(h, "UBEN00001", f"round open {sel_round.id}")
        assert ":lock: Only the program's admins of SEL Series can do that" in refused
        mistyped = await _run(h, ADMIN, f"round open {sel_round.id} -p '{PROGRAM}'")
        assert f"Round {sel_round.id} belongs to SEL Series, not {PROGRAM}" in mistyped and "--program" in mistyped
        with session_scope(h.engine) as session:
            assert repo.get_round(session, round_id=sel_round.id).status == "draft"
        assert "collecting" in await _run(h, "UCY000001", f"round open {sel_round.id} -p 'SEL Series'")

        shown = await _run(h, "UCY000001", "program show -p 'SEL Series'")
        assert "hope: What would make this worth your time?" in shown
        listing = await _run(h, ADMIN, "program list")
        assert "SEL Series" in listing and PROGRAM in listing and "pool 3" in listing
        unknown = await _run(h, ADMIN, "status -p 'Speed Day'")
        assert "the programs are: SEL Series, Slack Program" in unknown


async def test_someone_in_two_programs_sees_each_in_mentoring_me(tmp_path: Path, database_url: str) -> None:
    now = datetime.now(timezone.utc)
    async with slack_harness(tmp_path, database_url) as h:
        apply_specs(h.engine, parse_programs(PROGRAMS), now=now)
        await _run(h, "UBEN00001", 'term open "Fall 2026"')
        before = await _run(h, "UANA00001", "me")
        assert "*Fall 2026*, Ana Chen: you haven't answered the opt-in yet" in before and "SEL Series" not in before
        await _run(h, "UCY000001", 'term open "SEL Term" -p "SEL Series"')
        both = await _run(h, "UANA00001", "me")
        assert f"*{PROGRAM}* (Fall 2026), Ana Chen" in both and "*SEL Series* (SEL Term), Ana Chen" in both
        ben = await _run(h, "UBEN00001", "me")  # not in SEL's pool: only the default program
        assert "SEL" not in ben and "*Fall 2026*, Ben Ortiz" in ben


def test_program_question_add_takes_a_kind_and_refuses_a_bad_one(engine, now) -> None:
    from bot import dialogs
    from bot.settings import Settings
    from bot.slack import admin

    settings = Settings(_env_file=None, program_name="SEL Series")
    apply_specs(engine, parse_programs(PROGRAMS), now=now)
    actor = admin.slack_actor("UCY000001", site_admin=False, member=None)  # SEL Series names them its admin
    added = admin.run(engine, settings, admin.parse('program question add style "Feedback?" --kind choice --options "Notes; Chat" --required -p "SEL Series"'), actor=actor, now=now)
    assert "Question *style* added" in str(added)
    refused = admin.run(engine, settings, admin.parse('program question add mood "Mood?" --kind scale --min 5 --max 1'), actor=actor, now=now)
    assert "A scale runs from min to max" in str(refused)
    with session_scope(engine) as session:
        options = dialogs.ProgramOptions.of(repo.get_program(session, name="SEL Series"))
    assert [(q.key, q.kind, q.options, q.required) for q in options.custom_questions] == [
        ("hope", "text", (), False), ("style", "choice", ("Notes", "Chat"), True),
    ]
    shown = str(admin.run(engine, settings, admin.parse("program show"), actor=actor, now=now))
    assert "style: Feedback? (choice: Notes, Chat)" in shown


async def test_profile_with_a_program_opens_that_programs_questions(tmp_path: Path, database_url: str) -> None:
    from bot import dialogs
    from tests.slack_helpers import wait_for

    now = datetime.now(timezone.utc)
    async with slack_harness(tmp_path, database_url) as h:
        apply_specs(h.engine, parse_programs(PROGRAMS), now=now)
        await _run(h, "UBEN00001", 'term open "Fall 2026"')
        await _run(h, "UCY000001", 'term open "SEL Term" -p "SEL Series"')
        ana = h.person_id("ana@d.example")
        with session_scope(h.engine) as session:
            sel = repo.get_program(session, name="SEL Series")
            sel_id, sel_term = sel.id, repo.get_term(session, program_id=sel.id, name="SEL Term").id
        dialogs.answer(h.engine, person_id=ana, flow="opt_in", context=dialogs.context_key(flow="opt_in", term_id=sel_term), channel="slack", replies={"role": "mentee"}, now=now)

        await h.driver.command("UANA00001", 'profile -p "SEL Series"')
        modal = await wait_for(lambda: h.standin.open_view_of("UANA00001"), what="the SEL profile page")
        page = json.loads(modal["private_metadata"])
        assert page["c"] == f"term:{sel_term}"  # the SEL term's dialog, not the default program's
        assert f"custom:{sel_id}:hope" in page["k"] + page["r"]  # with SEL's own question

        refused = await _run(h, "UBEN00001", 'profile -p "SEL Series"')  # Ben is not in SEL's pool
        assert "No mentoring term is open right now in *SEL Series* for you" in refused
