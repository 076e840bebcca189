"""LINK's `sender` reaches the delivery: stored with every queued SMS, sent by the `http`
transport as Kannel's and Jasmin's `from`, and shown by `outbox list`; a `format` the text
does not take is refused by name."""

from __future__ import annotations

import argparse
import http.server
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from starlette.testclient import TestClient

from smsaccounts import cli
from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.services import outbox, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from smsaccounts.transports import HttpTransport
from tests import factories

DK, AT = "+4520123456", "+436761234567"


# The test sends the outbox itself: with SMSACCOUNTS_TEST_SERVERS, the servers' own outbox
# workers would send it first.
DELIVERS_ITSELF = pytest.mark.in_process("delivers the outbox itself; the servers' workers would")


@pytest.fixture
def key(uow: UnitOfWork) -> str:
    customer = factories.customer(uow, billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=5, reason="t")
    user: Account = factories.user(uow, parent=customer, funding="parent")
    return factories.user_key(uow, user)


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """A Kannel-like sendsms on loopback: its URL template and each request's query."""
    calls: list[dict[str, list[str]]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            calls.append(parse_qs(urlparse(self.path).query))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    yield f"http://127.0.0.1:{port}/cgi-bin/sendsms?to={{to}}&text={{text}}&from={{sender}}", calls
    server.shutdown()
    server.server_close()


def _send(client: TestClient, key: str, **message: Any) -> Any:
    message = {"recipients": f"{DK},{AT}", "sender": "Shop", "message": "Ready", **message}
    return client.post(f"/v2/message.json?apikey={key}", json={"message": message})


@DELIVERS_ITSELF
def test_the_sender_is_stored_with_each_sms_and_sent_as_from(
    client: TestClient, uow: UnitOfWork, key: str,
    gateway: tuple[str, list[dict[str, list[str]]]],
) -> None:  # fmt: skip
    answer = _send(client, key, sender="4512345678")
    assert answer.status_code == 201, answer.text
    assert [m.sender for m in outbox.list_messages(uow)] == ["4512345678", "4512345678"]
    template, calls = gateway
    assert outbox.deliver_due(uow, HttpTransport(template)) == 2
    assert sorted((c["to"][0], c["from"][0], c["text"][0]) for c in calls) == [
        ("436761234567", "4512345678", "Ready"), ("4520123456", "4512345678", "Ready")]  # fmt: skip


@DELIVERS_ITSELF
def test_a_message_without_a_sender_of_its_own_goes_from_the_configured_one(
    uow: UnitOfWork, gateway: tuple[str, list[dict[str, list[str]]]]
) -> None:
    with uow.write() as tx:
        outbox.queue(tx, to_msisdn="4520123456", text="PIN", purpose="pin", account_id=None)
    template, calls = gateway
    assert outbox.deliver_due(uow, HttpTransport(template)) == 1
    assert calls[0]["from"] == [uow.settings.sms_sender]


def test_outbox_list_shows_the_sender(client: TestClient, uow: UnitOfWork, key: str) -> None:
    assert _send(client, key, sender="Shop").status_code == 201
    listed = cli.outbox_list(uow, argparse.Namespace(to=DK))
    assert [(m["to"], m["sender"]) for m in listed] == [("4520123456", "Shop")]


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"format": "GSM", "message": "Hej 😀"}, "format: the text goes as ucs2, not gsm7"),
        ({"format": "UNICODE", "message": "Hej"}, "format: the text goes as gsm7, not ucs2"),
    ],
)
def test_a_format_the_text_does_not_take_is_refused_by_name(
    client: TestClient, uow: UnitOfWork, key: str, fields: dict[str, str], fragment: str
) -> None:
    answer = _send(client, key, **fields)
    assert (answer.status_code, answer.json()["message"]) == (400, fragment)
    assert outbox.list_messages(uow) == []


def test_a_format_the_text_takes_is_accepted(client: TestClient, key: str) -> None:
    assert _send(client, key, format="UNICODE", message="Hej 😀").status_code == 201
    assert _send(client, key, format="GSM", message="Hej").status_code == 201
