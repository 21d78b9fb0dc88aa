"""The inbound handler on both backends: yes/no, capacities, opt-outs, approvals by email, and how replies are tied."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import dialogs, notify
from bot.email import tokens
from bot.email.inbound import InboundMail, handle_inbound
from bot.email.render import render_notice
from bot.settings import Settings
from storage import repo
from storage.db import session_scope
from storage.models import OutboxMessage, Person
from tests.emailkit import open_term_with_roster, person_id

ROSTER = (
    "email,name,role,slack_user_id,site,capacity,principal_email\n"
    "ana@d.example,Ana Chen,mentor,,Lincoln,2,pat@d.example\n"
    "ben@d.example,Ben Ortiz,mentee,,Garfield,,\n"
    "pat@d.example,Pat Park,mentor,,Lincoln,0,\n"
)
SETTINGS = Settings(_env_file=None, email_token_secret="t" * 32, reply_domain="reply.example", program_name="P")


def _term(engine: Engine, tmp_path: Path, now: datetime) -> int:
    return open_term_with_roster(engine, tmp_path, ROSTER, now)


_id = person_id


def _mail(engine: Engine, email: str, flow: str | None, context: str, text: str, now: datetime, n: int, **extra) -> InboundMail:
    token = tokens.make_reply_token(SETTINGS.email_token_secret, person_id=_id(engine, email), flow=flow, context=context, now=now)
    return InboundMail(sender=email, recipients=[tokens.reply_address(token, "reply.example")], subject="Re: Mentoring", text=text, message_id=f"<m{n}@x.example>", **extra)


def _follow_up(engine: Engine, now: datetime, message_id: str) -> str:
    with session_scope(engine) as session:
        message = session.exec(select(OutboxMessage).where(OutboxMessage.purpose.startswith("email.reply"))).all()
        message = next(m for m in message if m.body["thread"]["in_reply_to"] == message_id)
        return render_notice(session, message=message, settings=SETTINGS, now=now).text


def test_a_mentor_opts_in_by_email_and_the_principal_approves_by_email(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    first = handle_inbound(engine, SETTINGS, _mail(engine, "ana@d.example", "opt_in", context, "yes", now, 1), now=now)
    assert first.saved == {"role": "mentor"}  # "yes" means the role on the roster
    assert "How many mentees can you take this term?" in _follow_up(engine, now, "<m1@x.example>")
    second = handle_inbound(engine, SETTINGS, _mail(engine, "ana@d.example", "opt_in", context, "I can take 2 mentees this term.", now, 2), now=now)
    assert second.saved == {"capacity": 2} and second.complete
    with session_scope(engine) as session:
        ask = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "prompt.approval")).one()
        assert (ask.channel, ask.recipient) == ("email", "pat@d.example")  # the principal has no Slack either
        prompt = render_notice(session, message=ask, settings=SETTINGS, now=now)
    assert prompt.subject == "Please approve Ana Chen as a mentor" and "Ana Chen (ana@d.example) has offered to mentor 2 mentees" in prompt.text
    decided = handle_inbound(engine, SETTINGS, _mail(engine, "pat@d.example", "approval", ask.body["context"], "Yes, approved.", now, 3), now=now)
    assert decided.saved == {"decision": "approve"}
    with session_scope(engine) as session:
        enrollment = repo.get_enrollment(session, term_id=term_id, person_id=_id(engine, "ana@d.example"))
        assert (enrollment.approval, enrollment.capacity) == ("approved", 2)
        told = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "approval.decided")).one()
        assert render_notice(session, message=told, settings=SETTINGS, now=now).subject == "You're approved to mentor"


def test_no_thanks_opts_out_and_the_reply_says_so(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    result = handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "opt_in", context, "No thanks", now, 1), now=now)
    assert result.saved == {"role": "none"} and result.complete
    text = " ".join(_follow_up(engine, now, "<m1@x.example>").split())  # the text part wraps at 78 columns
    assert "Role: Not this term" in text and "we'll ask again next term" in text and "grade bands" not in text


def test_html_only_replies_and_in_reply_to_without_a_token(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    notify.invite_to_term(engine, term_id=term_id, now=now)
    with session_scope(engine) as session:
        invite = session.exec(select(OutboxMessage).where(OutboxMessage.recipient == "ben@d.example")).one()
        invite.provider_id, invite.status = "<mb.invite@district.example>", "sent"
    html = "<div dir='ltr'>Mentee</div><div class='gmail_quote'><blockquote>1 = Mentor</blockquote></div>"
    stranger = InboundMail(sender="eve@evil.example", recipients=["mentoring@district.example"], html=html, message_id="<e@x>", in_reply_to="<mb.invite@district.example>")
    assert handle_inbound(engine, SETTINGS, stranger, now=now).status == "ignored"  # In-Reply-To alone is not enough
    # Not even with Ben's address in From: a Message-ID is no secret and a From is trivially forged.
    posing = InboundMail(sender="ben@d.example", recipients=["mentoring@district.example"], html=html, message_id="<b@x>", in_reply_to="<mb.invite@district.example>")
    assert handle_inbound(engine, SETTINGS, posing, now=now).status == "ignored"
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    ben = _mail(engine, "ben@d.example", "opt_in", context, "", now, 3, html=html, in_reply_to="<mb.invite@district.example>")
    result = handle_inbound(engine, SETTINGS, ben, now=now)
    assert (result.status, result.reason, result.saved) == ("applied", "token", {"role": "mentee"})


def test_replies_to_notices_expired_tokens_and_unknown_people_change_nothing(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    notice_reply = handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", None, "", "Thanks!", now, 1), now=now)
    assert (notice_reply.status, notice_reply.reason) == ("ignored", "reply to a notice")
    expired = handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "opt_in", context, "2", now - timedelta(days=90), 2), now=now)
    assert expired.status == "ignored" and "expired" in expired.reason
    ghost = tokens.make_reply_token(SETTINGS.email_token_secret, person_id=99999, flow="opt_in", context=context, now=now)
    missing = InboundMail(sender="x@d.example", recipients=[tokens.reply_address(ghost, "reply.example")], text="2", message_id="<g@x>")
    assert handle_inbound(engine, SETTINGS, missing, now=now).status == "ignored"
    with session_scope(engine) as session:
        assert session.exec(select(OutboxMessage)).all() == []
        assert all(p.unsubscribed_at is None for p in session.exec(select(Person)))
    assert dialogs.current_state(engine, person_id=_id(engine, "ben@d.example"), flow="opt_in", context=context) is None


def test_a_guess_is_held_until_yes_kept_open_by_other_answers_and_dropped_by_no(engine: Engine, tmp_path: Path, now: datetime) -> None:
    term_id = _term(engine, tmp_path, now)
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "opt_in", context, "Mentee please", now, 1), now=now)
    profile = dialogs.context_key(flow="profile", term_id=term_id)
    ben = _id(engine, "ben@d.example")

    # A misspelt day is proposed, not saved; the answer says so and how to confirm.
    guess = handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "profile", profile, "4. wensdays 3-5pm", now, 2), now=now)
    assert "availability" in guess.proposals and "availability" not in guess.saved
    assert "I think you meant the following, but I haven't saved it yet" in _follow_up(engine, now, "<m2@x.example>")
    assert "availability" not in (dialogs.current_state(engine, person_id=ben, flow="profile", context=profile).answers)

    # Answering something else keeps the proposal open, still to confirm.
    other = handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "profile", profile, "1. 6-8", now, 3), now=now)
    assert other.saved == {"grade_bands": ["6-8"]} and "availability" in other.proposals

    # "No" drops it: nothing saved, and the question is asked again.
    dropped = handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "profile", profile, "No", now, 4), now=now)
    assert dropped.saved == {} and dropped.proposals == {}
    text = _follow_up(engine, now, "<m4@x.example>")
    assert "I haven't saved that" in text and "When are you usually free" in text

    # Written again clearly, it is saved at once.
    again = handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "profile", profile, "4. Wednesdays 3-5pm", now, 5), now=now)
    assert again.saved == {"availability": ["Wed 15:00-17:00"]}
    # A saved answer is corrected by its number, as the echo says, while other questions are still open.
    fixed = handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "profile", profile, "1. K-2, sorry", now, 6), now=now)
    assert fixed.saved == {"grade_bands": ["K-2"]}


def test_a_time_zone_is_read_against_the_persons_own(engine: Engine, tmp_path: Path, now: datetime) -> None:
    roster = ROSTER.replace("slack_user_id,site", "slack_user_id,timezone,site").replace(",,Garfield", ",,America/New_York,Garfield").replace(",,Lincoln", ",,America/Los_Angeles,Lincoln")
    term_id = open_term_with_roster(engine, tmp_path, roster, now)
    context = dialogs.context_key(flow="opt_in", term_id=term_id)
    handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "opt_in", context, "Mentee please", now, 1), now=now)
    profile = dialogs.context_key(flow="profile", term_id=term_id)
    # Ben lives on Eastern time. Pacific time from him is another zone: asked about, never saved as if it were his.
    other = handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "profile", profile, "4. Fridays at 1pm Pacific", now, 2), now=now)
    assert "availability" not in other.saved and ("availability" in other.doubts or "availability" in other.proposals)
    # "4pm ET" is his own time, and is saved.
    own = handle_inbound(engine, SETTINGS, _mail(engine, "ben@d.example", "profile", profile, "4. Thursdays at 4pm ET", now, 3), now=now)
    assert own.saved.get("availability") == ["Thu 16:00-17:00"]
