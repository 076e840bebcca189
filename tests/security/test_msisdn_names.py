"""msisdn registrations are identified by their msisdn, in a name no other account may take:
a LINK username that looks like a phone number blocks no number, and LINK's "username
taken" tells nobody whether a number is registered anywhere."""

from __future__ import annotations

from starlette.testclient import TestClient

from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.mysms.wire_client import Api, register

from .conftest import RIGHTS

MSISDN = "436761234567"


def test_a_link_username_that_looks_like_a_phone_number_blocks_no_registration(
    http: TestClient, uow: UnitOfWork
) -> None:
    admin = factories.user(uow, acl_admin=True)
    admin_key = factories.user_key(uow, admin)
    for username in (MSISDN, f"00{MSISDN}"):
        made = http.post(f"/v2/user.json?apikey={admin_key}",
                         json={"user": {"username": username, "password": "pw-12345"}})  # fmt: skip
        assert made.status_code == 200
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer, rights=RIGHTS)
    assert register(Api(http, "json"), uow, key, MSISDN, "pw-1234").startswith("sat_")


def test_link_cannot_take_an_msisdn_name_nor_learn_that_a_number_is_registered(
    http: TestClient, uow: UnitOfWork
) -> None:
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer, rights=RIGHTS)
    register(Api(http, "json"), uow, key, MSISDN, "pw-1234")
    admin = factories.user(uow, acl_admin=True)
    admin_key = factories.user_key(uow, admin)

    def create(username: str) -> tuple[int, str]:
        user = {"username": username, "password": "pw-12345"}
        answer = http.post(f"/v2/user.json?apikey={admin_key}", json={"user": user})
        return answer.status_code, answer.json().get("message", "")

    # The registered number's digits are a username like any other: nothing is revealed.
    assert create(MSISDN)[0] == 200
    # A `+` name is an msisdn registration's, refused alike whether or not it is registered.
    assert create(f"+{MSISDN}") == create("+436761234599")
    assert create(f"+{MSISDN}")[0] == 400
    assert "username" in create(f"+{MSISDN}")[1]
