"""XML in and out from the same Structs as JSON, and paging a large subtree without OFFSET."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import Engine, event

from smsaccounts.dialects.link.views import encode_cursor
from smsaccounts.domain.models import Account, BillingType
from smsaccounts.domain.tree import Kind
from smsaccounts.services import accounts, subusers
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.link.conftest import listing

XML = {"content-type": "application/xml"}


def test_users_xml_has_a_response_root_with_status_and_a_users_list(
    client: Any, root: Account, root_key: str
) -> None:
    client.post(f"/v2/user.json?apikey={root_key}", json={"user": {"username": "x1"}})
    answer = client.get(f"/v2/users.xml?apikey={root_key}")
    assert answer.status_code == 200
    doc = etree.fromstring(answer.content)
    assert doc.tag == "response"
    assert doc.findtext("status") == "200"
    users = doc.findall("users/user")
    assert [u.findtext("username") for u in users] == [root.name, "x1"]
    assert users[0].findtext("apikey") == root_key
    assert users[1].findtext("apikey") == "---"
    assert users[0].findtext("aclAdmin") == "true"
    assert users[1].findtext("balance") == "0.0000000"


@pytest.mark.parametrize(
    "body",
    [
        b"<user><username>xml-kid</username><aclBilling>true</aclBilling>"
        b"<company>A &amp; B</company></user>",
        b"<?xml version='1.0'?><request><user><username>xml-kid</username>"
        b"<aclBilling>1</aclBilling><company>A &amp; B</company></user></request>",
    ],
)
def test_a_user_can_be_created_from_either_xml_form(
    client: Any, root_key: str, body: bytes
) -> None:
    answer = client.post(f"/v2/user.xml?apikey={root_key}", content=body, headers=XML)
    assert answer.status_code == 200, answer.text
    doc = etree.fromstring(answer.content)
    assert doc.findtext("user/username") == "xml-kid"
    assert doc.findtext("user/company") == "A & B"
    assert doc.findtext("user/aclBilling") == "true"
    apikey = doc.findtext("user/apikey")
    assert apikey is not None
    assert apikey.startswith("sak_")


def test_xml_edits_refuse_read_only_fields_in_xml(client: Any, root_key: str) -> None:
    kid = client.post(f"/v2/user.json?apikey={root_key}",
                      json={"user": {"username": "k"}}).json()["user"]  # fmt: skip
    body = b"<user><credits>1000</credits></user>"
    answer = client.put(f"/v2/user/{kid['id']}.xml?apikey={root_key}", content=body, headers=XML)
    assert answer.status_code == 400
    doc = etree.fromstring(answer.content)
    assert (doc.findtext("status"), doc.findtext("message")) == (
        "400", "credits cannot be set through this API")  # fmt: skip


def test_xml_with_a_dtd_is_refused(client: Any, root_key: str) -> None:
    body = b'<!DOCTYPE u [<!ENTITY x "boom">]><user><username>&x;</username></user>'
    answer = client.post(f"/v2/user.json?apikey={root_key}", content=body, headers=XML)
    assert answer.status_code == 400
    assert listing(client, root_key)["stats"]["total"] == 1


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the app runs from here on, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def big_tree(uow: UnitOfWork, root: Account) -> list[int]:
    """250 sub-users below root, two levels deep; returns every id in path order."""
    with uow.write() as tx:
        parent = tx.accounts.get(root.id)
        assert parent is not None
        mids = [_user(tx, parent, f"mid{i}") for i in range(10)]
        for mid in mids:
            for j in range(24):
                _user(tx, mid, f"{mid.name}-leaf{j}")
        ordered = tx.accounts.list_subtree(parent, limit=1000)
    return [account.id for account in ordered]


def _user(tx: Any, parent: Account, name: str) -> Account:
    return accounts.add(tx, kind=Kind.USER, name=name, parent=parent, password_hash=None,
                        billing_type=BillingType.PRE_PAID, currency="EUR")  # fmt: skip


def _skips_rows(statement: str, parameters: Any) -> bool:
    """An OFFSET that skips rows (SQLAlchemy's SQLite dialect always says `OFFSET ?`, 0)."""
    if "OFFSET" not in statement.upper():
        return False
    return not (isinstance(parameters, tuple | list) and parameters[-1] == 0)


def test_following_next_walks_every_user_once_in_pages_of_100_without_offset(
    client: Any, root_key: str, big_tree: list[int], statements: list[tuple[str, Any]]
) -> None:
    seen: list[int] = []
    body = listing(client, root_key)
    pages = [body["paging"]]
    seen += [u["id"] for u in body["users"]]
    while body["paging"]["next"]:
        body = listing(client, root_key, after=body["paging"]["next"])
        pages.append(body["paging"])
        seen += [u["id"] for u in body["users"]]
    assert seen == big_tree
    assert len(seen) == 251
    assert [(p["current"], p["pages"], p["offset"]) for p in pages] == [
        (1, 3, 100), (2, 3, 100), (3, 3, 100)]  # fmt: skip
    assert pages[-1]["next"] is None
    assert body["stats"] == {"total": 251}
    assert statements
    assert not any(_skips_rows(*one) for one in statements)


@pytest.mark.usefixtures("big_tree")
def test_a_page_and_its_count_are_one_statement(
    client: Any, root_key: str, statements: list[tuple[str, Any]]
) -> None:
    """The page's rows and the count of what follows them (for `stats` and `paging`) are
    read together: on a database server a round trip less a page."""
    body = listing(client, root_key)
    assert (len(body["users"]), body["stats"]) == (100, {"total": 251})
    counting = [" ".join(sql.lower().split()) for sql, _ in statements if "count(" in sql.lower()]
    assert len(counting) == 1
    assert "join wallets" in counting[0]


def test_page_n_by_number_alone_is_the_same_page_as_by_cursor(
    client: Any, root_key: str, big_tree: list[int], statements: list[tuple[str, Any]]
) -> None:
    third = listing(client, root_key, page=3)
    assert [u["id"] for u in third["users"]] == big_tree[200:]
    assert third["paging"]["current"] == 3
    second = listing(client, root_key, page=2)
    assert [u["id"] for u in second["users"]] == big_tree[100:200]
    assert listing(client, root_key, page=9)["users"] == []
    assert statements
    assert not any(_skips_rows(*one) for one in statements)


def test_a_forged_or_foreign_cursor_is_refused_with_400(
    client: Any, root_key: str, uow: UnitOfWork
) -> None:
    stranger = factories.user(uow)
    for cursor in ("%%%", "bm9wZQ", encode_cursor(2, stranger.id)):
        answer = client.get("/v2/users.json", params={"apikey": root_key, "after": cursor})
        assert answer.status_code == 400, cursor
    for page in ("0", "-1", "x"):
        answer = client.get("/v2/users.json", params={"apikey": root_key, "page": page})
        assert answer.status_code == 400


@pytest.mark.usefixtures("big_tree")
def test_a_pages_total_counts_only_so_many_pages_ahead_and_is_exact_near_the_end(
    uow: UnitOfWork, root: Account
) -> None:
    """A 251-account subtree seen one page ahead: a lower bound until the end is near."""
    with uow.read() as tx:
        actor = tx.accounts.get(root.id)
    assert actor is not None
    seen = [
        subusers.list_page(uow, actor=actor, number=n, size=100, lookahead_pages=1)
        for n in (1, 2, 3, 4)
    ]
    assert [(p.total, p.pages) for p in seen] == [(101, 2), (201, 3), (251, 3), (251, 3)]
    assert [len(p.users) for p in seen] == [100, 100, 51, 0]
    whole = subusers.list_page(uow, actor=actor, number=1, size=100)
    assert (whole.total, whole.pages) == (251, 3)  # the default looks 10 pages ahead
