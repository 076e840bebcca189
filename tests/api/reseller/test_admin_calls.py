"""The admin calls as documented: the customer by its name, `creditsToAdd`, balance by GET."""

from __future__ import annotations

from typing import Any

import pytest

from smsaccounts.domain.models import Account, BillingType
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.reseller.conftest import BASE, Api, counts, credits_of
from tests.factories import PASSWORD


@pytest.fixture
def shop(uow: UnitOfWork, pool_reseller: Account) -> Account:
    return factories.customer(uow, parent=pool_reseller, name="cheesecakeshop",
                              billing_type=BillingType.PRE_PAID)  # fmt: skip


def _query(client: Any, method: str, path: str, **params: Any) -> dict[str, Any]:
    """The documented form: every parameter in the query string, no body."""
    response = client.request(method, f"{BASE}/{path}", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def test_add_credits_names_the_customer_and_a_negative_amount_takes_credits_back(
    client: Any, uow: UnitOfWork, pool_reseller: Account, shop: Account
) -> None:
    auth = {"reseller": pool_reseller.name, "password": PASSWORD}
    given = _query(client, "POST", "admin/addCredits", **auth, customer=shop.name,
                   creditsToAdd="1000")  # fmt: skip
    assert given == {"credits": 1000, "status": 0}
    back = _query(client, "POST", "admin/addCredits", **auth, customer=shop.name,
                  creditsToAdd="-400")  # fmt: skip
    assert back == {"credits": 600, "status": 0}
    assert (credits_of(uow, shop), credits_of(uow, pool_reseller)) == (600, 400)


def test_balance_answers_get_and_post_alike(
    client: Any, api: Api, pool_reseller: Account, shop: Account
) -> None:
    api.as_admin(pool_reseller, "addCredits", customer=shop.name, creditsToAdd="15")
    auth = {"reseller": pool_reseller.name, "password": PASSWORD, "customer": shop.name}
    by_get = _query(client, "GET", "admin/balance", **auth)
    by_post = _query(client, "POST", "admin/balance", **auth)
    as_form = api.post("admin/balance", **auth)
    assert by_get == by_post == as_form == {"credits": 15, "status": 0}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_balance_by_get_refuses_as_post_does_and_shows_credits_only_with_status_0(
    client: Any, uow: UnitOfWork, pool_reseller: Account, shop: Account, method: str
) -> None:
    foreign = factories.customer(uow, parent=factories.reseller(uow), name="elsewhere")
    auth = {"reseller": pool_reseller.name, "password": PASSWORD}
    cases = {
        1: {"reseller": pool_reseller.name, "password": PASSWORD},
        2: {**auth, "customer": "two words"},
        3: {**auth, "password": "wrong", "customer": shop.name},
        300: {**auth, "customer": foreign.name},
        400: {"reseller": "nobody", "password": PASSWORD, "customer": shop.name},
    }
    for status, params in cases.items():
        answer = _query(client, method, "admin/balance", **params)
        assert answer["status"] == status, params
        assert "credits" not in answer
    assert counts(uow)[1] == 1  # the pool's opening entry only


def test_a_customer_of_another_reseller_by_name_is_300_byte_identical_to_an_unknown_name(
    client: Any, uow: UnitOfWork, pool_reseller: Account
) -> None:
    foreign = factories.customer(uow, parent=factories.reseller(uow), name="theirs")
    bodies = [
        client.post(f"{BASE}/admin/addCredits", params={
            "reseller": pool_reseller.name, "password": PASSWORD, "customer": name,
            "creditsToAdd": "5"}).content
        for name in (foreign.name, "nobody-has-this-name")
    ]  # fmt: skip
    assert bodies[0] == bodies[1] == b'{"status":300,"message":"customer does not exist"}'
    assert credits_of(uow, foreign) == 0


def test_a_disabled_customer_is_420_and_keeps_its_credits(
    api: Api, uow: UnitOfWork, pool_reseller: Account, shop: Account
) -> None:
    api.as_admin(pool_reseller, "addCredits", customer=shop.name, creditsToAdd="10")
    with uow.write() as tx:
        tx.accounts.update(shop.id, {"enabled": False})
    answer = api.as_admin(pool_reseller, "addCredits", customer=shop.name, creditsToAdd="-10")
    assert answer == {"status": 420, "message": "reseller has no rights to the customer"}
    assert api.as_admin(pool_reseller, "balance", customer=shop.name)["status"] == 420
    assert credits_of(uow, shop) == 10


def test_the_name_and_the_object_id_reach_the_same_customer(
    api: Api, pool_reseller: Account, shop: Account
) -> None:
    api.as_admin(pool_reseller, "addCredits", customerId=shop.object_id, credits="7")
    assert api.as_admin(pool_reseller, "balance", customer=shop.name) == {"credits": 7, "status": 0}
