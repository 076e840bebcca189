"""The audit log: one row per change, through the CLI and through each dialect, in the
change's transaction, never with a secret; the database refuses to edit or delete it."""

from __future__ import annotations

import hashlib
import os
import subprocess
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from smsaccounts.domain.models import Account, BillingType
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.cli.test_cli import COMMAND, run
from tests.cli.test_cli_accounts import _login, lines, tree
from tests.factories import PASSWORD

__all__ = ["tree"]  # the fixture, shared with the account command tests


def audit_of(uow: UnitOfWork, account_id: int) -> list[Any]:
    with uow.read() as tx:
        return list(reversed(tx.audit.entries(target_id=account_id)))


def test_cli_changes_are_audited_as_the_operator_without_secrets(db_url: str) -> None:
    reseller = run(db_url, "reseller", "create", "acme", "--password", "acme-secret-pw",
                   "--credits", "50")  # fmt: skip
    run(db_url, "account", "set", "reseller:acme", "company=ACME", "acl_hlr=true")
    run(db_url, "secret", "set", "reseller:acme", "mor-secret-value")
    run(db_url, "account", "disable", "reseller:acme")
    rows = lines(db_url, "audit", "list", "--account", "reseller:acme")
    assert [r["action"] for r in reversed(rows)] == [
        "account.create", "wallet.change", "account.update", "secret.set", "account.disable"
    ]  # fmt: skip
    assert {r["door"] for r in rows} == {"cli"}
    assert {r["actor_id"] for r in rows} == {None}
    update = next(r for r in rows if r["action"] == "account.update")
    assert update["changes"] == {"company": ["", "ACME"], "acl_hlr": [False, True]}
    wallet = next(r for r in rows if r["action"] == "wallet.change")
    assert wallet["changes"]["credits"] == [0, 50]
    secret = next(r for r in rows if r["action"] == "secret.set")
    assert secret["changes"] == {"mor_secret": ["[secret]", "[secret]"]}
    everything = str(lines(db_url, "audit", "list"))
    assert "acme-secret-pw" not in everything
    assert "mor-secret-value" not in everything
    assert reseller["id"] in {r["target_id"] for r in rows}


def test_a_new_accounts_password_is_audited_only_as_a_secret_marker(db_url: str) -> None:
    run(db_url, "reseller", "create", "acme", "--password", "acme-secret-pw")
    rows = lines(db_url, "audit", "list", "--since", "2000-01-01", "--limit", "1")
    assert rows[0]["action"] == "account.create"
    assert rows[0]["changes"]["password"] == ["[secret]", "[secret]"]


def test_a_reseller_api_change_is_audited_with_door_ip_and_actor(
    client: TestClient, uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow, name="acme", credits=100)
    answer = client.post(
        "/services/rest/customer-user/create",
        data={"resellerName": "acme", "resellerPassword": PASSWORD, "customer": "c1",
              "username": "u1", "password": "user-secret-pw", "applyFreeCredits": "false"},
    ).json()  # fmt: skip
    assert answer["status"] == 0
    with uow.read() as tx:
        user = tx.accounts.get_by_object_id(answer["id"])
    assert user is not None
    [created] = audit_of(uow, user.id)
    assert (created.door, created.client_ip, created.actor_id) == (
        "reseller", "testclient", reseller.id
    )  # fmt: skip
    assert created.changes["password"] == ("[secret]", "[secret]")
    assert "user-secret-pw" not in repr(created)


def test_a_link_update_and_a_mor_balance_change_are_audited(
    client: TestClient, uow: UnitOfWork
) -> None:
    root = factories.user(uow, acl_admin=True)
    key = factories.user_key(uow, root)
    changes = {"user": {"company": "Link Co", "password": "new-secret-pw"}}
    response = client.put(f"/v2/user/{root.id}.json?apikey={key}", json=changes)
    assert response.status_code == 200
    link_rows = [e for e in audit_of(uow, root.id) if e.door == "link"]
    assert [e.action for e in link_rows] == ["account.update", "password.set"]
    assert link_rows[0].changes == {"company": ("", "Link Co")}
    assert link_rows[0].actor_id == root.id

    auth.set_mor_secret(uow, account_id=1, secret="S")
    digest = hashlib.sha1(f"{root.id}2.5S".encode()).hexdigest()  # noqa: S324 - MOR's hash
    answer = client.post("/billing/api/user_balance_update",
                         params={"u": "admin", "user_id": str(root.id), "balance": "2.5",
                                 "hash": digest})  # fmt: skip
    assert "User balance updated" in answer.text
    [mor] = [e for e in audit_of(uow, root.id) if e.door == "mor"]
    assert (mor.action, mor.changes["balance"]) == ("wallet.change", (0, 25_000_000))


def test_a_failed_change_leaves_no_audit_row(uow: UnitOfWork) -> None:
    account: Account = factories.reseller(uow)
    before = audit_of(uow, account.id)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal will do
        factories.reseller(uow, name=account.name)
    assert audit_of(uow, account.id) == before


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"]
)
def test_the_database_refuses_to_change_the_audit_log(
    engine: Engine, uow: UnitOfWork, statement: str
) -> None:
    factories.reseller(uow)
    with pytest.raises(sqlalchemy.exc.DatabaseError), engine.begin() as conn:
        conn.execute(text(statement))


@pytest.mark.parametrize(
    "setting",
    [("password", "set", "user:alice", "--stdin"),
     ("account", "set", "user:alice", "password=cli-secret-pw")],
)  # fmt: skip
def test_a_cli_password_is_one_row_with_the_tokens_it_revoked_and_no_secret(
    db_url: str, tree: dict[str, Any], client: TestClient, setting: tuple[str, ...]
) -> None:
    key = tree["app"]["apikey"]
    for _ in range(2):
        _login(client, key)
    env = {**os.environ, "SMSACCOUNTS_DATABASE_URL": db_url}
    done = subprocess.run([COMMAND, *setting], input="cli-secret-pw\n", capture_output=True,
                          text=True, env=env, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout
    rows = lines(db_url, "audit", "list", "--account", "user:alice")
    [row] = [r for r in rows if r["action"] == "password.set"]
    assert (row["door"], row["actor_id"]) == ("cli", None)
    assert row["changes"] == {"password": ["[secret]", "[secret]"], "tokens_revoked": [None, 2]}
    assert "cli-secret-pw" not in str(rows)


def test_disable_and_delete_record_the_tokens_and_keys_they_revoked(
    db_url: str, tree: dict[str, Any], client: TestClient
) -> None:
    _login(client, tree["app"]["apikey"])
    run(db_url, "account", "disable", "user:alice")
    run(db_url, "account", "delete", "user:carol")
    [disable] = lines(db_url, "audit", "list", "--account", "user:alice", "--limit", "1")
    assert disable["changes"]["tokens_revoked"] == [None, 1]
    carol = str(tree["carol"]["id"])  # a deleted account is found by its id only
    [delete] = lines(db_url, "audit", "list", "--account", carol, "--limit", "1")
    assert (delete["action"], delete["changes"]["keys_revoked"]) == ("account.delete", [None, 1])


def test_revoking_and_rotating_a_key_are_audited_without_its_secret(
    db_url: str, tree: dict[str, Any]
) -> None:
    key_id = next(k["id"] for k in lines(db_url, "apikey", "list", "--account", "customer:shop"))
    rotated = run(db_url, "apikey", "rotate", str(key_id))
    run(db_url, "apikey", "revoke", str(rotated["id"]))
    rows = lines(db_url, "audit", "list", "--account", "customer:shop", "--limit", "3")
    assert [(r["action"], r["changes"].get("key_id")) for r in rows] == [
        ("apikey.revoke", [None, rotated["id"]]),
        ("apikey.create", [None, rotated["id"]]),
        ("apikey.revoke", [None, key_id]),
    ]
    assert rotated["apikey"] not in str(rows)
    assert tree["app"]["apikey"] not in str(rows)


def test_reseller_credits_and_a_link_key_rotation_are_audited_at_their_door(
    client: TestClient, uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow, name="acme", credits=100)
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    answer = client.post("/services/rest/admin/addCredits",
                         data={"reseller": "acme", "password": PASSWORD,
                               "customer": customer.name, "creditsToAdd": "30"}).json()  # fmt: skip
    assert answer["status"] == 0
    for account, change in ((reseller, (100, 70)), (customer, (0, 30))):
        [row] = [e for e in audit_of(uow, account.id) if e.door == "reseller"]
        assert (row.action, row.actor_id, row.changes["credits"]) == (
            "wallet.change", reseller.id, change
        )  # fmt: skip

    user = factories.user(uow)
    key = factories.user_key(uow, user)
    rotated = client.post(f"/v2/user/{user.id}/apikey.json?apikey={key}")
    assert rotated.status_code == 200
    rows = [e for e in audit_of(uow, user.id) if e.door == "link"]
    assert [(e.action, e.actor_id) for e in rows] == [
        ("apikey.revoke", user.id), ("apikey.create", user.id)
    ]  # fmt: skip
    assert rotated.json()["user"]["apikey"] not in repr(rows)
