"""The CLI's account commands: show, set (every value checked), list, tree, disable, enable,
delete and password set."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.cli.test_cli import COMMAND, run


@pytest.fixture
def tree(db_url: str) -> dict[str, Any]:
    """acme > shop > alice (with an msisdn and admin,hlr) > bob, and carol under shop."""
    made = {"acme": run(db_url, "reseller", "create", "acme", "--password", "acme-pw")}
    made["shop"] = run(db_url, "customer", "create", "shop", "--reseller", "acme")
    alice = ["alice", "--password", "alice-pw", "--customer", "shop"]
    made["alice"] = run(db_url, "user", "create", *alice, "--msisdn", "+436761234567",
                        "--acl", "admin,hlr")  # fmt: skip
    made["bob"] = run(db_url, "user", "create", "bob", "--password", "bob-pw", "--parent", "alice")
    made["carol"] = run(db_url, "user", "create", "carol", "--password", "carol-pw",
                        "--customer", "shop")  # fmt: skip
    made["app"] = run(db_url, "apikey", "create", "app", "--customer", "shop")
    return made


def lines(db_url: str, *args: str) -> list[Any]:
    env = {**os.environ, "SMSACCOUNTS_DATABASE_URL": db_url}
    done = subprocess.run([COMMAND, *args], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_show_finds_an_account_by_name_id_and_object_id_with_acls_and_no_secret(
    db_url: str, tree: dict[str, Any]
) -> None:
    alice = tree["alice"]
    for ref in ("user:alice", str(alice["id"]), alice["object_id"], alice["object_id"].upper()):
        shown = run(db_url, "account", "show", ref)
        assert shown["id"] == alice["id"]
    assert shown["acls"] == ["hlr", "admin"]
    assert shown["acl_admin"] is True
    assert shown["reg_email"] == ""
    assert "password_hash" not in shown
    assert "mor_secret" not in shown


@pytest.mark.parametrize(
    ("assignment", "field"),
    [
        ("msisdn=abc", "msisdn"),
        ("msisdn=+4312", "msisdn"),
        ("reg_email=notanemail", "reg_email"),
        ("email=a@", "email"),
        ("enabled=flase", "enabled"),
        ("acl_hlr=yes", "acl_hlr"),
        ("acl_root=true", "acl_root"),
        ("default_customer_billing_type=FREE", "default_customer_billing_type"),
        ("mo_charge=lots", "mo_charge"),
        ("favourite_colour=blue", "favourite_colour"),
        ("credits=5", "credits"),
        ("password=x", "password"),
        ("company=" + "x" * 300, "company"),
    ],
)
def test_account_set_refuses_each_bad_value_by_field_and_changes_nothing(
    db_url: str, tree: dict[str, Any], assignment: str, field: str
) -> None:
    del tree
    error = run(db_url, "account", "set", "user:alice", "first_name=Al", assignment, ok=False)
    assert error["field"] == field
    assert run(db_url, "account", "show", "user:alice")["first_name"] == ""


def test_account_set_refuses_an_msisdn_another_account_has(
    db_url: str, tree: dict[str, Any]
) -> None:
    del tree
    error = run(db_url, "account", "set", "user:carol", "msisdn=+436761234567", ok=False)
    assert (error["code"], error["field"]) == ("msisdn_taken", "msisdn")


def test_account_set_stores_checked_values(db_url: str, tree: dict[str, Any]) -> None:
    del tree
    shown = run(db_url, "account", "set", "user:carol", "msisdn=+43 676 1234568".replace(" ", ""),
                "reg_email=Carol@Example.com", "acl_billing=true", "enabled=true")  # fmt: skip
    assert (shown["msisdn"], shown["country"]) == ("436761234568", "AT")
    assert shown["reg_email"] == "Carol@example.com"
    assert shown["acls"] == ["billing"]


def test_list_pages_a_subtree_and_filters_by_kind_and_text(
    db_url: str, tree: dict[str, Any]
) -> None:
    everything = lines(db_url, "account", "list", "--under", "reseller:acme")
    assert [a["name"] for a in everything] == ["acme", "shop", "alice", "bob", "carol"]
    first = lines(db_url, "account", "list", "--under", "reseller:acme", "--limit", "2")
    rest = lines(db_url, "account", "list", "--under", "reseller:acme", "--after",
                 first[-1]["path"])  # fmt: skip
    assert [a["name"] for a in first + rest] == [a["name"] for a in everything]
    users = lines(db_url, "account", "list", "--kind", "user", "--search", "O")
    assert [a["name"] for a in users] == ["bob", "carol"]
    by_msisdn = lines(db_url, "account", "list", "--search", "4367612345")
    assert [a["id"] for a in by_msisdn] == [tree["alice"]["id"]]


def test_tree_is_indented_for_people_and_json_lines_for_scripts(
    db_url: str, tree: dict[str, Any]
) -> None:
    people = lines(db_url, "account", "tree", "customer:shop")
    assert people[0].startswith("customer:shop (id ")
    assert people[1].startswith("  user:alice")
    assert people[2].startswith("    user:bob")
    scripts = lines(db_url, "account", "tree", "customer:shop", "--json")
    assert [(a["name"], a["depth"]) for a in scripts] == [
        ("shop", 0), ("alice", 1), ("bob", 2), ("carol", 1)
    ]  # fmt: skip
    assert scripts[0]["id"] == tree["shop"]["id"]


def _login(client: TestClient, key: str) -> str:
    answer = client.post(
        "/json/user/login",
        json={"apiKey": key, "msisdn": 436761234567, "password": "alice-pw"},
    ).json()
    assert answer["errorCode"] == 0
    return str(answer["authToken"])


def _balance(client: TestClient, key: str, token: str) -> int:
    answer = client.post("/json/user/balance/get", json={"apiKey": key, "authToken": token})
    return int(answer.json()["errorCode"])


@pytest.mark.parametrize(
    "disabling",
    [("account", "disable", "user:alice"), ("account", "set", "user:alice", "enabled=false")],
)
def test_disabling_through_the_cli_revokes_tokens_for_good(
    db_url: str, tree: dict[str, Any], client: TestClient, disabling: tuple[str, ...]
) -> None:
    key = tree["app"]["apikey"]
    token = _login(client, key)
    assert _balance(client, key, token) == 0
    assert run(db_url, *disabling)["enabled"] is False
    assert run(db_url, "account", "enable", "user:alice")["enabled"] is True
    assert _balance(client, key, token) != 0  # the old token stays dead
    assert _balance(client, key, _login(client, key)) == 0


def test_delete_frees_the_name_and_revokes_the_users_key(
    db_url: str, tree: dict[str, Any], client: TestClient
) -> None:
    deleted = run(db_url, "account", "delete", "user:carol")
    assert (deleted["enabled"], deleted["deleted"]) == (False, True)
    key = tree["carol"]["apikey"]
    assert client.get(f"/v2/ping.json?apikey={key}").status_code == 401
    run(db_url, "user", "create", "carol", "--password", "carol-pw2", "--customer", "shop")


def _password(db_url: str, account: str, typed: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMSACCOUNTS_DATABASE_URL": db_url}
    return subprocess.run([COMMAND, "password", "set", account, "--stdin"], input=typed + "\n",
                          capture_output=True, text=True, env=env, timeout=60)  # fmt: skip


def test_password_set_reads_stdin_works_for_the_admin_and_refuses_an_empty_one(
    db_url: str, tree: dict[str, Any], client: TestClient
) -> None:
    key = tree["app"]["apikey"]
    token = _login(client, key)
    assert _password(db_url, "user:alice", "brand-new-pw").returncode == 0
    assert _balance(client, key, token) != 0  # the old token is revoked
    login = {"apiKey": key, "msisdn": 436761234567, "password": "brand-new-pw"}
    answer = client.post("/json/user/login", json=login)
    assert answer.json()["errorCode"] == 0
    assert _password(db_url, "admin", "admin-password").returncode == 0
    refused = _password(db_url, "admin", "")
    assert refused.returncode == 1
    assert '"field": "password"' in refused.stdout
