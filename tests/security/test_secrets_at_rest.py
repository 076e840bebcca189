"""No PIN or generated password stays at rest once its SMS is done.

The outbox used to keep every PIN and generated password in plain text for ever, after
delivery and after expiry, although PINs are otherwise stored only as hashes and a
generated password stays valid until changed: a dump or a backup revealed them. Now the
text kept for reading has the secret masked from the start, the text to send is dropped
once the message is sent, given up or expired, and a PIN SMS expires with its PIN. The
transport still gets the real text.

Each test scans every column of every row of every table for the secret, as a dump would.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from smsaccounts.domain import credentials
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.outbox import MASK
from smsaccounts.services import outbox
from smsaccounts.storage.tables import metadata
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

# Fixed secrets, so that a scan can never meet one by chance in a hash or a timestamp.
PIN = "428571"
GENERATED = "Zq7Pw4Xk9M"
MSISDN = "436761234567"


class Gateway:
    """A transport that records what it was given and fails while `down`."""

    name = "gateway"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.down = False

    def send(self, *, to: str, text: str, sender: str) -> None:
        del sender
        if self.down:
            raise ConnectionError("gateway down")
        self.sent.append((to, text))


@pytest.fixture(autouse=True)
def fixed_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "new_pin", lambda: PIN)
    monkeypatch.setattr(credentials, "new_password", lambda: GENERATED)


@pytest.fixture
def key(uow: UnitOfWork) -> str:
    customer = factories.customer(uow)
    return factories.client_key(uow, customer, rights=frozenset({"user.create"}))


def stored_values(uow: UnitOfWork) -> list[str]:
    """Every non-empty value of every row of every table, as text."""
    with uow.read() as tx:
        return [
            str(value)
            for table in metadata.sorted_tables
            for row in tx.conn.execute(select(table))
            for value in row
            if value not in (None, "")
        ]


def anywhere(uow: UnitOfWork, secret: str) -> list[str]:
    return [value for value in stored_values(uow) if secret in value]


def post(http: TestClient, path: str, **fields: Any) -> int:
    answer: int = http.post(f"/json/user/{path}", json=fields).json()["errorCode"]
    return answer


def test_a_delivered_pin_is_nowhere_in_the_database_and_the_transport_got_it(
    http: TestClient, uow: UnitOfWork, key: str
) -> None:
    assert post(http, "msisdn/verify", apiKey=key, msisdn=MSISDN) == 0
    [pending] = outbox.list_messages(uow)
    assert pending.text == f"Your verification PIN is {MASK}. It is valid for 10 minutes."
    assert pending.body is not None
    assert PIN in pending.body  # pending: kept only as what is to be sent
    gateway = Gateway()
    assert outbox.deliver_due(uow, gateway) == 1
    assert gateway.sent == [
        (MSISDN, "Your verification PIN is 428571. It is valid for 10 minutes.")
    ]
    assert anywhere(uow, PIN) == []
    [sent] = outbox.list_messages(uow)
    assert (sent.status, sent.body, sent.text) == ("sent", None, pending.text)
    # The PIN still works: it was delivered, not lost.
    assert post(http, "create", apiKey=key, msisdn=MSISDN, password="pw-4711", pin=PIN) == 0


def test_an_expired_pin_is_dropped_unsent_and_is_nowhere_in_the_database(
    http: TestClient, uow: UnitOfWork, key: str, clock: FakeClock
) -> None:
    assert post(http, "msisdn/verify", apiKey=key, msisdn=MSISDN) == 0
    clock.advance(uow.settings.pin_ttl_seconds)
    gateway = Gateway()
    assert outbox.deliver_due(uow, gateway) == 0
    assert gateway.sent == []  # a PIN that can no longer be used is not sent
    assert anywhere(uow, PIN) == []
    [message] = outbox.list_messages(uow)
    assert (message.status, message.body) == ("expired", None)


def test_a_pin_whose_delivery_was_given_up_is_nowhere_in_the_database(
    http: TestClient, uow: UnitOfWork, key: str, clock: FakeClock
) -> None:
    """A long-lived PIN (here: one day) outlasting every retry: failing is the end too."""
    assert post(http, "msisdn/verify", apiKey=key, msisdn=MSISDN) == 0
    with uow.write() as tx:  # a PIN SMS kept longer than the retries take
        tx.conn.execute(metadata.tables["outbox"].update().values(expires_at=None))
    gateway = Gateway()
    gateway.down = True
    for _ in range(uow.settings.outbox_max_attempts + 1):
        outbox.deliver_due(uow, gateway)
        clock.advance(3600)
    [message] = outbox.list_messages(uow)
    assert (message.status, message.body) == ("failed", None)
    assert anywhere(uow, PIN) == []


def test_a_generated_password_is_nowhere_in_the_database_once_delivered(
    http: TestClient, uow: UnitOfWork, key: str
) -> None:
    assert post(http, "msisdn/verify", apiKey=key, msisdn=MSISDN) == 0
    assert post(http, "create", apiKey=key, msisdn=MSISDN, password="pw-4711", pin=PIN) == 0
    assert post(http, "password/reset", apiKey=key, msisdn=MSISDN) == 0
    shown = [m.text for m in outbox.list_messages(uow)]
    assert shown[-1] == f"Your new password is {MASK}"
    assert anywhere(uow, GENERATED) == [f"Your new password is {GENERATED}"]  # pending
    gateway = Gateway()
    assert outbox.deliver_due(uow, gateway) == 2
    assert (MSISDN, f"Your new password is {GENERATED}") in gateway.sent
    assert anywhere(uow, GENERATED) == []
    assert anywhere(uow, PIN) == []
    assert post(http, "login", apiKey=key, msisdn=MSISDN, password=GENERATED) == 0
