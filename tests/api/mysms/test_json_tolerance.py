"""What real clients send in JSON bodies, answered as they mean it: a device key as a JSON
number, an `authToken` of `false` before the client has logged in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.storage.unit_of_work import UnitOfWork

from .conftest import Tenant
from .wire_client import AUTH_METHODS, Api, parse_xml_answer, register

MSISDN = "436761234567"


def _post(http: TestClient, mount: str, path: str, body: dict[str, Any]) -> Any:
    """JSON written by hand, so that its types are exactly the ones given."""
    return http.post(f"/{mount}/user/{path}", content=json.dumps(body).encode(),
                     headers={"content-type": "application/json"})  # fmt: skip


@pytest.fixture
def registered(http: TestClient, uow: UnitOfWork, tenant: Tenant) -> dict[str, Any]:
    register(Api(http, "json"), uow, tenant.key, MSISDN, "right-pw")
    return {"apiKey": tenant.key, "msisdn": int(MSISDN), "password": "right-pw"}


def test_a_device_key_sent_as_a_json_number_is_its_digits(
    http: TestClient, registered: dict[str, Any]
) -> None:
    stored = _post(http, "json", "login", {**registered, "key": 1}).json()
    assert stored["errorCode"] == 0
    as_text = _post(http, "json", "login", {**registered, "key": "1", "checkKey": True}).json()
    assert as_text["errorCode"] == 0
    as_number = _post(http, "json", "login", {**registered, "key": 1, "checkKey": True}).json()
    assert as_number["errorCode"] == 0
    other = _post(http, "json", "login", {**registered, "key": 2, "checkKey": True}).json()
    assert other == {"errorCode": 108}


def test_a_key_that_is_neither_text_nor_a_number_is_still_a_broken_field(
    http: TestClient, registered: dict[str, Any]
) -> None:
    assert _post(http, "json", "login", {**registered, "key": True}).json() == {"errorCode": 2}
    assert _post(http, "json", "login", {**registered, "key": [1]}).json() == {"errorCode": 2}


@pytest.mark.parametrize("token", [False, True, 0, None])
@pytest.mark.parametrize("path", AUTH_METHODS)
def test_an_auth_token_that_is_not_a_string_is_an_invalid_token(
    http: TestClient, tenant: Tenant, path: str, token: Any
) -> None:
    body = {"apiKey": tenant.key, "authToken": token}
    as_json = _post(http, "json", path, body)
    assert (as_json.status_code, as_json.json()) == (200, {"errorCode": 100})
    as_xml = _post(http, "xml", path, body)  # JSON in, XML out, as the PHP wrapper asks
    assert (as_xml.status_code, parse_xml_answer(as_xml.content)[1]) == (200, {"errorCode": 100})


def test_a_nul_inside_a_field_is_an_invalid_field_answered_with_http_200(
    http: TestClient, uow: UnitOfWork, tenant: Tenant
) -> None:
    """The body was readable: errorCode 2 in an HTTP 200 answer (400 is for unreadable ones),
    and the settings stay as they were."""
    token = register(Api(http, "json"), uow, tenant.key, MSISDN, "right-pw")
    body = {"apiKey": tenant.key, "authToken": token, "smsRouting": 0, "signature": "a\x00b",
            "a2aSendEnabled": True, "a2aReceiveEnabled": True}  # fmt: skip
    answer = _post(http, "json", "setting/set", body)
    assert (answer.status_code, answer.json()) == (200, {"errorCode": 2})
    settings = _post(http, "json", "setting/get", {"apiKey": tenant.key, "authToken": token})
    assert settings.json()["signature"] == ""
