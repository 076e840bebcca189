"""One password policy at every door: an empty or too short password is refused by the
reseller API, LINK, mysms and the CLI, and the account keeps its old password."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain.models import Account, BillingType
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.factories import PASSWORD

BAD = ["", "x", "abc"]


@pytest.fixture
def reseller(uow: UnitOfWork) -> Account:
    return factories.reseller(uow, name="acme", credits=10)


@pytest.mark.parametrize("password", BAD)
def test_reseller_user_create_refuses_a_short_password(
    client: TestClient, uow: UnitOfWork, reseller: Account, password: str
) -> None:
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    answer = client.post(
        "/services/rest/user/create",
        data={"resellerName": "acme", "resellerPassword": PASSWORD, "username": "u1",
              "password": password, "customerId": customer.object_id,
              "email": "u1@example.com", "phoneNumber": "+436761234567"},
    ).json()  # fmt: skip
    assert answer["status"] != 0
    assert answer["field"] == "password"


@pytest.mark.parametrize("password", BAD)
@pytest.mark.usefixtures("reseller")
def test_reseller_customer_user_create_refuses_a_short_password(
    client: TestClient, password: str
) -> None:
    answer = client.post(
        "/services/rest/customer-user/create",
        data={"resellerName": "acme", "resellerPassword": PASSWORD, "customer": "c1",
              "username": "u1", "password": password, "applyFreeCredits": "false"},
    ).json()  # fmt: skip
    assert answer["status"] != 0
    assert answer["field"] == "password"


@pytest.mark.parametrize("password", BAD)
def test_link_refuses_a_short_password_on_create_and_update(
    client: TestClient, uow: UnitOfWork, password: str
) -> None:
    root = factories.user(uow, acl_admin=True)
    key = factories.user_key(uow, root)
    created = client.post(
        f"/v2/user.json?apikey={key}", json={"user": {"username": "bob", "password": password}}
    )
    assert created.status_code == 400
    updated = client.put(
        f"/v2/user/{root.id}.json?apikey={key}", json={"user": {"password": password}}
    )
    assert updated.status_code == 400
    legacy = client.get(
        "/v2/ping.json",
        params={"apikey": "legacy", "username": root.name, "password": PASSWORD, "type": "plain"},
    )
    assert legacy.status_code == 200  # the old password still works


@pytest.mark.parametrize("password", BAD)
def test_mysms_password_change_refuses_a_short_password(
    client: TestClient, uow: UnitOfWork, password: str
) -> None:
    customer = factories.customer(uow)
    factories.user(uow, parent=customer, password="good-pw", msisdn="436761234567")
    key = factories.client_key(uow, customer)
    login = {"apiKey": key, "msisdn": 436761234567, "password": "good-pw"}
    token = client.post("/json/user/login", json=login).json()["authToken"]
    answer = client.post(
        "/json/user/password/change",
        json={"apiKey": key, "authToken": token, "password": password},
    ).json()
    assert answer["errorCode"] != 0
    assert client.post("/json/user/login", json=login).json()["errorCode"] == 0


def test_the_installation_bounds_apply_to_every_door(make_http: Any, uow: UnitOfWork) -> None:
    """A longer minimum from the settings is kept by the reseller API and LINK alike."""
    factories.reseller(uow, name="acme")
    http = make_http(password_min_length=12)
    answer = http.post(
        "/services/rest/customer-user/create",
        data={"resellerName": "acme", "resellerPassword": PASSWORD, "customer": "c1",
              "username": "u1", "password": "eleven-char", "applyFreeCredits": "false"},
    ).json()  # fmt: skip
    assert (answer["status"], answer["field"]) == (2, "password")
    root = factories.user(uow, acl_admin=True)
    created = http.post(
        f"/v2/user.json?apikey={factories.user_key(uow, root)}",
        json={"user": {"username": "bob", "password": "eleven-char"}},
    )
    assert created.status_code == 400
