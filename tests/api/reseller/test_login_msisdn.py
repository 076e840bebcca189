"""A user created by the reseller API logs in through mysms with its phoneNumber, when that
is a valid mobile number nobody else has."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain.models import BillingType
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.reseller.conftest import by_object_id
from tests.factories import PASSWORD


def _create(client: TestClient, customer_id: str, username: str, phone: str) -> str:
    answer = client.post(
        "/services/rest/user/create",
        data={"resellerName": "acme", "resellerPassword": PASSWORD, "username": username,
              "password": "user-pw-1", "customerId": customer_id,
              "email": f"{username}@example.com", "phoneNumber": phone},
    ).json()  # fmt: skip
    assert answer["status"] == 0, answer
    return str(answer["id"])


def test_a_mobile_phone_number_becomes_the_login_msisdn(
    client: TestClient, uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow, name="acme")
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    user = by_object_id(uow, _create(client, customer.object_id, "u1", "+43 676 1234567"))
    assert (user.msisdn, user.country) == ("436761234567", "AT")
    key = factories.client_key(uow, customer)
    login = {"apiKey": key, "msisdn": 436761234567, "password": "user-pw-1"}
    assert client.post("/json/user/login", json=login).json()["errorCode"] == 0
    again = by_object_id(uow, _create(client, customer.object_id, "u2", "+436761234567"))
    assert again.msisdn is None  # taken: kept as contact data only


@pytest.mark.parametrize("phone", ["123", "+43 1 5880", "999 444 111"])
def test_a_number_that_is_no_valid_mobile_stays_contact_data(
    client: TestClient, uow: UnitOfWork, phone: str
) -> None:
    reseller = factories.reseller(uow, name="acme")
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    user = by_object_id(uow, _create(client, customer.object_id, "u1", phone))
    assert (user.msisdn, user.phone_number) == (None, phone)
