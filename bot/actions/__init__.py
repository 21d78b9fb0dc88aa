"""The use-case layer: every operation an admin or participant can perform, once.

Each operation is a function of `(session, *, actor, now, …)` that decides who may run it (`access.py`, one table),
does the work through the domain rooms below, and returns a typed result. The CLI, `/mentoring` and the admin pages
only parse input, open one unit of work (`scope.unit_of_work`), call the operation and render the result; a
`bot.errors.UserError` becomes exit code 1, an ephemeral Slack answer or an error page, and anything else is a bug.
"""
