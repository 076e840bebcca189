"""Wallet changes on the real databases: guards, ledger, idempotency, transfers."""

import contextvars
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import event

from smsaccounts.domain.models import Asset, BillingType
from smsaccounts.errors import InsufficientFunds, InvalidField, NotFound
from smsaccounts.services import audit, wallet
from smsaccounts.storage.tables import ledger
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories


def assert_wallet_equals_ledger(uow: UnitOfWork, account_id: int) -> None:
    with uow.read() as tx:
        w = tx.wallets.get(account_id)
        assert w is not None
        for asset in Asset:
            assert getattr(w, asset.value) == tx.wallets.ledger_sum(account_id, asset)


def test_a_credit_and_a_debit_each_write_one_ledger_row(uow: UnitOfWork) -> None:
    user = factories.user(uow)
    first = wallet.credit(uow, account_id=user.id, asset=Asset.CREDITS, amount=10, reason="t")
    second = wallet.debit(uow, account_id=user.id, asset=Asset.CREDITS, amount=3, reason="t")
    assert (first.resulting, second.resulting, second.amount) == (10, 7, -3)
    with uow.read() as tx:
        assert [e.amount for e in tx.wallets.entries(user.id)] == [-3, 10]
    assert_wallet_equals_ledger(uow, user.id)


def test_a_pre_paid_wallet_never_goes_below_zero(uow: UnitOfWork) -> None:
    user = factories.user(uow, billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=user.id, asset=Asset.BALANCE, amount=5, reason="t")
    with pytest.raises(InsufficientFunds):
        wallet.debit(uow, account_id=user.id, asset=Asset.BALANCE, amount=6, reason="t")
    assert wallet.get(uow, account_id=user.id).balance == 5
    assert_wallet_equals_ledger(uow, user.id)


def test_a_post_paid_wallet_may_go_down_to_its_credit_limit(uow: UnitOfWork) -> None:
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    with uow.write() as tx:
        tx.wallets.set_terms(user.id, credit_limit=100)
    wallet.debit(uow, account_id=user.id, asset=Asset.BALANCE, amount=100, reason="t")
    with pytest.raises(InsufficientFunds):
        wallet.debit(uow, account_id=user.id, asset=Asset.BALANCE, amount=1, reason="t")
    with uow.write() as tx:
        tx.wallets.set_terms(user.id, credit_limit=None)
    assert (
        wallet.debit(
            uow, account_id=user.id, asset=Asset.BALANCE, amount=10**9, reason="t"
        ).resulting
        == -(10**9) - 100
    )


def test_free_sms_never_go_negative_even_post_paid(uow: UnitOfWork) -> None:
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    with pytest.raises(InsufficientFunds):
        wallet.debit(uow, account_id=user.id, asset=Asset.FREE_SMS, amount=1, reason="t")


def test_the_same_idempotency_key_applies_once(uow: UnitOfWork) -> None:
    user = factories.user(uow)
    first = wallet.credit(
        uow, account_id=user.id, asset=Asset.CREDITS, amount=5, reason="t", idempotency_key="k1"
    )
    again = wallet.credit(
        uow, account_id=user.id, asset=Asset.CREDITS, amount=5, reason="t", idempotency_key="k1"
    )
    assert again.id == first.id
    assert again.replayed
    assert not first.replayed
    assert wallet.get(uow, account_id=user.id).credits == 5
    with pytest.raises(InvalidField) as error:
        wallet.credit(
            uow, account_id=user.id, asset=Asset.CREDITS, amount=6, reason="t", idempotency_key="k1"
        )
    assert error.value.field == "idempotency_key"


def test_a_transfer_moves_both_sides_or_neither(uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow, credits=10)
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    out, into = wallet.transfer(
        uow, from_id=reseller.id, to_id=customer.id, asset=Asset.CREDITS, amount=4, reason="t"
    )
    assert (out.resulting, into.resulting) == (6, 4)
    with pytest.raises(InsufficientFunds):
        wallet.transfer(
            uow, from_id=reseller.id, to_id=customer.id, asset=Asset.CREDITS, amount=7, reason="t"
        )
    # Backwards with a higher id first: the customer side is locked first and still checked.
    with pytest.raises(InsufficientFunds):
        wallet.transfer(
            uow, from_id=customer.id, to_id=reseller.id, asset=Asset.CREDITS, amount=5, reason="t"
        )
    assert wallet.get(uow, account_id=reseller.id).credits == 6
    assert wallet.get(uow, account_id=customer.id).credits == 4
    for account in (reseller, customer):
        assert_wallet_equals_ledger(uow, account.id)


def test_amounts_must_be_positive_and_wallets_must_exist(uow: UnitOfWork) -> None:
    user = factories.user(uow)
    with pytest.raises(InvalidField):
        wallet.credit(uow, account_id=user.id, asset=Asset.CREDITS, amount=0, reason="t")
    with pytest.raises(NotFound):
        wallet.change(uow, account_id=424242, asset=Asset.CREDITS, amount=-1, reason="t")


def test_the_ledger_refuses_updates_and_deletes(uow: UnitOfWork) -> None:
    user = factories.user(uow)
    wallet.credit(uow, account_id=user.id, asset=Asset.CREDITS, amount=5, reason="t")
    for statement in (ledger.update().values(amount=500), ledger.delete()):
        with pytest.raises(sqlalchemy.exc.DatabaseError), uow.write() as tx:
            tx.conn.execute(statement)
    assert_wallet_equals_ledger(uow, user.id)


def test_a_change_writes_its_audit_row_with_its_ledger_entry_and_a_replay_neither(
    uow: UnitOfWork,
) -> None:
    """On PostgreSQL the two rows are one statement (a round trip less a change); SQLite,
    which has no INSERT inside a WITH, writes the audit row just before. Either way the
    row is what `audit.record` writes, and a replayed key writes neither again."""
    user = factories.user(uow)
    inserts: list[str] = []

    def seen(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if "INSERT" in sql.upper():
            inserts.append(" ".join(sql.split()).upper())

    def changed_twice() -> None:
        audit.begin("test", "192.0.2.1")  # the door of a context of its own (no other test's)
        for _ in range(2):
            wallet.change(uow, account_id=user.id, asset=Asset.CREDITS, amount=5, reason="t",
                          idempotency_key="k1")  # fmt: skip

    event.listen(uow.db.engine, "before_cursor_execute", seen)
    try:
        contextvars.copy_context().run(changed_twice)
    finally:
        event.remove(uow.db.engine, "before_cursor_execute", seen)
    into = [[table for table in ("AUDIT_LOG", "LEDGER") if f"INSERT INTO {table}" in sql]
            for sql in inserts]  # fmt: skip
    one_statement = uow.db.engine.dialect.name == "postgresql"
    assert into == ([["AUDIT_LOG", "LEDGER"]] if one_statement else [["AUDIT_LOG"], ["LEDGER"]])
    [row] = [e for e in audit.entries(uow, target_id=user.id) if e.action == "wallet.change"]
    assert (row.door, row.client_ip) == ("test", "192.0.2.1")
    assert row.changes == {"credits": (0, 5), "reason": (None, "t")}
    assert row.created_at == uow.clock.now()
