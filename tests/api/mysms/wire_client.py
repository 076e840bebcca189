"""A test client that speaks only the contract: JSON or XML bodies, decoded independently."""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork

# (mount, request body format, Accept header) for each way a client may talk to us.
STYLES = {
    "json": ("json", "json", None),
    "xml": ("xml", "xml", None),
    "rest-json": ("rest", "json", "application/json"),
    "rest-xml": ("rest", "xml", "application/xml"),
}
LISTS = {"features"}  # fields the contract repeats (a JSON array, repeated XML elements)


def xml_body(root: str, fields: dict[str, Any]) -> bytes:
    element = etree.Element(root)
    for name, value in fields.items():
        child = etree.SubElement(element, name)
        child.text = str(value).lower() if isinstance(value, bool) else str(value)
    return etree.tostring(element)


def parse_xml_answer(content: bytes) -> tuple[str, dict[str, Any]]:
    """Root name and fields; digits become ints and true/false booleans, as JSON has them."""
    root = etree.fromstring(content)
    out: dict[str, Any] = {}
    for child in root:
        value: Any = child.text or ""
        if re.fullmatch(r"-?\d+", value):
            value = int(value)
        elif value in ("true", "false"):
            value = value == "true"
        if child.tag in LISTS:
            out.setdefault(child.tag, []).append(value)
        else:
            out[child.tag] = value
    return root.tag, out


class Api:
    """Calls `/<mount>/user/<path>` in one style and returns the answer as a dict."""

    def __init__(self, http: TestClient, style: str) -> None:
        self.http = http
        self.style = style
        self.mount, self.body_format, self.accept = STYLES[style]

    def raw(self, path: str, fields: dict[str, Any], element: str) -> Any:
        headers = {"Accept": self.accept} if self.accept else {}
        if self.body_format == "xml":
            headers["Content-Type"] = "application/xml"
            content = xml_body(element, fields)
        else:
            headers["Content-Type"] = "application/json"
            content = json.dumps(fields).encode()
        return self.http.post(f"/{self.mount}/user/{path}", content=content, headers=headers)

    def call(self, path: str, **fields: Any) -> dict[str, Any]:
        """POST the request element of `path`; asserts HTTP 200 and the answer's format."""
        request_element, response_element = ELEMENTS[path]
        answer = self.raw(path, {k: v for k, v in fields.items() if v is not None},
                          request_element)  # fmt: skip
        assert answer.status_code == 200, answer.text
        return decode(answer, self.answer_format, response_element)

    @property
    def answer_format(self) -> str:
        return self.body_format if self.mount == "rest" else self.mount


def decode(answer: Any, fmt: str, response_element: str) -> dict[str, Any]:
    media = answer.headers["content-type"]
    if fmt == "xml":
        assert media.startswith("application/xml"), media
        root, fields = parse_xml_answer(answer.content)
        assert root == response_element
        return fields
    assert media.startswith("application/json"), media
    value: dict[str, Any] = answer.json()
    return value


ELEMENTS = {
    "balance/get": ("userGetBalanceRequest", "userGetBalanceResponse"),
    "create": ("userCreateRequest", "userCreateResponse"),
    "delete": ("userDeleteRequest", "userDeleteResponse"),
    "feature/get": ("userGetFeatureRequest", "userGetFeatureResponse"),
    "login": ("userLoginRequest", "userLoginResponse"),
    "msisdn/verify": ("userVerifyMsisdnRequest", "userVerifyMsisdnResponse"),
    "password/change": ("userChangePasswordRequest", "userChangePasswordResponse"),
    "password/reset": ("userResetPasswordRequest", "userResetPasswordResponse"),
    "setting/get": ("userGetSettingRequest", "userGetSettingResponse"),
    "setting/set": ("userSetSettingRequest", "userSetSettingResponse"),
    "smsrouting/get": ("userGetSmsRoutingRequest", "userGetSmsRoutingResponse"),
    "smsrouting/set": ("userSetSmsRoutingRequest", "userSetSmsRoutingResponse"),
}
AUTH_METHODS = ("balance/get", "delete", "feature/get", "password/change", "setting/get",
                "setting/set", "smsrouting/get", "smsrouting/set")  # fmt: skip


def last_sms(uow: UnitOfWork, msisdn: str) -> str:
    """The text of the last SMS queued for `msisdn`, as the transport will send it."""
    messages = outbox.list_messages(uow, to_msisdn=msisdn)
    assert messages, f"no SMS queued for {msisdn}"
    assert messages[-1].body is not None, "the last SMS is no longer pending"
    return messages[-1].body


def pin_from_outbox(uow: UnitOfWork, msisdn: str) -> str:
    found = re.search(r"\b(\d{6})\b", last_sms(uow, msisdn))
    assert found, "the PIN SMS holds no 6-digit PIN"
    return found.group(1)


def password_from_outbox(uow: UnitOfWork, msisdn: str) -> str:
    found = re.search(r"password is (\S+)", last_sms(uow, msisdn))
    assert found, "the reset SMS holds no password"
    return found.group(1)


def register(api: Api, uow: UnitOfWork, key: str, msisdn: str, password: str) -> str:
    """verify -> PIN from the outbox -> create; the new user's authToken."""
    assert api.call("msisdn/verify", apiKey=key, msisdn=msisdn) == {"errorCode": 0}
    pin = pin_from_outbox(uow, msisdn)
    answer = api.call("create", apiKey=key, msisdn=msisdn, password=password, pin=pin)
    assert answer["errorCode"] == 0
    token: str = answer["authToken"]
    return token
