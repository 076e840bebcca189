"""`messages.REQUIRED` (what the OpenAPI document and docs/ mark required) is what each
method requires: leaving out a required field is refused, leaving out any other succeeds."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from smsaccounts import openapi
from smsaccounts.dialects.mysms.messages import METHODS, REQUIRED
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import Tenant
from .wire_client import Api, pin_from_outbox

MEMBER = "436761234567"
NEWCOMER = "436761234500"


def _valid(path: str, key: str, token: str, pin: str) -> dict[str, Any]:
    """A request of `path` that succeeds."""
    by_path: dict[str, dict[str, Any]] = {
        "msisdn/verify": {"msisdn": NEWCOMER},
        "create": {"msisdn": NEWCOMER, "password": "pw-1234", "pin": pin},
        "login": {"msisdn": MEMBER, "password": factories.PASSWORD, "key": "dev",
                  "checkKey": False},
        "password/reset": {"msisdn": MEMBER},
        "setting/set": {"smsRouting": 0, "signature": "s", "a2aSendEnabled": True,
                        "a2aReceiveEnabled": True},
        "smsrouting/get": {"recipient": "4915112345678"},
        "smsrouting/set": {"recipient": "4915112345678", "smsRouting": 1},
        "password/change": {"password": "new-pw"},
    }  # fmt: skip
    return {"apiKey": key, "authToken": token, **by_path.get(path, {})}


CASES = [
    pytest.param(path, name, id=f"{path}:{name}")
    for path, (request_type, _response_type) in METHODS.items()
    for name in (field.encode_name for field in msgspec.structs.fields(request_type))
]


@pytest.mark.parametrize(("path", "name"), CASES)
def test_a_field_left_out_is_refused_exactly_when_it_is_required(
    http: TestClient, uow: UnitOfWork, tenant: Tenant, path: str, name: str
) -> None:
    user = factories.user(uow, parent=tenant.customer, name=MEMBER, msisdn=MEMBER, country="AT")
    with uow.write() as tx:
        token = auth.issue_token(tx, user)
    api = Api(http, "json")
    pin = ""
    if path == "create":
        assert api.call("msisdn/verify", apiKey=tenant.key, msisdn=NEWCOMER)["errorCode"] == 0
        pin = pin_from_outbox(uow, NEWCOMER)
    fields = _valid(path, tenant.key, token, pin)
    assert set(REQUIRED[path]) <= set(fields)
    fields.pop(name, None)  # (verify's pin is left out of the base already)
    answer = api.call(path, **fields)
    if name in REQUIRED[path]:
        assert answer["errorCode"] != 0
    else:
        assert answer["errorCode"] == 0, answer


def test_the_document_marks_the_required_fields() -> None:
    doc = openapi.document()
    for mount in ("json", "xml", "rest"):
        for path in METHODS:
            body = doc["paths"][f"/{mount}/user/{path}"]["post"]["requestBody"]
            assert body["required"] is True
            for media in body["content"].values():
                assert media["schema"]["required"] == list(REQUIRED[path]), (mount, path)
