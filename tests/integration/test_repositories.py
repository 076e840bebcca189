"""Repositories answer unique-constraint races with domain outcomes, and the transaction goes on."""

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from smsaccounts.domain.models import Asset, BillingType
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.domain.wallet_rules import IdempotencyKeyTaken
from smsaccounts.errors import AlreadyExists, ErrorCode
from smsaccounts.services import wallet
from smsaccounts.storage.unit_of_work import Tx, UnitOfWork
from tests import factories


def _credit_again(tx: Tx, account_id: int, key: str) -> None:
    """5 more credits and their entry under `key`, inside a savepoint as the service does."""
    with tx.savepoint():
        assert tx.wallets.apply(account_id, Asset.CREDITS, 5) == 10
        tx.wallets.record(
            account_id=account_id, asset=Asset.CREDITS, amount=5, resulting=10, reason="t",
            actor_id=None, idempotency_key=key, now=tx.now,
        )  # fmt: skip


def test_a_taken_live_name_or_msisdn_is_already_exists_and_the_transaction_goes_on(
    uow: UnitOfWork,
) -> None:
    factories.reseller(uow, name="taken", msisdn="436761111111")
    with uow.write() as tx:
        admin = tx.accounts.get(ADMIN_ID)
        with pytest.raises(AlreadyExists) as error:
            tx.accounts.add(kind=Kind.RESELLER, name="taken", parent=admin, now=tx.now)
        assert (error.value.code, error.value.field) == (ErrorCode.RESELLER_NAME_TAKEN, "name")
        with pytest.raises(AlreadyExists):
            tx.accounts.add(
                kind=Kind.RESELLER, name="other", parent=admin, now=tx.now, msisdn="436761111111"
            )
        fresh = tx.accounts.add(kind=Kind.RESELLER, name="fresh", parent=admin, now=tx.now)
        tx.wallets.add(fresh.id, currency="EUR", billing_type=BillingType.PRE_PAID)
    with uow.read() as tx:
        assert tx.accounts.get_by_name(Kind.RESELLER, "fresh") is not None


def test_a_used_idempotency_key_is_idempotency_key_taken_and_a_savepoint_undoes_the_change(
    uow: UnitOfWork,
) -> None:
    user = factories.user(uow)
    first = wallet.credit(
        uow, account_id=user.id, asset=Asset.CREDITS, amount=5, reason="t", idempotency_key="k"
    )
    with uow.write() as tx:
        with pytest.raises(IdempotencyKeyTaken):
            _credit_again(tx, user.id, "k")
        earlier = tx.wallets.find_entry(user.id, Asset.CREDITS, "-:t", "k")
        assert earlier is not None
        assert (earlier.id, earlier.replayed) == (first.id, True)
        assert tx.wallets.get(user.id).credits == 5  # type: ignore[union-attr]
    assert wallet.get(uow, account_id=user.id).credits == 5


def test_after_commit_runs_once_committed_and_never_for_what_was_undone(uow: UnitOfWork) -> None:
    """A transaction's after-commit actions (the metrics a charge counts) run after its
    commit; those asked inside an undone savepoint, or in a rolled-back transaction, never."""
    ran: list[str] = []
    with uow.write() as tx:
        tx.after_commit(lambda: ran.append("kept"))
        with pytest.raises(ZeroDivisionError):
            _ask_then_fail(tx.savepoint(), tx, lambda: ran.append("undone savepoint"))
        with tx.savepoint():
            tx.after_commit(lambda: ran.append("kept savepoint"))
        assert ran == []  # not committed yet
    assert ran == ["kept", "kept savepoint"]
    with pytest.raises(ZeroDivisionError):
        _ask_then_fail(uow.write(), None, lambda: ran.append("rolled back"))
    assert ran == ["kept", "kept savepoint"]


def _ask_then_fail(
    block: contextlib.AbstractContextManager[Any], tx: Tx | None, action: Callable[[], object]
) -> None:
    """Ask for `action` after commit inside `block` (on `tx`, or the one it opens), then fail."""
    with block as opened:
        (tx or opened).after_commit(action)
        raise ZeroDivisionError
