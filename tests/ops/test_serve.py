"""`smsaccounts serve` hands uvicorn the grace period for a SIGTERM."""

from __future__ import annotations

from typing import Any

import pytest

from smsaccounts import cli


def test_serve_gives_uvicorn_the_configured_grace_period(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda *_args, **kwargs: seen.update(kwargs))
    monkeypatch.setattr("smsaccounts.cli.upgrade", lambda _engine: [])
    monkeypatch.setenv("SMSACCOUNTS_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("SMSACCOUNTS_GRACE_SECONDS", "7")
    assert cli.main(["serve"]) == 0
    assert seen["timeout_graceful_shutdown"] == 7
