"""The Kolmisoft wiki's MOR API pages, replayed as a client written from them would.

"MOR API user details get" and "MOR API user balance update": an HTML POST with every
parameter in the query string (`u`, the hashed ones, `hash`), the hash the SHA1 of the
hashed values in their documented order followed by the API secret; the answers and the
error documents exactly as the pages show them. The examples' own numbers (user 123, secret
456789, balance 100) give the pages' hashes.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.domain import request_hash
from smsaccounts.domain.models import Account, BillingType
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import Operator

SECRET = "456789"  # the pages' API_Secret_Key


def _hash(*values: str) -> str:
    return hashlib.sha1(("".join(values) + SECRET).encode()).hexdigest()  # noqa: S324


def _post(wire: TestClient, function: str, **params: str) -> Any:
    """`HTML POST: http://<server_ip>/billing/api/<function>?u=...&...&hash=...`"""
    response = wire.post(f"/billing/api/{function}", params=params,
                         headers={"Accept": "*/*"})  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    return etree.fromstring(response.content)


def _tags(element: Any) -> list[Any]:
    """The element's tree as nested [tag, children] lists, text left out."""
    return [element.tag, [_tags(child) for child in element]]


@pytest.fixture
def user(uow: UnitOfWork, operator: Operator) -> Account:
    operator("secret", "set", "admin", SECRET)
    return factories.user(uow, billing_type=BillingType.POST_PAID)


def test_the_pages_example_hashes_are_what_the_server_computes() -> None:
    assert request_hash.expected_hash(["123"], SECRET) == "f7c3bc1d808e04732adf679965ccc34ca7ae3441"
    assert request_hash.expected_hash(["123", "100"], SECRET) == (
        "b1bef44691c237b574263e09b2838ad1e658e507")  # fmt: skip


def test_user_details_get_answers_the_pages_document(wire: TestClient, user: Account) -> None:
    page = _post(wire, "user_details_get", u="admin", user_id=str(user.id),
                 hash=_hash(str(user.id)))  # fmt: skip
    assert _tags(page)[0] == "page"
    assert [child.tag for child in page] == ["pagename", "language", "userid", "details"]
    assert page.findtext("details/other_details/username") == user.name


@pytest.mark.parametrize("function", ["user_details_get", "user_details"])
def test_user_details_errors_are_inside_page(wire: TestClient, user: Account, function: str
                                             ) -> None:  # fmt: skip
    missing = _post(wire, function, u="admin", user_id="999999", hash=_hash("999999"))
    wrong = _post(wire, function, u="admin", user_id=str(user.id), hash="0" * 40)
    assert _tags(missing) == _tags(wrong) == ["page", [["error", []]]]
    assert missing.findtext("error") == "User was not found"
    assert wrong.findtext("error") == "Incorrect hash"


@pytest.mark.parametrize("function", ["user_balance_update", "user_balance_change"])
def test_user_balance_update_answers_the_pages_documents(
    wire: TestClient, user: Account, function: str
) -> None:
    done = _post(wire, function, u="admin", user_id=str(user.id), balance="100",
                 hash=_hash(str(user.id), "100"))  # fmt: skip
    assert _tags(done) == ["page", [["page", [["status", []], ["user", [
        ["username", []], ["id", []], ["balance", []]]]]]]]  # fmt: skip
    assert done.findtext("page/status") == "User balance updated"
    assert (done.findtext("page/user/username"), done.findtext("page/user/id")) == (
        user.name, str(user.id))  # fmt: skip
    assert done.findtext("page/user/balance") == "100.0000"
    missing = _post(wire, function, u="admin", user_id="999999", balance="100",
                    hash=_hash("999999", "100"))  # fmt: skip
    assert (_tags(missing), missing.findtext("error")) == (
        ["page", [["error", []]]], "User was not found")  # fmt: skip
    wrong = _post(wire, function, u="admin", user_id=str(user.id), balance="100",
                  hash=_hash(str(user.id), "1000"))  # fmt: skip
    assert (_tags(wrong), wrong.findtext("error")) == (
        ["status", [["error", []]]], "Incorrect hash")  # fmt: skip


def test_the_older_page_sends_p_and_a_wrong_one_is_a_bad_login_inside_page(
    wire: TestClient, user: Account, operator: Operator
) -> None:
    """`/api/user_balance_change?u=admin&p=admin&user_id=123&balance=100&hash=...`"""
    operator("account", "set", "admin", "password=admin-pw")
    signed = {"u": "admin", "user_id": str(user.id), "balance": "100",
              "hash": _hash(str(user.id), "100")}  # fmt: skip
    bad = _post(wire, "user_balance_change", **signed, p="admin")
    assert (_tags(bad), bad.findtext("error")) == (["page", [["error", []]]], "Bad login")
    good = _post(wire, "user_balance_change", **signed, p="admin-pw")
    assert good.findtext("page/status") == "User balance updated"
