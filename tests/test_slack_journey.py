"""A teacher goes from the opt-in DM to a complete, approved profile using only Slack; an admin opens the term
and creates, previews and publishes a round with /mentoring. Everything over real HTTP, signed like Slack."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot import dialogs
from bot.slack.blocks import block_id_for
from storage import repo
from storage.db import session_scope
from storage.models import Enrollment, OutboxMessage
from tests.slack_helpers import ADMIN, slack_harness, wait_for


async def test_opt_in_dm_to_complete_approved_profile_with_only_slack(tmp_path: Path, database_url: str) -> None:
    async with slack_harness(tmp_path, database_url) as h:
        response, url = await h.driver.command(ADMIN, 'term open "Spring 2027" --opt-in-by 2027-01-22')
        assert response.status_code == 200
        (reply,) = await h.responses(url)
        assert "Opened *Spring 2027*" in reply["text"] and "4 by Slack DM, 1 by email" in reply["text"]

        invite = await h.dm_with("UANA00001", "Spring 2027")
        assert "2027-01-22" in str(invite["blocks"])
        click = await h.driver.click("UANA00001", "Mentor")
        assert click.status_code == 200
        await h.dm_with("UANA00001", "How many mentees can you take")
        await h.driver.click("UANA00001", "2")
        done = await h.dm_with("UANA00001", "Start my profile")
        assert "asked your principal" in str(done["blocks"])
        assert len(h.standin.dms("UANA00001")) == 1  # the one invitation, updated in place

        ask = await h.dm_with("UPAT00001", "Ana Chen")
        assert "can take 2 mentee(s)" in str(ask["blocks"])
        await h.driver.click("UPAT00001", "Approve", message=ask)
        told = await h.dm_with("UANA00001", "confirmed you as a mentor")
        assert "2 mentee(s)" in told["text"]

        await h.driver.click("UANA00001", "Start my profile")
        modal = await wait_for(lambda: h.standin.open_view_of("UANA00001"), what="the profile modal")
        assert modal["title"]["text"] == "Your mentoring profile"
        first = await h.driver.submit("UANA00001", {block_id_for("grade_bands"): ["6-8"], block_id_for("subjects"): ["math"], block_id_for("strengths"): ["SEL"]})
        assert first["response_action"] == "update"
        wrong = await h.driver.submit("UANA00001", {block_id_for("availability"): "Tuesday-ish", block_id_for("match_weights"): ["grade_band"]})
        assert wrong["response_action"] == "errors" and block_id_for("availability") in wrong["errors"]
        last = await h.driver.submit("UANA00001", {block_id_for("availability"): "Tue 15:30-16:30\nThu 07:30-08:15", block_id_for("match_weights"): ["grade_band"]})
        assert last["response_action"] == "update" and "profile is complete" in str(last["view"]["blocks"])

        ana = h.person_id("ana@d.example")
        with session_scope(h.engine) as session:
            term = repo.get_term(session, program_id=repo.get_program(session, name=h.settings.program_name).id)
            enrollment = session.exec(select(Enrollment).where(Enrollment.person_id == ana, Enrollment.term_id == term.id)).one()
            assert (enrollment.role, enrollment.capacity, enrollment.approval) == ("mentor", 2, "approved")
            answers = repo.profiles(session, person_ids=[ana])[ana]
            assert answers["availability"] == ["Tue 15:30-16:30", "Thu 07:30-08:15"]
            assert answers["strengths"] == ["SEL"]
            term_id = term.id
        state = dialogs.current_state(h.engine, person_id=ana, flow="profile", context=dialogs.context_key(flow="profile", term_id=term_id))
        assert state.status == "complete"
        home = await wait_for(lambda: "Edit profile" in str(h.standin.homes.get("UANA00001")) and h.standin.homes["UANA00001"], what="Ana's Home tab")
        assert "confirmed by your principal" in str(home["blocks"])

        with session_scope(h.engine) as session:
            email = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()
        assert [m.recipient for m in email] == ["dee@d.example"]  # Dee has no Slack ID: asked by email
