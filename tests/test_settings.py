"""Settings: defaults, environment, `.env`, validation, and the README table kept in step."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


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


def test_readme_lists_every_setting() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"| `{name.upper()}` |" not in text]
    assert missing == []


def test_an_unset_token_secret_is_random_kept_in_data_dir_and_private(tmp_path: Path) -> None:
    first = Settings(_env_file=None, data_dir=tmp_path / "a")
    again = Settings(_env_file=None, data_dir=tmp_path / "a")
    other = Settings(_env_file=None, data_dir=tmp_path / "b")
    assert len(first.token_secret) >= 48 and first.token_secret == again.token_secret  # survives a restart
    assert other.token_secret != first.token_secret  # never a shared, guessable default
    assert (tmp_path / "a" / "email-token-secret").stat().st_mode & 0o077 == 0
    assert Settings(_env_file=None, data_dir=tmp_path / "c", email_token_secret="s" * 40).token_secret == "s" * 40
