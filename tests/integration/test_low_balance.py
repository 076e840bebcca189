"""Low-balance alerts: one SMS per downward crossing of the threshold, whatever change
crosses it (a charge, the CLI, a transfer), and none again until the value went back up."""

from __future__ import annotations

import pytest

from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.errors import InvalidField
from smsaccounts.services import accounts, charging, low_balance, wallet
from smsaccounts.services.charging import Message
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

CONTACT = "+436761234567"


def _alerts(uow: UnitOfWork) -> list[str]:
    with uow.read() as tx:
        return [m.text for m in tx.outbox.messages() if m.purpose == low_balance.PURPOSE]


def _pool(uow: UnitOfWork, credits: int, **settings: object) -> Account:
    reseller = factories.reseller(uow)
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    if credits:
        wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=credits,
                      reason="t")  # fmt: skip
    accounts.update(uow, actor=reseller, account_id=customer.id, changes=settings)
    return customer


def test_the_alert_fires_once_per_downward_crossing(uow: UnitOfWork) -> None:
    pool = _pool(uow, 10, low_balance_threshold=5, low_balance_contact=CONTACT)
    sender = factories.user(uow, parent=pool, funding="parent")
    for i, (n, expected) in enumerate(((3, 0), (2, 0), (1, 1), (1, 1))):  # 7, 5, 4 (crosses), 3
        charging.charge(uow, caller=sender, account=sender, reference=f"r{i}",
                        message=Message(recipients=["4520123456"], parts=n))  # fmt: skip
        assert len(_alerts(uow)) == expected
    wallet.credit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=5, reason="top-up")  # 8
    wallet.debit(uow, account_id=pool.id, asset=Asset.CREDITS, amount=6, reason="t")  # 2
    texts = _alerts(uow)
    assert len(texts) == 2
    with uow.read() as tx:
        assert {m.to_msisdn for m in tx.outbox.messages()} == {"436761234567"}
    assert "has 4 credits left, below the 5" in texts[0]


def test_money_thresholds_and_no_alert_without_a_contact(uow: UnitOfWork) -> None:
    pool = _pool(uow, 0, low_balance_asset="balance", low_balance_threshold=10_000_000,
                 low_balance_contact=CONTACT)  # fmt: skip
    wallet.credit(uow, account_id=pool.id, asset=Asset.BALANCE, amount=20_000_000, reason="t")
    wallet.debit(uow, account_id=pool.id, asset=Asset.BALANCE, amount=15_000_000, reason="t")
    assert _alerts(uow) == [f"Low balance: {pool.name} has 0.50 balance left, below the 1.00 "
                            "you set."]  # fmt: skip
    quiet = _pool(uow, 10, low_balance_threshold=5)
    wallet.debit(uow, account_id=quiet.id, asset=Asset.CREDITS, amount=9, reason="t")
    assert len(_alerts(uow)) == 1


def test_a_contact_must_be_a_valid_msisdn(uow: UnitOfWork) -> None:
    pool = _pool(uow, 1)
    reseller = accounts.get(uow, actor=pool, account_id=pool.id)
    for contact in ("ops@example.com", "https://hooks.example/low", "+4512"):
        with pytest.raises(InvalidField):
            accounts.update(uow, actor=reseller, account_id=pool.id,
                            changes={"low_balance_contact": contact})  # fmt: skip
