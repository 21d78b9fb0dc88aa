"""A stand-in for Slack, for tests and the demo: its Web API, response URLs and Socket Mode, on loopback.

`SlackStandIn` (`web_api.py`) is a small aiohttp server that answers the Web API methods mentorbot calls with
Slack's own response shapes and errors (`channel_not_found`, `user_not_found`, `invalid_blocks` when a Block Kit
limit is broken, `expired_trigger_id`, 429 with Retry-After on demand) and records every call. Block Kit limits are
checked by `blockkit.py`. `SlackDriver` (`driver.py`) plays the other half of Slack: it sends the app signed
requests shaped like Slack's payloads (built by `payloads.py`: events, button clicks, modal submissions, slash
commands) and follows what the app answered, the way a person in Slack would.
"""

from bot.doubles.slack.blockkit import LIMITS, MAX_BLOCKS, block_kit_problems, view_problems
from bot.doubles.slack.driver import SlackDriver
from bot.doubles.slack.payloads import app_home_opened, event_callback, find_element, message_im, sign, slash_command, state_values, user_ref
from bot.doubles.slack.web_api import ApiError, Call, SlackStandIn

__all__ = [
    "LIMITS", "MAX_BLOCKS", "ApiError", "Call", "SlackDriver", "SlackStandIn", "app_home_opened", "block_kit_problems", "event_callback",
    "find_element", "message_im", "sign", "slash_command", "state_values", "user_ref", "view_problems",
]  # fmt: skip
