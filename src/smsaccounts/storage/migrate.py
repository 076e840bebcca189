"""Apply the Alembic history to a database (`smsaccounts db upgrade`, and `serve` first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> list[dict[str, Any]]:
    """Apply migrations up to `revision`; what they report for an operator (data they could
    not carry over as it was, such as msisdn collisions), one dict each."""
    config = alembic_config(engine)
    config.attributes["reports"] = []
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    reports: list[dict[str, Any]] = config.attributes["reports"]
    return reports
