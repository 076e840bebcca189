"""storage.rows.account builds the same frozen Account its generated __init__ would."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from smsaccounts.domain.models import Account, BillingType
from smsaccounts.domain.tree import Kind
from smsaccounts.storage import rows
from smsaccounts.storage.rows import _slot_builder
from smsaccounts.storage.tables import accounts, wallets


def _values() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for n, field in enumerate(dataclasses.fields(Account)):
        kind = str(field.type)
        values[field.name] = (
            n if kind.startswith("int") else
            (n % 2 == 0) if kind == "bool" else
            dt.datetime(2025, 1, 1) if "datetime" in kind else
            f"{field.name}-{n}"
        )  # fmt: skip
    values["kind"] = "customer"
    return values


def test_the_parsed_row_equals_the_generated_init_field_for_field() -> None:
    values = _values()
    built = rows.account(values)
    assert built == Account(**{**values, "kind": Kind.CUSTOMER})
    assert built.kind is Kind.CUSTOMER
    assert {f.name: getattr(built, f.name) for f in dataclasses.fields(Account)} == {
        **values,
        "kind": Kind.CUSTOMER,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.name = "changed"  # type: ignore[misc]


def test_a_row_without_every_field_or_with_more_is_refused() -> None:
    values = _values()
    del values["reg_email"]
    every = f"takes {len(dataclasses.fields(Account))} fields"
    with pytest.raises(TypeError, match=every):
        rows.account(values)
    with pytest.raises(TypeError, match=every):
        rows.account({**_values(), "extra": 1})


def test_the_builder_takes_only_dataclasses_without_defaults() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithDefault:
        a: int = 1

    with pytest.raises(AssertionError):
        _slot_builder(WithDefault)


def test_the_pair_builder_builds_what_splitting_then_parsing_builds() -> None:
    """`list_subtree_wallets` builds by position what `splitter` + `account` + `wallet`
    build by name, for the columns of both tables in their order in the select."""
    names = [*accounts.c.keys(), *wallets.c.keys()]
    row = tuple(
        "customer" if name == "kind" else
        BillingType.POST_PAID.value if name == "billing_type" else
        (n, name)  # a value no other column holds: any shift or swap shows
        for n, name in enumerate(names)
    )  # fmt: skip
    account_values, wallet_values = rows.splitter(accounts, wallets)(row)
    account, wallet = rows.pair_builder(accounts, wallets)(row)
    assert account == rows.account(account_values)
    assert wallet == rows.wallet(wallet_values)
    assert account.kind is Kind.CUSTOMER
    assert wallet.billing_type is BillingType.POST_PAID
    with pytest.raises(dataclasses.FrozenInstanceError):
        account.name = "changed"  # type: ignore[misc]
