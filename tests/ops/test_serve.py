"""`smsaccounts serve` hands uvicorn the grace period for a SIGTERM and its event loop."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn.importer

from smsaccounts import cli, eventloop


def test_serve_gives_uvicorn_the_configured_grace_period(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda *_args, **kwargs: seen.update(kwargs))
    monkeypatch.setattr("smsaccounts.cli.upgrade", lambda _engine: [])
    monkeypatch.setenv("SMSACCOUNTS_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("SMSACCOUNTS_GRACE_SECONDS", "7")
    assert cli.main(["serve"]) == 0
    assert seen["timeout_graceful_shutdown"] == 7


def test_serve_runs_uvicorn_on_the_loop_that_accepts_a_burst_in_one_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda *_args, **kwargs: seen.update(kwargs))
    monkeypatch.setattr("smsaccounts.cli.upgrade", lambda _engine: [])
    monkeypatch.setenv("SMSACCOUNTS_DATABASE_URL", "sqlite://")
    assert cli.main(["serve"]) == 0
    factory = uvicorn.importer.import_from_string(seen["loop"])
    loop = factory()
    try:
        assert isinstance(loop, eventloop.Loop)
    finally:
        loop.close()
