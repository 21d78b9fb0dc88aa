"""Conversation guides: one-, two- and three-session guides and speed-round cards.

One Jinja2 template per guide (in `templates/`) renders, in a sandbox, to a small structured document;
three renderers turn it into Slack Block Kit, email (plain text and HTML) and a printable page.

    ctx = GuideContext(program_name=..., mentor=Mentor(...), mentees=(Mentee(...),), sessions=2, ...)
    blocks = render_slack_blocks(ctx)                 # list of Block Kit blocks, within Slack's limits
    subject, text, html = render_email(ctx)
    text, fragment = render_email_parts(ctx)       # the guide inside another email (no page of its own)
    page = render_print_page(ctx)                     # served at /guides/pairing/{id} (bot.web.guides)
    problems = validate_override(source, name="two_sessions.html")   # at preview, with line numbers

Admins may override any template by name (`overrides={"two_sessions.html": source}` on each render
function); `shipped_source(name)` gives the shipped text to start from.
"""

from bot.guides.blockkit import block_kit_problems
from bot.guides.context import (
    DEFAULT_CONFIDENTIALITY,
    GUIDE_NAMES,
    SHIPPED_TEMPLATES,
    TEMPLATE_VARIABLES,
    GuideContext,
    GuideKind,
    Mentee,
    Mentor,
    SessionTime,
    format_moment,
    format_span,
    guide_kind,
    pick_guide,
    sample_contexts,
)
from bot.guides.document import Document, GuideMarkupError, parse_guide
from bot.guides.environment import (
    Problem,
    guide_environment,
    render_document,
    render_markup,
    shipped_source,
    validate_override,
    validate_overrides,
)
from bot.guides.render import (
    mrkdwn_escape,
    render_email,
    render_email_parts,
    render_print_page,
    render_slack_blocks,
    render_slack_message,
    render_text,
)

__all__ = [
    "DEFAULT_CONFIDENTIALITY",
    "GUIDE_NAMES",
    "SHIPPED_TEMPLATES",
    "TEMPLATE_VARIABLES",
    "Document",
    "GuideContext",
    "GuideKind",
    "GuideMarkupError",
    "Mentee",
    "Mentor",
    "Problem",
    "SessionTime",
    "block_kit_problems",
    "format_moment",
    "format_span",
    "guide_environment",
    "guide_kind",
    "mrkdwn_escape",
    "parse_guide",
    "pick_guide",
    "render_document",
    "render_email",
    "render_email_parts",
    "render_markup",
    "render_print_page",
    "render_slack_blocks",
    "render_slack_message",
    "render_text",
    "sample_contexts",
    "shipped_source",
    "validate_override",
    "validate_overrides",
]
