"""LINK test helpers: an aclAdmin root user with its own key, and API calls that build a tree."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from smsaccounts.domain.models import Account
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories


@dataclasses.dataclass
class Node:
    """A user as the API answered it at creation: its id and its own key."""

    id: int
    key: str
    username: str


@pytest.fixture
def root(uow: UnitOfWork) -> Account:
    """A topmost LINK user (directly under a customer) holding aclAdmin and two more ACLs."""
    return factories.user(uow, acl_admin=True, acl_billing=True, acl_hlr=True)


@pytest.fixture
def root_key(uow: UnitOfWork, root: Account) -> str:
    return factories.user_key(uow, root)


def create(client: Any, key: str, **fields: Any) -> Node:
    """POST /v2/user.json as `key`; fails the test unless the user was created."""
    response = client.post(f"/v2/user.json?apikey={key}", json={"user": fields})
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    return Node(id=user["id"], key=user["apikey"], username=user["username"])


def listing(client: Any, key: str, **params: Any) -> dict[str, Any]:
    response = client.get("/v2/users.json", params={"apikey": key, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
