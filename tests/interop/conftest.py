"""What every interop module needs: a wire that sends only the headers a client sends, PHP's
JSON encoding, and the operator CLI run in-process on the test's database."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts import cli

Operator = Callable[..., dict[str, Any]]


@pytest.fixture
def wire(make_http: Any) -> TestClient:
    """The whole app in-process; no default headers (httpx adds Accept, User-Agent and
    more), so a request carries Host, Content-Length and exactly what the test gives."""
    http: TestClient = make_http()
    http.headers.clear()
    return http


def php_json(value: Any) -> bytes:
    """`json_encode($value)` with PHP's default flags (what Guzzle's `json` option and
    `json_encode` in the PHP clients send): no spaces, `/` escaped as `\\/`, every
    non-ASCII character as `\\uXXXX`, floats as PHP 7.1+ writes them (`2.5`, `10.0`)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


@pytest.fixture
def operator(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Operator:
    """`smsaccounts ARGS...` as an operator runs it, on this test's database; its JSON.

    Fails the test when the command exits non-zero, showing what it printed.
    """
    monkeypatch.setenv("SMSACCOUNTS_DATABASE_URL", db_url)

    def run(*args: str) -> dict[str, Any]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(list(args))
        printed = out.getvalue()
        assert code == 0, f"smsaccounts {' '.join(args)} failed: {printed}"
        answer: dict[str, Any] = json.loads(printed.splitlines()[0])
        return answer

    return run
