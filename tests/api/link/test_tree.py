"""A three-level user tree built through the API: each level sees exactly its own subtree."""

from __future__ import annotations

import re
from typing import Any

import pytest

from smsaccounts.domain.models import Account
from smsaccounts.domain.tree import base36
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.link.conftest import Node, create, listing

# The seed's 25 fields, in its order, with their JSON types (None: null allowed).
SEED_TYPES: dict[str, tuple[type | None, ...]] = {
    "integration_id": (str, None), "company": (str, None), "integration": (str, None),
    "defaultsender": (str, None), "balance": (str,), "use_currency": (int,),
    "max_forbrug": (str,), "forbrug": (str,), "deactivated": (str, None), "created": (str,),
    "parent": (int,), "id": (int,), "username": (str,), "apikey": (str,),
    "materialized_path": (str,), "prefixes": (str,), "iprange": (str,), "aclBilling": (bool,),
    "aclBillingHigh": (bool,), "aclCharity": (bool,), "aclIncoming": (bool,),
    "aclSmsinbox": (bool,), "aclHlr": (bool,), "aclAdmin": (bool,), "enabled": (bool,),
    "credits": (int,),
}  # fmt: skip


def _json_type_ok(value: Any, allowed: tuple[type | None, ...]) -> bool:
    if value is None:
        return None in allowed
    # bool is an int in Python; the seed keeps them apart, so must we.
    return any(t is not None and type(value) is t for t in allowed)


@pytest.fixture
def tree(client: Any, root: Account, root_key: str) -> dict[str, Node]:
    """root > a > b > c, and s a sibling of a; a and b hold aclAdmin."""
    a = create(client, root_key, username="level-a", password="pw-a1", aclAdmin=True,
               aclBilling=True)  # fmt: skip
    s = create(client, root_key, username="sibling-s", company="Sib ApS")
    b = create(client, a.key, username="level-b", aclAdmin=True, aclBilling=True)
    c = create(client, b.key, username="level-c", max_forbrug=250)
    return {"root": Node(root.id, root_key, root.name), "a": a, "s": s, "b": b, "c": c}


def _ids(body: dict[str, Any]) -> list[int]:
    return [user["id"] for user in body["users"]]


def test_each_level_lists_itself_and_everything_below_it_and_nothing_else(
    client: Any, tree: dict[str, Node]
) -> None:
    expected = {
        "root": ["root", "a", "b", "c", "s"],
        "a": ["a", "b", "c"],
        "b": ["b", "c"],
        "c": ["c"],
        "s": ["s"],
    }
    for level, names in expected.items():
        body = listing(client, tree[level].key)
        assert sorted(_ids(body)) == sorted(tree[name].id for name in names), level
        assert body["status"] == 200
        assert body["stats"] == {"total": len(names)}


def test_every_listed_user_has_exactly_the_seeds_fields_with_the_seeds_json_types(
    client: Any, tree: dict[str, Node]
) -> None:
    users = listing(client, tree["root"].key)["users"]
    assert len(users) == 5
    for user in users:
        # The seed's fields in its order, then ours: who pays (`own` or `parent`).
        assert list(user) == [*SEED_TYPES, "funding"]
        assert user["funding"] in ("own", "parent")
        for name, allowed in SEED_TYPES.items():
            assert _json_type_ok(user[name], allowed), (name, user[name])
        assert re.fullmatch(r"-?\d+\.\d{7}", user["balance"])
        assert re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d", user["created"])
        assert user["use_currency"] in (0, 1)
        assert user["max_forbrug"].isdigit()
        assert user["forbrug"].isdigit()


def test_parent_and_materialized_path_follow_the_user_tree_from_its_topmost_user(
    client: Any, tree: dict[str, Node]
) -> None:
    by_id = {user["id"]: user for user in listing(client, tree["root"].key)["users"]}
    root, a, b, c = (tree[n].id for n in ("root", "a", "b", "c"))
    assert by_id[root]["parent"] == 0
    assert by_id[root]["materialized_path"] == base36(root)
    assert by_id[a]["parent"] == root
    assert by_id[b]["parent"] == a
    assert by_id[c]["parent"] == b
    assert by_id[c]["materialized_path"] == ".".join(base36(i) for i in (root, a, b, c))


def test_the_listing_shows_the_callers_own_key_and_masks_every_other(
    client: Any, tree: dict[str, Node]
) -> None:
    users = listing(client, tree["a"].key)["users"]
    keys = {user["id"]: user["apikey"] for user in users}
    assert keys == {tree["a"].id: tree["a"].key, tree["b"].id: "---", tree["c"].id: "---"}


def test_values_set_at_creation_come_back_in_the_listing(
    client: Any, tree: dict[str, Node]
) -> None:
    by_id = {user["id"]: user for user in listing(client, tree["root"].key)["users"]}
    assert by_id[tree["s"].id]["company"] == "Sib ApS"
    assert by_id[tree["c"].id]["max_forbrug"] == "250"
    assert by_id[tree["b"].id]["aclBilling"] is True
    assert by_id[tree["c"].id]["aclAdmin"] is False


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_users_outside_the_callers_subtree_answer_exactly_like_a_missing_id(
    client: Any, uow: UnitOfWork, tree: dict[str, Node], method: str
) -> None:
    stranger = factories.user(uow)
    body = {"user": {"company": "x"}} if method == "PUT" else None

    def call(target: int) -> Any:
        url = f"/v2/user/{target}.json?apikey={tree['a'].key}"
        return client.request(method, url, json=body)

    missing = call(99999)
    assert missing.status_code == 404
    assert missing.json() == {"status": 404, "message": "Not found"}
    for outsider in (tree["root"].id, tree["s"].id, stranger.id):
        refused = call(outsider)
        assert (refused.status_code, refused.content) == (404, missing.content)
    assert client.get(f"/v2/user/{tree['c'].id}.json?apikey={tree['a'].key}").status_code == 200


def test_a_refused_edit_outside_the_subtree_changes_nothing(
    client: Any, tree: dict[str, Node]
) -> None:
    url = f"/v2/user/{tree['s'].id}.json?apikey={tree['a'].key}"
    assert client.put(url, json={"user": {"company": "Hijacked"}}).status_code == 404
    assert client.delete(url).status_code == 404
    own = listing(client, tree["s"].key)["users"][0]
    assert (own["company"], own["enabled"], own["deactivated"]) == ("Sib ApS", True, None)


def test_a_user_without_acl_admin_is_refused_user_management_with_403(
    client: Any, tree: dict[str, Node]
) -> None:
    key = tree["c"].key
    own = f"/v2/user/{tree['c'].id}.json?apikey={key}"
    answers = [
        client.post(f"/v2/user.json?apikey={key}", json={"user": {"username": "nope"}}),
        client.get(own),
        client.put(own, json={"user": {"company": "x"}}),
        client.delete(own),
    ]
    for answer in answers:
        assert answer.status_code == 403
        assert answer.json() == {
            "status": 403,
            "message": "Access denied: managing users needs aclAdmin",
        }
    assert listing(client, key)["users"][0]["deactivated"] is None
