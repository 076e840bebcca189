"""LINK's pure rules: its view of the tree, prefixes, message limits, ACL grants."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from smsaccounts.domain.models import ACL_FIELDS, Account
from smsaccounts.domain.subusers import (
    link_parent,
    link_path,
    normalize_prefixes,
    parse_max_messages,
    ungrantable,
)
from smsaccounts.domain.tree import Kind


def _account(path: str, parent_id: int | None, **acls: bool) -> Account:
    """An Account with every text field empty; only path, parent and ACLs matter here."""
    values: dict[str, object] = {f.name: "" for f in dataclasses.fields(Account)}
    values.update({acl: False for acl in ACL_FIELDS}, **acls)
    now = dt.datetime.now(dt.UTC)
    values.update(id=int(path.rsplit(".", 1)[-1], 36), kind=Kind.USER, parent_id=parent_id,
                  path=path, enabled=True, deactivated=None, created_at=now)  # fmt: skip
    return Account(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("1.2.3.7xl", "7xl"), ("1.2.3.7xl.7xm", "7xl.7xm"), ("1.a.b.c.d.e", "c.d.e")],
)
def test_a_links_path_starts_at_the_topmost_user(stored: str, shown: str) -> None:
    assert link_path(stored) == shown


def test_a_topmost_user_has_parent_0_and_a_sub_user_its_parent_users_id() -> None:
    assert link_parent(_account("1.2.3.7xl", parent_id=3)) == 0
    assert link_parent(_account("1.2.3.7xl.7xm", parent_id=10281)) == 10281


def test_prefixes_are_trimmed_digits_with_an_optional_plus() -> None:
    assert normalize_prefixes(" 45, +4520 ,,") == "45,+4520"
    assert normalize_prefixes("") == ""
    for bad in ("45a", "++45", "4 5", "1234567890123456"):
        with pytest.raises(ValueError, match="prefix"):
            normalize_prefixes(bad)


def test_max_forbrug_zero_empty_or_null_means_no_limit() -> None:
    assert [parse_max_messages(v) for v in (None, "", "0", 0)] == [None] * 4
    assert parse_max_messages("999999") == 999999
    assert parse_max_messages(12) == 12
    for bad in ("-1", "1.5", "many"):
        with pytest.raises(ValueError, match="max_forbrug"):
            parse_max_messages(bad)


def test_only_acls_the_actor_lacks_and_switches_on_are_ungrantable() -> None:
    actor = _account("1.2.3.a", parent_id=3, acl_admin=True, acl_hlr=True)
    assert ungrantable(actor, {"acl_hlr": True, "acl_admin": True}) is None
    assert ungrantable(actor, {"acl_billing": False}) is None
    assert ungrantable(actor, {"acl_hlr": True, "acl_charity": True}) == "acl_charity"


def test_an_acl_the_edited_account_already_holds_is_not_switched_on_by_repeating_it() -> None:
    actor = _account("1.2.3.a", parent_id=3, acl_admin=True)
    holder = _account("1.2.3.a.b", parent_id=10, acl_charity=True)
    assert ungrantable(actor, {"acl_charity": True}, holder) is None
    assert ungrantable(actor, {"acl_charity": True, "acl_hlr": True}, holder) == "acl_hlr"
