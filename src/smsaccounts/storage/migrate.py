"""Apply the Alembic history to a database (`smsaccounts db upgrade`, and `serve` first)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

MIGRATIONS = Path(__file__).with_name("migrations")
# The advisory lock migrations take on PostgreSQL (a constant of this application: any
# 64-bit number no other application on the server uses; here b"smsacct" read as a number).
LOCK_KEY = int.from_bytes(b"smsacct", "big")
# SQLite may answer "database is locked" at once, without waiting out its busy timeout (it
# does where waiting could deadlock). Seen once in a CI run on a loaded machine: one of four
# processes upgrading a brand-new file together. The upgrade is one transaction, rolled
# back whole, so it is tried again.
LOCKED_TRIES = 5


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> list[dict[str, Any]]:
    """Apply migrations up to `revision`; what they report for an operator (data they could
    not carry over as it was, such as msisdn collisions), one dict each."""
    for attempt in range(1, LOCKED_TRIES):
        try:
            return _upgrade(engine, revision)
        except OperationalError as error:
            if engine.dialect.name != "sqlite" or "database is locked" not in str(error.orig):
                raise
            time.sleep(0.1 * attempt)
    return _upgrade(engine, revision)


def _upgrade(engine: Engine, revision: str) -> list[dict[str, Any]]:
    config = alembic_config(engine)
    config.attributes["reports"] = []
    with engine.connect() as conn:
        # Several workers (or hosts) starting at once apply the history exactly once: the
        # first takes the lock and migrates; the others wait for it, then find the database
        # at the head and do nothing. The lock is the transaction's: it ends at the commit.
        conn = conn.execution_options(sqlite_immediate=True)  # SQLite: BEGIN IMMEDIATE
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    reports: list[dict[str, Any]] = config.attributes["reports"]
    return reports
