"""A delivery worker that kills itself (SIGKILL) at one exact point of an SMTP hand-over, for the hand-over crash test.

``python -m tests.reliability._faults_handover DATABASE_URL SMTP_PORT NOW WHERE NTH RESEND_MINUTES`` delivers the
outbox one message at a time and dies at the NTH message's hand-over, WHERE is "before-dot" (just after the outbox
committed `committing`, before SMTP's final "." is written: the server never completes the message) or "after-dot"
(the server answered 250, before the outbox records `sent`); "none" never dies. RESEND_MINUTES 0 turns the resend off.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from datetime import datetime, timedelta


def _die() -> None:
    print("killing myself", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


async def run(database_url: str, port: int, now: datetime, where: str, nth: int, resend_minutes: int) -> None:
    from bot import outbox
    from bot.email.sender import EmailSender, SmtpConfig
    from bot.settings import Settings
    from storage import db

    engine = db.create_db_engine(database_url)
    settings = Settings(
        _env_file=None, database_url=database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        mail_from="mentoring@district.example", reply_domain="reply.district.example", email_token_secret="k" * 32,
    )  # fmt: skip
    seen = {"committing": 0, "sent": 0}
    counting = threading.Lock()  # on PostgreSQL the outbox writes marks from more than one thread at a time
    real_write = outbox.write_marks

    def write_marks(*args, **kwargs):  # the outbox's mark writer looks it up in the module at each call
        with counting:
            before_sent, seen["sent"] = seen["sent"], seen["sent"] + len(kwargs["sent"])
        if where == "after-dot" and before_sent < nth <= before_sent + len(kwargs["sent"]):
            _die()  # the server answered 250; the outbox never records `sent`
        owned = real_write(*args, **kwargs)
        with counting:
            before, seen["committing"] = seen["committing"], seen["committing"] + len(kwargs["committing"])
        if where == "before-dot" and before < nth <= before + len(kwargs["committing"]):
            _die()  # `committing` is committed; the final "." is never written
        return owned

    outbox.write_marks = write_marks
    sender = EmailSender(settings, engine=engine, smtp=SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=10), clock=lambda: now)
    resend = timedelta(minutes=resend_minutes) if resend_minutes else None
    while await outbox.deliver_due(engine, {"email": sender}, now=now, limit=1000, concurrency=1, resend_unconfirmed_after=resend):
        pass
    await sender.close()
    print("done", flush=True)


if __name__ == "__main__":
    url, port, moment, where, nth, resend = sys.argv[1:7]
    asyncio.run(run(url, int(port), datetime.fromisoformat(moment), where, int(nth), int(resend)))
