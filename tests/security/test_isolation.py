"""Tenant isolation: a caller from tree A aiming any account-taking operation at tree B gets
exactly the bytes a truly missing id or name gets, and no table changes; lists never show B.

Left out on purpose: registering an msisdn (mysms verify/create) and creating a customer
or user by name (reseller) name a *new* account, and msisdns and names are unique across
the installation (the schema), so "already taken" there is not a lookup of B's account.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.dialects.link.views import encode_cursor
from smsaccounts.domain import credentials
from smsaccounts.storage.unit_of_work import UnitOfWork

from .conftest import Tree, mor_hash, snapshot

MISSING_MSISDN = "436761234569"
MISSING_ID = 999_999
MISSING_OBJECT_ID = "0123456789abcdef01234567"
TOKEN_METHODS: dict[str, dict[str, Any]] = {
    "balance/get": {},
    "feature/get": {},
    "setting/get": {},
    "setting/set": {"smsRouting": 1, "signature": "x", "a2aSendEnabled": True,
                    "a2aReceiveEnabled": False},
    "smsrouting/get": {"recipient": "436601234567"},
    "smsrouting/set": {"recipient": "436601234567", "smsRouting": 1},
    "password/change": {"password": "new-pw-1"},
    "delete": {},
}  # fmt: skip

Call = Callable[[Any], Any]  # (foreign or missing value) -> response


def _mysms(http: TestClient, mount: str, path: str, fields: dict[str, Any]) -> Any:
    if mount == "xml":
        from tests.api.mysms.wire_client import ELEMENTS, xml_body

        body = xml_body(ELEMENTS[path][0], fields)
        return http.post(f"/xml/user/{path}", content=body,
                         headers={"Content-Type": "application/xml"})  # fmt: skip
    return http.post(f"/json/user/{path}", json=fields)


def _mysms_call(http: TestClient, mount: str, path: str, fields: dict[str, Any], slot: str) -> Call:
    """A call putting its argument in `fields[slot]` (in that key's place, else last)."""
    return lambda value: _mysms(http, mount, path, {**fields, slot: value})


def mysms_pairs(http: TestClient, a: Tree, b: Tree) -> list[tuple[str, Call, Any, Any]]:
    pairs: list[tuple[str, Call, Any, Any]] = []
    for mount in ("json", "xml"):
        login = {"apiKey": a.client_key, "password": b.password}
        pairs.append((f"mysms {mount} login", _mysms_call(http, mount, "login", login, "msisdn"),
                      b.msisdn, MISSING_MSISDN))  # fmt: skip
        reset = _mysms_call(http, mount, "password/reset", {"apiKey": a.client_key}, "msisdn")
        pairs.append((f"mysms {mount} password/reset", reset, b.msisdn, MISSING_MSISDN))
        for path, extra in TOKEN_METHODS.items():
            fields = {"apiKey": a.client_key, "authToken": None, **extra}
            pairs.append((f"mysms {mount} {path}", _mysms_call(http, mount, path, fields,
                          "authToken"), b.token, credentials.new_token()))  # fmt: skip
    return pairs


def reseller_pairs(http: TestClient, a: Tree, b: Tree) -> list[tuple[str, Call, Any, Any]]:
    login = {"reseller": a.reseller.name, "password": "secret-pw"}
    create = {"resellerName": a.reseller.name, "resellerPassword": "secret-pw",
              "username": "newbie", "password": "pw12345", "email": "n@example.com",
              "phoneNumber": "+436601234567"}  # fmt: skip
    post = http.post
    own = a.customer.object_id
    return [
        ("reseller user/create", lambda c: post("/services/rest/user/create",
         data={**create, "customerId": c}), b.customer.object_id, MISSING_OBJECT_ID),
        ("reseller addCredits", lambda c: post("/services/rest/admin/addCredits",
         data={**login, "customerId": c, "credits": "5"}), b.customer.object_id,
         MISSING_OBJECT_ID),
        ("reseller balance customer", lambda c: post("/services/rest/admin/balance",
         data={**login, "customerId": c}), b.customer.object_id, MISSING_OBJECT_ID),
        ("reseller balance user", lambda u: post("/services/rest/admin/balance",
         data={**login, "customerId": own, "userId": u}), b.user.object_id, MISSING_OBJECT_ID),
    ]  # fmt: skip


def link_pairs(http: TestClient, a: Tree, b: Tree) -> list[tuple[str, Call, Any, Any]]:
    return [pair for fmt in ("json", "xml") for pair in _link_pairs_in(http, a.link_key, fmt, b)]


def _link_pairs_in(
    http: TestClient, key: str, fmt: str, b: Tree
) -> list[tuple[str, Call, Any, Any]]:
    url = f"/v2/user/{{}}.{fmt}?apikey={key}"
    return [
        (f"LINK GET {fmt}", lambda i: http.get(url.format(i)), b.sub.id, MISSING_ID),
        (f"LINK PUT {fmt}", lambda i: http.put(url.format(i), json={"user": {
            "company": "taken over"}}), b.sub.id, MISSING_ID),
        (f"LINK DELETE {fmt}", lambda i: http.delete(url.format(i)), b.sub.id, MISSING_ID),
        (f"LINK users after {fmt}", lambda i: http.get(
            f"/v2/users.{fmt}", params={"apikey": key, "after": encode_cursor(2, i)}),
         b.sub.id, MISSING_ID),
    ]  # fmt: skip


def mor_pairs(http: TestClient, a: Tree, b: Tree) -> list[tuple[str, Call, Any, Any]]:
    u = a.reseller.name

    def details(field: str) -> Call:
        return lambda v: http.post("/billing/api/user_details_get", data={
            "u": u, field: v, "hash": mor_hash(v, a.secret)})  # fmt: skip

    def both(v: tuple[str, str]) -> Any:
        return http.post("/billing/api/user_details_get", data={
            "u": u, "user_id": v[0], "username": v[1], "hash": mor_hash(*v, a.secret)})  # fmt: skip

    def balance(v: str) -> Any:
        return http.post("/billing/api/user_balance_update", data={
            "u": u, "user_id": v, "balance": "5", "hash": mor_hash(v, "5", a.secret)})  # fmt: skip

    return [
        ("MOR details user_id", details("user_id"), str(b.user.id), str(MISSING_ID)),
        ("MOR details username", details("username"), b.user.name, "nobody-here"),
        ("MOR details both", both, (str(b.user.id), b.user.name), (str(MISSING_ID), "nobody")),
        ("MOR balance", balance, str(b.customer.id), str(MISSING_ID)),
    ]


DIALECTS = {"mysms": mysms_pairs, "reseller": reseller_pairs, "link": link_pairs,
            "mor": mor_pairs}  # fmt: skip
EXPECTED_PAIRS = {"mysms": 20, "reseller": 4, "link": 8, "mor": 4}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_foreign_account_is_answered_exactly_like_a_missing_one_and_nothing_changes(
    http: TestClient, uow: UnitOfWork, tree_a: Tree, tree_b: Tree, dialect: str
) -> None:
    """Status and raw body for B's id equal those for a missing id; every table unchanged."""
    pairs = DIALECTS[dialect](http, tree_a, tree_b)
    for name, call, foreign, missing in pairs:
        before = snapshot(uow)
        to_foreign = call(foreign)
        assert snapshot(uow) == before, name
        to_missing = call(missing)
        assert (to_foreign.status_code, to_foreign.content) == (
            to_missing.status_code, to_missing.content), name  # fmt: skip
        assert snapshot(uow) == before, name
    assert len(pairs) == EXPECTED_PAIRS[dialect]


def own_id(tree: Tree) -> str:
    return tree.customer.object_id


@pytest.mark.usefixtures("tree_b")  # the other tenant exists, as in the matrix above
def test_the_same_calls_reach_the_callers_own_accounts(http: TestClient, tree_a: Tree) -> None:
    """The control: aimed at A's own accounts the operations work, so the matrix above
    really compares a refusal with a refusal, not two broken requests."""
    a = tree_a
    answer = _mysms(http, "json", "balance/get", {"apiKey": a.client_key, "authToken": a.token})
    assert answer.json()["errorCode"] == 0
    login = {"apiKey": a.client_key, "msisdn": a.msisdn, "password": a.password}
    assert _mysms(http, "json", "login", login).json()["errorCode"] == 0
    assert http.get(f"/v2/user/{a.sub.id}.json?apikey={a.link_key}").status_code == 200
    own = {"reseller": a.reseller.name, "password": "secret-pw"}
    answer = http.post("/services/rest/admin/balance", data={**own, "customerId": own_id(a)})
    assert answer.json() == {"credits": 0, "status": 0}
    v = str(a.user.id)
    mor = {"u": a.reseller.name, "user_id": v, "hash": mor_hash(v, a.secret)}
    answer = http.post("/billing/api/user_details_get", data=mor)
    assert b"<page>" in answer.content


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_listing_never_shows_a_row_of_another_tree(
    http: TestClient, tree_a: Tree, tree_b: Tree, fmt: str
) -> None:
    answer = http.get(f"/v2/users.{fmt}", params={"apikey": tree_a.link_key})
    assert answer.status_code == 200
    foreign = {tree_b.link_root.id, tree_b.sub.id, tree_b.user.id, tree_b.customer.id}
    text = answer.text
    if fmt == "json":
        ids = {user["id"] for user in answer.json()["users"]}
    else:
        import re

        ids = {int(found) for found in re.findall(r"<id>(\d+)</id>", text)}
    assert ids == {tree_a.link_root.id, tree_a.sub.id}
    assert not ids & foreign
    assert tree_b.sub.name not in text
    assert tree_b.link_root.name not in text


def test_another_tenants_wrong_logins_never_lock_out_a_user(
    http: TestClient, tree_a: Tree, tree_b: Tree
) -> None:
    """A's client guessing at B's msisdn (answered 107, as unknown) is counted for A only:
    B's own client still logs its user in afterwards."""
    guess = {"apiKey": tree_a.client_key, "msisdn": tree_b.msisdn, "password": "wrong"}
    for _ in range(8):
        assert _mysms(http, "json", "login", guess).json()["errorCode"] in (107, 109)
    own = {"apiKey": tree_b.client_key, "msisdn": tree_b.msisdn, "password": tree_b.password}
    assert _mysms(http, "json", "login", own).json()["errorCode"] == 0
