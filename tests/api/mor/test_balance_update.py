"""user_balance_update over HTTP: one ledger entry for exactly the amount, and every
refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from smsaccounts.domain import money
from smsaccounts.domain.models import Asset, BillingType
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import accounts, auth, low_balance, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.mor.conftest import MorClient, error_of, sha1_hash, updated


def _units(text: str) -> int:
    return money.to_units(Decimal(text))


def _state(uow: UnitOfWork, account_id: int) -> tuple[int, int, int]:
    """(wallet balance, ledger sum, ledger rows) of the account's money."""
    with uow.read() as tx:
        found = tx.wallets.get(account_id)
        assert found is not None
        total = tx.wallets.ledger_sum(account_id, Asset.BALANCE)
        rows = [e for e in tx.wallets.entries(account_id) if e.asset is Asset.BALANCE]
    return found.balance, total, len(rows)


def _update(mor: MorClient, u: str, account_id: int, amount: str, **kw: Any) -> Any:
    return mor.call("user_balance_update", u=u,
                    hashed={"user_id": str(account_id), "balance": amount}, **kw)  # fmt: skip


def test_the_admin_adds_exactly_the_amount_once_as_one_ledger_entry(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, billing_type=BillingType.PRE_PAID)
    response = _update(mor, "admin", user.id, "12.3456789")
    assert error_of(response) is None
    assert updated(response) is not None
    assert _state(uow, user.id) == (_units("12.3456789"), _units("12.3456789"), 1)
    with uow.read() as tx:
        (entry,) = tx.wallets.entries(user.id)
    assert (entry.reason, entry.actor_id, entry.amount) == (
        "mor_balance_update", ADMIN_ID, _units("12.3456789")
    )  # fmt: skip


def test_the_old_name_and_a_negative_amount_within_the_balance_work(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=user.id, asset=Asset.BALANCE, amount=_units("10"),
                  reason="test")  # fmt: skip
    response = mor.call("user_balance_change", u="admin",
                        hashed={"user_id": str(user.id), "balance": "-2.5"})  # fmt: skip
    assert updated(response) is not None
    assert _state(uow, user.id) == (_units("7.5"), _units("7.5"), 2)


def test_a_reseller_updates_an_account_below_it_with_its_own_secret(
    uow: UnitOfWork, mor: MorClient
) -> None:
    reseller = factories.reseller(uow)
    auth.set_mor_secret(uow, account_id=reseller.id, secret="R")
    customer = factories.customer(uow, parent=reseller)
    response = _update(mor, reseller.name, customer.id, "5", secret="R")
    assert updated(response) is not None
    assert _state(uow, customer.id) == (_units("5"), _units("5"), 1)


def test_taking_a_pre_paid_balance_below_zero_is_refused_and_changes_nothing(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=user.id, asset=Asset.BALANCE, amount=_units("1"),
                  reason="test")  # fmt: skip
    response = _update(mor, "admin", user.id, "-1.0000001")
    assert error_of(response) == "User balance not updated"
    assert _state(uow, user.id) == (_units("1"), _units("1"), 1)


def test_a_non_numeric_or_zero_amount_is_refused_and_changes_nothing(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow)
    answers = [error_of(_update(mor, "admin", user.id, amount))
               for amount in ("ten", "", "NaN", "1e400", "0.00000001", "0")]  # fmt: skip
    assert answers == ["User balance not updated"] * 6
    assert _state(uow, user.id) == (0, 0, 0)


@pytest.mark.parametrize(
    "amount",
    ["1_000", "\uff15", "\u0665", "1_0.5", "1e5", "+5", " 5", "5 ", "5.", ".5", "1.00000000"],
    ids=["underscore", "fullwidth-5", "arabic-indic-5", "underscore-decimal", "exponent",
         "plus", "leading-space", "trailing-space", "bare-point", "no-integer-part",
         "8-places"],
)  # fmt: skip
def test_an_amount_that_is_not_a_plain_ascii_decimal_is_refused_and_changes_nothing(
    uow: UnitOfWork, mor: MorClient, amount: str
) -> None:
    """Decimal() reads every one of these; the grammar is `-?[0-9]+(.[0-9]+)?`, 7 places at
    most. Each is signed correctly, so only the grammar refuses it."""
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    assert error_of(_update(mor, "admin", user.id, amount)) == "User balance not updated"
    assert _state(uow, user.id) == (0, 0, 0)


def test_a_tampered_amount_is_an_incorrect_hash_and_changes_nothing(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow)
    signed_for_ten = sha1_hash(str(user.id), "10", "456789")
    response = _update(mor, "admin", user.id, "1000", hash=signed_for_ten)
    assert error_of(response) == "Incorrect hash"
    assert _state(uow, user.id) == (0, 0, 0)


def test_a_user_or_a_customer_calling_it_is_access_denied(uow: UnitOfWork, mor: MorClient) -> None:
    customer = factories.customer(uow)
    user = factories.user(uow, parent=customer)
    sub = factories.user(uow, parent=user)
    by_user = _update(mor, user.name, sub.id, "5")
    by_customer = _update(mor, customer.name, user.id, "5")
    assert error_of(by_user) == error_of(by_customer) == "Access Denied"
    assert _state(uow, sub.id) == _state(uow, user.id) == (0, 0, 0)


def test_no_one_changes_its_own_balance(uow: UnitOfWork, mor: MorClient) -> None:
    reseller = factories.reseller(uow)
    own = _update(mor, reseller.name, reseller.id, "5")
    admin_own = _update(mor, "admin", ADMIN_ID, "5")
    assert error_of(own) == error_of(admin_own) == "Access Denied"
    assert _state(uow, reseller.id) == _state(uow, ADMIN_ID) == (0, 0, 0)


def test_another_resellers_account_is_not_found_and_unchanged(
    uow: UnitOfWork, mor: MorClient
) -> None:
    reseller = factories.reseller(uow)
    foreign = factories.customer(uow)
    outside = _update(mor, reseller.name, foreign.id, "5")
    missing = _update(mor, reseller.name, 999999, "5")
    assert error_of(outside) == "User was not found"
    assert outside.content == missing.content
    assert _state(uow, foreign.id) == (0, 0, 0)


def test_an_unhashed_username_cannot_pick_the_target(uow: UnitOfWork, mor: MorClient) -> None:
    """Only the hashed user_id names the account; a username added on the side is ignored."""
    user = factories.user(uow)
    other = factories.user(uow)
    response = _update(mor, "admin", user.id, "5", extra={"username": other.name})
    assert updated(response) is not None
    assert _state(uow, user.id)[0] == _units("5")
    assert _state(uow, other.id) == (0, 0, 0)


def test_a_wrong_password_on_an_update_is_a_bad_login_and_changes_nothing(
    uow: UnitOfWork, mor: MorClient
) -> None:
    reseller = factories.reseller(uow)
    customer = factories.customer(uow, parent=reseller)
    response = _update(mor, reseller.name, customer.id, "5", p="not-it")
    assert error_of(response) == "Bad login"
    assert _state(uow, customer.id) == (0, 0, 0)


def test_a_debit_that_crosses_the_low_balance_threshold_queues_one_alert(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=user.id, asset=Asset.BALANCE, amount=_units("10"),
                  reason="test")  # fmt: skip
    with uow.read() as tx:
        admin = tx.accounts.get(ADMIN_ID)
    assert admin is not None
    accounts.update(uow, actor=admin, account_id=user.id,
                    changes={"low_balance_threshold": _units("5"), "low_balance_asset": "balance",
                             "low_balance_contact": "+436761234567"})  # fmt: skip
    for amount in ("-4", "-2", "-1"):  # 6, 4 (crosses), 3
        assert error_of(_update(mor, "admin", user.id, amount)) is None
    with uow.read() as tx:
        alerts = [m.text for m in tx.outbox.messages() if m.purpose == low_balance.PURPOSE]
    assert len(alerts) == 1
    assert "4.00" in alerts[0]
