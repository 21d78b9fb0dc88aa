"""Where and how mentorbot reaches an SMTP server: the one description the sender and the local mail sink share."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to reach the SMTP server."""

    host: str
    port: int
    security: str = "starttls"  # starttls | ssl | none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    max_connections: int = 4
    validate_certs: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        return cls(
            host=settings.smtp_host or "127.0.0.1", port=settings.smtp_port, security=settings.smtp_security,
            username=settings.smtp_username, password=settings.smtp_password, timeout=settings.smtp_timeout,
            max_connections=settings.smtp_max_connections,
        )  # fmt: skip
