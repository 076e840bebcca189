"""The charging API a gateway calls: JSON in and out, a gateway key, the sender named by its
own key, username or id; every refusal a documented code and HTTP status."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain.models import Account
from smsaccounts.services import accounts, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

DK, AT = "+4520123456", "436761234567"
CHARGE, REFUND = "/charging/v1/charge", "/charging/v1/refund"


@pytest.fixture
def pool(uow: UnitOfWork) -> Account:
    """A pre-paid customer holding 10 credits."""
    return factories.prepaid_customer(uow, credits=10)


@pytest.fixture
def http(make_http: Any) -> TestClient:
    client: TestClient = make_http()
    return client


def _post(http: TestClient, key: str, path: str, **body: Any) -> Any:
    return http.post(path, json=body, headers={"Authorization": f"Bearer {key}"})


def test_a_charge_by_username_answers_the_parts_what_paid_and_what_is_left(
    http: TestClient, uow: UnitOfWork, gateway: str, pool: Account
) -> None:
    user = factories.user(uow, parent=pool, name="till", funding="parent")
    answer = _post(http, gateway, CHARGE, reference="m-1", username="till",
                   recipients=[DK, AT], text="x" * 161)  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "reference": "m-1", "account_id": user.id, "payer_id": pool.id, "recipients": 2,
        "charged_parts": 4,
        "paid": {"own_free_sms": 0, "free_sms": 0, "credits": 4, "money": "0.0000000"},
        "remaining": {"free_sms": 0, "credits": 6, "balance": "0.0000000"},
        "replayed": False, "refunded_parts": None,
    }  # fmt: skip
    again = _post(http, gateway, CHARGE, reference="m-1", username="till", recipients=[DK],
                  text="hi")  # fmt: skip
    assert again.json()["replayed"] is True
    assert again.json()["charged_parts"] == 4
    assert wallet.get(uow, account_id=pool.id).credits == 6
    refund = _post(http, gateway, REFUND, reference="m-1", parts=3)
    assert refund.json()["refunded_parts"] == 3
    assert refund.json()["remaining"]["credits"] == 9
    twice = _post(http, gateway, REFUND, reference="m-1", parts=1)
    assert (twice.status_code, twice.json()["error"]) == (409, "refund_already_made")


def test_the_sender_may_be_named_by_its_own_key_or_its_id(
    http: TestClient, uow: UnitOfWork, gateway: str, pool: Account
) -> None:
    user = factories.user(uow, parent=pool, funding="parent")
    key = factories.user_key(uow, user)
    by_key = _post(http, gateway, CHARGE, reference="k", apikey=key, recipients=[DK], parts=1)
    by_id = _post(http, gateway, CHARGE, reference="i", account_id=user.id, recipients=[DK],
                  parts=2)  # fmt: skip
    assert (by_key.json()["account_id"], by_id.json()["account_id"]) == (user.id, user.id)
    assert wallet.get(uow, account_id=pool.id).credits == 7


def _refused(http: TestClient, key: str, **body: Any) -> tuple[int, str]:
    body.setdefault("reference", "r")
    body.setdefault("recipients", [DK])
    body.setdefault("text", "hello")
    answer = _post(http, key, CHARGE, **body)
    return answer.status_code, answer.json()["error"]


def test_every_refusal_reason_has_its_code_and_status_and_charges_nothing(
    http: TestClient, make_http: Any, uow: UnitOfWork, gateway: str, pool: Account
) -> None:
    factories.user(uow, parent=pool, name="ref-u", funding="parent", prefixes="45")
    capped = factories.user(uow, parent=pool, name="ref-c", funding="parent")
    with uow.write() as tx:
        tx.wallets.set_terms(capped.id, max_messages=1)
    assert _refused(http, gateway, username="ref-u", recipients=[AT]) == (
        403, "recipient_prefix_not_allowed")  # fmt: skip
    assert _refused(http, gateway, username="ref-u", recipients=["45"]) == (
        400, "recipient_invalid")  # fmt: skip
    assert _refused(http, gateway, username="ref-u", **{"class": "premium"}) == (
        403, "message_class_not_allowed")  # fmt: skip
    assert _refused(http, gateway, username="ref-u", **{"class": "charity"}) == (
        403, "message_class_not_allowed")  # fmt: skip
    assert _refused(http, gateway, username="ref-c", text="x" * 161) == (
        403, "message_limit_reached")  # fmt: skip
    assert _refused(http, gateway, username="ref-u", recipients=[DK] * 11) == (
        402, "insufficient_funds")  # fmt: skip
    at_only = make_http(allowed_countries=frozenset({"AT"}))
    assert _refused(at_only, gateway, username="ref-c") == (403, "recipient_country_not_allowed")
    assert _refused(http, gateway, username="nobody") == (404, "user_not_found")
    assert _refused(http, "sak_wrong", username="ref-u") == (401, "api_key_invalid")
    client_key = factories.client_key(uow, pool)
    assert _refused(http, client_key, username="ref-u") == (401, "api_key_invalid")
    reseller = accounts.get(uow, actor=pool, account_id=pool.id)
    accounts.disable(uow, actor=reseller, account_id=pool.id)
    assert _refused(http, gateway, username="ref-c") == (403, "account_disabled")
    assert wallet.get(uow, account_id=pool.id).credits == 10


def test_a_bad_body_is_a_400_naming_the_field(http: TestClient, gateway: str) -> None:
    missing = _post(http, gateway, CHARGE, username="x", recipients=[DK], text="t")
    assert (missing.status_code, missing.json()["field"]) == (400, "reference")
    unknown = _post(http, gateway, CHARGE, reference="r", sendr="x")
    assert unknown.status_code == 400
    broken = http.post(CHARGE, content=b"{", headers={"Authorization": f"Bearer {gateway}"})
    assert (broken.status_code, broken.json()["error"]) == (400, "bad_request")
