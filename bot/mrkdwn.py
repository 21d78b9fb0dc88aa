"""The one way a person's words enter Slack mrkdwn: `escape`.

Slack reads `&`, `<` and `>` as control characters: `<!here>`, `<!channel>`, `<@U…>`, `<#C…>` and `<https://…|label>`
are a mention, a channel link or a disguised link, and `&lt;` is how a literal `<` is written. A person's name, site,
answer or note, and an admin's topic or message, are shown as typed: those three characters become entities, the
formatting marks (`*`, `_`, `~`, a backtick) become look-alikes wherever Slack could read them as a mark, a bare
`@here`, `@channel` or `@everyone` gets an invisible word joiner so it pings nobody, and a line starting with `>` is
not a quote. The program's own words (our templates, the `*bold*` around a name) are mrkdwn and stay as they are.

A leaf: standard library only, so the guides (`bot/guides/render.py`) and the Slack channel share it.
"""

from __future__ import annotations

import re
from typing import Any

# Look-alikes for the formatting marks: the text reads the same, Slack formats nothing.
_LOOKALIKE = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
WORD_JOINER = "\u2060"

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_MARK = re.compile(r"[*_~`]")
_BARE_MENTION = re.compile(r"@(?=(?:here|channel|everyone|group)\b)", re.IGNORECASE)
_QUOTE_START = re.compile(r"^([ \t]*)&gt;", re.MULTILINE)
# Our own command spans, kept as code in program sentences that also carry a person's words.
_COMMAND_SPAN = re.compile(r"`(?:/mentoring|mentorbot)\b[^`\n]*`")


def _neutral_marks(text: str) -> str:
    """Formatting marks replaced where Slack could read them as one: anywhere but between two letters or digits."""

    def swap(match: re.Match[str]) -> str:
        mark, at = match.group(), match.start()
        inside_word = mark != "`" and 0 < at < len(text) - 1 and text[at - 1].isalnum() and text[at + 1].isalnum()
        return mark if inside_word else _LOOKALIKE[mark]

    return _MARK.sub(swap, text)


def _outside_urls(text: str, change: Any) -> str:
    """`change` applied to the text between bare URLs; a URL keeps its characters so it still opens."""
    out, last = [], 0
    for url in _URL.finditer(text):
        out.append(change(text[last : url.start()]))
        out.append(url.group())
        last = url.end()
    out.append(change(text[last:]))
    return "".join(out)


def escape(text: Any, *, in_code: bool = False, keep_commands: bool = False) -> str:
    """A person's words (or plain text carrying them) made safe for Slack mrkdwn: shown as typed, no mention, link or mark.

    `in_code`: the text goes inside a code block, where only the entities and the backtick matter (the rest shows as is).
    `keep_commands`: a program sentence whose own `/mentoring …` or `mentorbot …` code spans stay code.
    """
    text = "" if text is None else str(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if in_code:
        return text.replace("`", _LOOKALIKE["`"])
    kept: list[str] = []
    if keep_commands:

        def keep(match: re.Match[str]) -> str:
            kept.append(match.group())
            return f"\x00{len(kept) - 1}\x00"

        text = _COMMAND_SPAN.sub(keep, text.replace("\x00", ""))
    text = _outside_urls(text, _neutral_marks)
    text = _BARE_MENTION.sub("@" + WORD_JOINER, text)
    text = _QUOTE_START.sub(lambda m: m.group(1) + WORD_JOINER + "\uff1e", text)
    if kept:
        text = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)
    return text


# What a person's words can never leave behind once escaped, for the tests and anyone checking a message.
CONTROL_SEQUENCES = ("<!", "<@", "<#", "<http", "<mailto", "<tel")
