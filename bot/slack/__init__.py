"""The Slack channel: a Bolt (async) app served over HTTP inside the FastAPI app or over Socket Mode.

Flows are asked exactly as `bot/flows/` declares them; this package only renders them as Block Kit and reads
Slack's payloads back into flow replies.
"""
