"""Doubles of the services mentorbot talks to, for the tests and the demo: real servers on loopback, never mocks.

`bot.doubles.slack` plays Slack (its Web API, response URLs, Socket Mode, and the signed requests Slack sends the
app). Nothing in the serving code imports this package (a contract in pyproject.toml); only the demo and the tests do.
"""
