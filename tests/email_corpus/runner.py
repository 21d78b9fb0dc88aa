"""Send the corpus through the real inbound path and read back what the bot did with each reply.

Every case gets its own person who was really sent the dialog's email: the prompt is queued by `bot.notify`,
rendered and built by `bot.email.render` exactly as the sender does, and recorded as sent with its Message-ID, so
the reply goes to that person's signed reply address and its In-Reply-To names a message we sent. The replies then
go in as Mailgun route posts (body-mime) and SendGrid raw posts to POST /email/inbound, or all at once through IMAP.
"""

from __future__ import annotations

import hashlib
import hmac
import imaplib
import json
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import dialogs, notify
from bot.email.questions import LABELS
from bot.email.render import build_mime, render_notice
from bot.importer import import_roster
from bot.rounds import service
from bot.settings import Settings
from storage import db, repo
from storage.db import session_scope
from storage.models import DialogState, OutboxMessage, Pairing, Person, Round, ScheduledAction
from tests.email_corpus.clients import CLIENTS, Original, build_reply, build_robot
from tests.email_corpus.model import Case

PROGRAM = "Riverside Mentoring"
ZONE = "America/Los_Angeles"
SIGNING_KEY = "key-corpus-mailgun-signing"
SENDGRID_KEY = "sg-corpus-key"
ADMIN_SLACK_ID = "UADMIN0001"
FIRST = ("Ana", "Ben", "Carla", "Dev", "Elena", "Femi", "Grace", "Hugo", "Ines", "Jamal", "Kira", "Luis", "Maya", "Noah", "Olga", "Priya",
         "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe")  # fmt: skip
LAST = ("Chen", "Ortiz", "Moreau", "Schmidt", "Silva", "de Vries", "Rossi", "Okafor", "Nguyen", "Haddad", "Kowalski", "Patel", "Brown")


def settings_for(database_url: str, data_dir: Path, **extra: Any) -> Settings:
    """The app's settings for a corpus run: both webhook providers on, no scheduler (the outbox is read, not sent)."""
    return Settings(
        _env_file=None, data_dir=data_dir, database_url=database_url, program_name=PROGRAM, mail_from="mentoring@riverside.example",
        reply_domain="reply.riverside.example", email_token_secret="c" * 40, scheduler_enabled=False, mailgun_signing_key=SIGNING_KEY,
        sendgrid_inbound_key=SENDGRID_KEY, public_base_url="https://mentoring.riverside.example", slack_admin_ids=[ADMIN_SLACK_ID], **extra,
    )  # fmt: skip


@dataclass
class Prepared:
    """One case ready to send: its person, the dialog it answers, the email they were sent and the raw reply."""

    case: Case
    person_id: int
    email: str
    name: str
    context: str
    before: dict[str, Any]
    original: Original
    raw: bytes
    message_id: str


@dataclass
class Observed:
    """What the bot did with one reply."""

    status: str
    before: dict[str, Any]
    after: dict[str, Any]
    replies: list[dict[str, Any]] = field(default_factory=list)  # outbox bodies queued back to the sender
    held: list[str] = field(default_factory=list)  # what reached someone else (admins) about this reply, as JSON


def _person_rows(cases: Sequence[Case]) -> list[dict[str, str]]:
    rows = []
    for index, case in enumerate(cases):
        first, last = FIRST[index % len(FIRST)], LAST[(index // len(FIRST) + index) % len(LAST)]
        slug = re.sub(r"[^a-z]", "", (first + last).lower())
        email = f"{slug}.{index}@riverside-schools.example"
        role = "mentor" if case.flow == "approval" else case.role
        principal = f"principal.{index}@riverside-schools.example" if case.flow == "approval" else ""
        rows.append({"email": email, "name": f"{first} {last}", "role": role, "principal_email": principal})
        if case.flow in ("approval", "check_in"):
            partner_role = "mentee" if case.flow == "check_in" and case.role in ("mentor", "both") else "mentor"
            rows.append({"email": f"partner.{index}@riverside-schools.example", "name": f"Partner {index}", "role": partner_role, "principal_email": ""})
    return rows


def _original(mime, person: Person) -> Original:
    text = mime.get_body(preferencelist=("plain",)).get_content()
    html = mime.get_body(preferencelist=("html",)).get_content()
    return Original(
        from_name=mime["From"].addresses[0].display_name, from_addr=mime["From"].addresses[0].addr_spec, to_name=person.name,
        to_addr=person.email, reply_to=mime["Reply-To"].addresses[0].addr_spec, subject=str(mime["Subject"]),
        message_id=str(mime["Message-ID"]), references=tuple(re.findall(r"<[^<>\s]+>", str(mime.get("References", "")))),
        sent_at=datetime.strptime(str(mime["Date"]), "%a, %d %b %Y %H:%M:%S %z").astimezone(ZoneInfo(ZONE)), text=text.rstrip("\n"), html=html,
    )  # fmt: skip


def _send_prompt(engine: Engine, settings: Settings, message_id: int, now: datetime) -> tuple[Original, int]:
    """Render and build the queued prompt as the email sender does, and record it as sent."""
    with session_scope(engine) as session:
        message = session.get(OutboxMessage, message_id)
        person = session.get(Person, message.person_id)
        rendered = render_notice(session, message=message, settings=settings, now=now)
        assert not rendered.skip, f"the prompt to {person.email} was not sent: {rendered.skip}"
        mime = build_mime(message, rendered, settings=settings, person=person, now=now)
        message.status, message.provider_id, message.sent_at, message.attempts = "sent", str(mime["Message-ID"]), now, 1
        return _original(mime, person), person.id


def prepare(engine: Engine, settings: Settings, cases: Sequence[Case], *, now: datetime, roster_dir: Path) -> list[Prepared]:
    """Put everyone in the database, give each the dialog state the case starts from, and send each their email."""
    rows = _person_rows(cases)
    roster = roster_dir / "corpus-roster.csv"
    roster.write_text("email,name,role,principal_email,site\n" + "".join(f"{r['email']},{r['name']},{r['role']},{r['principal_email']},Riverside\n" for r in rows), encoding="utf-8")
    report = import_roster(engine, roster, program_name=PROGRAM, default_timezone=ZONE, now=now, strict=True)
    assert not getattr(report, "errors", None), report
    term = service.open_term(engine, program_name=PROGRAM, timezone=ZONE, name="Spring 2027", opt_in_by=None, now=now)
    with session_scope(engine) as session:
        people = repo.people_by_email(session, emails=[r["email"] for r in rows])
        round_ = Round(term_id=term.id, status="active", created_at=now, status_changed_at=now)
        session.add(round_)
        session.flush()
        round_id = round_.id
        ids = {email: person.id for email, person in people.items()}
        for r in rows:
            if r["principal_email"]:
                repo.upsert_person(session, existing=None, fields={"email": r["principal_email"], "name": "Dr. Helen Park", "role": "mentee", "site": "Riverside", "timezone": ZONE, "capacity": 0}, now=now)  # fmt: skip
    prepared = []
    email_of = [r["email"] for r in rows if not r["email"].startswith("partner.")]
    for index, (case, email) in enumerate(zip(cases, email_of, strict=True)):
        prepared.append(_prepare_one(engine, settings, case, index, ids[email], ids.get(f"partner.{index}@riverside-schools.example"), term.id, round_id, now))
    return prepared


def _prepare_one(engine: Engine, settings: Settings, case: Case, index: int, person_id: int, partner_id: int | None, term_id: int, round_id: int, now: datetime) -> Prepared:
    term_context = dialogs.context_key(flow="opt_in", term_id=term_id)
    asker_id = person_id
    if case.flow == "opt_in":
        with session_scope(engine) as session:
            repo.upsert_enrollment(session, term_id=term_id, person_id=person_id, role=case.role, capacity=1, status="invited", approval="not_required", now=now)
        context = term_context
    elif case.flow == "profile":
        opt_in = {"role": case.role, **({"capacity": "2"} if case.role in ("mentor", "both") else {})}
        dialogs.answer(engine, person_id=person_id, flow="opt_in", context=term_context, channel="email", replies=opt_in, now=now)
        context = term_context
    elif case.flow == "approval":
        result = dialogs.answer(engine, person_id=person_id, flow="opt_in", context=term_context, channel="email", replies={"role": "mentor", "capacity": "2"}, now=now)
        with session_scope(engine) as session:
            asker_id = repo.people_by_email(session, emails=[f"principal.{index}@riverside-schools.example"])[f"principal.{index}@riverside-schools.example"].id
        notify.dispatch_events(engine, result.events, now=now)
        context = dialogs.context_key(flow="approval", term_id=term_id, subject_id=person_id)
    elif case.flow == "check_in":
        with session_scope(engine) as session:
            mentor, mentee = (person_id, partner_id) if case.role in ("mentor", "both") else (partner_id, person_id)
            pairing = Pairing(round_id=round_id, mentor_id=mentor, mentee_id=mentee, status="active", created_at=now)
            session.add(pairing)
            session.flush()
            context = dialogs.context_key(flow="check_in", pairing_id=pairing.id)
    else:
        context = dialogs.context_key(flow="survey", round_id=round_id)
    if case.prior:
        dialogs.answer(engine, person_id=asker_id, flow=case.flow, context=context, channel="email", replies=dict(case.prior), now=now)
    with session_scope(engine) as session:
        asker = session.get(Person, asker_id)
        if case.flow == "approval":
            queued = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "prompt.approval", OutboxMessage.person_id == asker_id)).one()
        else:
            extra = {"term_name": "Spring 2027"} if case.flow == "opt_in" else None
            queued = notify.prompt_flow(session, person=asker, flow=case.flow, context=context, now=now, extra=extra)[0]
        session.flush()
        queued_id, email, name = queued.id, asker.email, asker.name
    original, _ = _send_prompt(engine, settings, queued_id, now)
    before = dict(dialogs.current_state(engine, person_id=asker_id, flow=case.flow, context=context).answers) if case.prior else {}
    raw = (build_robot if case.machine else build_reply)(case, original, n=index)
    return Prepared(case, asker_id, email, name, context, before, original, raw, f"<{case.id}.{index}@{CLIENTS[case.client].domain}>")


# --- sending --------------------------------------------------------------------------------------------------------


def mailgun_post(p: Prepared) -> dict[str, str]:
    """A signed Mailgun route post carrying the raw message (the "store and notify" / body-mime form)."""
    timestamp, token = str(int(time.time())), secrets.token_hex(25)
    signature = hmac.new(SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "recipient": p.original.reply_to, "sender": p.email, "from": p.email, "subject": "", "body-mime": p.raw.decode("ascii"),
        "timestamp": timestamp, "token": token, "signature": signature,
    }  # fmt: skip


def sendgrid_post(p: Prepared) -> dict[str, str]:
    """A SendGrid Inbound Parse post with "POST the raw, full MIME message" on."""
    envelope = json.dumps({"to": [p.original.reply_to], "from": p.email})
    return {"email": p.raw.decode("ascii"), "envelope": envelope, "to": p.original.reply_to, "from": p.email}


def observe_all(engine: Engine, prepared: Sequence[Prepared], statuses: dict[str, str], *, since_id: int, since_action: int) -> dict[str, Observed]:
    """What each reply did, read after the whole batch: one person per case, so every row is attributable to its case."""
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.id > since_id).order_by(OutboxMessage.id)).all()
        actions = session.exec(select(ScheduledAction).where(ScheduledAction.id > since_action, ScheduledAction.kind != "email.webhook_token")).all()
        states = {(s.person_id, s.flow, s.context): dict(s.answers) for s in session.exec(select(DialogState))}
        # Whatever reaches someone other than the sender (admins) and is not a known consequence of an answer
        # (a principal asked to approve, a mentor told the decision).
        others = [
            json.dumps({"purpose": r.purpose, "recipient": r.recipient, "body": r.body}, ensure_ascii=False)
            for r in rows if not r.purpose.startswith(("prompt.", "approval.decided"))
        ] + [json.dumps({"kind": a.kind, "person_id": a.person_id, "payload": a.payload, "result": a.result}, ensure_ascii=False) for a in actions]
        observed = {}
        for p in prepared:
            mine = [r.body for r in rows if r.recipient.lower() == p.email.lower() and not r.purpose.startswith("prompt.")]
            marks = (p.email.lower(), p.message_id.lower())
            held = [h for h in others if any(mark in h.lower() for mark in marks) and not _is_reply_to(h, p)]
            after = states.get((p.person_id, p.case.flow, p.context), {})
            observed[p.case.id] = Observed(statuses.get(p.case.id, "missing"), p.before, after, mine, held)
        return observed


def _is_reply_to(row: str, p: Prepared) -> bool:
    """The bot's own answer to the sender is not "held for a person"."""
    data = json.loads(row)
    return data.get("recipient", "").lower() == p.email.lower() and str(data.get("purpose", "")).startswith("email.reply")


def _high_water(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        outbox = session.exec(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())).first() or 0
        action = session.exec(select(ScheduledAction.id).order_by(ScheduledAction.id.desc())).first() or 0
        return outbox, action


async def run_webhook(client: httpx.AsyncClient, engine: Engine, settings: Settings, prepared: Sequence[Prepared], *, now: datetime) -> dict[str, Observed]:
    """Post each reply to the running app (Mailgun, Mailgun, SendGrid in turn), then observe what it did with each."""
    since, since_action = _high_water(engine)
    statuses = {}
    for index, p in enumerate(prepared):
        if index % 3 == 2:
            response = await client.post(f"/email/inbound?key={SENDGRID_KEY}", data=sendgrid_post(p))
        else:
            response = await client.post("/email/inbound", data=mailgun_post(p))
        statuses[p.case.id] = response.json().get("status", "?") if response.status_code == 200 else f"http {response.status_code}"
    return observe_all(engine, prepared, statuses, since_id=since, since_action=since_action)


def deliver_to_mailbox(host: str, port: int, user: str, password: str, prepared: Iterable[Prepared]) -> int:
    """Append every reply to INBOX (as the mail server would deliver it); returns how many."""
    client = imaplib.IMAP4(host, port)
    client.login(user, password)
    client.select("INBOX")
    if client.search(None, "ALL")[1][0]:
        client.store("1:*", "+FLAGS", "(\\Deleted)")
        client.expunge()
    count = 0
    for p in prepared:
        assert client.append("INBOX", None, imaplib.Time2Internaldate(time.time()), p.raw)[0] == "OK"
        count += 1
    client.logout()
    return count


async def run_imap(poller, engine: Engine, prepared: Sequence[Prepared]) -> dict[str, Observed]:
    """One poll reads every appended reply (in the order appended); then each case is observed by its own person."""
    since, since_action = _high_water(engine)
    results = await poller.poll_once()
    statuses = {p.case.id: result.status for p, result in zip(prepared, results, strict=False)}
    return observe_all(engine, prepared, statuses, since_id=since, since_action=since_action)


def new_database(database_url: str) -> Engine:
    """A migrated engine for a corpus run."""
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    return engine


# --- scoring --------------------------------------------------------------------------------------------------------


@dataclass
class Score:
    """How one case came out."""

    case: Case
    met: bool
    understood: bool = False
    asked: bool = False
    wrong_save: list[str] = field(default_factory=list)
    lost_text: list[str] = field(default_factory=list)
    machine_handled: bool = False
    forwarded: bool = False
    detail: str = ""


def _norm(text: str) -> str:
    return " ".join(str(text).casefold().split())


def _asked_about(reply: dict[str, Any], key: str) -> bool:
    """The reply asks about this question specifically: a problem or a clarifying question is attached to it."""
    return any(key in (reply.get(field_) or {}) for field_ in ("errors", "clarify", "asks", "questions_about"))


def score(case: Case, seen: Observed) -> Score:
    """Compare what the bot did with what the case expects."""
    new = {k: v for k, v in seen.after.items() if seen.before.get(k, object()) != v}
    expected = dict(case.saved or {})
    wrong = [f"{k}={new[k]!r}" + (f" (wanted {expected[k]!r})" if k in expected else "") for k in new if k not in expected or new[k] != expected[k]]
    reply = seen.replies[-1] if seen.replies else {}
    from_replies = [[r.get("errors"), r.get("unplaced"), r.get("understood")] for r in seen.replies]
    haystack = _norm(json.dumps([new, from_replies], ensure_ascii=False) + " " + " ".join(seen.held))
    lost = [phrase for phrase in case.kept if _norm(phrase) not in haystack]
    result = Score(case, met=False, wrong_save=wrong, lost_text=lost)
    problems = []
    if case.machine:
        # A bounce is meant to reach the admins (the address is failing); an auto-reply reaches no one.
        result.machine_handled = seen.status != "applied" and not new and not seen.replies and (case.machine == "bounce" or not seen.held)
        if not result.machine_handled:
            problems.append(f"treated as a person's reply (status {seen.status}, {len(seen.replies)} answer(s) queued)")
    if case.forwarded:
        result.forwarded = bool(seen.held) and bool(seen.replies)
        if not result.forwarded:
            problems.append("not passed to a person" if not seen.held else "the sender was not told")
    if expected:
        missing = {k: v for k, v in expected.items() if new.get(k) != v}
        labels = {label for label, _value in (reply.get("understood") or [])}
        unechoed = [k for k in expected if LABELS.get(k, (k,))[0] not in labels]
        result.understood = not missing and not unechoed
        if missing:
            problems.append("not saved: " + ", ".join(f"{k}={v!r} (got {new.get(k, seen.after.get(k))!r})" for k, v in missing.items()))
        elif unechoed:
            problems.append("saved but not echoed back: " + ", ".join(unechoed))
    if case.asks:
        unasked = [k for k in case.asks if k in new or not _asked_about(reply, k)]
        result.asked = not unasked
        if unasked:
            problems.append("not asked about: " + ", ".join(unasked) + f" (errors {sorted((reply.get('errors') or {}))})")
    if wrong:
        problems.append("wrong save: " + "; ".join(wrong))
    if lost:
        problems.append("lost text: " + "; ".join(lost))
    result.met = not problems
    result.detail = f"{case.id} [{CLIENTS[case.client].label}, {case.lang}, {case.flow}]: " + ("ok" if not problems else " | ".join(problems))
    return result


async def webhook_scores(cases: Sequence[Case], folder: Path, *, now: datetime) -> dict[str, Score]:
    """The corpus through POST /email/inbound of one running app on one fresh SQLite database in `folder`."""
    from tests.test_web import serving  # the app under uvicorn on a loopback port, as the other email tests run it

    url = f"sqlite:///{(folder / 'corpus.db').as_posix()}"
    engine = new_database(url)
    settings = settings_for(url, folder / "data")
    try:
        prepared = prepare(engine, settings, cases, now=now, roster_dir=folder)
        async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
            observed = await run_webhook(client, engine, settings, prepared, now=now)
    finally:
        engine.dispose()
    return {c.id: score(c, observed[c.id]) for c in cases}
