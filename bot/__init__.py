"""mentorbot: a Slack and email bot that runs teacher mentoring programs."""

from __future__ import annotations


def installed_version() -> str:
    """The version of the installed distribution (from pyproject.toml, the one place it is written)."""
    # Imported here, not at the top: only `mentorbot --version` and the web app ask, and start-up stays light.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mentorbot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
