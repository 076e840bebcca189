"""Wallets: credit, debit and transfer; each change one conditional UPDATE plus one ledger row.

How low a wallet may go is `domain.wallet_rules`; the repository applies it in the same
statement that changes the value.

An idempotency key makes a change apply once: a repeat answers the first entry. A key
belongs to its caller (`actor_id`) and operation (`reason`), so the same key from two
callers is two changes. Two concurrent requests with the same key are settled by the
ledger's unique index: the loser's `record` raises IdempotencyKeyTaken, it rolls back to its
savepoint (undoing its change of the wallet) and answers the winner's entry.
"""

from __future__ import annotations

import datetime as dt

from smsaccounts import metrics
from smsaccounts.domain import wallet_rules
from smsaccounts.domain.audit import NewAuditEntry
from smsaccounts.domain.models import Account, Asset, LedgerEntry, Wallet
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.domain.wallet_rules import IdempotencyKeyTaken
from smsaccounts.errors import ErrorCode, InsufficientFunds, InvalidField, NotFound
from smsaccounts.services import audit, low_balance
from smsaccounts.services.accounts import visible
from smsaccounts.services.ports import AtOnce, Tx, UnitOfWork


def get(uow: UnitOfWork, *, account_id: int) -> Wallet:
    with uow.read() as tx:
        wallet = tx.wallets.get(account_id)
    if wallet is None:
        raise NotFound("wallet not found", code=ErrorCode.WALLET_NOT_FOUND)
    return wallet


def get_visible(uow: UnitOfWork, *, actor: Account, account_id: int) -> tuple[Account, Wallet]:
    with uow.read() as tx:
        account = visible(actor, tx.accounts.get(account_id))
        wallet = tx.wallets.get(account.id)
    if wallet is None:
        raise NotFound("wallet not found", code=ErrorCode.WALLET_NOT_FOUND)
    return account, wallet


def verify(uow: UnitOfWork) -> list[tuple[Account, list[str]]]:
    """Every wallet that differs from its ledger or sits below its floor, with what is wrong
    (`wallet_rules.discrepancies`); read in one transaction, so a moment's consistent view."""
    found: list[tuple[Account, list[str]]] = []
    with uow.read() as tx:
        root = tx.accounts.get(ADMIN_ID)
        assert root is not None  # the first migration creates the admin
        after: str | None = None
        while page := tx.accounts.list_subtree_wallets(root, after_path=after, limit=1000):
            for account, wallet in page:
                sums = {asset: tx.wallets.ledger_sum(account.id, asset) for asset in Asset}
                problems = wallet_rules.discrepancies(wallet, sums)
                if problems:
                    found.append((account, problems))
            after = page[-1][0].path
    return found


def entries(
    uow: UnitOfWork, *, account_id: int, since: dt.datetime | None = None, limit: int = 100
) -> list[LedgerEntry]:
    """An account's ledger, newest first; with `since`, only entries from that moment on."""
    with uow.read() as tx:
        found = tx.wallets.entries(account_id, limit=limit, since=since)
    return found


def change(
    uow: UnitOfWork,
    *,
    account_id: int,
    asset: Asset,
    amount: int,
    reason: str,
    actor_id: int | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """Add a signed `amount` (units of the asset); InsufficientFunds if the rule forbids it."""
    with uow.write() as tx:
        return apply(
            tx,
            account_id=account_id,
            asset=asset,
            amount=amount,
            reason=reason,
            actor_id=actor_id,
            idempotency_key=idempotency_key,
        )


def credit(
    uow: UnitOfWork,
    *,
    account_id: int,
    asset: Asset,
    amount: int,
    reason: str,
    actor_id: int | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    _positive(amount)
    return change(
        uow,
        account_id=account_id,
        asset=asset,
        amount=amount,
        reason=reason,
        actor_id=actor_id,
        idempotency_key=idempotency_key,
    )


def debit(
    uow: UnitOfWork,
    *,
    account_id: int,
    asset: Asset,
    amount: int,
    reason: str,
    actor_id: int | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    _positive(amount)
    return change(
        uow,
        account_id=account_id,
        asset=asset,
        amount=-amount,
        reason=reason,
        actor_id=actor_id,
        idempotency_key=idempotency_key,
    )


def transfer(
    uow: UnitOfWork,
    *,
    from_id: int,
    to_id: int,
    asset: Asset,
    amount: int,
    reason: str,
    actor_id: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[LedgerEntry, LedgerEntry]:
    """Move `amount` from one wallet to another in one transaction (both entries or none)."""
    with uow.write() as tx:
        return move(
            tx,
            from_id=from_id,
            to_id=to_id,
            asset=asset,
            amount=amount,
            reason=reason,
            actor_id=actor_id,
            idempotency_key=idempotency_key,
        )


def move(
    tx: Tx,
    *,
    from_id: int,
    to_id: int,
    asset: Asset,
    amount: int,
    reason: str,
    actor_id: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[LedgerEntry, LedgerEntry]:
    """Both sides of a transfer in the caller's transaction, locked in id order (no deadlock)."""
    if from_id == to_id:
        raise InvalidField("cannot transfer to the same wallet", field="to")
    sides = {from_id: -amount, to_id: amount}
    entries = {
        account_id: apply(
            tx,
            account_id=account_id,
            asset=asset,
            amount=sides[account_id],
            reason=reason,
            actor_id=actor_id,
            idempotency_key=idempotency_key,
        )
        for account_id in sorted(sides)
    }
    return entries[from_id], entries[to_id]


def apply(
    tx: Tx,
    *,
    account_id: int,
    asset: Asset,
    amount: int,
    reason: str,
    actor_id: int | None = None,
    idempotency_key: str | None = None,
    account: Account | None = None,
) -> LedgerEntry:
    """One wallet change and its ledger row in the caller's transaction.

    `account`, when the caller has it, is the wallet's account as this transaction read it
    (its low-balance alert settings are then not read again).
    """
    if idempotency_key is None:
        return _apply(tx, account_id, asset, amount, reason, actor_id, None, account)
    scope = wallet_rules.idempotency_scope(actor_id, reason)
    earlier = tx.wallets.find_entry(account_id, asset, scope, idempotency_key)
    if earlier is not None:
        return _replay(earlier, amount)
    try:
        with tx.savepoint():
            return _apply(tx, account_id, asset, amount, reason, actor_id, idempotency_key,
                          account)  # fmt: skip
    except IdempotencyKeyTaken:
        earlier = tx.wallets.find_entry(account_id, asset, scope, idempotency_key)
        if earlier is None:
            raise
        return _replay(earlier, amount)


def _apply(
    tx: Tx,
    account_id: int,
    asset: Asset,
    amount: int,
    reason: str,
    actor_id: int | None,
    idempotency_key: str | None,
    account: Account | None,
) -> LedgerEntry:
    if not wallet_rules.amount_fits(amount):
        raise _out_of_range(asset)
    resulting = tx.wallets.apply(account_id, asset, amount)
    if resulting is None:
        found = tx.wallets.get(account_id)
        if found is None:
            raise NotFound("wallet not found", code=ErrorCode.WALLET_NOT_FOUND)
        if not wallet_rules.fits(getattr(found, asset.value), amount):
            raise _out_of_range(asset)
        raise InsufficientFunds(f"insufficient {asset.value}", account_id=account_id)
    low_balance.after_change(tx, account_id, asset, resulting - amount, resulting, account)
    # The audit row goes with the ledger entry (one statement where the database allows).
    change = _audited(tx, account_id, asset, resulting - amount, resulting, reason)
    entry = tx.wallets.record(
        account_id=account_id,
        asset=asset,
        amount=amount,
        resulting=resulting,
        reason=reason,
        actor_id=actor_id,
        idempotency_key=idempotency_key,
        now=tx.now,
        audit=change,
    )
    _counted(tx, asset, amount)
    return entry


def apply_at_once(
    uow: UnitOfWork,
    account: Account,
    known: Wallet,
    *,
    asset: Asset,
    amount: int,
    reason: str,
    actor_id: int | None = None,
) -> LedgerEntry | None:
    """`apply` (without a key) to `account`'s wallet as read a moment ago (`known`), in one
    statement that is its own transaction where the storage allows (`uow.writes_at_once`):
    BEGIN's, COMMIT's and a read's round trips less. None, with nothing written, where it
    does not, or if the wallet has changed since or the account was deleted, or if the
    change would be refused or queue a low-balance alert: the caller then runs `apply` in a
    transaction, which answers what it answers always (the same rows, or the refusal).
    """
    before = getattr(known, asset.value)
    after = before + amount
    if not (uow.writes_at_once and wallet_rules.amount_fits(amount)):
        return None
    if not wallet_rules.allows(known, asset, amount) or not wallet_rules.fits(before, amount):
        return None
    if low_balance.alerts_on(account, asset, before, after):
        return None
    with uow.at_once() as tx:
        change = _audited(tx, account.id, asset, before, after, reason)
        entry = tx.wallets.change_at_once(account.id, asset, amount, before=before,
                                          reason=reason, actor_id=actor_id, now=tx.now,
                                          audit=change)  # fmt: skip
        if entry is not None:
            _counted(tx, asset, amount)
    return entry


def _audited(
    tx: AtOnce, account_id: int, asset: Asset, before: int, after: int, reason: str
) -> NewAuditEntry:
    """The audit row of a change of `asset` from `before` to `after`."""
    return audit.entry(tx, "wallet.change", account_id,
                       before={asset.value: before, "reason": None},
                       after={asset.value: after, "reason": reason})  # fmt: skip


def _counted(tx: AtOnce, asset: Asset, amount: int) -> None:
    direction = "credit" if amount > 0 else "debit"
    tx.after_commit(metrics.WALLET_CHANGES.labels(asset.value, direction).inc)


def _replay(earlier: LedgerEntry, amount: int) -> LedgerEntry:
    if earlier.amount != amount:
        raise InvalidField("idempotency key reused with another amount", field="idempotency_key")
    return earlier


def _out_of_range(asset: Asset) -> InvalidField:
    """A change the wallet cannot hold: the same refusal in every dialect and the CLI."""
    return InvalidField(
        f"{asset.value} would leave the range a wallet holds "
        f"({wallet_rules.VALUE_MIN} to {wallet_rules.VALUE_MAX} units)",
        code=ErrorCode.VALUE_OUT_OF_RANGE,
        field=asset.value,
    )


def _positive(amount: int) -> None:
    if amount <= 0:
        raise InvalidField("amount must be positive", field="amount")
