"""customer-user/create is one transaction: the customer and the user exist both or neither."""

from __future__ import annotations

from typing import Any

import pytest

from smsaccounts.domain.models import Account
from smsaccounts.domain.tree import Kind
from smsaccounts.storage.accounts import AccountsRepository
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.reseller.conftest import Api, counts


def _no_customer_named(uow: UnitOfWork, name: str) -> bool:
    with uow.read() as tx:
        return tx.accounts.get_by_name(Kind.CUSTOMER, name) is None


def test_when_the_user_insert_fails_the_customer_is_rolled_back_too(
    api: Api, uow: UnitOfWork, pool_reseller: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = AccountsRepository.add

    def add_failing_for_users(self: AccountsRepository, *, kind: Kind, **kw: Any) -> Account:
        if kind is Kind.USER:
            raise RuntimeError("the second insert fails")
        return original(self, kind=kind, **kw)

    monkeypatch.setattr(AccountsRepository, "add", add_failing_for_users)
    before = counts(uow)
    answer = api.as_reseller(pool_reseller, "customer-user/create", customer="half",
                             username="half-user", password="pw-1234",
                             applyFreeCredits="true")  # fmt: skip
    assert answer == {"status": 9999, "message": "internal error"}
    assert counts(uow) == before
    assert _no_customer_named(uow, "half")


def test_a_taken_username_is_201_and_leaves_no_customer_behind(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    taken = factories.user(uow)
    before = counts(uow)
    answer = api.as_reseller(pool_reseller, "customer-user/create", customer="orphan",
                             username=taken.name, password="pw-1234",
                             applyFreeCredits="true")  # fmt: skip
    assert answer == {"status": 201, "message": "username already taken"}
    assert counts(uow) == before
    assert _no_customer_named(uow, "orphan")


def test_a_free_credit_failure_rolls_back_both_accounts(
    api: Api, uow: UnitOfWork, pool_reseller: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grant is part of the same transaction: if it fails, nothing was created."""
    from smsaccounts.services import wallet

    def failing_apply(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("ledger down")

    monkeypatch.setattr(wallet, "apply", failing_apply)
    before = counts(uow)
    answer = api.as_reseller(pool_reseller, "customer-user/create", customer="grant",
                             username="grant-user", password="pw-1234",
                             applyFreeCredits="true")  # fmt: skip
    assert answer["status"] == 9999
    assert counts(uow) == before
