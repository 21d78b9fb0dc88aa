"""Settings: defaults, environment, `.env`, validation, and the generated settings reference kept in step."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot import settings_doc
from bot.settings import Settings


def test_defaults_need_nothing_outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = Settings()
    assert settings.resolved_database_url == "sqlite:///.mentorbot/mentorbot.db"
    assert settings.slack_enabled is False


def test_environment_and_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PROGRAM_NAME=Harbor District\nSESSION_MINUTES=45\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    settings = Settings()
    assert (settings.program_name, settings.session_minutes) == ("Harbor District", 45)
    assert settings.resolved_database_url.startswith("postgresql+psycopg://")


def test_bad_values_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        Settings(_env_file=None, default_timezone="PST8PDT-ish")
    with pytest.raises(ValidationError):
        Settings(_env_file=None, session_minutes=1)


def test_the_settings_reference_is_the_one_generated_from_the_model() -> None:
    # A setting added, renamed or re-described in bot/settings.py fails here until `python -m bot.settings_doc` runs.
    committed = settings_doc.PAGE.read_text(encoding="utf-8")
    assert committed == settings_doc.render(), "docs/settings.md is out of date: run python -m bot.settings_doc"
    missing = [name.upper() for name in Settings.model_fields if f"| `{name.upper()}` |" not in committed]
    assert missing == []


def test_the_settings_reference_shows_defaults_ranges_and_choices() -> None:
    rows = {line.split(" | ")[0].strip("| `"): line for line in settings_doc.render().splitlines() if line.startswith("| `")}
    assert rows["SESSION_MINUTES"].startswith("| `SESSION_MINUTES` | whole number | `30` | ≥ 5, ≤ 240 | Length of one")
    assert "| `starttls` or `ssl` or `none` | `starttls` |" in rows["SMTP_SECURITY"]
    assert "| list of text | `[]` |" in rows["SLACK_ADMIN_IDS"]
    assert "| text | unset |" in rows["SLACK_BOT_TOKEN"] and "| `true` or `false` | `false` |" in rows["API_DOCS"]
    assert all(line.count(" | ") == 4 for line in rows.values())  # a description's pipe never splits its cell


def test_settings_doc_check_says_when_the_page_is_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "settings.md"
    stale.write_text(settings_doc.render().replace("`INBOX`", "`Inbox`"), encoding="utf-8")
    monkeypatch.setattr(settings_doc, "PAGE", stale)
    monkeypatch.setattr("sys.argv", ["settings_doc", "--check"])
    assert settings_doc.main() == 1 and "out of date" in capsys.readouterr().err
    monkeypatch.setattr("sys.argv", ["settings_doc"])
    assert settings_doc.main() == 0 and stale.read_text(encoding="utf-8") == settings_doc.render()


def test_an_unset_token_secret_is_random_kept_in_data_dir_and_private(tmp_path: Path) -> None:
    first = Settings(_env_file=None, data_dir=tmp_path / "a")
    again = Settings(_env_file=None, data_dir=tmp_path / "a")
    other = Settings(_env_file=None, data_dir=tmp_path / "b")
    assert len(first.token_secret) >= 48 and first.token_secret == again.token_secret  # survives a restart
    assert other.token_secret != first.token_secret  # never a shared, guessable default
    assert (tmp_path / "a" / "email-token-secret").stat().st_mode & 0o077 == 0
    assert Settings(_env_file=None, data_dir=tmp_path / "c", email_token_secret="s" * 40).token_secret == "s" * 40
