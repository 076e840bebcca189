"""user_balance_update with an `Idempotency-Key` header: a resent request applies once and
answers "updated" again; a key that cannot be stored, or is reused for another amount, is
refused and changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from smsaccounts.domain import money
from smsaccounts.domain.models import Asset, BillingType
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import auth, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.mor.conftest import ADMIN_SECRET, MorClient, error_of, sha1_hash, updated

NOT_UPDATED = "User balance not updated"


def _units(text: str) -> int:
    return money.to_units(Decimal(text))


def _send(
    mor: MorClient,
    account_id: int,
    amount: str,
    key: str | None,
    *,
    u: str = "admin",
    secret: str = ADMIN_SECRET,
) -> Any:
    params = {
        "u": u,
        "user_id": str(account_id),
        "balance": amount,
        "hash": sha1_hash(str(account_id), amount, secret),
    }
    headers = {} if key is None else {"Idempotency-Key": key}
    return mor.http.post("/billing/api/user_balance_update", data=params, headers=headers)


def _ledger(uow: UnitOfWork, account_id: int) -> tuple[int, list[tuple[int, str | None]]]:
    """(wallet balance, [(amount, idempotency key)] of its money entries, oldest first)."""
    with uow.read() as tx:
        found = tx.wallets.get(account_id)
        assert found is not None
        assert found.balance == tx.wallets.ledger_sum(account_id, Asset.BALANCE)
        entries = [e for e in tx.wallets.entries(account_id) if e.asset is Asset.BALANCE]
    return found.balance, [(e.amount, e.idempotency_key) for e in reversed(entries)]


def test_a_request_resent_with_the_same_key_answers_updated_and_adds_no_second_entry(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    for _ in range(3):
        response = _send(mor, user.id, "-0.01", "order-1")
        assert error_of(response) is None
        assert updated(response) is not None
    assert _ledger(uow, user.id) == (_units("-0.01"), [(_units("-0.01"), "order-1")])


def test_a_resent_debit_answers_updated_even_when_the_balance_could_not_pay_it_again(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=user.id, asset=Asset.BALANCE, amount=_units("1"),
                  reason="test")  # fmt: skip
    assert updated(_send(mor, user.id, "-1", "all-of-it")) is not None
    assert updated(_send(mor, user.id, "-1", "all-of-it")) is not None
    assert _ledger(uow, user.id)[0] == 0


def test_different_keys_and_requests_without_a_key_each_apply(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    for key in ("a", "b", None, None):
        assert updated(_send(mor, user.id, "2", key)) is not None
    balance, entries = _ledger(uow, user.id)
    assert balance == _units("8")
    assert [key for _, key in entries] == ["a", "b", None, None]


def test_the_same_key_with_another_amount_is_refused_and_changes_nothing(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    assert updated(_send(mor, user.id, "5", "k")) is not None
    assert error_of(_send(mor, user.id, "6", "k")) == NOT_UPDATED
    assert _ledger(uow, user.id) == (_units("5"), [(_units("5"), "k")])


@pytest.mark.parametrize("key", ["", "x" * 129], ids=["empty", "129-chars"])
def test_a_key_that_is_empty_or_longer_than_128_characters_is_refused(
    uow: UnitOfWork, mor: MorClient, key: str
) -> None:
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    assert error_of(_send(mor, user.id, "5", key)) == NOT_UPDATED
    assert _ledger(uow, user.id) == (0, [])


def test_a_key_of_exactly_128_characters_is_stored(uow: UnitOfWork, mor: MorClient) -> None:
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    key = "k" * 128
    assert updated(_send(mor, user.id, "5", key)) is not None
    assert _ledger(uow, user.id) == (_units("5"), [(_units("5"), key)])


def test_a_key_with_a_wrong_hash_is_refused_as_incorrect_hash_before_the_key_is_looked_at(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    params = {"u": "admin", "user_id": str(user.id), "balance": "5", "hash": "0" * 40}
    response = mor.http.post("/billing/api/user_balance_update", data=params,
                             headers={"Idempotency-Key": "x" * 200})  # fmt: skip
    assert error_of(response) == "Incorrect hash"
    assert _ledger(uow, user.id) == (0, [])


def test_the_same_key_from_two_callers_is_two_payments_and_each_replays_its_own(
    uow: UnitOfWork, mor: MorClient
) -> None:
    """The admin and a reseller both send `order-1` for the same amount to one user: a key
    belongs to its caller, so both move money (before, the second answered "updated" and
    moved nothing: a payment silently lost). Each caller's resend still applies once."""
    reseller = factories.reseller(uow)
    auth.set_mor_secret(uow, account_id=reseller.id, secret="R")
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.POST_PAID)
    for u, secret in (("admin", ADMIN_SECRET), (reseller.name, "R"), ("admin", ADMIN_SECRET),
                      (reseller.name, "R")):  # fmt: skip
        response = _send(mor, customer.id, "10", "order-1", u=u, secret=secret)
        assert updated(response) is not None, u
    assert _ledger(uow, customer.id) == (_units("20"), [(_units("10"), "order-1")] * 2)
    with uow.read() as tx:
        actors = sorted(e.actor_id or 0 for e in tx.wallets.entries(customer.id))
    assert actors == sorted([ADMIN_ID, reseller.id])
    # Each caller's key still refuses another amount.
    refused = _send(mor, customer.id, "11", "order-1", u=reseller.name, secret="R")
    assert error_of(refused) == NOT_UPDATED
    assert _ledger(uow, customer.id)[0] == _units("20")
