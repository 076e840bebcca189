"""Charging a message: one transaction that authorizes and debits the paying wallet, never
overselling a shared pool, once per (caller, reference); refunds at most what was taken."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from smsaccounts.config import Settings
from smsaccounts.domain.charging import MessageClass
from smsaccounts.domain.clock import SystemClock
from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.errors import (
    AccountDisabled,
    ChargeRefused,
    DomainError,
    ErrorCode,
    InsufficientFunds,
    NotFound,
)
from smsaccounts.services import accounts, charging, wallet
from smsaccounts.services.charging import Message
from smsaccounts.storage.database import make_engine
from smsaccounts.storage.tables import charges
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.conftest import make_uow

DK = "4520123456"  # a valid Danish mobile number
AT = "436761234567"
TWO_PARTS = "x" * 161  # GSM 7-bit: 161 septets take two parts of 153


def _pool(uow: UnitOfWork, *, credits: int = 0, free_sms: int = 0,
          billing: BillingType = BillingType.PRE_PAID) -> Account:  # fmt: skip
    reseller = factories.reseller(uow, billing_type=billing)
    customer = factories.customer(uow, parent=reseller, billing_type=billing)
    for asset, amount in ((Asset.CREDITS, credits), (Asset.FREE_SMS, free_sms)):
        if amount:
            wallet.credit(uow, account_id=customer.id, asset=asset, amount=amount, reason="t")
    return customer


def _sender(uow: UnitOfWork, customer: Account, **attrs: Any) -> Account:
    return factories.user(uow, parent=customer, funding="parent", **attrs)


def _charge(uow: UnitOfWork, sender: Account, reference: str, **message: Any) -> Any:
    message.setdefault("recipients", [DK])
    message.setdefault("text", "hello")
    return charging.charge(uow, caller=sender, account=sender, reference=reference,
                           message=Message(**message))  # fmt: skip


def test_a_charge_takes_free_sms_first_then_the_pools_credits_with_a_ledger_row_each(
    uow: UnitOfWork,
) -> None:
    customer = _pool(uow, credits=10, free_sms=1)
    sender = _sender(uow, customer)
    wallet.credit(uow, account_id=sender.id, asset=Asset.FREE_SMS, amount=1, reason="grant")
    result = _charge(uow, sender, "r1", recipients=[DK, AT], text=TWO_PARTS)  # 4 parts
    found = result.charge
    assert (found.parts, found.own_free_sms, found.free_sms, found.credits) == (4, 1, 1, 2)
    assert (result.spendable.free_sms, result.spendable.credits) == (0, 8)
    pool = wallet.get(uow, account_id=customer.id)
    assert (pool.credits, pool.free_sms) == (8, 0)
    assert wallet.get(uow, account_id=sender.id).messages_sent == 4
    rows = [(e.asset, e.amount) for e in wallet.entries(uow, account_id=customer.id)
            if e.reason == charging.CHARGE_REASON]  # fmt: skip
    assert sorted(rows) == [(Asset.CREDITS, -2), (Asset.FREE_SMS, -1)]


def test_a_replayed_reference_answers_the_first_charge_and_moves_nothing(
    uow: UnitOfWork,
) -> None:
    customer = _pool(uow, credits=10)
    sender = _sender(uow, customer)
    first = _charge(uow, sender, "same")
    again = _charge(uow, sender, "same", recipients=[DK, AT])  # the first result, whatever
    assert again.replayed
    assert again.charge == first.charge
    assert wallet.get(uow, account_id=customer.id).credits == 9
    other = factories.user(uow, parent=customer, funding="parent")
    _charge(uow, other, "same")  # another caller's reference is its own
    assert wallet.get(uow, account_id=customer.id).credits == 8


def test_money_is_taken_at_the_payers_price_per_part_post_paid_down_to_its_limit(
    uow: UnitOfWork,
) -> None:
    customer = _pool(uow, billing=BillingType.POST_PAID)
    with uow.write() as tx:
        tx.wallets.set_terms(customer.id, price_per_part=500_000, credit_limit=1_000_000)
    sender = _sender(uow, customer)
    found = _charge(uow, sender, "m1", text=TWO_PARTS).charge  # 2 parts x 0.05
    assert (found.money, found.credits) == (1_000_000, 0)
    assert wallet.get(uow, account_id=customer.id).balance == -1_000_000
    with pytest.raises(InsufficientFunds):
        _charge(uow, sender, "m2")
    assert wallet.get(uow, account_id=customer.id).balance == -1_000_000


def _refusal(uow: UnitOfWork, sender: Account, **message: Any) -> DomainError:
    with pytest.raises(DomainError) as raised:
        _charge(uow, sender, "refused", **message)
    return raised.value


def test_every_refusal_is_a_named_error_and_charges_nothing(uow: UnitOfWork) -> None:
    customer = _pool(uow, credits=3)
    sender = _sender(uow, customer, prefixes="45")
    capped = _sender(uow, customer)
    with uow.write() as tx:
        tx.wallets.set_terms(capped.id, max_messages=1)
    cases: dict[ErrorCode, tuple[Account, dict[str, Any]]] = {
        ErrorCode.RECIPIENT_INVALID: (sender, {"recipients": ["4512"]}),
        ErrorCode.RECIPIENT_PREFIX_NOT_ALLOWED: (sender, {"recipients": [AT]}),
        ErrorCode.MESSAGE_CLASS_NOT_ALLOWED: (sender, {"message_class": MessageClass.PREMIUM}),
        ErrorCode.MESSAGE_TOO_LONG: (sender, {"text": "x" * (153 * 10 + 1)}),
        ErrorCode.MESSAGE_LIMIT_REACHED: (capped, {"text": TWO_PARTS}),
        ErrorCode.INSUFFICIENT_FUNDS: (sender, {"recipients": [DK] * 4}),
    }
    for code, (who, message) in cases.items():
        assert _refusal(uow, who, **message).code is code, code
    charity = _refusal(uow, sender, message_class=MessageClass.CHARITY)
    assert charity.code is ErrorCode.MESSAGE_CLASS_NOT_ALLOWED
    assert wallet.get(uow, account_id=customer.id).credits == 3
    assert wallet.get(uow, account_id=capped.id).messages_sent == 0


def test_countries_acls_and_a_disabled_ancestor(uow: UnitOfWork, settings: Settings) -> None:
    customer = _pool(uow, credits=5)
    high = _sender(uow, customer, acl_billing=True)
    premium = {"message_class": MessageClass.PREMIUM}
    _charge(uow, high, "p1", price=10_000_000, **premium)  # 1.00: below the 5 of the setting
    with pytest.raises(ChargeRefused) as raised:
        _charge(uow, high, "p2", price=60_000_000, **premium)  # 6.00 needs aclBillingHigh
    assert raised.value.acl == "acl_billing_high"
    dk_only = make_uow(settings.replace(allowed_countries=frozenset({"DK"})), uow.db.engine,
                       uow.clock)  # fmt: skip
    with pytest.raises(ChargeRefused) as raised:
        _charge(dk_only, high, "c1", recipients=[AT])
    assert raised.value.code is ErrorCode.RECIPIENT_COUNTRY_NOT_ALLOWED
    root = accounts.get(uow, actor=customer, account_id=customer.id)
    accounts.disable(uow, actor=root, account_id=customer.id)
    with pytest.raises(AccountDisabled):
        _charge(uow, high, "d1")
    assert wallet.get(uow, account_id=customer.id).credits == 4


def test_a_refund_puts_back_at_most_the_charge_once(uow: UnitOfWork) -> None:
    customer = _pool(uow, credits=10, free_sms=1)
    sender = _sender(uow, customer)
    _charge(uow, sender, "r", recipients=[DK, AT], text=TWO_PARTS)  # 1 free + 3 credits
    with pytest.raises(ChargeRefused) as raised:
        charging.refund(uow, caller=sender, reference="r", parts=5)
    assert raised.value.code is ErrorCode.REFUND_EXCEEDS_CHARGE
    with pytest.raises(NotFound):
        charging.refund(uow, caller=sender, reference="other", parts=1)
    result = charging.refund(uow, caller=sender, reference="r", parts=4)
    assert result.charge.refunded_parts == 4
    pool = wallet.get(uow, account_id=customer.id)
    assert (pool.credits, pool.free_sms) == (10, 1)
    with pytest.raises(ChargeRefused) as raised:
        charging.refund(uow, caller=sender, reference="r", parts=1)
    assert raised.value.code is ErrorCode.REFUND_ALREADY_MADE
    assert wallet.get(uow, account_id=customer.id).credits == 10


WORKERS = 32


def test_32_concurrent_charges_never_oversell_one_shared_pool(settings: Settings) -> None:
    """Each worker charges 2 parts to a pool of 10 free SMS and 40 credits, with every
    reference sent twice: charged parts = pool decrease = ledger, nothing negative."""
    engine = (make_engine(settings, pool_size=WORKERS, max_overflow=0)
              if not settings.is_sqlite else make_engine(settings))  # fmt: skip
    uow = make_uow(settings, engine, SystemClock())
    customer = _pool(uow, credits=40, free_sms=10)
    senders = [_sender(uow, customer) for _ in range(4)]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(WORKERS)

    def worker(n: int) -> None:
        sender = senders[n % len(senders)]
        start.wait()
        for reference in (f"w{n}-a", f"w{n}-b", f"w{n}-a"):
            try:
                result = _charge(uow, sender, reference, text=TWO_PARTS)
            except InsufficientFunds:
                outcome = "refused"
            else:
                outcome = "replayed" if result.replayed else "charged"
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes["charged"] == 25  # (10 + 40) / 2
    assert sum(outcomes.values()) == 3 * WORKERS
    with uow.read() as tx:
        pool = tx.wallets.get(customer.id)
        assert pool is not None
        assert (pool.credits, pool.free_sms) == (0, 0)
        taken = tx.conn.execute(charges.select()).all()
        assert sum(row.credits + row.free_sms for row in taken) == 50 == len(taken) * 2
        for asset in (Asset.CREDITS, Asset.FREE_SMS):
            assert tx.wallets.ledger_sum(customer.id, asset) == 0  # seeded, then all charged
    engine.dispose()
