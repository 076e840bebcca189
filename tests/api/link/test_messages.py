"""LINK's `POST /v2/message.{json|xml}`: validated, charged to the wallet the caller spends
from (reference: the batch id), queued in the outbox; every refusal reason in LINK's shape,
and documented fields this server cannot honour refused by name."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.services import accounts, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

DK, AT = "+4520123456", "+436761234567"


@pytest.fixture
def pool(uow: UnitOfWork) -> Account:
    reseller = factories.reseller(uow)
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=5, reason="t")
    return customer


def _sender(uow: UnitOfWork, pool: Account, **attrs: Any) -> tuple[Account, str]:
    user = factories.user(uow, parent=pool, funding="parent", **attrs)
    return user, factories.user_key(uow, user)


def _queued(uow: UnitOfWork) -> list[str]:
    with uow.read() as tx:
        return sorted(m.to_msisdn for m in tx.outbox.messages() if m.purpose == "message")


def _send(client: TestClient, key: str, fmt: str = "json", **message: Any) -> Any:
    message.setdefault("recipients", DK)
    message.setdefault("sender", "Shop")
    message.setdefault("message", "Your order is ready")
    return client.post(f"/v2/message.{fmt}?apikey={key}", json={"message": message})


def test_a_message_is_charged_to_the_pool_and_queued_per_recipient(
    client: TestClient, uow: UnitOfWork, pool: Account
) -> None:
    user, key = _sender(uow, pool)
    answer = _send(client, key, recipients=f"{DK},{AT}")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == 201
    assert body["details"]["state"] == "QUEUED"
    assert body["stat"]["received"] == 2
    assert wallet.get(uow, account_id=pool.id).credits == 3
    assert _queued(uow) == ["436761234567", "4520123456"]
    assert wallet.get(uow, account_id=user.id).messages_sent == 2


@pytest.mark.parametrize(
    ("message", "status", "fragment"),
    [
        ({"recipients": "+4512"}, 400, "not a valid phone number"),
        ({"recipients": AT}, 403, "prefixes"),
        ({"price": 500}, 403, "aclBilling"),
        ({"charity": True}, 403, "aclCharity"),
        ({"recipients": ",".join([DK] * 6)}, 400, "insufficient"),
        ({"sendtime": "01-01-2030 10:00"}, 400, "sendtime cannot be set"),
        ({"class": 0}, 400, "class cannot be set"),
        ({"message": ""}, 400, "message is required"),
        ({"sender": "a" * 12}, 400, "sender"),
    ],
)
def test_every_refusal_answers_in_links_shape_and_charges_nothing(
    client: TestClient, uow: UnitOfWork, pool: Account, message: dict[str, Any], status: int,
    fragment: str,
) -> None:  # fmt: skip
    _user, key = _sender(uow, pool, prefixes="45")
    answer = _send(client, key, **message)
    assert answer.status_code == status, answer.text
    assert answer.json()["status"] == status
    assert fragment in answer.json()["message"]
    assert wallet.get(uow, account_id=pool.id).credits == 5
    assert _queued(uow) == []


def test_a_disabled_ancestor_and_max_forbrug_refuse_the_message(
    client: TestClient, uow: UnitOfWork, pool: Account
) -> None:
    capped, capped_key = _sender(uow, pool)
    with uow.write() as tx:
        tx.wallets.set_terms(capped.id, max_messages=1)
    limited = _send(client, capped_key, message="x" * 161)
    assert (limited.status_code, limited.json()["message"]) == (
        403, "the sender's max_messages would be passed")  # fmt: skip
    _user, key = _sender(uow, pool)
    reseller = accounts.get(uow, actor=pool, account_id=pool.id)
    accounts.disable(uow, actor=reseller, account_id=pool.id)
    assert _send(client, key).status_code == 401  # a disabled subtree cannot authenticate
    assert wallet.get(uow, account_id=pool.id).credits == 5


def test_an_xml_message_is_answered_in_xml(
    client: TestClient, uow: UnitOfWork, pool: Account
) -> None:
    _user, key = _sender(uow, pool)
    body = (f"<message><recipients>{DK}</recipients><sender>Shop</sender>"
            "<message>Hej</message></message>")  # fmt: skip
    answer = client.post(f"/v2/message.xml?apikey={key}", content=body,
                         headers={"Content-Type": "application/xml"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    assert b"<state>QUEUED</state>" in answer.content
