"""`--relax RULE` and `--require RULE` on a round: checked against the rules there are, stored with the round on top of
its program's own, used by its matching, shown by `round show`, and taken by `/mentoring round new` and the new-round form."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from storage import repo
from storage.db import session_scope
from storage.models import Round
from tests.adminkit import PROGRAM, admin_settings, serving, sign_in_with_link
from tests.conftest import SHARED_ROSTER
from tests.slack_helpers import ADMIN, slack_harness
from tests.test_cli import run
from tests.test_cli_operations import _count, _refused

NOW = "2026-12-01T17:00:00"
NO_APPROVAL = {"REQUIRE_PRINCIPAL_APPROVAL": "false"}


def _matched(preview_stdout: str) -> int:
    return int(re.search(r"Matched (\d+) of 40 mentees", " ".join(preview_stdout.split())).group(1))


def test_a_round_relaxes_and_adds_rules_on_top_of_its_programs(tmp_path: Path) -> None:
    assert run(tmp_path, "import", "roster", str(SHARED_ROSTER)).returncode == 0
    (tmp_path / "program.yaml").write_text("name: District Mentoring\nrules:\n  relax: [strengths]\n", encoding="utf-8")
    assert run(tmp_path, "program", "apply", str(tmp_path / "program.yaml")).returncode == 0
    assert run(tmp_path, "--now", NOW, "term", "open", "Spring 2027", "--enroll-roster", extra_env=NO_APPROVAL).returncode == 0

    _refused(run(tmp_path, "round", "new", "micro", "--relax", "availabilty"), "'availabilty' is not a rule a round can relax; --relax takes availability, grade_band, strengths, subject")
    _refused(run(tmp_path, "round", "new", "micro", "--require", "same_grade"), "--require takes cross_site, interest, same_subject")
    _refused(run(tmp_path, "round", "new", "micro", "--require", "availability"), "'availability' is not a rule a round can add")
    assert _count(tmp_path, "select count(*) from round") == 0

    plain = run(tmp_path, "round", "new", "micro")
    assert "Created micro round 1" in plain.stdout and "Its matching" not in plain.stdout
    ruled = run(tmp_path, "round", "new", "micro", "--relax", " Availability", "--relax", "grade-band")
    assert "Created micro round 2" in ruled.stdout, ruled.stderr
    assert "Its matching relaxes availability, grade_band, strengths (with the program's own rules)." in " ".join(ruled.stdout.split())
    strict = run(tmp_path, "round", "new", "micro", "--require", "same_subject", "--require", "cross_site")
    assert "adds cross_site, same_subject" in " ".join(strict.stdout.split())

    assert "rules: relaxes strengths (the program's rules)" in run(tmp_path, "round", "show", "1").stdout
    assert "rules: relaxes availability, grade_band, strengths (set for this round)" in run(tmp_path, "round", "show", "2").stdout
    assert "rules: relaxes strengths; adds cross_site, same_subject (set for this round)" in run(tmp_path, "round", "show", "3").stdout

    # The matcher uses them: the relaxed round places more mentees than the plain one, the strict one fewer. Each is
    # matched on the whole pool (the rounds before it called off), so mentor seats the others hold don't count.
    def matched_alone(round_id: int) -> int:
        matched = _matched(run(tmp_path, "round", "preview", str(round_id)).stdout)
        if round_id < 3:
            assert run(tmp_path, "round", "cancel", str(round_id)).returncode == 0
        return matched

    plain_matched, relaxed_matched, strict_matched = (matched_alone(n) for n in (1, 2, 3))
    assert relaxed_matched > plain_matched > strict_matched, (plain_matched, relaxed_matched, strict_matched)
    with_sites = _count(tmp_path, "select count(*) from pairing p join person a on a.id = p.mentor_id join person b on b.id = p.mentee_id where p.round_id = 3 and a.site = b.site")
    assert with_sites == 0  # cross_site held in every pair of round 3


async def test_slack_round_new_takes_relax_require_and_term(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        await _run(h, ADMIN, 'term open "Spring 2027"')
        refused = await _run(h, ADMIN, "round new micro --relax schedule")
        assert ":warning: 'schedule' is not a rule a round can relax; --relax takes availability, grade_band, strengths, subject." in refused
        made = await _run(h, ADMIN, "round new micro --relax availability --require same_subject")
        assert "Created round *1*" in made and "Its matching relaxes availability; adds same_subject" in made
        # Two terms open: the command names its term, or is told to.
        assert "already has an open term" in await _run(h, ADMIN, 'term open "Summer"')
        assert "Opened *Summer*" in await _run(h, ADMIN, 'term open "Summer" --alongside')
        assert "2 terms are open (Spring 2027, Summer): name one with --term" in await _run(h, ADMIN, "round new event --topics SEL --match-on 2030-01-10")
        assert "Created round *2*" in await _run(h, ADMIN, "round new event --topics SEL --match-on 2030-01-10 --require cross_site --term Summer")
        assert "2 terms are open" in await _run(h, ADMIN, "status") and "*Summer*" in await _run(h, ADMIN, "status --term Summer")
        with session_scope(h.engine) as session:
            first, second = repo.get_round(session, round_id=1), repo.get_round(session, round_id=2)
            assert (first.settings["relax"], first.settings["require"]) == (["availability"], ["same_subject"])
            assert second.settings["require"] == ["cross_site"] and second.settings["topics"] == ["SEL"]
            assert repo.get_term(session, program_id=1, name="Summer").id == second.term_id


async def _run(h, user: str, text: str) -> str:
    response, url = await h.driver.command(user, text)
    assert response.status_code == 200
    return json.dumps(await h.responses(url, 1), ensure_ascii=False)


async def test_the_new_round_form_takes_rules(tmp_path: Path, database_url: str, now) -> None:
    from bot.importer import import_roster
    from storage import db

    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    import_roster(engine, SHARED_ROSTER, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    settings = admin_settings(tmp_path, database_url)
    try:
        async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
            csrf = await sign_in_with_link(client, settings, now)
            await client.post("/admin/terms", data={"csrf_token": csrf, "name": "Spring 2027", "join": "roster"})
            home = await client.get("/admin")
            assert 'name="relax" value="availability"' in home.text and 'name="require" value="cross_site"' in home.text
            term_id = re.search(r'name="term_id" value="(\d+)"', home.text).group(1)
            made = await client.post(
                "/admin/rounds", data={"csrf_token": csrf, "kind": "micro", "relax": ["availability", "subject"], "require": "cross_site", "term_id": term_id}
            )  # fmt: skip
            assert made.status_code == 303
            page = await client.get(made.headers["location"])
            assert "Matching rules set for this round: relaxes availability, subject; adds cross_site." in page.text
            forged = await client.post("/admin/rounds", data={"csrf_token": csrf, "kind": "micro", "relax": "teleport"})
            assert forged.status_code == 409 and "&#39;teleport&#39; is not a rule a round can relax" in forged.text
        with session_scope(engine) as session:
            assert repo.get_round(session, round_id=1).settings == {"relax": ["availability", "subject"], "require": ["cross_site"]}
            assert session.get(Round, 2) is None
    finally:
        engine.dispose()
