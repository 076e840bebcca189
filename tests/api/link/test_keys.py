"""`POST /v2/user/{id}/apikey.{fmt}`: a user rotates its own key, an aclAdmin the keys of
the users below it; the answer shows the new key once and the old one stops at once."""

from __future__ import annotations

from typing import Any

from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.domain.models import Account
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import create


def rotate(client: TestClient, key: str, user_id: int, fmt: str = "json") -> Any:
    return client.post(f"/v2/user/{user_id}/apikey.{fmt}?apikey={key}")


def works(client: TestClient, key: str) -> bool:
    return client.get(f"/v2/ping.json?apikey={key}").status_code == 200


def test_a_user_rotates_its_own_key_without_acl_admin(client: TestClient, uow: UnitOfWork) -> None:
    user = factories.user(uow)
    old = factories.user_key(uow, user)
    answer = rotate(client, old, user.id)
    assert answer.status_code == 200
    new = answer.json()["user"]["apikey"]
    assert new.startswith("sak_")
    assert answer.json()["user"]["id"] == user.id
    assert not works(client, old)
    assert works(client, new)
    assert client.get(f"/v2/ping.json?apikey={new}").json()["apikey"] == new


def test_an_admin_rotates_the_key_of_a_user_below_it(
    client: TestClient, root: Account, root_key: str
) -> None:
    del root  # the admin the key belongs to
    child = create(client, root_key, username="kid", password="kidpw123")
    answer = rotate(client, root_key, child.id, fmt="xml")
    assert answer.status_code == 200
    new = etree.fromstring(answer.content).findtext("user/apikey")
    assert new is not None
    assert new.startswith("sak_")
    assert not works(client, child.key)
    assert works(client, new)
    assert works(client, root_key)  # the admin's own key is untouched


def test_without_acl_admin_only_the_own_key_and_never_outside_the_subtree(
    client: TestClient, uow: UnitOfWork, root: Account, root_key: str
) -> None:
    child = create(client, root_key, username="plain", password="plainpw1")  # no aclAdmin
    grandchild = factories.user(uow, parent=factories.user(uow, parent=root))
    assert rotate(client, child.key, root.id).status_code == 403
    stranger = factories.user(uow, acl_admin=True)
    assert rotate(client, factories.user_key(uow, stranger), child.id).status_code == 404
    assert rotate(client, root_key, grandchild.id).status_code == 200
    assert works(client, child.key)


def test_a_deleted_user_gets_no_new_key(client: TestClient, root_key: str) -> None:
    child = create(client, root_key, username="gone", password="gonepw12")
    assert client.delete(f"/v2/user/{child.id}.json?apikey={root_key}").status_code == 200
    answer = rotate(client, root_key, child.id)
    assert answer.status_code == 404
    assert answer.json() == {"status": 404, "message": "Not found"}
