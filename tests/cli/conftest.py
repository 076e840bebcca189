"""The CLI run in this process: `smsaccounts(*args)` runs a command on the test's database and
answers the JSON objects it printed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smsaccounts import cli, clikit

CHEAP_ARGON2 = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8", "ARGON2_PARALLELISM": "1"}


@pytest.fixture
def smsaccounts(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the CLI in this process on the test's database; the JSON objects it prints."""
    monkeypatch.setenv("SMSACCOUNTS_DATABASE_URL", db_url)
    for name, value in CHEAP_ARGON2.items():
        monkeypatch.setenv(f"SMSACCOUNTS_{name}", value)
    printed: list[dict[str, Any]] = []
    monkeypatch.setattr(
        clikit, "emit", lambda obj: printed.append(json.loads(json.dumps(obj, default=str)))
    )

    def run(*args: str, ok: bool = True) -> list[dict[str, Any]]:
        printed.clear()
        assert (cli.main(list(args)) == 0) is ok, printed
        return list(printed)

    return run
