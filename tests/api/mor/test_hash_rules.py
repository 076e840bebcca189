"""The MOR rules that need no database: the hash, the secret's inheritance, who may move
money, and how amounts are written."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from smsaccounts.dialects.mor.render import format_money
from smsaccounts.domain import request_hash, tree
from smsaccounts.domain.models import Account
from smsaccounts.domain.tree import Kind

SEED_HASH = "f7c3bc1d808e04732adf679965ccc34ca7ae3441"


def _account(kind: Kind, path: str, secret: str | None = None) -> Account:
    fields: dict[str, Any] = {f.name: "" for f in dataclasses.fields(Account)}
    fields.update(
        id=int(path.rsplit(".", 1)[-1], 36), kind=kind, path=path, mor_secret=secret,
        enabled=True, deactivated=None, created_at=dt.datetime(2024, 1, 1),
    )  # fmt: skip
    return Account(**fields)


def test_the_seed_example_hash_is_sha1_of_the_value_then_the_secret() -> None:
    assert request_hash.expected_hash(["123"], "456789") == SEED_HASH


def test_the_seed_hash_matches_and_upper_case_hex_is_the_same_digest() -> None:
    assert request_hash.hash_matches(["123", None], "456789", SEED_HASH)
    assert request_hash.hash_matches(["123"], "456789", SEED_HASH.upper())


def test_a_hash_off_by_one_character_does_not_match() -> None:
    off = SEED_HASH[:-1] + ("0" if SEED_HASH[-1] != "0" else "1")
    assert not request_hash.hash_matches(["123"], "456789", off)


def test_values_concatenated_in_the_wrong_order_do_not_match() -> None:
    reversed_order = request_hash.expected_hash(["bob", "42"], "s")
    assert not request_hash.hash_matches(["42", "bob"], "s", reversed_order)
    assert request_hash.hash_matches(["bob", "42"], "s", reversed_order)


def test_no_secret_or_no_hash_never_matches() -> None:
    assert not request_hash.hash_matches(["123"], None, request_hash.expected_hash(["123"], ""))
    assert not request_hash.hash_matches(["123"], "", request_hash.expected_hash(["123"], ""))
    assert not request_hash.hash_matches(["123"], "456789", "")
    assert not request_hash.hash_matches(["123"], "456789", None)


def test_a_non_hex_hash_is_refused_not_crashed_on() -> None:
    assert not request_hash.hash_matches(["123"], "456789", "ä" * 40)


def test_the_nearest_secret_on_the_way_to_the_root_wins() -> None:
    admin = _account(Kind.ADMIN, "1", "root")
    reseller = _account(Kind.RESELLER, "1.2", "mid")
    user = _account(Kind.USER, "1.2.3.4")
    assert request_hash.nearest_secret([user, reseller, admin]) == "mid"
    assert request_hash.nearest_secret([user, admin]) == "root"
    assert request_hash.nearest_secret([user]) is None


def test_only_admin_and_resellers_change_balances_and_only_strictly_below() -> None:
    admin = _account(Kind.ADMIN, "1")
    reseller = _account(Kind.RESELLER, "1.2")
    other = _account(Kind.RESELLER, "1.3")
    customer = _account(Kind.CUSTOMER, "1.2.4")
    user = _account(Kind.USER, "1.2.4.5")
    assert tree.may_change_balance(admin, user)
    assert tree.may_change_balance(reseller, user)
    assert not tree.may_change_balance(reseller, reseller)
    assert not tree.may_change_balance(admin, admin)
    assert not tree.may_change_balance(other, user)
    assert not tree.may_change_balance(customer, user)


def test_money_has_four_places_and_more_only_when_they_are_not_zero() -> None:
    assert format_money(125_000_000) == "12.5000"
    assert format_money(0) == "0.0000"
    assert format_money(-32_500_000) == "-3.2500"
    assert format_money(1_234_567) == "0.1234567"
