"""A MOR client for the tests: builds hashes the way MOR's documentation says, by hand."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.app import create_app
from smsaccounts.config import Settings
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests.conftest import make_uow

ADMIN_SECRET = "456789"


def sha1_hash(*values: str) -> str:
    """What a MOR client computes: SHA1 hex of the values then the secret, no separator."""
    return hashlib.sha1("".join(values).encode()).hexdigest()  # noqa: S324 - MOR fixes SHA1


class MorClient:
    def __init__(self, http: TestClient) -> None:
        self.http = http

    def call(
        self,
        function: str,
        *,
        u: str,
        secret: str = ADMIN_SECRET,
        hashed: Mapping[str, str] | None = None,
        p: str | None = None,
        hash: str | None = None,
        extra: Mapping[str, str] | None = None,
        method: str = "POST",
        form: bool = False,
    ) -> Any:
        """Call `/billing/api/<function>`; `hashed` is hashed in its own (insertion) order."""
        hashed = dict(hashed or {})
        params = {"u": u, **hashed, **(extra or {})}
        if p is not None:
            params["p"] = p
        params["hash"] = hash if hash is not None else sha1_hash(*hashed.values(), secret)
        url = f"/billing/api/{function}"
        if form:
            return self.http.request(method, url, data=params)
        return self.http.request(method, url, params=params)


def error_of(response: Any) -> str | None:
    """The text of the `<error>` a document carries below its root, as MOR clients look for
    it (None for a document without one), after shape checks: an error document is its
    root (`<page>`, or `<status>` for a balance update's incorrect hash) and that `<error>`.
    """
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    error = root.find("error")
    if error is None:
        return None
    assert root.tag in ("page", "status")
    assert [child.tag for child in root] == ["error"]
    return error.text


@pytest.fixture
def admin_secret(uow: UnitOfWork) -> str:
    auth.set_mor_secret(uow, account_id=ADMIN_ID, secret=ADMIN_SECRET)
    return ADMIN_SECRET


@pytest.fixture
def mor(client: TestClient, admin_secret: str) -> MorClient:
    del admin_secret  # requested for its effect: the admin's secret is stored
    return MorClient(client)


@pytest.fixture
def app_with() -> Iterator[Any]:
    """Build a MorClient over an app with other settings, on the test's database."""
    clients: list[TestClient] = []

    def build(settings: Settings, engine: Any, clock: Any, **changes: Any) -> MorClient:
        uow = make_uow(settings.replace(**changes), engine, clock)
        http = TestClient(create_app(uow.settings, uow=uow, deliver_sms=False))
        clients.append(http.__enter__())
        return MorClient(http)

    yield build
    for http in clients:
        http.__exit__(None, None, None)


def updated(response: Any) -> dict[str, str] | None:
    """The `<user>` of a balance update's success document (username, id, new balance), or
    None for any other answer. The document is the wiki's: `<page><page><status>User
    balance updated</status><user>...</user></page></page>`."""
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    if root.tag != "page" or root.findtext("page/status") != "User balance updated":
        return None
    user = root.find("page/user")
    assert user is not None
    return {child.tag: child.text or "" for child in user}
