"""`smsaccounts apikey list|revoke|rotate`: a revoked or rotated key answers each dialect's
invalid-key error at once, and a rotated key's successor works with the same rights."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories


def _balance(client: TestClient, key: str) -> int:
    answer = client.post("/json/user/balance/get", json={"apiKey": key, "authToken": "sat_x"})
    code: int = answer.json()["errorCode"]
    return code


def test_list_shows_every_key_and_revoke_makes_a_client_key_invalid_at_once(
    smsaccounts: Any, uow: UnitOfWork, client: TestClient
) -> None:
    customer = factories.customer(uow, name="shop")
    user = factories.user(uow, parent=customer, name="alice")
    app_key = factories.client_key(uow, customer, rights=frozenset({"user.create"}))
    factories.user_key(uow, user)
    listed = smsaccounts("apikey", "list")
    assert [(k["account_id"], k["purpose"]) for k in listed] == [
        (customer.id, "client"), (user.id, "user")]  # fmt: skip
    assert smsaccounts("apikey", "list", "--account", "customer:shop") == listed[:1]
    assert listed[0]["rights"] == ["user.create"]
    assert "apikey" not in listed[0]  # a secret is never shown again
    assert _balance(client, app_key) == 100  # the key works: only the token is wrong

    revoked = smsaccounts("apikey", "revoke", str(listed[0]["id"]))
    assert revoked[0]["revoked_at"] is not None
    assert _balance(client, app_key) == 600  # as if it never existed
    assert smsaccounts("apikey", "revoke", "999", ok=False)[0]["error"] == "not_found"


def test_rotate_replaces_a_client_key_with_the_same_rights_and_ranges(
    smsaccounts: Any, uow: UnitOfWork, make_http: Any
) -> None:
    customer = factories.customer(uow)
    rights, ranges = frozenset({"user.create"}), "10.0.0.0/8"
    old = factories.client_key(uow, customer, rights=rights, allowed_ips=ranges)
    client = make_http()  # calls from 10.1.2.3
    (listed,) = smsaccounts("apikey", "list")
    (rotated,) = smsaccounts("apikey", "rotate", str(listed["id"]))
    assert rotated["apikey"].startswith("sak_")
    assert rotated["replaces"] == listed["id"]
    assert (rotated["rights"], rotated["allowed_ips"]) == (["user.create"], ranges)
    assert rotated["account_id"] == customer.id
    assert _balance(client, old) == 600
    assert _balance(client, rotated["apikey"]) == 100
    assert smsaccounts("apikey", "rotate", str(listed["id"]), ok=False)[0]["error"] == "not_found"


def test_rotate_replaces_a_users_own_link_key(
    smsaccounts: Any, uow: UnitOfWork, client: TestClient
) -> None:
    user = factories.user(uow, name="linker")
    old = factories.user_key(uow, user)
    (listed,) = smsaccounts("apikey", "list", "--account", "user:linker")
    (rotated,) = smsaccounts("apikey", "rotate", str(listed["id"]))
    assert client.get(f"/v2/ping.json?apikey={old}").status_code == 401
    pong = client.get(f"/v2/ping.json?apikey={rotated['apikey']}")
    assert pong.status_code == 200
    assert pong.json()["apikey"] == rotated["apikey"]
