"""One login lockout per account, whatever the door: mysms (by msisdn), LINK's legacy
login, MOR's `p` and the reseller API count together, and a name of any length is counted
(a 150-character name used to make PostgreSQL refuse the counter row: a 500, no count)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import Account
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories, multiserver

from .conftest import RIGHTS, mor_hash

MSISDN = "436761234567"
LONG = "n" * 150
MISSING_CUSTOMER = "0123456789abcdef01234567"


@dataclasses.dataclass
class Doors:
    """Every door that takes a password, pointed at one user (and its reseller)."""

    http: TestClient
    key: str  # the customer's client key (mysms)
    user: Account
    reseller: Account
    secret: str  # the reseller's MOR secret

    def mysms(self, password: str) -> str:
        fields = {"apiKey": self.key, "msisdn": MSISDN, "password": password}
        code = self.http.post("/json/user/login", json=fields).json()["errorCode"]
        return {0: "ok", 101: "wrong", 109: "blocked"}.get(code, str(code))

    def link(self, password: str) -> str:
        params = {"apikey": "legacy", "username": self.user.name, "password": password,
                  "type": "plain"}  # fmt: skip
        status = self.http.get("/v2/ping.json", params=params).status_code
        return "ok" if status == 200 else "refused"

    def mor(self, password: str, name: str | None = None) -> str:
        params = {"u": name or self.user.name, "p": password, "user_id": str(self.user.id)}
        params["hash"] = mor_hash(params["user_id"], self.secret)
        answer = self.http.post("/billing/api/user_details_get", params=params)
        return "ok" if b"<error>" not in answer.content else "refused"

    def reseller_api(self, password: str, name: str | None = None) -> str:
        params = {"reseller": name or self.reseller.name, "password": password,
                  "customerId": MISSING_CUSTOMER}  # fmt: skip
        answer = self.http.post("/services/rest/admin/balance", data=params).json()
        # 3 is "authentication failed" for a wrong and a blocked login alike; 300 means the
        # login passed and only then was the (made-up) customer found missing.
        return {3: "refused", 300: "ok"}.get(answer["status"], str(answer["status"]))


@pytest.fixture
def doors(uow: UnitOfWork, http: TestClient) -> Doors:
    reseller = factories.reseller(uow, name=LONG)
    auth.set_mor_secret(uow, account_id=reseller.id, secret="mor-secret")
    customer = factories.customer(uow, parent=reseller)
    user = factories.user(uow, parent=customer, name="u" * 150, msisdn=MSISDN, country="AT")
    key = factories.client_key(uow, customer, rights=RIGHTS)
    return Doors(http, key, user, reseller, "mor-secret")


USER_DOORS: dict[str, Callable[[Doors, str], str]] = {
    "mysms": Doors.mysms,
    "link": Doors.link,
    "mor": Doors.mor,
}


@pytest.mark.parametrize("first", list(USER_DOORS))
@multiserver.moves_clock
def test_a_user_blocked_at_one_door_is_blocked_at_every_other(
    doors: Doors, uow: UnitOfWork, clock: FakeClock, first: str
) -> None:
    right = factories.PASSWORD
    for door in USER_DOORS.values():
        assert door(doors, right) == "ok"
    for _ in range(uow.settings.login_max_failures):
        assert USER_DOORS[first](doors, "wrong-pw") in ("wrong", "refused")
    assert doors.mysms(right) == "blocked"
    assert doors.link(right) == "refused"
    assert doors.mor(right) == "refused"
    clock.advance(uow.settings.login_block_seconds)
    for door in USER_DOORS.values():
        assert door(doors, right) == "ok"


def test_failures_at_different_doors_add_up(doors: Doors, uow: UnitOfWork) -> None:
    """Two guesses at each of three doors: five allowed in all, not five per door."""
    assert uow.settings.login_max_failures == 5
    results = [door(doors, "wrong-pw") for _ in range(2) for door in USER_DOORS.values()]
    assert results[:5] == ["wrong", "refused", "refused", "wrong", "refused"]
    assert doors.mysms(factories.PASSWORD) == "blocked"


@multiserver.moves_clock
def test_a_150_character_reseller_name_locks_out_like_a_short_one(
    doors: Doors, uow: UnitOfWork, clock: FakeClock
) -> None:
    """At the reseller API and at MOR's `p` (both name the reseller: one lockout)."""
    right = factories.PASSWORD
    assert doors.reseller_api(right) == "ok"
    for _ in range(uow.settings.login_max_failures - 1):
        assert doors.reseller_api("wrong-pw") == "refused"
    assert doors.mor("wrong-pw", name=LONG) == "refused"
    assert doors.reseller_api(right) == "refused"
    clock.advance(uow.settings.login_block_seconds)
    assert doors.reseller_api(right) == "ok"


def test_a_150_character_unknown_name_is_counted_too(doors: Doors, uow: UnitOfWork) -> None:
    ghost = "g" * 150
    for _ in range(uow.settings.login_max_failures):
        assert doors.reseller_api("x", name=ghost) == "400"
    assert doors.reseller_api("x", name=ghost) == "refused"  # blocked: 3, not 400


def test_the_reseller_api_refuses_a_caller_outside_the_resellers_iprange(
    uow: UnitOfWork, make_http: Any
) -> None:
    reseller = factories.reseller(uow, iprange="192.0.2.0/24")
    params = {"reseller": reseller.name, "password": factories.PASSWORD,
              "customerId": MISSING_CUSTOMER}  # fmt: skip
    outside, inside = make_http("198.51.100.7"), make_http("192.0.2.10")
    refused = outside.post("/services/rest/admin/balance", data=params).json()
    assert refused == {"status": 3, "message": "authentication failed"}
    assert inside.post("/services/rest/admin/balance", data=params).json()["status"] == 300
    created = outside.post("/services/rest/customer/create", data={
        "resellerName": reseller.name, "resellerPassword": factories.PASSWORD,
        "name": "shop", "integrationId": "i-1", "billingType": "PRE_PAID"}).json()  # fmt: skip
    assert created["status"] == 3
