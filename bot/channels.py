"""The senders the outbox worker uses, one per channel, built from the settings."""

from __future__ import annotations

from bot.email.sender import EmailSender
from bot.outbox import Sender
from bot.settings import Settings
from bot.slack.sender import SlackSender


def default_senders(settings: Settings) -> dict[str, Sender]:
    """A sender for each channel that is set up: email always, Slack when its tokens are set.

    Without Slack, the server's outbox worker moves Slack messages to email (`bot.outbox.FALLBACKS`); nothing is dropped.
    """
    # Email: always on; with no SMTP_HOST it delivers to the local sink in DATA_DIR/mail.
    senders: dict[str, Sender] = {"email": EmailSender(settings)}
    # Slack: DMs through the Web API once SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set.
    if settings.slack_enabled:
        senders["slack"] = SlackSender(settings)
    return senders
