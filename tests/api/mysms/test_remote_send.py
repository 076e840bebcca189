"""mysms's `/remote/sms/send`: a logged-in user's message is charged to the wallet it spends
from and queued per recipient from the user's own number, answered in mysms's shape; every
refusal is an errorCode of mysms's table, charges nothing and queues nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.domain import credentials
from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.services import outbox, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .wire_client import parse_xml_answer

MSISDN, DK, AT = "436761234500", "+4520123456", "+436761234567"
TOKEN = "sat_remote-send-token"


@pytest.fixture
def user(uow: UnitOfWork) -> Account:
    """A user spending its customer's pool of 3 credits, logged in with TOKEN."""
    customer = factories.customer(uow, billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=3, reason="t")
    found: Account = factories.user(uow, parent=customer, name=MSISDN, msisdn=MSISDN,
                                    country="AT", funding="parent")  # fmt: skip
    with uow.write() as tx:
        tx.credentials.add_token(found.id, credentials.secret_hash(TOKEN), tx.now)
    return found


@pytest.fixture
def key(uow: UnitOfWork, user: Account) -> str:
    assert user.parent_id is not None
    with uow.read() as tx:
        customer = tx.accounts.get(user.parent_id)
    assert customer is not None
    return factories.client_key(uow, customer)


def _send(http: TestClient, key: str, mount: str = "json", **fields: Any) -> dict[str, Any]:
    body = {"apiKey": key, "authToken": TOKEN, "recipients": [DK], "message": "Hello",
            "encoding": 0, "smsConnectorId": 0, "store": True, **fields}  # fmt: skip
    answer = http.post(f"/{mount}/remote/sms/send", json=body)
    assert answer.status_code == 200, answer.text
    if mount == "xml":
        root, parsed = parse_xml_answer(answer.content)
        assert root == "remoteSmsSendResponse"
        return parsed
    decoded: dict[str, Any] = answer.json()
    return decoded


def _queued(uow: UnitOfWork) -> list[tuple[str, str | None, str]]:
    return [(m.to_msisdn, m.sender, m.text) for m in outbox.list_messages(uow)]


@pytest.mark.parametrize("mount", ["json", "xml", "rest"])
def test_a_message_is_charged_to_the_pool_and_queued_from_the_users_number(
    http: TestClient, uow: UnitOfWork, user: Account, key: str, mount: str
) -> None:
    answer = _send(http, key, mount, recipients=[DK, AT])
    assert answer["errorCode"] == 0
    assert isinstance(answer["requestId"], int)
    assert user.parent_id is not None
    assert wallet.get(uow, account_id=user.parent_id).credits == 1
    assert wallet.get(uow, account_id=user.id).messages_sent == 2
    assert sorted(_queued(uow)) == [("436761234567", MSISDN, "Hello"),
                                    ("4520123456", MSISDN, "Hello")]  # fmt: skip


def test_an_xml_request_repeats_its_recipients_element(
    http: TestClient, uow: UnitOfWork, key: str
) -> None:
    body = (f"<remoteSmsSendRequest><apiKey>{key}</apiKey><authToken>{TOKEN}</authToken>"
            f"<recipients>{DK}</recipients><recipients>{AT}</recipients>"
            "<message>Hej</message><encoding>0</encoding><smsConnectorId>0</smsConnectorId>"
            "<store>true</store></remoteSmsSendRequest>")  # fmt: skip
    answer = http.post("/xml/remote/sms/send", content=body,
                       headers={"Content-Type": "application/xml"})  # fmt: skip
    root = etree.fromstring(answer.content)
    assert (root.tag, root.findtext("errorCode")) == ("remoteSmsSendResponse", "0")
    assert sorted(to for to, _sender, _text in _queued(uow)) == ["436761234567", "4520123456"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"authToken": "sat_wrong"}, 100),
        ({"recipients": []}, 2),
        ({"message": ""}, 2),
        ({"recipients": ["+4512"]}, 200),
        ({"recipients": [DK, AT, DK, AT]}, 202),
        ({"dateSendOn": "2030-01-01T10:00:00Z"}, 2),
        ({"smsConnectorId": 5}, 2),
        ({"store": False}, 2),
        ({"encoding": 1}, 2),
        ({"encoding": 0, "message": "Hej 😀"}, 2),
        ({"encoding": 2, "message": "Hej"}, 2),
    ],
)
def test_every_refusal_is_an_error_code_and_charges_and_queues_nothing(
    http: TestClient, uow: UnitOfWork, user: Account, key: str, fields: dict[str, Any], code: int
) -> None:
    assert _send(http, key, **fields) == {"errorCode": code}
    assert user.parent_id is not None
    assert wallet.get(uow, account_id=user.parent_id).credits == 3
    assert _queued(uow) == []


def test_an_encoding_the_text_takes_and_fields_left_out_are_accepted(
    http: TestClient, uow: UnitOfWork, key: str
) -> None:
    assert _send(http, key, encoding=2, message="Hej 😀")["errorCode"] == 0
    minimal = {"apiKey": key, "authToken": TOKEN, "recipients": [DK], "message": "Hi",
               "dateSendOn": None}  # fmt: skip
    answer = http.post("/json/remote/sms/send", content=json.dumps(minimal).encode())
    assert answer.json()["errorCode"] == 0
    assert len(_queued(uow)) == 2
