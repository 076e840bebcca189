"""The wallet rules through the real wallet services, on the in-memory unit of work.

Pre-paid never below zero; post-paid credits without a floor, post-paid money down to its
credit limit; free SMS never below zero; a credit always applies; an idempotency key
applies a change once, also when a concurrent request with the same key wins the race.
"""

from __future__ import annotations

import pytest

from smsaccounts.domain import wallet_rules
from smsaccounts.domain.models import Account, Asset, BillingType, LedgerEntry
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.errors import ErrorCode, InsufficientFunds, InvalidField, NotFound
from smsaccounts.services import accounts, wallet
from tests.unit.fakes import FakeUnitOfWork

PRE, POST = BillingType.PRE_PAID, BillingType.POST_PAID


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def reseller(uow: FakeUnitOfWork, billing_type: BillingType, name: str = "r") -> Account:
    return accounts.create(
        uow, kind=Kind.RESELLER, name=name, parent_id=ADMIN_ID, billing_type=billing_type
    )


def customer(uow: FakeUnitOfWork, parent: Account, billing_type: BillingType) -> Account:
    return accounts.create(
        uow, kind=Kind.CUSTOMER, name="c", parent_id=parent.id, billing_type=billing_type
    )


def value(uow: FakeUnitOfWork, account: Account, asset: Asset) -> int:
    found: int = getattr(wallet.get(uow, account_id=account.id), asset.value)
    return found


def assert_wallet_equals_ledger(uow: FakeUnitOfWork, account: Account) -> None:
    with uow.read() as tx:
        for asset in Asset:
            assert value(uow, account, asset) == tx.wallets.ledger_sum(account.id, asset)


def set_credit_limit(uow: FakeUnitOfWork, account: Account, limit: int | None) -> None:
    with uow.write() as tx:
        tx.wallets.set_terms(account.id, credit_limit=limit)


@pytest.mark.parametrize(
    ("asset", "billing_type", "credit_limit", "floor"),
    [
        (Asset.CREDITS, PRE, None, 0),
        (Asset.FREE_SMS, PRE, None, 0),
        (Asset.BALANCE, PRE, 100, 0),
        (Asset.CREDITS, POST, 100, None),
        (Asset.FREE_SMS, POST, 100, 0),
        (Asset.BALANCE, POST, 100, -100),
        (Asset.BALANCE, POST, None, None),
        (Asset.BALANCE, POST, -5, 0),  # a negative limit never lifts the floor above zero
    ],
)
def test_the_floor_per_asset_and_billing_type(
    asset: Asset, billing_type: BillingType, credit_limit: int | None, floor: int | None
) -> None:
    assert wallet_rules.floor(asset, billing_type, credit_limit) == floor


@pytest.mark.parametrize("asset", list(Asset))
def test_a_pre_paid_wallet_never_goes_below_zero(uow: FakeUnitOfWork, asset: Asset) -> None:
    account = reseller(uow, PRE)
    set_credit_limit(uow, account, 1000)  # a credit limit means nothing pre-paid
    wallet.credit(uow, account_id=account.id, asset=asset, amount=5, reason="t")
    with pytest.raises(InsufficientFunds):
        wallet.debit(uow, account_id=account.id, asset=asset, amount=6, reason="t")
    assert value(uow, account, asset) == 5
    assert (
        wallet.debit(uow, account_id=account.id, asset=asset, amount=5, reason="t").resulting == 0
    )
    with pytest.raises(InsufficientFunds):
        wallet.change(uow, account_id=account.id, asset=asset, amount=-1, reason="t")
    assert value(uow, account, asset) == 0
    assert_wallet_equals_ledger(uow, account)


def test_post_paid_money_goes_down_to_the_credit_limit_and_no_further(
    uow: FakeUnitOfWork,
) -> None:
    account = reseller(uow, POST)
    set_credit_limit(uow, account, 100)
    entry = wallet.debit(uow, account_id=account.id, asset=Asset.BALANCE, amount=100, reason="t")
    assert entry.resulting == -100
    with pytest.raises(InsufficientFunds):
        wallet.debit(uow, account_id=account.id, asset=Asset.BALANCE, amount=1, reason="t")
    set_credit_limit(uow, account, None)  # no limit: no floor
    big = wallet.debit(uow, account_id=account.id, asset=Asset.BALANCE, amount=10**9, reason="t")
    assert big.resulting == -(10**9) - 100
    assert_wallet_equals_ledger(uow, account)


def test_post_paid_credits_have_no_floor_but_free_sms_do(uow: FakeUnitOfWork) -> None:
    account = reseller(uow, POST)
    set_credit_limit(uow, account, 0)
    debt = wallet.debit(uow, account_id=account.id, asset=Asset.CREDITS, amount=500, reason="t")
    assert debt.resulting == -500
    with pytest.raises(InsufficientFunds):
        wallet.debit(uow, account_id=account.id, asset=Asset.FREE_SMS, amount=1, reason="t")
    assert value(uow, account, Asset.FREE_SMS) == 0


def test_a_credit_always_applies_even_to_a_wallet_below_its_floor(uow: FakeUnitOfWork) -> None:
    account = reseller(uow, POST)
    set_credit_limit(uow, account, 100)
    wallet.debit(uow, account_id=account.id, asset=Asset.BALANCE, amount=100, reason="t")
    set_credit_limit(uow, account, 10)  # the limit lowered: the wallet is now below its floor
    entry = wallet.credit(uow, account_id=account.id, asset=Asset.BALANCE, amount=5, reason="t")
    assert entry.resulting == -95
    with pytest.raises(InsufficientFunds):
        wallet.debit(uow, account_id=account.id, asset=Asset.BALANCE, amount=1, reason="t")
    assert_wallet_equals_ledger(uow, account)


def test_amounts_must_be_positive_and_wallets_must_exist(uow: FakeUnitOfWork) -> None:
    account = reseller(uow, PRE)
    with pytest.raises(InvalidField):
        wallet.credit(uow, account_id=account.id, asset=Asset.CREDITS, amount=0, reason="t")
    with pytest.raises(InvalidField):
        wallet.debit(uow, account_id=account.id, asset=Asset.CREDITS, amount=-3, reason="t")
    with pytest.raises(NotFound):
        wallet.change(uow, account_id=424242, asset=Asset.CREDITS, amount=-1, reason="t")


def credit(
    uow: FakeUnitOfWork, account: Account, amount: int, key: str, asset: Asset = Asset.CREDITS
) -> LedgerEntry:
    return wallet.credit(
        uow, account_id=account.id, asset=asset, amount=amount, reason="t", idempotency_key=key
    )


def debit(uow: FakeUnitOfWork, account: Account, amount: int, key: str) -> LedgerEntry:
    return wallet.debit(
        uow, account_id=account.id, asset=Asset.CREDITS, amount=amount, reason="t",
        idempotency_key=key,
    )  # fmt: skip


def test_the_same_idempotency_key_applies_once(uow: FakeUnitOfWork) -> None:
    account = reseller(uow, PRE)
    first = credit(uow, account, 5, "k")
    again = credit(uow, account, 5, "k")
    assert (again.id, again.replayed, first.replayed) == (first.id, True, False)
    assert value(uow, account, Asset.CREDITS) == 5
    with pytest.raises(InvalidField) as error:
        credit(uow, account, 6, "k")
    assert error.value.field == "idempotency_key"
    # The key is per account and asset: free SMS under the same key are another change.
    assert not credit(uow, account, 2, "k", asset=Asset.FREE_SMS).replayed
    # Inside one transaction of the caller's, a repeat answers the entry it has just written.
    with uow.write() as tx:
        inner, repeat = (
            wallet.apply(tx, account_id=account.id, asset=Asset.CREDITS, amount=-1,
                         reason="t", idempotency_key="k2")
            for _ in range(2)
        )  # fmt: skip
    assert (repeat.id, repeat.replayed) == (inner.id, True)
    assert value(uow, account, Asset.CREDITS) == 4
    assert_wallet_equals_ledger(uow, account)


def test_a_concurrent_request_with_the_same_key_wins_and_the_loser_answers_its_entry(
    uow: FakeUnitOfWork,
) -> None:
    """Both passed the key check; the winner commits first; the loser's change is undone."""
    account = reseller(uow, PRE)
    wallet.credit(uow, account_id=account.id, asset=Asset.CREDITS, amount=10, reason="seed")
    won: list[LedgerEntry] = []
    uow.interleave(lambda u: won.append(debit(u, account, 3, "k")))
    lost = debit(uow, account, 3, "k")
    assert [e.id for e in won] == [lost.id]
    assert lost.replayed
    assert value(uow, account, Asset.CREDITS) == 7
    assert_wallet_equals_ledger(uow, account)
    # A loser that asked for another amount is refused, and its change is undone all the same.
    uow.interleave(lambda u: debit(u, account, 1, "j"))
    with pytest.raises(InvalidField):
        debit(uow, account, 2, "j")
    assert value(uow, account, Asset.CREDITS) == 6
    assert_wallet_equals_ledger(uow, account)


def test_a_transfer_moves_both_sides_or_neither(uow: FakeUnitOfWork) -> None:
    pool = reseller(uow, PRE)
    shop = customer(uow, pool, PRE)
    wallet.credit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=10, reason="seed")
    out, into = wallet.transfer(
        uow, from_id=pool.id, to_id=shop.id, asset=Asset.CREDITS, amount=4, reason="t"
    )
    assert (out.resulting, into.resulting, out.amount, into.amount) == (6, 4, -4, 4)
    with pytest.raises(InsufficientFunds):
        wallet.transfer(
            uow, from_id=pool.id, to_id=shop.id, asset=Asset.CREDITS, amount=7, reason="t"
        )
    # Backwards: the lower id (the receiving pool) is changed first, then the refusal undoes it.
    with pytest.raises(InsufficientFunds):
        wallet.transfer(
            uow, from_id=shop.id, to_id=pool.id, asset=Asset.CREDITS, amount=5, reason="t"
        )
    with pytest.raises(InvalidField):
        wallet.transfer(
            uow, from_id=pool.id, to_id=pool.id, asset=Asset.CREDITS, amount=1, reason="t"
        )
    assert (value(uow, pool, Asset.CREDITS), value(uow, shop, Asset.CREDITS)) == (6, 4)
    for account in (pool, shop):
        assert_wallet_equals_ledger(uow, account)


def test_a_transfer_under_an_idempotency_key_moves_once(uow: FakeUnitOfWork) -> None:
    pool = reseller(uow, PRE)
    shop = customer(uow, pool, PRE)
    wallet.credit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=10, reason="seed")
    first, again = (
        wallet.transfer(uow, from_id=pool.id, to_id=shop.id, asset=Asset.CREDITS, amount=4,
                        reason="t", idempotency_key="m")
        for _ in range(2)
    )  # fmt: skip
    assert [e.id for e in again] == [e.id for e in first]
    assert all(e.replayed for e in again)
    assert (value(uow, pool, Asset.CREDITS), value(uow, shop, Asset.CREDITS)) == (6, 4)


@pytest.mark.parametrize("billing_type", [PRE, POST])
def test_no_change_takes_a_value_past_what_its_column_holds(
    uow: FakeUnitOfWork, billing_type: BillingType
) -> None:
    """Increases too: at VALUE_MAX one more unit is out of range, and so is an amount no
    ledger entry holds; the floor still decides below zero (insufficient, not range)."""
    account = reseller(uow, billing_type)
    wallet.credit(uow, account_id=account.id, asset=Asset.CREDITS,
                  amount=wallet_rules.VALUE_MAX, reason="t")  # fmt: skip
    for amount in (1, 2**63, 10**30):
        with pytest.raises(InvalidField) as error:
            wallet.change(uow, account_id=account.id, asset=Asset.CREDITS, amount=amount,
                          reason="t")  # fmt: skip
        assert error.value.code is ErrorCode.VALUE_OUT_OF_RANGE
    assert value(uow, account, Asset.CREDITS) == wallet_rules.VALUE_MAX
    assert_wallet_equals_ledger(uow, account)
    assert wallet_rules.fits(wallet_rules.VALUE_MIN, 0)
    assert not wallet_rules.fits(wallet_rules.VALUE_MIN, -1)


def test_an_idempotency_key_belongs_to_its_caller_and_operation(uow: FakeUnitOfWork) -> None:
    """The same key from another actor, or for another operation, is another change; the
    same caller's resend is the first entry."""
    pool = reseller(uow, PRE)
    shop = customer(uow, pool, PRE)

    def credit_as(actor: int | None, reason: str = "t") -> LedgerEntry:
        return wallet.credit(uow, account_id=shop.id, asset=Asset.CREDITS, amount=5,
                             reason=reason, actor_id=actor, idempotency_key="order-1")  # fmt: skip

    first = credit_as(ADMIN_ID)
    assert not credit_as(pool.id).replayed
    assert not credit_as(None).replayed
    assert not credit_as(ADMIN_ID, reason="other").replayed
    again = credit_as(ADMIN_ID)
    assert (again.id, again.replayed) == (first.id, True)
    assert value(uow, shop, Asset.CREDITS) == 20
    assert_wallet_equals_ledger(uow, shop)
