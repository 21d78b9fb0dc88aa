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
