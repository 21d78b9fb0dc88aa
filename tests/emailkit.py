"""Real mail servers on loopback for the email tests: aiosmtpd (recording and faulting) and a private dovecot.

Also runnable as a script: ``python -m tests.emailkit burst DATABASE_URL PORT NOW`` delivers the outbox to
an SMTP server until nothing is due; the crash test runs it in a subprocess and kills it mid-burst.
"""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.email.sink import start_smtp_server
from bot.importer import import_roster
from bot.rounds import service
from storage import repo
from storage.db import session_scope


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: object


class RecordingHandler:
    """Accepts everything and keeps it, parsed, in order."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.event = asyncio.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.original_content, policy=policy.default), session.peer))
        self.event.set()
        return "250 OK queued"

    def to(self, address: str) -> list[Received]:
        """What reached one address, in order (others on the roster get mail too: their Slack messages fall back to email)."""
        return [r for r in self.received if address in r.rcpt_tos]

    async def wait_for(self, count: int, timeout: float = 10.0, *, to: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        while len(self.to(to) if to else self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} messages{f' to {to}' if to else ''}, got {len(self.to(to) if to else self.received)}")
            await asyncio.sleep(0.01)


class DataFaults:
    """The end of an SMTP transaction as `session.fault` says: "451@DATA" refuses the message, "drop-after-data" keeps it
    and cuts the connection before the reply (the client cannot know it arrived)."""

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        fault = getattr(session, "fault", "ok")
        if fault == "451@DATA":
            return "451 4.3.0 Local error in processing, try later"
        await super().handle_DATA(server, session, envelope)  # type: ignore[misc]  # the recording handler keeps it
        if fault == "drop-after-data":
            server.transport.abort()
        return "250 OK queued"


@dataclass
class FaultyHandler(DataFaults, RecordingHandler):
    """Misbehaves as scripted, one step per SMTP transaction: "ok", "421@MAIL", "451@DATA", "550@RCPT",
    "drop@RCPT" (connection cut before the message), "drop-after-data" (message kept, no reply sent)."""

    script: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()
        self.transactions = 0

    def _step(self) -> str:
        return self.script.pop(0) if self.script else "ok"

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:  # noqa: N802
        self.transactions += 1
        session.fault = self._step()
        if session.fault == "421@MAIL":
            return "421 4.3.2 Service shutting down, try later"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        fault = getattr(session, "fault", "ok")
        if fault == "550@RCPT":
            return "550 5.1.1 No such user here"
        if fault == "drop@RCPT":
            server.transport.abort()
            return "250 OK"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def smtp_server(handler: object) -> tuple[asyncio.base_events.Server, int]:
    """Start an aiosmtpd server for `handler` on a free loopback port (in the running loop)."""
    return await start_smtp_server(handler, "127.0.0.1", 0)


# --- dovecot ----------------------------------------------------------------------------------------


def open_term_with_roster(engine: Engine, tmp_path: Path, roster: str, now: datetime, *, program: str = "P") -> int:
    """Import `roster` (CSV text) into `program` and open its term "Spring 2027"; the term's id."""
    path = tmp_path / "roster.csv"
    path.write_text(roster, encoding="utf-8")
    import_roster(engine, path, program_name=program, default_timezone="America/Los_Angeles", now=now)
    return service.open_term(engine, program_name=program, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now).id


def person_id(engine: Engine, email: str) -> int:
    """The id of the person with this email."""
    with session_scope(engine) as session:
        return repo.people_by_email(session, emails=[email])[email].id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Dovecot:
    host: str
    port: int
    user: str
    password: str
    root: Path
    config: Path

    def stop(self) -> None:
        subprocess.run([dovecot_binary(), "-c", str(self.config), "stop"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        pid_file = self.root / "run" / "master.pid"
        for _ in range(100):
            if not pid_file.exists():
                break
            time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)


def dovecot_binary() -> str:
    found = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
    if found is None:
        raise RuntimeError("dovecot is not installed (Debian package dovecot-imapd); `./dev test` installs it")
    return found


def start_dovecot(user: str = "replies", password: str = "s3cret-imap") -> Dovecot:
    """A private dovecot IMAP server: its own config, a free loopback port, a maildir in a temporary folder."""
    binary = dovecot_binary()
    root = Path(tempfile.mkdtemp(prefix="mb-dovecot-"))
    os.chmod(root, 0o755)
    for folder in ("run", "state", "mail"):
        (root / folder).mkdir()
    if os.geteuid() == 0:
        # Root may not own mail; the package's own unprivileged users run the mail and login processes.
        mail_user, login_user, internal_user = "dovecot", "dovenull", "dovecot"
    else:
        mail_user = login_user = internal_user = pwd.getpwuid(os.getuid()).pw_name
    mail_group = grp.getgrgid(pwd.getpwnam(mail_user).pw_gid).gr_name
    if os.geteuid() == 0:
        shutil.chown(root / "mail", user=mail_user, group=mail_group)
    port = free_port()
    (root / "users").write_text(f"{user}:{{PLAIN}}{password}::::{root / 'mail' / user}\n", encoding="utf-8")
    config = root / "dovecot.conf"
    config.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root / 'run'}
state_dir = {root / 'state'}
instance_name = mentorbot-test-{port}
log_path = {root / 'dovecot.log'}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
default_internal_user = {internal_user}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal_user).pw_gid).gr_name}
default_login_user = {login_user}
mail_location = maildir:{root / 'mail'}/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root / 'users'}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root / 'mail'}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""",
        encoding="utf-8",
    )
    # dovecot daemonizes and its children keep inherited pipes open: give it files, not pipes.
    with open(root / "start.log", "wb") as output:
        started = subprocess.run([binary, "-c", str(config)], stdin=subprocess.DEVNULL, stdout=output, stderr=output, timeout=30)
    if started.returncode != 0:
        log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
        raise RuntimeError(f"dovecot did not start: {(root / 'start.log').read_text().strip()} {log[-500:]}")
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("dovecot started but does not answer on its port")
        time.sleep(0.05)
    return Dovecot("127.0.0.1", port, user, password, root, config)


# --- the crash test's worker ------------------------------------------------------------------------


async def _burst(database_url: str, port: int, now_iso: str) -> None:
    from datetime import datetime

    from bot import outbox
    from bot.email.sender import EmailSender, SmtpConfig
    from bot.settings import Settings
    from storage import db

    now = datetime.fromisoformat(now_iso)
    engine = db.create_db_engine(database_url)
    # The crash test's own sender uses these addresses too: a resent message keeps its Message-ID only if both agree.
    settings = Settings(
        _env_file=None, database_url=database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        mail_from="mentoring@district.example", reply_domain="reply.district.example", email_token_secret="k" * 32,
    )  # fmt: skip
    sender = EmailSender(settings, engine=engine, smtp=SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=10), clock=lambda: now)
    while await outbox.deliver_due(engine, {"email": sender}, now=now, limit=1000, concurrency=4):
        pass
    await sender.close()
    print("burst done", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["burst"]:
        asyncio.run(_burst(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
