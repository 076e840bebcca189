"""The verified-credential cache (SMSACCOUNTS_CREDENTIAL_CACHE_SECONDS) of the doors that
take a password on every call (LINK's legacy login, MOR's `p`, the reseller API): a repeated
correct password skips the argon2 verify and answers exactly as a verified one; a changed
password, a disabled or deleted account is refused at once; a wrong password still pays
the verify and counts toward the lockout."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest

from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.credentials import Passwords, VerifiedCredentials
from smsaccounts.services import accounts, auth
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import RIGHTS, mor_hash

RIGHT = factories.PASSWORD
MISSING_CUSTOMER = "0123456789abcdef01234567"


@dataclasses.dataclass
class Doors:
    """The three cached doors, pointed at one user (LINK, MOR) and its reseller; each
    answers its full response body, so a cached and a verified answer compare byte for byte."""

    http: Any
    user: Any
    reseller: Any
    secret: str

    def link(self, password: str) -> bytes:
        params = {"apikey": "legacy", "username": self.user.name, "password": password,
                  "type": "plain"}  # fmt: skip
        answer = self.http.get("/v2/ping.json", params=params)
        # An error names its request's id: the one part two answers may not share.
        content = re.sub(rb"\[[0-9a-f]{8}\]", b"[id]", answer.content)
        return f"{answer.status_code} ".encode() + content

    def mor(self, password: str) -> bytes:
        params = {"u": self.user.name, "p": password, "user_id": str(self.user.id)}
        params["hash"] = mor_hash(params["user_id"], self.secret)
        content: bytes = self.http.post("/billing/api/user_details_get", params=params).content
        return content

    def reseller_api(self, password: str) -> bytes:
        params = {"reseller": self.reseller.name, "password": password,
                  "customerId": MISSING_CUSTOMER}  # fmt: skip
        content: bytes = self.http.post("/services/rest/admin/balance", data=params).content
        return content


DOORS: dict[str, Callable[[Doors, str], bytes]] = {
    "link": Doors.link,
    "mor": Doors.mor,
    "reseller": Doors.reseller_api,
}


@pytest.fixture
def verifies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many argon2 verifies every hasher of the test ran (one counter)."""
    count = [0]
    real = Passwords.verify

    def counting(self: Passwords, stored: str | None, password: str) -> bool:
        count[0] += 1
        return real(self, stored, password)

    monkeypatch.setattr(Passwords, "verify", counting)
    return count


def grow(uow: UnitOfWork, make_http: Any, **settings: Any) -> Doors:
    reseller = factories.reseller(uow)
    auth.set_mor_secret(uow, account_id=reseller.id, secret="mor-secret")
    customer = factories.customer(uow, parent=reseller)
    factories.client_key(uow, customer, rights=RIGHTS)
    user = factories.user(uow, parent=customer)
    return Doors(make_http(**settings), user, reseller, "mor-secret")


def target(doors: Doors, name: str) -> Any:
    """The account whose password the door checks."""
    return doors.reseller if name == "reseller" else doors.user


def admin(uow: UnitOfWork) -> Any:
    with uow.read() as tx:
        return tx.accounts.get(1)


@pytest.mark.parametrize("name", list(DOORS))
def test_a_cached_password_answers_byte_for_byte_what_a_verified_one_does(
    uow: UnitOfWork, make_http: Any, verifies: list[int], name: str
) -> None:
    door = DOORS[name]
    doors = grow(uow, make_http)
    first = door(doors, RIGHT)
    assert verifies[0] == 1
    assert door(doors, RIGHT) == first
    assert verifies[0] == 1  # the second answer came from the cache
    uncached = dataclasses.replace(doors, http=make_http(credential_cache_seconds=0))
    assert door(uncached, RIGHT) == first
    assert verifies[0] == 2


@pytest.mark.parametrize("name", list(DOORS))
def test_a_changed_password_is_refused_at_once_and_counted_as_wrong(
    uow: UnitOfWork, make_http: Any, name: str
) -> None:
    door = DOORS[name]
    doors = grow(uow, make_http)
    uncached = dataclasses.replace(doors, http=make_http(credential_cache_seconds=0))
    ok = door(doors, RIGHT)
    auth.change_password(uow, account_id=target(doors, name).id, password="new-password")
    refused = door(doors, RIGHT)
    assert refused != ok
    assert refused == door(uncached, RIGHT)
    with uow.read() as tx:
        assert tx.throttles.get(auth.login_key(target(doors, name))).failures == 2
    assert door(doors, "new-password") == ok
    auth.change_password(uow, account_id=target(doors, name).id, password=RIGHT)
    assert door(doors, "new-password") == refused  # cached a moment ago, refused now


@pytest.mark.parametrize("change", ["disable", "delete"])
@pytest.mark.parametrize("name", list(DOORS))
def test_a_disabled_or_deleted_account_is_refused_at_once(
    uow: UnitOfWork, make_http: Any, name: str, change: str
) -> None:
    """Refused as an app without the cache refuses it (the account row is read every call)."""
    door = DOORS[name]
    doors = grow(uow, make_http)
    uncached = dataclasses.replace(doors, http=make_http(credential_cache_seconds=0))
    ok = door(doors, RIGHT)
    getattr(accounts, change)(uow, actor=admin(uow), account_id=target(doors, name).id)
    refused = door(doors, RIGHT)
    assert refused != ok
    assert refused == door(uncached, RIGHT)


@pytest.mark.parametrize("name", list(DOORS))
def test_a_wrong_password_is_verified_and_counted_while_the_right_one_is_cached(
    uow: UnitOfWork, make_http: Any, verifies: list[int], clock: FakeClock, name: str
) -> None:
    door = DOORS[name]
    doors = grow(uow, make_http)
    ok = door(doors, RIGHT)
    for attempt in range(1, uow.settings.login_max_failures + 1):
        door(doors, "wrong-password")
        assert verifies[0] == 1 + attempt
        with uow.read() as tx:
            state = tx.throttles.get(auth.login_key(target(doors, name)))
        assert state.failures == attempt or state.blocked_until is not None
    assert door(doors, RIGHT) != ok  # blocked: the cache does not bypass the lockout
    clock.advance(uow.settings.login_block_seconds)
    assert door(doors, RIGHT) == ok


@pytest.mark.parametrize("name", list(DOORS))
def test_a_ttl_of_0_verifies_every_call_and_an_entry_expires_after_its_ttl(
    uow: UnitOfWork, make_http: Any, verifies: list[int], clock: FakeClock, name: str
) -> None:
    door = DOORS[name]
    off = grow(uow, make_http, credential_cache_seconds=0)
    for _ in range(3):
        door(off, RIGHT)
    assert verifies[0] == 3
    on = dataclasses.replace(off, http=make_http(credential_cache_seconds=60))
    door(on, RIGHT)
    door(on, RIGHT)
    assert verifies[0] == 4
    clock.advance(60)
    door(on, RIGHT)
    assert verifies[0] == 5


def test_the_cache_keeps_no_password_and_no_entry_matches_another_account() -> None:
    import datetime as dt

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cache = VerifiedCredentials(60)
    cache.remember(7, "$argon2id$stored", "secret-password", now)
    assert cache.holds(7, "$argon2id$stored", "secret-password", now)
    assert not cache.holds(8, "$argon2id$stored", "secret-password", now)
    assert not cache.holds(7, "$argon2id$other", "secret-password", now)
    assert not cache.holds(7, "$argon2id$stored", "secret-passwor", now)
    assert "secret-password" not in repr(vars(cache))
    assert not VerifiedCredentials(60).holds(7, "$argon2id$stored", "secret-password", now)


@pytest.mark.parametrize("name", list(DOORS))
def test_a_cached_password_after_a_failure_clears_the_count_as_a_verified_one_does(
    uow: UnitOfWork, make_http: Any, verifies: list[int], name: str
) -> None:
    door = DOORS[name]
    doors = grow(uow, make_http)
    ok = door(doors, RIGHT)
    door(doors, "wrong-password")
    key = auth.login_key(target(doors, name))
    with uow.read() as tx:
        assert tx.throttles.get(key).failures == 1
    assert door(doors, RIGHT) == ok
    assert verifies[0] == 2  # the first right one and the wrong one
    with uow.read() as tx:
        assert tx.throttles.get(key).failures == 0
