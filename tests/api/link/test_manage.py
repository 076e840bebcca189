"""Sub-user management by an aclAdmin user: create, edit, deactivate, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from smsaccounts.domain.models import Account
from smsaccounts.errors import AuthenticationFailed
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests.api.link.conftest import Node, create


def _url(node_id: int, key: str) -> str:
    return f"/v2/user/{node_id}.json?apikey={key}"


def _read(client: Any, node_id: int, key: str) -> dict[str, Any]:
    response = client.get(_url(node_id, key))
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["user"]
    return user


@pytest.fixture
def kid(client: Any, root_key: str) -> Node:
    return create(client, root_key, username="kid", password="kid-pw1", company="Kid ApS")


def test_a_created_user_gets_its_own_working_api_key(
    client: Any, root: Account, root_key: str, kid: Node
) -> None:
    assert kid.key.startswith("sak_")
    ping = client.get(f"/v2/ping.json?apikey={kid.key}")
    assert ping.json() == {"status": 200, "userid": str(kid.id), "username": "kid",
                           "iprange": "", "apikey": kid.key}  # fmt: skip
    user = _read(client, kid.id, root_key)
    assert (user["parent"], user["apikey"]) == (root.id, "---")


def test_every_editable_field_is_saved(client: Any, root_key: str, kid: Node) -> None:
    changes = {
        "username": "kid-renamed", "company": "New ApS", "integration_id": "crm-7",
        "integration": "rest", "defaultsender": "Shop", "max_forbrug": "1000",
        "prefixes": "45, +4520", "iprange": "10.0.0.0/8, 192.168.1.5", "aclBilling": True,
        "aclHlr": "true", "enabled": False, "first_name": "Ada", "surname": "Lovelace",
        "reg_email": "ada@example.com", "vat_percent": "25", "language": "da",
    }  # fmt: skip
    answer = client.put(_url(kid.id, root_key), json={"user": changes})
    assert answer.status_code == 200, answer.text
    user = _read(client, kid.id, root_key)
    assert user["username"] == "kid-renamed"
    assert (user["company"], user["integration_id"], user["integration"]) == (
        "New ApS", "crm-7", "rest")  # fmt: skip
    assert user["defaultsender"] == "Shop"
    assert user["max_forbrug"] == "1000"
    assert user["prefixes"] == "45,+4520"
    assert user["iprange"] == "10.0.0.0/8,192.168.1.5"
    assert (user["aclBilling"], user["aclHlr"], user["enabled"]) == (True, True, False)


def test_mor_personal_fields_are_stored_on_the_account(
    client: Any, uow: UnitOfWork, root_key: str, kid: Node
) -> None:
    body = {"user": {"first_name": "Ada", "reg_city": "Aarhus", "vat_reg_number": "DK1"}}
    assert client.put(_url(kid.id, root_key), json=body).status_code == 200
    with uow.read() as tx:
        account = tx.accounts.get(kid.id)
    assert account is not None
    assert (account.first_name, account.reg_city, account.vat_reg_number) == (
        "Ada", "Aarhus", "DK1")  # fmt: skip


def test_null_clears_a_text_field(client: Any, root_key: str, kid: Node) -> None:
    assert client.put(_url(kid.id, root_key), json={"user": {"company": None}}).status_code == 200
    assert _read(client, kid.id, root_key)["company"] is None


@pytest.mark.parametrize(
    "field",
    ["balance", "credits", "forbrug", "parent", "id", "apikey", "created", "deactivated",
     "materialized_path", "use_currency"],
)  # fmt: skip
def test_read_only_fields_are_refused_with_400_naming_them_and_nothing_changes(
    client: Any, root_key: str, kid: Node, field: str
) -> None:
    """Any value but the one the caller is shown: no field of this user reads 999999."""
    before = _read(client, kid.id, root_key)
    assert "999999" not in {str(value) for value in before.values()}
    body = {"user": {"company": "Changed", field: "999999"}}
    answer = client.put(_url(kid.id, root_key), json=body)
    assert answer.status_code == 400
    assert answer.json() == {"status": 400, "message": f"{field} cannot be set through this API"}
    assert _read(client, kid.id, root_key) == before


@pytest.mark.usefixtures("kid")
def test_creating_with_a_read_only_field_creates_nothing(client: Any, root_key: str) -> None:
    body = {"user": {"username": "rich", "balance": "1000"}}
    answer = client.post(f"/v2/user.json?apikey={root_key}", json=body)
    assert (answer.status_code, answer.json()["message"]) == (
        400,
        "balance cannot be set through this API",
    )
    users = client.get(f"/v2/users.json?apikey={root_key}").json()["users"]
    assert "rich" not in {user["username"] for user in users}


@pytest.mark.parametrize("acl", ["aclBillingHigh", "aclCharity", "aclIncoming", "aclSmsinbox"])
def test_granting_an_acl_the_caller_lacks_is_refused_with_403_naming_it(
    client: Any, root_key: str, kid: Node, acl: str
) -> None:
    before = _read(client, kid.id, root_key)
    answer = client.put(_url(kid.id, root_key), json={"user": {acl: True, "company": "x"}})
    assert answer.status_code == 403
    assert acl in answer.json()["message"]
    assert _read(client, kid.id, root_key) == before
    created = client.post(f"/v2/user.json?apikey={root_key}",
                          json={"user": {"username": "esc", acl: True}})  # fmt: skip
    assert created.status_code == 403


def test_a_sub_admin_cannot_grant_itself_or_its_children_more_than_it_holds(
    client: Any, root_key: str
) -> None:
    sub = create(client, root_key, username="sub", aclAdmin=True)
    grand = create(client, sub.key, username="grand")
    for target in (sub.id, grand.id):
        answer = client.put(_url(target, sub.key), json={"user": {"aclHlr": True}})
        assert answer.status_code == 403
    assert _read(client, grand.id, sub.key)["aclHlr"] is False
    # Switching an ACL off is no grant and is allowed.
    assert client.put(_url(grand.id, sub.key), json={"user": {"aclHlr": False}}).status_code == 200


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"iprange": "10.0.0.0/33"}, "iprange"),
        ({"iprange": "not-an-ip"}, "iprange"),
        ({"prefixes": "45,abc"}, "prefixes"),
        ({"max_forbrug": "-5"}, "max_forbrug"),
        ({"password": "abc"}, "password"),
        ({"reg_email": "not-an-email"}, "reg_email"),
        ({"username": ""}, "username"),
        ({"company": "x" * 300}, "company"),
        ({"aclBilling": "maybe"}, "aclBilling"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_invalid_values_are_refused_with_400_naming_the_field_and_nothing_changes(
    client: Any, root_key: str, kid: Node, changes: dict[str, Any], named: str
) -> None:
    before = _read(client, kid.id, root_key)
    answer = client.put(_url(kid.id, root_key), json={"user": {"company": "x", **changes}})
    assert answer.status_code == 400
    assert answer.json()["status"] == 400
    assert named in answer.json()["message"]
    assert _read(client, kid.id, root_key) == before


@pytest.mark.usefixtures("kid")  # the taken username
def test_a_taken_username_is_refused_with_400(client: Any, root_key: str) -> None:
    answer = client.post(f"/v2/user.json?apikey={root_key}", json={"user": {"username": "kid"}})
    assert answer.json() == {"status": 400, "message": "username is already taken"}
    assert client.post(f"/v2/user.json?apikey={root_key}", json={"user": {}}).status_code == 400


def test_a_new_password_works_for_legacy_login_and_revokes_tokens(
    client: Any, uow: UnitOfWork, root_key: str, kid: Node
) -> None:
    with uow.write() as tx:
        account = tx.accounts.get(kid.id)
        assert account is not None
        token = auth.issue_token(tx, account)
    answer = client.put(_url(kid.id, root_key), json={"user": {"password": "brand-new"}})
    assert answer.status_code == 200
    legacy = "/v2/ping.json?apikey=legacy&type=plain&username=kid&password="
    assert client.get(legacy + "brand-new").status_code == 200
    assert client.get(legacy + "kid-pw1").status_code == 401
    with pytest.raises(AuthenticationFailed):
        auth.authenticate_token(uow, token=token, client_ip="127.0.0.1")


@pytest.mark.in_process("answers with the test's fixed clock date")
def test_delete_deactivates_keeps_the_data_and_kills_the_key(
    client: Any, root_key: str, kid: Node
) -> None:
    answer = client.delete(_url(kid.id, root_key))
    assert answer.status_code == 200
    user = answer.json()["user"]
    assert user["enabled"] is False
    assert user["deactivated"] == "01-01-2026 12:00:00"
    assert client.get(f"/v2/ping.json?apikey={kid.key}").status_code == 401
    kept = _read(client, kid.id, root_key)
    assert (kept["username"], kept["company"], kept["deactivated"]) == (
        "kid", "Kid ApS", "01-01-2026 12:00:00")  # fmt: skip
    listed = client.get(f"/v2/users.json?apikey={root_key}").json()["users"]
    assert kid.id in {u["id"] for u in listed}


def test_disabling_a_user_makes_its_key_answer_401(client: Any, root_key: str, kid: Node) -> None:
    assert client.put(_url(kid.id, root_key), json={"user": {"enabled": False}}).status_code == 200
    assert client.get(f"/v2/ping.json?apikey={kid.key}").status_code == 401
    assert client.put(_url(kid.id, root_key), json={"user": {"enabled": True}}).status_code == 200
    assert client.get(f"/v2/ping.json?apikey={kid.key}").status_code == 200


def test_creating_without_a_username_is_a_400_naming_it_as_the_document_requires(
    client: Any, root_key: str
) -> None:
    from smsaccounts import openapi

    body = openapi.document()["paths"]["/v2/user.{fmt}"]["post"]["requestBody"]
    assert body["required"] is True
    variants = body["content"]["application/json"]["schema"]["anyOf"]
    assert [v["$ref"].rpartition("/")[2] for v in variants] == ["NewUserBody", "NewUserInput"]
    schemas = openapi.document()["components"]["schemas"]
    assert "username" in schemas["NewUserInput"]["required"]
    answer = client.post(f"/v2/user.json?apikey={root_key}", json={"user": {"company": "c"}})
    assert answer.json() == {"status": 400, "message": "username is required"}
