"""The installation's switches and the error shape: always HTTP 200 with an `<error>`."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from smsaccounts.config import Settings
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.errors import ServiceUnavailable
from smsaccounts.services import balances
from tests.api.mor.conftest import MorClient, error_of

HASHED = {"user_id": str(ADMIN_ID)}


def test_get_is_refused_unless_the_installation_allows_it(
    mor: MorClient, settings: Settings, engine: Engine, clock: FakeClock, app_with: Any
) -> None:
    refused = mor.call("user_details_get", u="admin", hashed=HASHED, method="GET")
    allowed = app_with(settings, engine, clock, mor_allow_get=True)
    answered = allowed.call("user_details_get", u="admin", hashed=HASHED, method="GET")
    assert error_of(refused) == "GET Requests are disabled"
    assert error_of(answered) is None


@pytest.mark.usefixtures("mor")  # the admin's MOR secret is set
def test_a_disabled_api_answers_every_call_with_its_error(
    settings: Settings, engine: Engine, clock: FakeClock, app_with: Any
) -> None:
    off = app_with(settings, engine, clock, mor_api_enabled=False, mor_allow_get=True)
    answers = [
        error_of(off.call(function, u="admin", hashed=HASHED, method=method))
        for function in ("user_details_get", "user_balance_update")
        for method in ("GET", "POST")
    ]
    assert answers == ["API Requests are disabled"] * 4


@pytest.mark.parametrize(
    ("raised", "text"),
    [
        (ServiceUnavailable("db down"), "Service unavailable"),
        (RuntimeError("boom"), "Internal error"),
    ],
)
def test_an_outage_or_a_crash_is_an_error_document_without_a_stack_trace(
    mor: MorClient, monkeypatch: pytest.MonkeyPatch, raised: Exception, text: str
) -> None:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise raised

    monkeypatch.setattr(balances, "user_details", fail)
    response = mor.call("user_details_get", u="admin", hashed=HASHED)
    assert error_of(response) == text
    assert b"Traceback" not in response.content


def test_an_unreadable_body_is_an_incorrect_hash(mor: MorClient) -> None:
    response = mor.http.post(
        "/billing/api/user_details_get",
        content=b'{"u": "admin", "user_id": [1]}',
        headers={"content-type": "application/json"},
    )
    assert error_of(response) == "Incorrect hash"
