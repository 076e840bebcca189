"""A client reads a user, changes a field and PUTs the whole object back, in JSON or XML; and
XML shows every field JSON shows, a null as an empty element."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from smsaccounts.domain.models import Account, Asset
from smsaccounts.services import wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests.api.link.conftest import Node, create, listing

XML = {"content-type": "application/xml"}


@pytest.fixture
def kid(client: Any, root_key: str) -> Node:
    return create(client, root_key, username="kid", aclHlr=True, max_forbrug=500)


def _url(user_id: int, key: str, fmt: str = "json") -> str:
    return f"/v2/user/{user_id}.{fmt}?apikey={key}"


def test_a_user_read_as_json_and_put_back_with_one_change_is_saved(
    client: Any, root_key: str, kid: Node
) -> None:
    read = client.get(_url(kid.id, root_key)).json()
    read["user"]["company"] = "Acme ApS"
    answer = client.put(_url(kid.id, root_key), json={"user": read["user"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"] == {**read["user"], "company": "Acme ApS"}


def test_the_whole_answer_may_be_sent_back_too(client: Any, root_key: str, kid: Node) -> None:
    read = client.get(_url(kid.id, root_key)).json()
    read["user"]["integration_id"] = "crm-7"
    answer = client.put(_url(kid.id, root_key), json=read)  # {"user": ..., "status": 200}
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["integration_id"] == "crm-7"


@pytest.mark.parametrize(
    ("field", "value"),
    [("balance", "1.0000000"), ("credits", 1), ("forbrug", "1"), ("id", 1), ("parent", 1),
     ("apikey", "sak_guess"), ("created", "01-01-2000 00:00:00"),
     ("deactivated", "01-01-2000 00:00:00"), ("materialized_path", "x"), ("use_currency", 1)],
)  # fmt: skip
def test_a_read_only_field_with_another_value_than_shown_is_refused_naming_it(
    client: Any, root_key: str, kid: Node, field: str, value: Any
) -> None:
    read = client.get(_url(kid.id, root_key)).json()["user"]
    assert read[field] != value
    answer = client.put(_url(kid.id, root_key), json={"user": {**read, "company": "X",
                                                               field: value}})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json() == {"status": 400, "message": f"{field} cannot be set through this API"}
    assert client.get(_url(kid.id, root_key)).json()["user"] == read


def test_a_stale_copy_is_refused_once_the_shown_value_changed(
    client: Any, uow: UnitOfWork, root_key: str, kid: Node
) -> None:
    """What counts is the value now: a copy read before the credits changed is refused."""
    read = client.get(_url(kid.id, root_key)).json()["user"]
    assert read["funding"] == "parent"  # a LINK sub-user spends its parent's credits
    wallet.credit(uow, account_id=read["parent"], asset=Asset.CREDITS, amount=3, reason="test")
    answer = client.put(_url(kid.id, root_key), json={"user": {**read, "company": "X"}})
    assert answer.json() == {"status": 400, "message": "credits cannot be set through this API"}


def test_another_users_key_shown_masked_is_accepted_masked(
    client: Any, root_key: str, kid: Node
) -> None:
    read = client.get(_url(kid.id, root_key)).json()["user"]
    assert read["apikey"] == "---"
    assert client.put(_url(kid.id, root_key), json={"user": read}).status_code == 200
    own = client.get(_url(kid.id, kid.key)).status_code  # kid has no aclAdmin
    assert own == 403


def test_an_acl_the_user_holds_may_be_repeated_by_a_caller_without_it(
    client: Any, uow: UnitOfWork, root: Account, root_key: str, kid: Node
) -> None:
    """Sending back aclCharity as it is grants nothing; switching it on would."""
    assert root.acl_charity is False
    with uow.write() as tx:
        tx.accounts.update(kid.id, {"acl_charity": True})
    read = client.get(_url(kid.id, root_key)).json()["user"]
    assert client.put(_url(kid.id, root_key), json={"user": read}).status_code == 200
    other = create(client, root_key, username="other")
    answer = client.put(_url(other.id, root_key), json={"user": {"aclCharity": True}})
    assert answer.status_code == 403


def test_a_user_read_as_xml_and_put_back_with_one_change_is_saved(
    client: Any, root_key: str, kid: Node
) -> None:
    doc = etree.fromstring(client.get(_url(kid.id, root_key, "xml")).content)
    user = doc.find("user")
    assert user is not None
    company = user.find("company")
    assert company is not None
    assert company.text is None  # null: an empty element
    company.text = "Acme & Co"
    answer = client.put(_url(kid.id, root_key, "xml"), content=etree.tostring(user), headers=XML)
    assert answer.status_code == 200, answer.text
    assert etree.fromstring(answer.content).findtext("user/company") == "Acme & Co"
    again = etree.fromstring(client.get(_url(kid.id, root_key, "xml")).content)
    again.find("user/integration").text = "api"  # type: ignore[union-attr]
    whole = client.put(_url(kid.id, root_key, "xml"), content=etree.tostring(again), headers=XML)
    assert etree.fromstring(whole.content).findtext("user/integration") == "api"


def test_xml_lists_every_field_json_lists_with_null_as_an_empty_element(
    client: Any, root_key: str, kid: Node
) -> None:
    del kid  # a second user, with nulls of its own
    as_json = listing(client, root_key)
    doc = etree.fromstring(client.get(f"/v2/users.xml?apikey={root_key}").content)
    users = doc.findall("users/user")
    assert len(users) == len(as_json["users"]) == 2
    for xml_user, json_user in zip(users, as_json["users"], strict=True):
        assert [child.tag for child in xml_user] == list(json_user)
        for child in xml_user:
            if json_user[child.tag] is None:
                assert (child.text, len(child)) == (None, 0), child.tag
    assert [child.tag for child in doc.find("paging")] == list(as_json["paging"])  # type: ignore[union-attr]
    assert doc.find("paging/next") is not None
