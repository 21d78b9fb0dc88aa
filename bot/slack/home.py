"""The App Home tab: this term's status with one-click changes, the profile, pairings and upcoming sessions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot.rounds.guides import guide_url
from bot.slack import blocks as bk
from bot.slack.blocks import escape
from bot.slack.messages import ROLE_WORDS, when
from bot.slack.store import HomeModel

APPROVAL_WORDS = {
    "pending": ":hourglass_flowing_sand: waiting for your principal to confirm",
    "approved": ":white_check_mark: confirmed by your principal",
    "declined": "not confirmed by your principal this term",
}
MAX_PAIRINGS = 10
MAX_SESSIONS = 10


def home_view(model: HomeModel, *, public_base_url: str, programs: Sequence[Any] = (), link_secret: str | None = None) -> dict[str, Any]:
    """The Home tab for one person (at most 100 blocks; long lists are cut with a count of the rest).

    `programs` (from `bot.rounds.events.program_sections`) gives one section per program the person is in; their
    pairings are then shown under their program rather than in one list.
    """
    blocks: list[dict[str, Any]] = [bk.header(f"Mentoring · {model.program_name}")]
    if model.member is None:
        blocks.append(bk.section(
            "I can't find you on the program's roster yet. Ask your program admin to add your Slack ID (or the email on "
            "your Slack profile) to the roster, then come back here."
        ))  # fmt: skip
        return {"type": "home", "blocks": blocks}
    blocks.extend(_term(model))
    blocks.extend(_approvals(model))
    blocks.extend(_profile(model))
    if len(programs) > 1 or any(section.signups or section.open_rounds for section in programs):
        for section in programs:
            blocks.extend(_program(model, section, public_base_url, link_secret))
    else:
        blocks.extend(_pairings(model, public_base_url, link_secret))
    blocks.extend(_upcoming(model))
    blocks.append(bk.context("Type `help` in a message to me, or use `/mentoring help`."))
    if len(blocks) > bk.VIEW_BLOCKS:
        blocks = blocks[: bk.VIEW_BLOCKS - 1] + [bk.context("More than fits here; ask your program admin for the full list.")]
    return {"type": "home", "blocks": blocks}


def _term(model: HomeModel) -> list[dict[str, Any]]:
    snap = model.opt_in
    if snap is None:
        return [bk.section("*This term*\nNo mentoring term is open right now. You'll get a message when the next one opens.")]
    enrollment = snap.enrollment or {}
    status = enrollment.get("status")
    if status == "opted_in":
        role = enrollment["role"]
        line = f"You're taking part as *{ROLE_WORDS.get(role, role)}*"
        if role in ("mentor", "both"):
            line += f", for up to {enrollment['capacity']} mentee(s)"
            if enrollment.get("approval") in APPROVAL_WORDS:
                line += f" ({APPROVAL_WORDS[enrollment['approval']]})"
        line += "."
    elif status == "opted_out":
        line = "You're *not taking part* this term."
    else:
        line = "You haven't said yet whether you'll take part."
    if not snap.complete and snap.answers.get("role") in ("mentor", "both"):
        line += " Tell us how many mentees you can take to finish opting in."
    question = snap.question("role")
    blocks = [bk.section(f"*{escape(snap.term_name)}*\n{line}")]
    if question is not None:
        current = snap.answers.get("role") if status != "invited" else None
        buttons = bk.answer_blocks(snap.flow, snap.context, question, snap.ctx, selected=current)
        buttons[0] = bk.context("Change your answer with one click:" if current else "How would you like to take part this term?")
        blocks.extend(buttons)
    return blocks + [bk.divider()]


def _approvals(model: HomeModel) -> list[dict[str, Any]]:
    if not model.pending_approvals:
        return []
    lines = [f"• {escape(name)} offered to mentor and is waiting for you." for name, _context in model.pending_approvals[:20]]
    return [bk.section("*Mentors waiting for your decision*\n" + "\n".join(lines) + "\nYour DMs from me have the approve and decline buttons."), bk.divider()]


def _profile(model: HomeModel) -> list[dict[str, Any]]:
    snap = model.profile
    if snap is None or (snap.enrollment or {}).get("status") != "opted_in":
        return []
    lines = []
    for question in snap.applicable:
        value = snap.known.get(question.key)
        shown = escape(bk.answered_line(question, value, snap.ctx)) if value is not None else "_not answered yet_"
        lines.append(f"*{escape(question.prompt)}*\n{shown}")
    left = len(snap.pending)
    if snap.complete and not left:
        title, button = "*Your profile* :white_check_mark:", bk.open_flow_button("profile", snap.context, "Edit profile", edit=True, style=None)
    else:
        title = f"*Your profile* ({left} question{'s' if left != 1 else ''} left)"
        button = bk.open_flow_button("profile", snap.context, "Continue my profile" if snap.started else "Start my profile")
    blocks = [bk.section(title, accessory=button)]
    blocks.extend(bk.text_sections("\n".join(lines)))
    return blocks + [bk.divider()]


def _pairings(model: HomeModel, public_base_url: str, link_secret: str | None = None) -> list[dict[str, Any]]:
    if not model.pairings:
        return []
    blocks: list[dict[str, Any]] = [bk.section("*Your pairings*")]
    zone = model.member.timezone if model.member else None
    for pairing in model.pairings[:MAX_PAIRINGS]:
        topic = f" on {escape(pairing.topic)}" if pairing.topic else ""
        times = [f"{when(start, end, zone)}" for start, end, status, _n in pairing.sessions if status in ("proposed", "confirmed")]
        text = (
            f"*{escape(pairing.partner_name)}* ({escape(pairing.partner_email)}), you're their {pairing.role}{topic}\n"
            + ("Why: " + "; ".join(escape(reason) for reason in pairing.reasons) + "\n" if pairing.reasons else "")
            + ("Proposed times: " + ", ".join(times) if times else "Agree a time that suits you both.")
        )
        guide = guide_url(public_base_url, pairing.pairing_id, link_secret)  # signed: a pairing's guide is for its pair
        blocks.append(bk.section(text, accessory=bk.button("Conversation guide", action_id=f"guide_link:{pairing.pairing_id}", url=guide)))
    if len(model.pairings) > MAX_PAIRINGS:
        blocks.append(bk.context(f"…and {len(model.pairings) - MAX_PAIRINGS} more."))
    return blocks + [bk.divider()]


def _program(model: HomeModel, section: Any, public_base_url: str, link_secret: str | None = None) -> list[dict[str, Any]]:
    """One program's part of the Home tab: status, sign-ups, rounds open to join, and its pairings."""
    blocks: list[dict[str, Any]] = [bk.header(section.name), bk.section(escape(section.status))]
    if section.signups:
        lines = [escape(s.label) + (" (as a mentor)" if s.role == "mentor" else "") + (f", match on {s.match_on:%b} {s.match_on.day}" if s.match_on and s.status == "collecting" else "") for s in section.signups]
        blocks.extend(bk.bullet_sections("*Your sign-ups*", lines))
    for round_id, title, left in section.open_rounds:
        if not left:
            continue
        if left == [(1, "")]:
            blocks.append(bk.context(f"*{escape(title)}* is open: type `join` and the position or site you'd like to learn about."))
            continue
        buttons = [bk.button(f"Join: {topic}", action_id=f"signup:join:{round_id}:{number}", value=str(number)) for number, topic in left[:5]]
        blocks.append(bk.section(f"*{escape(title)}*"))
        blocks.append({"type": "actions", "block_id": f"home-signup|{round_id}", "elements": buttons})
    mine = [p for p in model.pairings if p.pairing_id in section.pairing_ids]
    if mine:
        sub = HomeModel(program_name=model.program_name, member=model.member)
        sub.pairings = [replace(p, topic=section.topics.get(p.pairing_id, p.topic)) for p in mine]
        blocks.extend(_pairings(sub, public_base_url, link_secret))
    else:
        blocks.append(bk.divider())
    return blocks


def _upcoming(model: HomeModel) -> list[dict[str, Any]]:
    if not model.upcoming:
        return []
    zone = model.member.timezone if model.member else None
    lines = [f"{when(start, end, zone)}: session {number} with {escape(partner)}" for start, end, partner, number in model.upcoming[:MAX_SESSIONS]]
    more = len(model.upcoming) - MAX_SESSIONS
    return bk.bullet_sections("*Upcoming sessions*", lines + ([f"…and {more} more"] if more > 0 else []))
