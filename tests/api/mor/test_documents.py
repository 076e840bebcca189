"""The documents MOR answers as the Kolmisoft wiki shows them, and JSON bodies read as
clients send them (numbers hashed by their text on the wire, null as a parameter not sent)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from smsaccounts.domain import money
from smsaccounts.domain.models import Asset, BillingType
from smsaccounts.services import wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.mor.conftest import ADMIN_SECRET, MorClient, error_of, sha1_hash, updated

FUNCTIONS = ["user_details_get", "user_details", "user_balance_update", "user_balance_change"]
BALANCE_FUNCTIONS = FUNCTIONS[2:]


def _shape(response: Any) -> tuple[str, list[str], str | None]:
    root = etree.fromstring(response.content)
    return root.tag, [child.tag for child in root], root.findtext("error")


def _balance(uow: UnitOfWork, account_id: int) -> Decimal:
    with uow.read() as tx:
        found = tx.wallets.get(account_id)
    assert found is not None
    return money.from_units(found.balance)


def _post_json(mor: MorClient, function: str, body: dict[str, Any]) -> Any:
    return mor.http.post(f"/billing/api/{function}", content=json.dumps(body).encode(),
                         headers={"content-type": "application/json"})  # fmt: skip


@pytest.mark.parametrize("function", FUNCTIONS)
def test_an_unknown_user_is_an_error_inside_page(mor: MorClient, function: str) -> None:
    hashed = {"user_id": "999999"}
    if function in BALANCE_FUNCTIONS:
        hashed["balance"] = "1"
    response = mor.call(function, u="admin", hashed=hashed)
    assert _shape(response) == ("page", ["error"], "User was not found")


@pytest.mark.parametrize(
    ("function", "root"),
    [("user_details_get", "page"), ("user_details", "page"),
     ("user_balance_update", "status"), ("user_balance_change", "status")],
)  # fmt: skip
def test_an_incorrect_hash_is_inside_status_for_a_balance_update_and_page_for_details(
    mor: MorClient, function: str, root: str
) -> None:
    response = mor.call(function, u="admin", hashed={"user_id": "1"}, hash="0" * 40)
    assert _shape(response) == (root, ["error"], "Incorrect hash")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_wrong_password_is_a_bad_login_inside_page(
    mor: MorClient, uow: UnitOfWork, function: str
) -> None:
    user = factories.user(uow)
    hashed = {"user_id": str(user.id), "balance": "1"} if function in BALANCE_FUNCTIONS else {
        "user_id": str(user.id)}  # fmt: skip
    response = mor.call(function, u=user.name, hashed=hashed, p="not-the-password")
    assert _shape(response) == ("page", ["error"], "Bad login")


def test_a_refused_update_is_an_error_inside_page(mor: MorClient, uow: UnitOfWork) -> None:
    user = factories.user(uow, billing_type=BillingType.PRE_PAID)
    response = mor.call("user_balance_update", u="admin",
                        hashed={"user_id": str(user.id), "balance": "-1"})  # fmt: skip
    assert _shape(response) == ("page", ["error"], "User balance not updated")


def test_a_successful_update_answers_the_user_and_its_new_balance(
    mor: MorClient, uow: UnitOfWork
) -> None:
    user = factories.user(uow, billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=user.id, asset=Asset.BALANCE,
                  amount=money.to_units(Decimal("10")), reason="test")  # fmt: skip
    response = mor.call("user_balance_update", u="admin",
                        hashed={"user_id": str(user.id), "balance": "2.5"})  # fmt: skip
    root = etree.fromstring(response.content)
    assert [root.tag, [c.tag for c in root], [c.tag for c in root[0]]] == [
        "page", ["page"], ["status", "user"]]  # fmt: skip
    assert root.find("error") is None
    assert updated(response) == {"username": user.name, "id": str(user.id), "balance": "12.5000"}
    assert _balance(uow, user.id) == Decimal("12.5")


def test_a_json_body_with_a_decimal_balance_is_hashed_over_the_text_sent(
    mor: MorClient, uow: UnitOfWork
) -> None:
    """`"balance": 2.50` is hashed as `2.50`, the text on the wire, not as a float's text."""
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    body = b'{"u":"admin","user_id":%d,"balance":2.50,"hash":"%s"}' % (
        user.id, sha1_hash(str(user.id), "2.50", ADMIN_SECRET).encode())  # fmt: skip
    response = mor.http.post("/billing/api/user_balance_update", content=body,
                             headers={"content-type": "application/json"})  # fmt: skip
    assert updated(response) == {"username": user.name, "id": str(user.id), "balance": "2.5000"}
    float_text = _post_json(mor, "user_balance_update", {
        "u": "admin", "user_id": user.id, "balance": 2.5,
        "hash": sha1_hash(str(user.id), "2.5", ADMIN_SECRET)})  # fmt: skip
    assert updated(float_text) is not None
    assert _balance(uow, user.id) == Decimal("5")


def test_a_json_null_is_a_parameter_not_sent(mor: MorClient, uow: UnitOfWork) -> None:
    """A client leaves a null out of its hash; so does the server, for every parameter."""
    user = factories.user(uow)
    details = _post_json(mor, "user_details_get", {
        "u": "admin", "p": None, "user_id": user.id, "username": None,
        "hash": sha1_hash(str(user.id), ADMIN_SECRET)})  # fmt: skip
    assert error_of(details) is None
    assert etree.fromstring(details.content).findtext("details/other_details/username") == (
        user.name)  # fmt: skip
    no_balance = _post_json(mor, "user_balance_update", {
        "u": "admin", "user_id": user.id, "balance": None,
        "hash": sha1_hash(str(user.id), ADMIN_SECRET)})  # fmt: skip
    assert error_of(no_balance) == "User balance not updated"
    assert _balance(uow, user.id) == 0


def test_a_json_object_or_list_as_a_parameter_is_an_incorrect_hash(
    mor: MorClient, uow: UnitOfWork
) -> None:
    user = factories.user(uow)
    response = _post_json(mor, "user_balance_update", {
        "u": "admin", "user_id": user.id, "balance": [1],
        "hash": sha1_hash(str(user.id), ADMIN_SECRET)})  # fmt: skip
    assert _shape(response) == ("status", ["error"], "Incorrect hash")
    assert _balance(uow, user.id) == 0
