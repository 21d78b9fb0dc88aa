"""The "email replies" figure: the replies corpus (tests/email_corpus) through the real webhook, scored per case.

Each reply is a realistic email from one of 13 mail programs in one of 7 languages, answering one of the bot's
dialogs; it is posted to POST /email/inbound of the running app, and what the bot saved, asked back, kept and
passed to a person is compared with what the case expects. Prints one table per client, per language and per
question (cases, understood or asked correctly, wrong saves, lost text), with totals, and writes them to
docs/email-replies.md.

Usage: python bench/email_replies.py [--out docs/email-replies.md] [--failures]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.email_corpus import CASES, HELDOUT_2  # noqa: E402
from tests.email_corpus.clients import CLIENTS  # noqa: E402
from tests.email_corpus.runner import Score, webhook_scores  # noqa: E402

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese", "nl": "Dutch", "it": "Italian"}


def _row(name: str, scores: list[Score], key: str | None = None) -> str:
    met = sum(s.met for s in scores)
    # Per question, a wrong save counts against the question whose value was wrongly stored.
    wrong = sum(any(key is None or w.startswith(key + "=") for w in s.wrong_save) for s in scores)
    lost = sum(bool(s.lost_text) for s in scores)
    return f"| {name} | {len(scores)} | {met} ({100 * met / len(scores):.0f}%) | {wrong} | {lost} |"


def table(title: str, scores: Iterable[Score], group: Callable[[Score], Iterable[str]], *, by_key: bool = False) -> str:
    """A markdown table of the scores grouped by `group` (a case may belong to several groups), largest first."""
    groups: dict[str, list[Score]] = defaultdict(list)
    for s in scores:
        for name in group(s):
            groups[name].append(s)
    lines = [f"### {title}", "", "| | cases | expectation met | wrong saves | lost text |", "|---|---:|---:|---:|---:|"]
    lines += [_row(name, items, name.split(" ")[-1] if by_key and not name.startswith("(") else None) for name, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    return "\n".join(lines)


def _set(s: Score) -> list[str]:
    """Which part of the corpus a case belongs to, by its id's prefix."""
    if s.case.id.startswith("h2-"):
        return ["held-out 2"]
    return ["held-out (written later)" if s.case.id.startswith("ho-") else "first corpus"]


def _question(s: Score) -> list[str]:
    if s.case.machine:
        return ["(auto-reply or bounce)"]
    keys = [f"{s.case.flow} {key}" for key in s.case.keys]
    return keys + (["(for a person)"] if s.case.forwarded else [])


def report(scores: dict[str, Score], *, revision: str) -> str:
    """The whole figure as markdown."""
    all_scores = list(scores.values())
    met = sum(s.met for s in all_scores)
    by_kind = defaultdict(list)
    for s in all_scores:
        by_kind[s.case.expectation].append(s)
    understood = sum(s.understood for s in all_scores if s.case.saved)
    asked = sum(s.asked for s in all_scores if s.case.asks)
    machine = sum(s.machine_handled for s in by_kind["machine"])
    forwarded = sum(s.forwarded for s in all_scores if s.case.forwarded)
    totals = [
        "| | cases | met |", "|---|---:|---:|",
        f"| all replies | {len(all_scores)} | {met} ({100 * met / len(all_scores):.0f}%) |",
        f"| understood (every expected value saved and echoed) | {sum(1 for s in all_scores if s.case.saved)} | {understood} |",
        f"| asked correctly (the unclear part asked about, nothing wrongly saved for it) | {sum(1 for s in all_scores if s.case.asks)} | {asked} |",
        f"| machine-handled (auto-reply or bounce: nothing saved, nothing sent) | {len(by_kind['machine'])} | {machine} |",
        f"| forwarded (reached the admins, sender told) | {sum(1 for s in all_scores if s.case.forwarded)} | {forwarded} |",
        f"| wrong saves (a value stored that the reply did not mean) | | {sum(bool(s.wrong_save) for s in all_scores)} |",
        f"| lost text (words that had to survive quote stripping and did not) | | {sum(bool(s.lost_text) for s in all_scores)} |",
    ]  # fmt: skip
    failing = sorted(s.detail for s in all_scores if not s.met)
    return "\n".join([
        "# Email replies", "",
        "How well the bot understands real replies: the corpus in `tests/email_corpus` (realistic replies written for this",
        "project, built as raw RFC 822 the way each mail program writes them) posted to the running app's webhook and",
        f"scored by `bench/email_replies.py` (`tests/test_email_corpus.py` asserts the same cases). Bot code at `{revision}`.", "",
        "A case's expectation is met when every value it names is saved exactly as the dialog stores it and echoed in",
        "the answer, every unclear part is asked about specifically, nothing else is saved, every phrase that must survive",
        "quote stripping reaches what was saved, asked or passed on, robots get no answer, and questions for a person reach",
        "the admins.", "",
        "## Totals", "", *totals, "",
        "The corpus has two parts. The first 217 replies were written before the reader was improved, and the reader",
        "was then tuned until it met them. The 128 held-out replies (ids `ho-…`, `tests/email_corpus/cases_heldout.py`)",
        "were written afterwards by someone who had not seen the reader's code: on first run the reader met 96 of them",
        "(75 %), with 7 wrong saves. That figure, not the one below, is the honest estimate of how a reader that has",
        "only been tuned on its own corpus does on new mail. The held-out failures were then fixed as general rules.", "",
        f"A second held-out set of {sum(s.case.id.startswith('h2-') for s in all_scores)} replies (ids `h2-…`, "
        "`tests/email_corpus/cases_heldout2.py`) was written once the reader met all",
        "345, again without reading its code, in fresh phrasings (UK, Australian and Indian English, texting, rambling replies,",
        "corrections, pasted tables, conditions, time zones). On first run the reader met 90 of 136 (66 %), with 19 wrong",
        "saves; one expectation was then judged unreasonable and corrected. A safety net was then added (a correction,",
        "a question, a condition, a less-than-weekly repeat, another time zone or words the reader could not account for",
        "make a proposal or a question back, never a save), which took its wrong saves to 0. This set is not asserted by",
        "the tests, so its row below stays a measure rather than a target; its unmet cases are listed at the end.", "",
        table("Per set", all_scores, _set), "",
        table("Per client", all_scores, lambda s: [CLIENTS[s.case.client].label]), "",
        table("Per language", all_scores, lambda s: [LANGUAGE_NAMES[s.case.lang]]), "",
        table("Per question", all_scores, _question, by_key=True), "",
        "## Cases not met", "", *[f"- {line}" for line in failing], "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "email-replies.md")
    parser.add_argument("--failures", action="store_true", help="also print every case not met")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="email-replies-") as folder:
        scores = asyncio.run(webhook_scores((*CASES, *HELDOUT_2), Path(folder), now=NOW))
    # The bot's own revision: the last commit that changed the code under test.
    revision = subprocess.run(["git", "log", "-1", "--format=%h %s", "--", "bot", "storage"], cwd=ROOT, capture_output=True, text=True).stdout.strip()[:90] or "unknown"
    text = report(scores, revision=revision)
    args.out.write_text(text, encoding="utf-8")
    printed = text if args.failures else text.split("## Cases not met")[0]
    print(printed)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
