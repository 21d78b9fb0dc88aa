"""`mentorbot demo`'s Slack leg: teachers answer through the signed HTTP path, against the stand-in."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from bot.slack.demo_leg import run_slack_leg


def test_the_slack_leg_plays_opt_in_profiles_approval_and_a_round(tmp_path: Path) -> None:
    lines = run_slack_leg(Settings(_env_file=None, data_dir=tmp_path))
    text = "\n".join(lines)
    assert "Opt-in DMs reached 4 people in Slack." in text
    assert text.count("completed the profile in 2 modal pages") == 3
    assert "typed \"Tuesday-ish\"; the modal answered inline:" in text
    assert "Priya Principal clicked Approve; Rosa Alvarez was told" in text
    assert "round preview 1 → matched 1 of 2 mentees" in text
    assert "/mentoring round publish 1 → Round 1 is published: 1 pair." in text
    assert (tmp_path / "demo" / "slack" / "slack.db").exists()
