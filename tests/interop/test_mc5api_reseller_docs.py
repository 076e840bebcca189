"""The MC5API reseller pages ("Add credits to Customer account", the admin balance call,
"User and Reseller REST API Response Status Codes"), replayed as their examples are written.

The pages show each call as a URL with every parameter in the query string:
`POST /services/rest/admin/addCredits?reseller=reseller&password=password&customer=
cheescakeshop&creditsToAdd=1000` (`customer` the customer's name, `creditsToAdd` negative to
take credits back) and `GET /services/rest/admin/balance?reseller=...&password=...&customer=
...` (later also POST). The answer is JSON: `credits` (only with status 0) and `status`.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain.models import Account, BillingType
from smsaccounts.domain.tree import Kind
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import Operator

RESELLER, PASSWORD = "reseller", "password"  # the pages' example credentials


def _call(wire: TestClient, method: str, path: str, **params: str) -> dict[str, Any]:
    """curl -X METHOD 'http://host/services/rest/<path>?<params>': no body."""
    response = wire.request(method, f"/services/rest/{path}", params=params,
                            headers={"Accept": "*/*", "User-Agent": "curl/8.5.0"})  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def shop(uow: UnitOfWork, operator: Operator) -> Account:
    """The pages' names: reseller `reseller` with 5000 credits, its customer cheescakeshop."""
    operator("reseller", "create", RESELLER, "--password", PASSWORD, "--credits", "5000")
    operator("customer", "create", "cheescakeshop", "--reseller", RESELLER,
             "--billing-type", "PRE_PAID")  # fmt: skip
    with uow.read() as tx:
        reseller = tx.accounts.get_by_name(Kind.RESELLER, RESELLER)
    assert reseller is not None
    return factories.customer(uow, parent=reseller, name="other-shop",
                              billing_type=BillingType.PRE_PAID)  # fmt: skip


@pytest.mark.usefixtures("shop")
def test_add_credits_as_the_page_writes_it_then_takes_some_back(wire: TestClient) -> None:
    auth = {"reseller": RESELLER, "password": PASSWORD, "customer": "cheescakeshop"}
    assert _call(wire, "POST", "admin/addCredits", **auth, creditsToAdd="1000") == {
        "credits": 1000, "status": 0}  # fmt: skip
    assert _call(wire, "POST", "admin/addCredits", **auth, creditsToAdd="-250") == {
        "credits": 750, "status": 0}  # fmt: skip


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_balance_as_the_page_writes_it(wire: TestClient, method: str) -> None:
    auth = {"reseller": RESELLER, "password": PASSWORD}
    _call(wire, "POST", "admin/addCredits", **auth, customer="cheescakeshop", creditsToAdd="40")
    assert _call(wire, method, "admin/balance", **auth, customer="cheescakeshop") == {
        "credits": 40, "status": 0}  # fmt: skip


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"password": PASSWORD, "customer": "cheescakeshop"}, 1),
        ({"reseller": RESELLER, "password": PASSWORD, "customer": "cheese cake"}, 2),
        ({"reseller": RESELLER, "password": "wrong", "customer": "cheescakeshop"}, 3),
        ({"reseller": RESELLER, "password": PASSWORD, "customer": "nobody"}, 300),
        ({"reseller": "nobody", "password": PASSWORD, "customer": "cheescakeshop"}, 400),
    ],
)
def test_balance_statuses_from_the_page_carry_no_credits(
    wire: TestClient, params: dict[str, str], status: int
) -> None:
    """The balance page uses 0, 1, 2, 3, 300, 400, 420 and 9999; `credits` only with 0."""
    answer = _call(wire, "GET", "admin/balance", **params)
    assert answer["status"] == status
    assert "credits" not in answer
    assert isinstance(answer["message"], str)


def test_a_disabled_customer_is_420(wire: TestClient, uow: UnitOfWork, shop: Account) -> None:
    with uow.write() as tx:
        tx.accounts.update(shop.id, {"enabled": False})
    answer = _call(wire, "GET", "admin/balance", reseller=RESELLER, password=PASSWORD,
                   customer=shop.name)  # fmt: skip
    assert answer == {"status": 420, "message": "reseller has no rights to the customer"}
