"""csutherl/mysms-api-python-wrapper, the Python port of the PHP wrapper, replayed.

What its client.py shows: `Mysms(api_key)` starts without a token (the PHP original's
`$AuthToken = false`), `ApiCall('json', '/user/login', login_data, False)` logs in without
a token, every other `ApiCall(rest, resource, data)` sends the token the wrapper holds, and
the answer is `json.loads`ed and judged by `user_info['errorCode'] is not 0`. Until
`setAuthToken` that token is `False`, so a call made before logging in carries
`"authToken": false`. The request itself is the PHP wrapper's, ported: `apiKey` added, the
dict `json.dumps`ed (Python's default separators), POSTed to the base URL, `json` or `xml`
and the resource with `Content-Type: application/json;charset=utf-8`. (The module that
builds the request, mysms.py, is not in the public copy these tests were written from; the
port is described by its README and client.py.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork

from .mysms_tenant import MSISDN, PASSWORD, Tenant, make_tenant


class Mysms:
    """The wrapper as its client uses it."""

    def __init__(self, http: TestClient, api_key: str) -> None:
        self.http, self.api_key = http, api_key
        self.auth_token: Any = False

    def set_auth_token(self, token: str) -> None:
        self.auth_token = token

    def api_call(self, rest: str, resource: str, data: dict[str, Any], auth: bool = True
                 ) -> bytes:  # fmt: skip
        data = {**data, "apiKey": self.api_key}
        if auth:
            data["authToken"] = self.auth_token
        body = json.dumps(data).encode()
        response = self.http.post(f"/{rest}{resource}", content=body, headers={
            "Content-Type": "application/json;charset=utf-8"})  # fmt: skip
        content: bytes = response.content
        return content


@pytest.fixture
def tenant(uow: UnitOfWork) -> Tenant:
    return make_tenant(uow)


@pytest.fixture
def mysms(wire: TestClient, tenant: Tenant) -> Mysms:
    return Mysms(wire, tenant.api_key)


def _login(mysms: Mysms) -> None:
    """`Client.login`: raises unless errorCode is 0, then keeps the token."""
    login_data = {"msisdn": MSISDN, "password": PASSWORD}
    user_info = json.loads(mysms.api_call("json", "/user/login", login_data, False))
    if user_info["errorCode"] != 0:
        raise AssertionError(f"Failed to login. Error code is {user_info['errorCode']}")
    mysms.set_auth_token(user_info["authToken"])


@pytest.mark.parametrize("resource", ["/user/balance/get", "/user/feature/get",
                                      "/user/setting/get"])  # fmt: skip
def test_a_call_before_login_sends_false_and_is_told_the_token_is_invalid(
    mysms: Mysms, resource: str
) -> None:
    assert json.loads(mysms.api_call("json", resource, {})) == {"errorCode": 100}
    answer = etree.fromstring(mysms.api_call("xml", resource, {}))
    assert answer.findtext("errorCode") == "100"


def test_login_then_calls_with_the_token(mysms: Mysms) -> None:
    _login(mysms)
    balance = json.loads(mysms.api_call("json", "/user/balance/get", {}))
    assert balance == {"errorCode": 0, "freeSms": 0, "credits": 42}
    features = json.loads(mysms.api_call("json", "/user/feature/get", {}))
    assert features["errorCode"] == 0
    assert isinstance(features["features"], list)


def test_a_failed_login_is_reported_by_its_error_code(mysms: Mysms) -> None:
    login_data = {"msisdn": MSISDN, "password": "wrong"}
    answer = json.loads(mysms.api_call("json", "/user/login", login_data, False))
    assert answer == {"errorCode": 101}


def test_send_text_sends_through_remote_sms_send(mysms: Mysms, uow: UnitOfWork) -> None:
    """`Client.sendText`: its `req_data` (a recipient in international form, `encoding` 0,
    `smsConnectorId` 0, `store` True) through `ApiCall('json', '/remote/sms/send', ...)`."""
    _login(mysms)
    req_data = {"recipients": ["+4915112345678"], "message": "hi", "encoding": 0,
                "smsConnectorId": 0, "store": True}  # fmt: skip
    sendsms = json.loads(mysms.api_call("json", "/remote/sms/send", req_data))
    assert sendsms["errorCode"] == 0
    assert [m.text for m in outbox.list_messages(uow, to_msisdn="4915112345678")] == ["hi"]
    balance = json.loads(mysms.api_call("json", "/user/balance/get", {}))
    assert balance["credits"] == 41
