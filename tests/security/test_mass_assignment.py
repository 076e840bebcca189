"""Mass assignment: what no caller may set (balance, credits, parent, role/kind, forbrug,
id, apikey, ...) is refused by name in the dialect's format, and the row stays as it was.

mysms and MOR have no field-naming error: their fixed elements simply have no such fields,
so extra ones are ignored there; the tests show that they change nothing either.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain import money
from smsaccounts.domain.models import BillingType
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import Tree, mor_hash, snapshot

# Values none of the users has: a PUT may send read-only fields back as they are shown
# (tests/api/link/test_read_modify_write.py), so only another value is an attempt to set one.
LINK_FORBIDDEN = {
    "balance": "100.0000000", "credits": 5000, "forbrug": "7", "parent": 0, "id": 1,
    "apikey": "sak_mine", "created": "01-01-2020 00:00:00", "deactivated": "01-01-2020 00:00:00",
    "materialized_path": "1", "use_currency": 1, "role": "admin", "kind": "reseller",
}  # fmt: skip
RESELLER_FORBIDDEN = ["balance", "credits", "parent", "parentId", "kind", "role", "id",
                      "forbrug", "apikey", "freeSms"]  # fmt: skip


@pytest.mark.parametrize("method", ["PUT", "POST"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_link_refuses_every_read_only_or_unknown_field_by_name(
    http: TestClient, uow: UnitOfWork, tree_a: Tree, method: str, fmt: str
) -> None:
    url = f"/v2/user/{tree_a.sub.id}.{fmt}" if method == "PUT" else f"/v2/user.{fmt}"
    tried = 0
    for field, value in LINK_FORBIDDEN.items():
        before = snapshot(uow)
        body = {"user": {"username": "fresh-name", "company": "c", field: value}}
        answer = http.request(method, url, params={"apikey": tree_a.link_key}, json=body)
        assert answer.status_code == 400, (field, answer.text)
        assert answer.headers["content-type"].startswith(f"application/{fmt}")
        assert field in answer.text, (field, answer.text)  # the refusal names the field
        assert snapshot(uow) == before, field
        tried += 1
    assert tried == 12


@pytest.mark.parametrize("endpoint", ["customer/create", "user/create", "customer-user/create"])
@pytest.mark.usefixtures("tree_a")
def test_reseller_creates_refuse_protected_parameters_by_name(
    http: TestClient, uow: UnitOfWork, endpoint: str
) -> None:
    # A post-paid reseller, so that every create's default billing type is allowed.
    reseller = factories.reseller(uow, billing_type=BillingType.POST_PAID)
    customer = factories.customer(uow, parent=reseller)
    base = {"resellerName": reseller.name, "resellerPassword": factories.PASSWORD,
            "name": "cust-new", "integrationId": "i1", "username": "user-new",
            "password": "pw12345", "customerId": customer.object_id,
            "email": "n@example.com", "phoneNumber": "+436601234567", "customer": "cust-new2",
            "applyFreeCredits": "false"}  # fmt: skip
    assert http.post(f"/services/rest/{endpoint}", data=base).json()["status"] == 0  # control
    for field in RESELLER_FORBIDDEN:
        before = snapshot(uow)
        fresh = {**base, "name": f"c-{field}", "username": f"u-{field}", "customer": f"k-{field}"}
        answer = http.post(f"/services/rest/{endpoint}", data={**fresh, field: "1"})
        assert answer.status_code == 200
        message = f"{field}: cannot be set through this API"
        assert answer.json() == {"status": 2, "field": field, "message": message}, field
        assert snapshot(uow) == before, field


def test_mysms_settings_ignore_wallet_and_tree_fields(
    http: TestClient, uow: UnitOfWork, tree_a: Tree
) -> None:
    """setting/set with credits, freeSms, balance, parent, kind alongside: the four settings
    change, the wallet and the tree columns do not."""
    fields = {"apiKey": tree_a.client_key, "authToken": tree_a.token, "smsRouting": 2,
              "signature": "sig", "a2aSendEnabled": True, "a2aReceiveEnabled": True,
              "credits": 999, "freeSms": 999, "balance": "99", "parent": 1, "kind": "admin",
              "id": 1, "path": "1"}  # fmt: skip
    before = snapshot(uow)
    assert http.post("/json/user/setting/set", json=fields).json() == {"errorCode": 0}
    after = snapshot(uow)
    assert after["wallets"] == before["wallets"]
    assert after["ledger"] == before["ledger"]
    with uow.read() as tx:
        user = tx.accounts.get(tree_a.user.id)
    assert user is not None
    assert user.signature == "sig"
    assert (user.parent_id, user.kind, user.path) == (
        tree_a.user.parent_id, tree_a.user.kind, tree_a.user.path)  # fmt: skip


def test_mor_balance_update_changes_only_the_hashed_balance(
    http: TestClient, uow: UnitOfWork, tree_a: Tree
) -> None:
    target = str(tree_a.customer.id)
    with uow.read() as tx:
        wallet_before = tx.wallets.get(tree_a.customer.id)
    answer = http.post("/billing/api/user_balance_update", data={
        "u": tree_a.reseller.name, "user_id": target, "balance": "5",
        "hash": mor_hash(target, "5", tree_a.secret), "credits": "1000", "parent": "1",
        "username": tree_a.reseller.name})  # fmt: skip
    assert b"User balance updated" in answer.content
    with uow.read() as tx:
        wallet = tx.wallets.get(tree_a.customer.id)
        account = tx.accounts.get(tree_a.customer.id)
    assert wallet is not None
    assert wallet_before is not None
    assert account is not None
    assert wallet.credits == wallet_before.credits
    assert wallet.balance - wallet_before.balance == money.to_units(money.parse_amount("5"))
    assert account.parent_id == tree_a.customer.parent_id
