"""Two programs in one district, both running a term called "Fall 2026": people, questions, answers and messages
never cross from one to the other (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot import dialogs, exports, notify
from bot.email.questions import dialog_view
from bot.email.render import render_notice
from bot.flows import PROFILE, questions_for
from bot.importer import import_roster
from bot.programs.pools import members_pool
from bot.programs.store import apply_specs
from bot.programs.yamlfile import parse_programs
from bot.rounds import service
from bot.rounds.schedule import ScheduleConfig, publish_round, run_due_actions
from bot.settings import Settings
from bot.slack import admin
from bot.slack import blocks as bk
from bot.slack.store import member_for
from storage import repo
from storage.db import session_scope
from storage.models import Enrollment, OutboxMessage, Pairing, Person, Program, ProfileAnswer

TERM = "Fall 2026"
HEADER = "email,name,role,slack_user_id,site,grade_bands,subjects,strengths,needs,availability,capacity,position"
ROSTER = (
    "ana@d.example,Ana Chen,mentor,UANA00001,Lincoln,6-8,math,SEL;assessment,,Tue 15:00-17:00,3,mentor teacher",  # both programs
    "ben@d.example,Ben Ortiz,mentee,UBEN00001,Garfield,6-8,math,,SEL,Tue 15:00-17:00,,new teacher",  # induction
    "cy@d.example,Cy Diaz,mentee,,Lincoln,6-8,science,,SEL,Tue 15:00-17:00,,counselor",  # SEL
    "dee@d.example,Dee Park,both,,Garfield,6-8,math,SEL;assessment,SEL,Tue 15:00-17:00,2,mentor teacher",  # induction
    "eve@d.example,Eve Ruiz,mentee,UEVE00001,Roosevelt,6-8,ELA,,SEL,Tue 15:00-17:00,,librarian",  # neither
    "fay@d.example,Fay Kim,mentee,,Lincoln,6-8,math,,SEL,Tue 15:00-17:00,,new teacher",  # both programs
    "gus@d.example,Gus Lee,mentor,UGUS00001,Lincoln,6-8,science,SEL,,Tue 15:00-17:00,2,coach",  # SEL
    "hal@d.example,Hal Moss,mentee,UHAL00001,Lincoln,6-8,math,,SEL,Tue 15:00-17:00,,para",  # excluded from SEL
)
PROGRAMS = """\
- name: Induction
  admins: [UINDADM01, lead@d.example]
  pool:
    positions: [new teacher, mentor teacher]
  rules:
    require: [same_subject]
    allow_both_role: false
  require_approval: false
  custom_questions:
    - key: coaching_style
      prompt: How do you like to get feedback?
      kind: choice
      options: [Written notes, A quick chat]
      required: true
- name: SEL
  admins: [USELADM01]
  pool:
    sites: [Lincoln]
    exclude: [hal@d.example]
  rules:
    relax: [availability]
  require_approval: false
  custom_questions:
    - key: hope
      prompt: What would make this series worth your time?
"""
INDUCTION_POOL = {"ana@d.example", "ben@d.example", "dee@d.example", "fay@d.example"}
SEL_POOL = {"ana@d.example", "cy@d.example", "fay@d.example", "gus@d.example"}
CONFIG = ScheduleConfig(session_minutes=30, public_base_url="http://mentorbot.test", slack_admin_ids=())


@pytest.fixture
def district(engine: Engine, now: datetime, tmp_path: Path) -> dict[str, int]:
    """The roster imported, both programs applied, and a "Fall 2026" term open in each; {program name: term id}."""
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([HEADER, *ROSTER]) + "\n", encoding="utf-8")
    report = import_roster(engine, roster, program_name="Induction", default_timezone="America/Los_Angeles", now=now)
    assert report.created == len(ROSTER)
    apply_specs(engine, parse_programs(PROGRAMS), now=now)
    terms = {}
    for name in ("Induction", "SEL"):
        term = service.open_term(engine, program_name=name, timezone="America/Los_Angeles", name=TERM, opt_in_by=None, now=now)
        terms[name] = term.id
    return terms


def _emails(engine: Engine, person_ids) -> set[str]:
    with session_scope(engine) as session:
        return {session.get(Person, person_id).email for person_id in person_ids}


def _new_messages(engine: Engine, after_id: int) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).where(col(OutboxMessage.id) > after_id).order_by(OutboxMessage.id)))


def _last_message_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        return max(session.exec(select(OutboxMessage.id)).all(), default=0)


def _opt_in_everyone(engine: Engine, terms: dict[str, int], now: datetime) -> None:
    with session_scope(engine) as session:
        invited = {name: [(e.person_id, p.role) for e, p in repo.enrollments(session, term_id=term_id)] for name, term_id in terms.items()}
    for name, people in invited.items():
        for person_id, role in people:
            replies = {"role": role, "capacity": "2"} if role in ("mentor", "both") else {"role": role}
            context = dialogs.context_key(flow="opt_in", term_id=terms[name])
            dialogs.answer(engine, person_id=person_id, flow="opt_in", context=context, channel="slack", replies=replies, now=now)


def test_pools_follow_the_filters_and_only_pool_members_are_invited_and_messaged(engine: Engine, now: datetime, district: dict[str, int]) -> None:
    before = _last_message_id(engine)
    asked = {name: notify.invite_to_term(engine, term_id=term_id, now=now) for name, term_id in district.items()}
    assert asked == {"Induction": len(INDUCTION_POOL), "SEL": len(SEL_POOL)}
    messages = _new_messages(engine, before)
    for name, pool in (("Induction", INDUCTION_POOL), ("SEL", SEL_POOL)):
        context = dialogs.context_key(flow="opt_in", term_id=district[name])
        mine = [m for m in messages if m.body.get("context") == context]
        assert _emails(engine, {m.person_id for m in mine}) == pool
        with session_scope(engine) as session:
            enrolled = {p.email for _e, p in repo.enrollments(session, term_id=district[name])}
        assert enrolled == pool
    # Every message belongs to exactly one of the two terms, and nobody outside both pools heard anything.
    assert {m.body["context"] for m in messages} == {f"term:{district['Induction']}", f"term:{district['SEL']}"}
    assert not _emails(engine, {m.person_id for m in messages}) & {"eve@d.example", "hal@d.example"}


def test_someone_outside_a_pool_cannot_opt_in_to_its_term_and_enroll_from_roster_takes_the_pool_only(
    engine: Engine, now: datetime, district: dict[str, int]
) -> None:
    with session_scope(engine) as session:
        eve = repo.people_by_email(session, emails=["eve@d.example"])["eve@d.example"].id
    context = dialogs.context_key(flow="opt_in", term_id=district["SEL"])
    dialogs.answer(engine, person_id=eve, flow="opt_in", context=context, channel="slack", replies={"role": "mentee"}, now=now)
    with session_scope(engine) as session:
        assert session.exec(select(Enrollment).where(Enrollment.person_id == eve)).first() is None

    counts = service.enroll_from_roster(engine, program_name="Induction", term_name=TERM, require_approval=True, now=now)
    # Dee is "both" on the roster, but Induction keeps roles apart: she takes part as a mentor only.
    assert (counts.mentors, counts.mentees, counts.both) == (2, 2, 0)
    assert counts.awaiting_approval == 0  # Induction needs no principal approval, whatever the site-wide default
    with session_scope(engine) as session:
        roles = {p.email: e.role for e, p in repo.enrollments(session, term_id=district["Induction"])}
    assert roles == {"ana@d.example": "mentor", "ben@d.example": "mentee", "dee@d.example": "mentor", "fay@d.example": "mentee"}


def test_each_program_asks_only_its_own_questions_and_keeps_the_answers_apart(
    engine: Engine, now: datetime, district: dict[str, int], tmp_path: Path
) -> None:
    notify.invite_to_term(engine, term_id=district["Induction"], now=now)
    notify.invite_to_term(engine, term_id=district["SEL"], now=now)
    _opt_in_everyone(engine, district, now)
    with session_scope(engine) as session:
        program_ids = {p.name: p.id for p in session.exec(select(Program))}
        ana = repo.people_by_email(session, emails=["ana@d.example"])["ana@d.example"]
        fay_id = repo.people_by_email(session, emails=["fay@d.example"])["fay@d.example"].id
    style_key = f"custom:{program_ids['Induction']}:coaching_style"
    hope_key = f"custom:{program_ids['SEL']}:hope"

    # On Slack, Ana's profile for each program holds that program's question only, rendered from its kind.
    for name, mine, theirs in (("Induction", style_key, hope_key), ("SEL", hope_key, style_key)):
        with session_scope(engine) as session:
            program = session.get(Program, program_ids[name])
            term = repo.get_term(session, program_id=program.id, name=TERM)
            ctx = dialogs.flow_context(session, person=ana, term=term, options=dialogs.ProgramOptions.of(program))
        keys = [q.key for q in questions_for(PROFILE, ctx)]
        assert mine in keys and theirs not in keys
    with session_scope(engine) as session:
        program = session.get(Program, program_ids["Induction"])
        ctx = dialogs.flow_context(session, person=ana, term=repo.get_term(session, program_id=program.id, name=TERM), options=dialogs.ProgramOptions.of(program))
    style = next(q for q in questions_for(PROFILE, ctx) if q.key == style_key)
    rendered = str(bk.question_inputs(style, ctx))
    assert "Written notes" in rendered and "A quick chat" in rendered

    for name, key, value in (("Induction", style_key, "2"), ("SEL", hope_key, "Time with colleagues")):
        context = dialogs.context_key(flow="profile", term_id=district[name])
        result = dialogs.answer(engine, person_id=ana.id, flow="profile", context=context, channel="slack", replies={key: value}, now=now)
        assert not result.outcome.errors
    with session_scope(engine) as session:
        answers = repo.profiles(session, person_ids=[ana.id])[ana.id]
    assert answers[style_key] == "A quick chat" and answers[hope_key] == "Time with colleagues"

    # By email, Fay (in both programs, no Slack) gets each program's own questions, numbered with their options.
    for name, mine, theirs in (("Induction", "How do you like to get feedback?", "worth your time"), ("SEL", "worth your time", "How do you like to get feedback?")):
        context = dialogs.context_key(flow="profile", term_id=district[name])
        view = dialog_view(engine, person_id=fay_id, flow="profile", context=context, now=now)
        prompts = [item.question.prompt for item in view.numbered]
        assert any(mine in p for p in prompts) and not any(theirs in p for p in prompts)
        with session_scope(engine) as session:
            person = session.get(Person, fay_id)
            [message] = notify.prompt_flow(session, person=person, flow="profile", context=context, now=now)
            email = render_notice(session, message=message, settings=Settings(_env_file=None), now=now)
        assert mine in email.text and theirs not in email.text
        if name == "Induction":
            assert "1 = Written notes" in email.text and "2 = A quick chat" in email.text
    # Ana's SEL dialog never shows her Induction answer, and SEL's export carries no Induction answers.
    sel_view = dialog_view(engine, person_id=ana.id, flow="profile", context=dialogs.context_key(flow="profile", term_id=district["SEL"]), now=now)
    assert style_key not in sel_view.answers
    for name, column, other in (("SEL", "hope", "coaching_style"), ("Induction", "coaching_style", "hope")):
        out = tmp_path / f"{name}.csv"
        with session_scope(engine) as session:
            out.write_bytes(exports.to_csv(exports.people_table(session, program_name=name)))
        rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
        assert {row["email"] for row in rows} == (SEL_POOL if name == "SEL" else INDUCTION_POOL)
        assert column in rows[0] and other not in rows[0]
        assert not any(key.count(":") for key in rows[0])
        assert {row["email"]: row[column] for row in rows}["ana@d.example"] in ("A quick chat", "Time with colleagues")


def test_rounds_match_only_their_pool_with_their_rules_and_publish_to_their_people(
    engine: Engine, now: datetime, district: dict[str, int]
) -> None:
    notify.invite_to_term(engine, term_id=district["Induction"], now=now)
    notify.invite_to_term(engine, term_id=district["SEL"], now=now)
    _opt_in_everyone(engine, district, now)
    # Eve is enrolled in SEL's term by hand (as if she had been in the pool once): the matcher still leaves her out.
    with session_scope(engine) as session:
        eve = repo.people_by_email(session, emails=["eve@d.example"])["eve@d.example"]
        repo.upsert_enrollment(session, term_id=district["SEL"], person_id=eve.id, role="mentee", capacity=0, status="opted_in", approval="not_required", now=now)
    outcomes = {}
    for name in ("Induction", "SEL"):
        request = service.RoundRequest(kind="micro", sessions=1, start_on=(now + timedelta(days=8)).date())
        round_ = service.create_round(engine, program_name=name, term_name=TERM, request=request, now=now)
        service.move_round(engine, round_id=round_.id, target="collecting", now=now)
        outcomes[name] = service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
    with session_scope(engine) as session:
        for name in ("Induction", "SEL"):
            program = repo.get_program(session, name=name)
            assert outcomes[name].round.pool_id == members_pool(session, program_id=program.id).id  # rounds draw on their own pool
    for name, pool in (("Induction", INDUCTION_POOL), ("SEL", SEL_POOL)):
        result = outcomes[name].result
        people = {pair.mentor for pair in result.pairs} | {pair.mentee for pair in result.pairs} | {u.key for u in result.unmatched}
        assert people <= pool, name
        assert result.pairs, name
    induction = outcomes["Induction"].result
    assert "dee@d.example" not in {pair.mentee for pair in induction.pairs}  # "both" people mentor only in Induction
    assert {pair.mentee for pair in induction.pairs} == {"ben@d.example", "fay@d.example"}
    assert {pair.mentee for pair in outcomes["SEL"].result.pairs} == {"cy@d.example", "fay@d.example"}  # no cap: both placed
    # Induction requires a shared subject: Cy (science) could never be paired there, and every pair shares math.
    with session_scope(engine) as session:
        subjects = repo.profiles(session, person_ids=[p.id for p in repo.list_people(session)])
        by_email = {p.email: subjects[p.id].get("subjects") for p in repo.list_people(session)}
    assert all(set(by_email[p.mentor]) & set(by_email[p.mentee]) for p in induction.pairs)

    before = _last_message_id(engine)
    for name in ("Induction", "SEL"):
        publish_round(engine, round_id=outcomes[name].round.id, now=now, config=CONFIG)
    run_due_actions(engine, now=now + timedelta(minutes=5), config=CONFIG)
    sent = _new_messages(engine, before)
    assert sent
    with session_scope(engine) as session:
        round_of_pairing = {p.id: p.round_id for p in session.exec(select(Pairing))}
    pools = {outcomes["Induction"].round.id: INDUCTION_POOL, outcomes["SEL"].round.id: SEL_POOL}
    for message in sent:
        pairing_id = message.body.get("pairing_id")
        if pairing_id is not None:
            assert _emails(engine, [message.person_id]) <= pools[round_of_pairing[pairing_id]], message.idempotency_key
    assert not _emails(engine, {m.person_id for m in sent}) & {"eve@d.example", "hal@d.example"}


def test_a_programs_admins_act_on_that_program_only(engine: Engine, now: datetime, district: dict[str, int]) -> None:
    settings = Settings(_env_file=None, program_name="Induction")
    request = service.RoundRequest(kind="micro", sessions=1)
    sel_round = service.create_round(engine, program_name="SEL", term_name=TERM, request=request, now=now)
    site_admin = admin.slack_actor("USITEADM1", site_admin=True, member=None)

    def as_user(user: str):
        """The Slack user as `/mentoring` sees them: not a workspace admin, their roster record when they have one."""
        return admin.slack_actor(user, site_admin=False, member=member_for(engine, slack_user_id=user))

    def answer(text: str, user: str) -> str:
        return str(admin.run(engine, settings, admin.parse(text), actor=as_user(user), now=now))

    def allowed(text: str, user: str) -> bool:
        shown = answer(text, user)
        assert "went wrong" not in shown
        return ":lock:" not in shown

    assert allowed("status", "UINDADM01") and allowed("round list -p Induction", "UINDADM01")
    assert not allowed("round list --program SEL", "UINDADM01")
    assert allowed("round list --program SEL", "USELADM01") and not allowed("status", "USELADM01")
    assert "the programs are: Induction, SEL" in answer("status --program Nowhere", "USELADM01")
    # Their help lists the admin commands of their own program only.
    assert admin.sees_admin_help(engine, settings, actor=as_user("USELADM01"), program="SEL")
    assert not admin.sees_admin_help(engine, settings, actor=as_user("USELADM01"), program=None)
    # By email: the Slack user whose roster email is an Induction admin.
    with session_scope(engine) as session:
        session.add(Person(email="lead@d.example", name="Lee Lead", role="none", slack_user_id="ULEAD0001", created_at=now, updated_at=now))
    assert allowed("status", "ULEAD0001") and not allowed("status -p SEL", "ULEAD0001")
    # A round of SEL cannot be reached by an Induction admin, even by naming its number; nor by naming the wrong program.
    refused = answer(f"round open {sel_round.id}", "UINDADM01")
    assert ":lock: Only the program's admins of SEL can do that" in refused
    blocks = admin.run(engine, settings, admin.parse(f"round open {sel_round.id} -p Induction"), actor=site_admin, now=now)
    assert f"Round {sel_round.id} belongs to SEL, not Induction" in str(blocks)
    with session_scope(engine) as session:
        assert repo.get_round(session, round_id=sel_round.id).status == "draft"
    unknown = admin.run(engine, settings, admin.parse("status -p Nowhere"), actor=site_admin, now=now)
    assert "the programs are: Induction, SEL" in str(unknown)
    listing = str(admin.run(engine, settings, admin.parse("program list"), actor=site_admin, now=now))
    assert "Induction" in listing and "SEL" in listing and "pool 4" in listing
    # A program's admin lists only the programs they run.
    own = answer("program list", "USELADM01")
    assert "*SEL*" in own and "Induction" not in own


def test_a_roster_import_moves_people_in_and_out_of_pools(engine: Engine, now: datetime, district: dict[str, int], tmp_path: Path) -> None:
    moved = tmp_path / "moved.csv"
    rows = [row.replace(",Roosevelt,", ",Lincoln,") if row.startswith("eve@") else row for row in ROSTER]
    rows = [row.replace(",Lincoln,", ",Garfield,") if row.startswith("gus@") else row for row in rows]
    moved.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    report = import_roster(engine, moved, program_name="SEL", default_timezone="America/Los_Angeles", now=now)
    assert report.pool_changes["SEL"] == (1, 1)
    assert notify.invite_to_term(engine, term_id=district["SEL"], now=now) == len(SEL_POOL)
    with session_scope(engine) as session:
        enrolled = {p.email for _e, p in repo.enrollments(session, term_id=district["SEL"])}
        stray = session.exec(select(ProfileAnswer).where(col(ProfileAnswer.question).like("custom:%:%"))).all()
    assert enrolled == SEL_POOL - {"gus@d.example"} | {"eve@d.example"}
    assert stray == []


def test_a_programs_equity_site_cap_limits_each_sites_placements(engine: Engine, now: datetime, district: dict[str, int]) -> None:
    with_cap = PROGRAMS.replace("  rules:\n    relax: [availability]\n", "  rules:\n    relax: [availability]\n  equity:\n    site_cap: 1\n")
    assert with_cap != PROGRAMS
    apply_specs(engine, parse_programs(with_cap), now=now)
    notify.invite_to_term(engine, term_id=district["SEL"], now=now)
    _opt_in_everyone(engine, {"SEL": district["SEL"]}, now)
    request = service.RoundRequest(kind="micro", sessions=1, start_on=(now + timedelta(days=8)).date())
    round_ = service.create_round(engine, program_name="SEL", term_name=TERM, request=request, now=now)
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    outcome = service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
    # Cy and Fay are both Lincoln mentees and two mentors have room: without the cap both would be placed.
    assert [pair.mentee for pair in outcome.result.pairs if pair.mentee in ("cy@d.example", "fay@d.example")] in (["cy@d.example"], ["fay@d.example"])
    assert {u.key for u in outcome.result.unmatched} & {"cy@d.example", "fay@d.example"}
    assert outcome.result.solver is not None


def test_high_need_sites_are_placed_first_when_mentors_are_scarce() -> None:
    from dataclasses import replace

    from bot.matching import Participant, RoundSettings, match_round, solve_with_side_constraints

    mentor = Participant(key="m@d.example", name="Mo", role="mentor", site="Central", grade_bands={"6-8"}, subjects={"math"}, strengths={"SEL"})
    lincoln = Participant(key="a@d.example", name="Al", role="mentee", site="Lincoln", grade_bands={"6-8"}, subjects={"math"}, needs=("SEL",))
    garfield = Participant(key="b@d.example", name="Bo", role="mentee", site="Garfield", needs=("SEL",))
    people = [mentor, lincoln, garfield]
    plain = match_round(people, RoundSettings())
    assert [pair.mentee for pair in plain.pairs] == ["a@d.example"]  # the closer fit wins without an equity rule
    constraints = service.equity_constraints({"equity": {"high_need_sites": ["garfield"]}}, people)
    assert constraints.site_minimums == (("Garfield", 1),)
    placed = solve_with_side_constraints(people, RoundSettings(), constraints=constraints)
    assert [pair.mentee for pair in placed.pairs] == ["b@d.example"]
    capped = service.equity_constraints({"equity": {"high_need_sites": ["Garfield", "Lincoln"], "site_cap": 1}}, people + [replace(lincoln, key="c@d.example")])
    assert dict(capped.site_minimums) == {"Garfield": 1, "Lincoln": 1} and dict(capped.site_caps) == {"Garfield": 1, "Lincoln": 1}
