"""Wallets and their ledger: each change is one conditional UPDATE plus one ledger row."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from smsaccounts.domain.models import Asset, BillingType, LedgerEntry, Wallet
from smsaccounts.storage.tables import ledger, wallets

_BY_ACCOUNT = select(wallets).where(wallets.c.account_id == bindparam("account_id"))


class WalletsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        account_id: int,
        *,
        currency: str,
        billing_type: BillingType,
        credit_limit: int | None = None,
    ) -> None:
        self.conn.execute(
            insert(wallets).values(
                account_id=account_id,
                currency=currency,
                billing_type=billing_type.value,
                credit_limit=credit_limit,
            )
        )

    def get(self, account_id: int) -> Wallet | None:
        row = self.conn.execute(_BY_ACCOUNT, {"account_id": account_id}).first()
        return Wallet.from_row(row) if row else None

    def set_terms(self, account_id: int, **values: object) -> None:
        """Billing terms (type, limit, currency, max messages): settings, not ledger items."""
        self.conn.execute(
            update(wallets).where(wallets.c.account_id == account_id).values(**values)
        )

    def apply(self, account_id: int, asset: Asset, amount: int) -> int | None:
        """Add `amount` if the wallet's rule allows it; the resulting value, or None if not."""
        column = wallets.c[asset.value]
        query = update(wallets).where(wallets.c.account_id == account_id)
        if amount < 0:
            query = query.where(_guard(asset, column, amount))
        row = self.conn.execute(query.values({column: column + amount}).returning(column)).first()
        return None if row is None else int(row[0])

    def find_entry(self, account_id: int, asset: Asset, key: str) -> LedgerEntry | None:
        row = self.conn.execute(
            select(ledger).where(
                ledger.c.account_id == account_id,
                ledger.c.asset == asset.value,
                ledger.c.idempotency_key == key,
            )
        ).first()
        return LedgerEntry.from_row(row, replayed=True) if row else None

    def record(
        self,
        *,
        account_id: int,
        asset: Asset,
        amount: int,
        resulting: int,
        reason: str,
        actor_id: int | None,
        idempotency_key: str | None,
        now: dt.datetime,
    ) -> LedgerEntry:
        row = self.conn.execute(
            insert(ledger)
            .values(
                account_id=account_id,
                asset=asset.value,
                amount=amount,
                resulting=resulting,
                reason=reason,
                actor_id=actor_id,
                idempotency_key=idempotency_key,
                created_at=now,
            )
            .returning(*ledger.c)
        ).one()
        return LedgerEntry.from_row(row)

    def ledger_sum(self, account_id: int, asset: Asset) -> int:
        total = self.conn.execute(
            select(func.coalesce(func.sum(ledger.c.amount), 0)).where(
                ledger.c.account_id == account_id, ledger.c.asset == asset.value
            )
        ).scalar_one()
        return int(total)

    def entries(self, account_id: int, *, limit: int = 100) -> list[LedgerEntry]:
        rows = self.conn.execute(
            select(ledger)
            .where(ledger.c.account_id == account_id)
            .order_by(ledger.c.id.desc())
            .limit(limit)
        ).all()
        return [LedgerEntry.from_row(row) for row in rows]


def _guard(asset: Asset, column: ColumnElement[int], amount: int) -> ColumnElement[bool]:
    """Pre-paid never below zero; post-paid money down to its credit limit (None: unlimited)."""
    stays_positive = column + amount >= 0
    if asset is Asset.FREE_SMS:
        return stays_positive
    post_paid = wallets.c.billing_type == BillingType.POST_PAID.value
    if asset is Asset.CREDITS:
        return or_(post_paid, stays_positive)
    within_limit = or_(wallets.c.credit_limit.is_(None), column + amount >= -wallets.c.credit_limit)
    return or_(and_(post_paid, within_limit), stays_positive)
