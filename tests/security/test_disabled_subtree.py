"""An account acts only while it and every ancestor are enabled and not deleted: disabling a
reseller shuts out its whole subtree at every door (client keys, users' keys, tokens on the
hot read, password logins, MOR through a descendant's name, the reseller API), and enabling
it again restores everything that was not disabled itself, but no token issued before."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from smsaccounts.domain.models import Account
from smsaccounts.services import accounts, auth
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import Tree, mor_hash


def doors(http: TestClient, tree: Tree, token: str) -> dict[str, Any]:
    """What each door answers for tree's accounts (0 / 200 / a page: allowed)."""
    mysms = {"apiKey": tree.client_key}
    details = {"u": tree.customer.name, "user_id": str(tree.customer.id)}
    details["hash"] = mor_hash(details["user_id"], tree.secret)  # the reseller's secret
    legacy = {"apikey": "legacy", "username": tree.link_root.name,
              "password": factories.PASSWORD, "type": "plain"}  # fmt: skip
    reseller = {"reseller": tree.reseller.name, "password": factories.PASSWORD,
                "customerId": tree.customer.object_id}  # fmt: skip
    return {
        "mysms key": http.post("/json/user/password/reset",
                               json={**mysms, "msisdn": "436761111111"}).json()["errorCode"],
        "mysms token": http.post("/json/user/balance/get",
                                 json={**mysms, "authToken": token}).json()["errorCode"],
        "mysms login": http.post("/json/user/login", json={
            **mysms, "msisdn": tree.msisdn, "password": tree.password}).json()["errorCode"],
        "link key": http.get(f"/v2/ping.json?apikey={tree.link_key}").status_code,
        "link sub key": http.get(f"/v2/ping.json?apikey={tree.sub_key}").status_code,
        "link legacy": http.get("/v2/ping.json", params=legacy).status_code,
        "mor via a customer": _mor(http, details),
        "reseller api": http.post("/services/rest/admin/balance", data=reseller).json()["status"],
    }  # fmt: skip


def _mor(http: TestClient, params: dict[str, str]) -> str:
    answer = http.post("/billing/api/user_details_get", params=params)
    if b"<error>Access Denied</error>" in answer.content:
        return "Access Denied"
    return "page" if b"<error>" not in answer.content else answer.text


ALLOWED = {"mysms key": 0, "mysms token": 0, "mysms login": 0, "link key": 200,
           "link sub key": 200, "link legacy": 200, "mor via a customer": "page",
           "reseller api": 0}  # fmt: skip
REFUSED = {"mysms key": 97, "mysms token": 97, "mysms login": 97, "link key": 401,
           "link sub key": 401, "link legacy": 401, "mor via a customer": "Access Denied",
           "reseller api": 4}  # fmt: skip


def _set(uow: UnitOfWork, account: Account, **changes: Any) -> None:
    """As the operator's `account set` does (through the same service)."""
    accounts.update(uow, actor=account, account_id=account.id, changes=changes)


def test_a_disabled_resellers_subtree_is_refused_at_every_door_and_comes_back(
    http: TestClient, uow: UnitOfWork, tree_a: Tree
) -> None:
    assert (doors(http, tree_a, tree_a.token)) == ALLOWED
    _set(uow, tree_a.reseller, enabled=False)
    assert doors(http, tree_a, tree_a.token) == REFUSED
    _set(uow, tree_a.reseller, enabled=True)
    answers = doors(http, tree_a, tree_a.token)
    # Back, but the token issued before the disable stays revoked.
    assert answers == {**ALLOWED, "mysms token": 100}
    with uow.write() as tx:
        fresh = auth.issue_token(tx, tree_a.user)
    assert (doors(http, tree_a, fresh)) == ALLOWED


def test_re_enabling_an_ancestor_restores_only_what_was_not_disabled_itself(
    http: TestClient, uow: UnitOfWork, tree_a: Tree
) -> None:
    _set(uow, tree_a.link_root, enabled=False)
    _set(uow, tree_a.reseller, enabled=False)
    _set(uow, tree_a.reseller, enabled=True)
    answers = doors(http, tree_a, tree_a.token)
    assert (answers["link key"], answers["link sub key"], answers["link legacy"]) == (
        401, 401, 401)  # fmt: skip
    assert answers["mysms key"] == 0


def test_a_user_token_dies_with_an_ancestor_user_on_the_hot_read(
    http: TestClient, uow: UnitOfWork, tree_a: Tree
) -> None:
    """The key's owner (the customer) may act; the token's user sits below a disabled
    user: the one-statement read must still refuse it, as every other door does."""
    with uow.write() as tx:
        token = auth.issue_token(tx, tree_a.sub)
    call = {"apiKey": tree_a.client_key, "authToken": token}
    assert http.post("/json/user/balance/get", json=call).json()["errorCode"] == 0
    with uow.write() as tx:  # behind the services' back: no token is revoked
        tx.accounts.update(tree_a.link_root.id, {"enabled": False})
    assert http.post("/json/user/balance/get", json=call).json()["errorCode"] == 97
    assert http.post("/json/user/feature/get", json=call).json()["errorCode"] == 97
    with uow.write() as tx:
        tx.accounts.update(tree_a.link_root.id, {"enabled": True})
    assert http.post("/json/user/balance/get", json=call).json()["errorCode"] == 0


def test_disabling_an_account_revokes_every_token_below_it(uow: UnitOfWork, tree_a: Tree) -> None:
    with uow.write() as tx:
        sub_token = auth.issue_token(tx, tree_a.sub)
    accounts.disable(uow, actor=tree_a.customer, account_id=tree_a.customer.id)
    with uow.read() as tx:
        assert tx.credentials.account_for_token(_hash(sub_token)) is None
        assert tx.credentials.account_for_token(_hash(tree_a.token)) is None


def test_a_deleted_link_users_sub_users_are_shut_out(
    http: TestClient, uow: UnitOfWork, tree_a: Tree
) -> None:
    """root > sub > below (aclAdmin) > deepest: root deletes sub; below's key, its password
    login and its management rights over deepest all stop."""
    below = factories.user(uow, parent=tree_a.sub, acl_admin=True)
    below_key = factories.user_key(uow, below)
    deepest = factories.user(uow, parent=below)
    login = {"apikey": "legacy", "username": below.name, "password": factories.PASSWORD,
             "type": "plain"}  # fmt: skip
    manage = f"/v2/user/{deepest.id}.json?apikey={below_key}"
    assert http.get(f"/v2/ping.json?apikey={below_key}").status_code == 200
    assert http.get("/v2/ping.json", params=login).status_code == 200
    assert http.get(manage).status_code == 200
    deleted = http.delete(f"/v2/user/{tree_a.sub.id}.json?apikey={tree_a.link_key}")
    assert deleted.status_code == 200
    assert http.get(f"/v2/ping.json?apikey={below_key}").status_code == 401
    assert http.get("/v2/ping.json", params=login).status_code == 401
    assert http.get(manage).status_code == 401
    assert http.put(manage, json={"user": {"company": "taken over"}}).status_code == 401
    assert http.delete(manage).status_code == 401
    assert http.get(f"/v2/ping.json?apikey={tree_a.link_key}").status_code == 200  # root lives


def _hash(secret: str) -> str:
    from smsaccounts.domain.credentials import secret_hash

    return secret_hash(secret)
