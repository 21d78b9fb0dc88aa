"""The crash test's worker: publish a round, run the sweep, deliver the outbox (Slack and email), in a process of its own.

``python -m tests.reliability._faults_publish DATABASE_URL SMTP_PORT SLACK_API_URL NOW ROUND_ID`` does what a
running mentorbot does after an admin presses "publish", and prints each phase as it starts, so the test can
kill it (SIGKILL) at a random moment and run it again, the way a restarted server picks up where it was. It
resends an unconfirmed email after the server's default EMAIL_RESEND_UNCONFIRMED_MINUTES, as `serve` does.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta


def _say(line: str) -> None:
    print(line, flush=True)


async def run(database_url: str, smtp_port: int, slack_api_url: str, now: datetime, round_id: int) -> None:
    """Publish the round unless it already is, carry out every action due by `now`, then deliver until nothing is due."""
    from bot import outbox
    from bot.email.sender import EmailSender, SmtpConfig
    from bot.rounds import schedule
    from bot.settings import Settings
    from bot.slack.sender import SlackSender
    from storage import db, repo
    from storage.db import session_scope

    engine = db.create_db_engine(database_url)
    settings = Settings(
        _env_file=None, database_url=database_url, smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="none",
        mail_from="mentoring@district.example", reply_domain="reply.district.example", email_token_secret="k" * 32,
        slack_bot_token="xoxb-standin-token", slack_signing_secret="s" * 32, slack_api_url=slack_api_url,
    )  # fmt: skip
    config = schedule.ScheduleConfig(session_minutes=30)
    _say("ready")
    with session_scope(engine) as session:
        status = repo.get_round(session, round_id=round_id).status
    if status == "review":
        _say("publishing")
        schedule.publish_round(engine, round_id=round_id, now=now, config=config)
    _say("sweeping")
    while schedule.run_due_actions(engine, now=now, config=config):
        pass
    _say("delivering")
    email = EmailSender(settings, engine=engine, smtp=SmtpConfig(host="127.0.0.1", port=smtp_port, security="none", timeout=10), clock=lambda: now)
    slack = SlackSender(settings, engine=engine, interval=0.002)
    resend = timedelta(minutes=settings.email_resend_unconfirmed_minutes)
    while await outbox.deliver_due(engine, {"email": email, "slack": slack}, now=now, limit=1000, concurrency=4, resend_unconfirmed_after=resend):
        pass
    await email.close()
    _say("done")


if __name__ == "__main__":
    url, port, slack_url, moment, round_id = sys.argv[1:6]
    asyncio.run(run(url, int(port), slack_url, datetime.fromisoformat(moment), int(round_id)))
