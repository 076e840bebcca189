"""An XML body that starts with a UTF-8 byte-order mark (as many writers emit it) is read
exactly like the same document without one, by every dialect that reads XML."""

from __future__ import annotations

import codecs
from typing import Any

from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

BOM = codecs.BOM_UTF8
XML = {"Content-Type": "application/xml"}


def test_a_mysms_xml_request_with_a_bom_is_answered_like_one_without(
    client: TestClient, uow: UnitOfWork
) -> None:
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer, rights=frozenset({"user.create"}))
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<userVerifyMsisdnRequest>'
        + f"<apiKey>{key}</apiKey><msisdn>436761234567</msisdn>".encode()
        + b"</userVerifyMsisdnRequest>"
    )
    answer = client.post("/xml/user/msisdn/verify", content=BOM + body, headers=XML)
    assert answer.status_code == 200
    assert etree.fromstring(answer.content).findtext("errorCode") == "0"
    assert len(outbox.list_messages(uow, to_msisdn="436761234567")) == 1


def _create(client: TestClient, key: str, fmt: str, name: str) -> Any:
    body = f"<user><username>{name}</username><password>pw-4711</password></user>".encode()
    return client.post(f"/v2/user.{fmt}?apikey={key}", content=BOM + body, headers=XML)


def test_a_link_xml_body_with_a_bom_creates_the_user_on_both_formats(
    client: TestClient, uow: UnitOfWork
) -> None:
    root = factories.user(uow, acl_admin=True)
    key = factories.user_key(uow, root)
    as_xml = _create(client, key, "xml", "bom-xml")
    assert as_xml.status_code == 200, as_xml.text
    assert etree.fromstring(as_xml.content).findtext("user/username") == "bom-xml"
    # On the JSON format the body's format is sniffed: the BOM must not hide the `<`.
    as_json = _create(client, key, "json", "bom-json")
    assert as_json.status_code == 200, as_json.text
    assert as_json.json()["user"]["username"] == "bom-json"
