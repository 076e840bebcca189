"""idragons/mysms-api-php-wrapper, the PHP wrapper of the mysms API, replayed.

What the wrapper does (class.mysms.php, test.php): `ApiCall($rest, $resource, $data)` adds
`apiKey` to the caller's array, `json_encode`s it and POSTs it with curl to the base URL
followed by `json` or `xml` and the resource (`/xml/user/balance/get`), with the headers
`Content-Type: application/json;charset=utf-8` and its `Content-Length` (curl adds
`Accept: */*`). It returns the body as it came: JSON from `/json`, XML from `/xml` (JSON
posted, XML expected back). PHP arrays keep PHP's types: a number written as `1` is a JSON
number, `true` a JSON boolean.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.storage.unit_of_work import UnitOfWork

from .conftest import php_json
from .mysms_tenant import MSISDN, PASSWORD, Tenant, make_tenant


class PhpWrapper:
    """`new mysms($apikey)` and its `ApiCall`, written from the wrapper's source."""

    def __init__(self, http: TestClient, api_key: str) -> None:
        self.http, self.api_key = http, api_key

    def api_call(self, rest: str, resource: str, data: dict[str, Any]) -> bytes:
        body = php_json({**data, "apiKey": self.api_key})
        response = self.http.post(f"/{rest}{resource}", content=body, headers={
            "Accept": "*/*", "Content-Type": "application/json;charset=utf-8",
            "Content-Length": str(len(body))})  # fmt: skip
        content: bytes = response.content  # CURLOPT_RETURNTRANSFER: the body, any status
        return content


def simplexml(content: bytes) -> tuple[str, dict[str, str]]:
    """What a PHP caller reads from `simplexml_load_string`: the root and its children."""
    root = etree.fromstring(content)
    return root.tag, {child.tag: child.text or "" for child in root}


@pytest.fixture
def tenant(uow: UnitOfWork) -> Tenant:
    return make_tenant(uow)


@pytest.fixture
def mysms(wire: TestClient, tenant: Tenant) -> PhpWrapper:
    return PhpWrapper(wire, tenant.api_key)


def _login(mysms: PhpWrapper, **extra: Any) -> dict[str, Any]:
    login = {"msisdn": MSISDN, "password": PASSWORD, **extra}  # test.php's $login_data
    answer: dict[str, Any] = json.loads(mysms.api_call("json", "/user/login", login))
    return answer


def test_login_then_xml_calls_with_the_token_as_test_php_does(mysms: PhpWrapper) -> None:
    user_info = _login(mysms)  # json_decode($login)
    assert user_info["errorCode"] == 0
    req_data = {"authToken": user_info["authToken"]}
    root, fields = simplexml(mysms.api_call("xml", "/user/balance/get", req_data))
    assert (root, fields) == ("userGetBalanceResponse",
                              {"errorCode": "0", "freeSms": "0", "credits": "42"})  # fmt: skip
    root, fields = simplexml(mysms.api_call("xml", "/user/feature/get", req_data))
    assert (root, fields["errorCode"]) == ("userGetFeatureResponse", "0")


def test_a_device_key_written_as_a_php_number_is_stored_and_checked(mysms: PhpWrapper) -> None:
    """`array('msisdn' => ..., 'password' => ..., 'key' => 1)` sends `"key":1`."""
    assert _login(mysms, key=1)["errorCode"] == 0
    assert _login(mysms, key=1, checkKey=True)["errorCode"] == 0
    assert _login(mysms, key="1", checkKey=True)["errorCode"] == 0
    assert _login(mysms, key=2, checkKey=True) == {"errorCode": 108}


def test_settings_with_php_ints_and_booleans_through_the_xml_mount(mysms: PhpWrapper) -> None:
    token = _login(mysms)["authToken"]
    settings = {"authToken": token, "smsRouting": 2, "signature": "Sent by Jo",
                "a2aSendEnabled": True, "a2aReceiveEnabled": False}  # fmt: skip
    assert simplexml(mysms.api_call("xml", "/user/setting/set", settings)) == (
        "userSetSettingResponse", {"errorCode": "0"})  # fmt: skip
    answer = simplexml(mysms.api_call("xml", "/user/setting/get", {"authToken": token}))
    assert answer[1] == {"errorCode": "0", "smsRouting": "2", "signature": "Sent by Jo",
                      "a2aSendEnabled": "true", "a2aReceiveEnabled": "false"}  # fmt: skip


def test_a_wrong_password_is_an_error_code_in_the_answers_own_format(mysms: PhpWrapper) -> None:
    assert _login(mysms, password="wrong")["errorCode"] == 101
    login = {"msisdn": MSISDN, "password": "wrong"}
    assert simplexml(mysms.api_call("xml", "/user/login", login)) == (
        "userLoginResponse", {"errorCode": "101"})  # fmt: skip
