"""The Home tab is built again only when the data it shows changed: a version read from the database each time
(`store.home_version`) decides, so a change made by another process (the web worker, an admin, the CLI) is seen."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from bot import dialogs
from bot.rounds import service
from bot.slack import store
from storage.models import Person
from tests.slack_helpers import PROGRAM, slack_harness

BEN = "UBEN00001"


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def test_a_home_tab_is_rebuilt_only_when_what_it_shows_changed(tmp_path: Path, postgres_url: str, monkeypatch) -> None:
    async with slack_harness(tmp_path, postgres_url, scheduler_enabled=False) as h:
        channel = h.app.state.slack
        builds = []
        build = store.home_model

        def counted(*args, **kwargs):
            builds.append(kwargs.get("slack_user_id"))
            return build(*args, **kwargs)

        monkeypatch.setattr(store, "home_model", counted)
        await channel.publish_home(BEN)
        first = h.standin.homes[BEN]["blocks"]
        await channel.publish_home(BEN)
        assert builds == [BEN]  # nothing changed: the tab built before is published again
        assert h.standin.homes[BEN]["blocks"] == first

        # A term opened elsewhere (the CLI, another process): the next publish sees it.
        term = service.open_term(h.engine, program_name=PROGRAM, timezone="UTC", name="Spring Term", opt_in_by=None, now=_now())
        await channel.publish_home(BEN)
        assert builds == [BEN, BEN] and "Spring Term" in json.dumps(h.standin.homes[BEN])

        # Ben's answer saved by another process: rebuilt, showing it.
        ben = h.person_id("ben@d.example")
        dialogs.answer(h.engine, person_id=ben, flow="opt_in", context=dialogs.context_key(flow="opt_in", term_id=term.id), channel="email", replies={"role": "mentee"}, now=_now())
        await channel.publish_home(BEN)
        assert len(builds) == 3 and "taking part as" in json.dumps(h.standin.homes[BEN])

        # The same answer again only moves timestamps: the tab is not built again.
        dialogs.answer(h.engine, person_id=ben, flow="opt_in", context=dialogs.context_key(flow="opt_in", term_id=term.id), channel="email", replies={"role": "mentee"}, now=_now())
        await channel.publish_home(BEN)
        assert len(builds) == 3

        # A change to their own row (their time zone, which the times shown are in) counts too.
        with h.engine.begin() as connection:
            connection.execute(sa.update(Person.__table__).where(Person.__table__.c.email == "ben@d.example").values(timezone="America/New_York"))
        await channel.publish_home(BEN)
        assert len(builds) == 4


def test_the_version_is_not_read_on_sqlite(sqlite_url: str) -> None:
    from storage import db

    engine = db.create_db_engine(sqlite_url)
    try:
        assert store.home_version(engine, slack_user_id=BEN, now=_now()) is None  # then every publish builds the tab
    finally:
        engine.dispose()
