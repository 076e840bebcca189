"""Wallets and their ledger: each change is one conditional UPDATE plus one ledger row.

The statements of a change are built once (`storage.prepared`): per asset and direction
the UPDATE with its floor and range checks, the ledger INSERT, the reads by key."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    and_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from smsaccounts.domain.audit import NewAuditEntry
from smsaccounts.domain.models import Asset, BillingType, LedgerEntry, Wallet
from smsaccounts.domain.wallet_rules import (
    VALUE_MAX,
    VALUE_MIN,
    Floor,
    IdempotencyKeyTaken,
    floor_rule,
    idempotency_scope,
)
from smsaccounts.storage import rows
from smsaccounts.storage.audit import AuditRepository
from smsaccounts.storage.audit import values as audit_values
from smsaccounts.storage.awaited import AwaitedCursor
from smsaccounts.storage.prepared import Prepared, observed_raw
from smsaccounts.storage.tables import accounts, audit_log, ledger, wallets

_BY_ACCOUNT = Prepared(select(wallets).where(wallets.c.account_id == bindparam("account_id")))
_WALLET = rows.record_builder(Wallet, tuple(wallets.c.keys()), {"billing_type": BillingType})
_ENTRY = Prepared(
    select(ledger).where(
        ledger.c.account_id == bindparam("account_id"),
        ledger.c.asset == bindparam("asset"),
        ledger.c.idempotency_scope == bindparam("scope"),
        ledger.c.idempotency_key == bindparam("key"),
    )
)
_RECORD = Prepared(insert(ledger).values(
    {c: bindparam(c.key) for c in ledger.c if c.key != "id"}).returning(*ledger.c))  # fmt: skip
# The ledger row with the change's audit row, in one statement (PostgreSQL: a round trip
# less for every wallet change). The audit row's parameters are its columns' names after
# `_AUDIT`.
_AUDIT = "audit_"
_RECORD_AUDITED = Prepared(
    insert(ledger)
    .values({c: bindparam(c.key) for c in ledger.c if c.key != "id"})
    .add_cte(insert(audit_log).values({c: bindparam(_AUDIT + c.key) for c in audit_log.c
                                       if c.key != "id"}).cte("audit_row"))
    .returning(*ledger.c)
)  # fmt: skip
_COUNT = Prepared(
    update(wallets)
    .where(wallets.c.account_id == bindparam("account_id"),
           or_(wallets.c.max_messages.is_(None),
               wallets.c.messages_sent <= wallets.c.max_messages - bindparam("count")))
    .values(messages_sent=wallets.c.messages_sent + bindparam("count"))
)  # fmt: skip


class WalletsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # SQLite has no INSERT inside a WITH (and no round trip to save).
        self._one_statement = conn.dialect.name == "postgresql"

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
        found = _BY_ACCOUNT.run(self.conn, {"account_id": account_id}).rows
        return _WALLET(found[0]) if found else None

    def set_terms(self, account_id: int, **values: object) -> None:
        """Billing terms (type, limit, currency, max messages): settings, not ledger items."""
        self.conn.execute(
            update(wallets).where(wallets.c.account_id == account_id).values(**values)
        )

    def apply(self, account_id: int, asset: Asset, amount: int) -> int | None:
        """Add `amount` if the wallet's floor and its column allow it; the resulting value, or
        None if not.

        One conditional UPDATE (floor and range checked in its WHERE), so concurrent changes
        never read a value and write back a stale one. The WHERE compares the stored value
        with bounds computed here, never `value + amount`: that sum is what could overflow
        (PostgreSQL raises, SQLite silently turns it into a float).
        """
        sign, values = _change_values(account_id, amount)
        found = _change(asset, sign).run(self.conn, values).rows
        return None if not found else int(found[0][0])

    def change_at_once(
        self,
        account_id: int,
        asset: Asset,
        amount: int,
        *,
        before: int,
        reason: str,
        actor_id: int | None,
        now: dt.datetime,
        audit: NewAuditEntry,
    ) -> LedgerEntry | None:
        """`apply` then `record` (without a key) in one statement, which is its own
        transaction: only if the wallet still holds `before` of `asset` and its account is
        live (not deleted); else nothing is written and the answer is None.

        The wallet's floor and range are the same predicates as `apply`'s. The caller
        computed the audit row from `before`, which the statement checks: it is right or
        nothing is written.
        """
        assert self._one_statement  # PostgreSQL: `UnitOfWork.writes_at_once`
        statement, values = _at_once(account_id, asset, amount, before=before, reason=reason,
                                     actor_id=actor_id, now=now, audit=audit)  # fmt: skip
        found = statement.first(self.conn, values)
        return rows.ledger_entry(found) if found is not None else None

    def count_messages(self, account_id: int, count: int) -> bool:
        """Add `count` to the messages sent unless that passes `max_messages` (one
        conditional UPDATE, as every wallet change)."""
        found = _COUNT.run(self.conn, {"account_id": account_id, "count": count})
        return found.rowcount == 1

    def find_entry(self, account_id: int, asset: Asset, scope: str, key: str) -> LedgerEntry | None:
        found = _ENTRY.first(self.conn, {"account_id": account_id, "asset": asset.value,
                                         "scope": scope, "key": key})  # fmt: skip
        return rows.ledger_entry(found, replayed=True) if found else None

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
        audit: NewAuditEntry | None = None,
    ) -> LedgerEntry:
        """Write one ledger entry, and `audit` (the change's audit row) with it: in the same
        statement where the database can insert into two tables in one (PostgreSQL), else
        just before it.

        IdempotencyKeyTaken when an entry under the same account, asset, scope (the actor and
        the reason) and key exists (the ledger's unique index): the transaction is then usable
        again only after rolling back to a savepoint taken before the change (`Tx.savepoint`).
        """
        scope = None if idempotency_key is None else idempotency_scope(actor_id, reason)
        values = {"account_id": account_id, "asset": asset.value, "amount": amount,
                  "resulting": resulting, "reason": reason, "actor_id": actor_id,
                  "idempotency_key": idempotency_key, "idempotency_scope": scope,
                  "created_at": now}  # fmt: skip
        statement = _RECORD
        if audit is not None and self._one_statement:
            statement, values = _RECORD_AUDITED, {**values, **audit_values(audit, _AUDIT)}
        elif audit is not None:
            AuditRepository(self.conn).add(audit)
        try:
            found = statement.first(self.conn, values)
        except IntegrityError as error:
            if idempotency_key is None or scope is None:
                raise
            raise IdempotencyKeyTaken(account_id, asset, scope, idempotency_key) from error
        assert found is not None  # an INSERT ... RETURNING answers its row
        return rows.ledger_entry(found)

    def ledger_sum(self, account_id: int, asset: Asset) -> int:
        total = self.conn.execute(
            select(func.coalesce(func.sum(ledger.c.amount), 0)).where(
                ledger.c.account_id == account_id, ledger.c.asset == asset.value
            )
        ).scalar_one()
        return int(total)

    def entries(
        self, account_id: int, *, limit: int = 100, since: dt.datetime | None = None
    ) -> list[LedgerEntry]:
        query = select(ledger).where(ledger.c.account_id == account_id)
        if since is not None:
            query = query.where(ledger.c.created_at >= since)
        found = self.conn.execute(query.order_by(ledger.c.id.desc()).limit(limit))
        return [rows.ledger_entry(row._mapping) for row in found]


class AwaitedWallets:
    """`WalletsRepository.change_at_once` on an awaited connection (storage/awaited.py), the
    one a use case's lookups use on the event loop: autocommit, so the statement is its own
    transaction, as on `Database.statement`'s connection, and the same statement, compiled
    for the engine as the lookups' are. Without SQLAlchemy's pool checkout and return, its
    `Connection` and its DB-API adapter around the one statement, a MOR debit on
    PostgreSQL costs ~9% less CPU (py-spy of `python -m bench.cpu`, bench/README.md)."""

    def __init__(self, cursor: AwaitedCursor, engine: Engine) -> None:
        self.cursor = cursor
        self.engine = engine

    def change_at_once(
        self,
        account_id: int,
        asset: Asset,
        amount: int,
        *,
        before: int,
        reason: str,
        actor_id: int | None,
        now: dt.datetime,
        audit: NewAuditEntry,
    ) -> LedgerEntry | None:
        """As `WalletsRepository.change_at_once`."""
        statement, values = _at_once(account_id, asset, amount, before=before, reason=reason,
                                     actor_id=actor_id, now=now, audit=audit)  # fmt: skip
        form = statement.form(self.engine.dialect)
        params = form.params(values)
        observed_raw(self.engine, self.cursor, form.sql, params)
        self.cursor.write(form.sql, params)
        found = form.fetched(list(self.cursor.fetchall()))
        return rows.ledger_entry(form.mapping(found[0])) if found else None


def _at_once(
    account_id: int,
    asset: Asset,
    amount: int,
    *,
    before: int,
    reason: str,
    actor_id: int | None,
    now: dt.datetime,
    audit: NewAuditEntry,
) -> tuple[Prepared, dict[str, Any]]:
    """`change_at_once`'s statement (`_change_at_once`) and its parameters."""
    sign, changing = _change_values(account_id, amount)
    values: dict[str, Any] = {
        **changing, "before": before, "asset": asset.value, "reason": reason,
        "actor_id": actor_id, "idempotency_key": None, "idempotency_scope": None,
        "created_at": now, **audit_values(audit, _AUDIT),
    }  # fmt: skip
    return _change_at_once(asset, sign), values


def _change_values(account_id: int, amount: int) -> tuple[int, dict[str, int]]:
    """The sign of `amount` and the parameters of `_update` for it."""
    sign = (amount > 0) - (amount < 0)
    values = {"account_id": account_id, "amount": amount}
    if sign > 0:
        values["room"] = VALUE_MAX - amount
    elif sign < 0:
        values["room"], values["neg"] = VALUE_MIN - amount, -amount
    return sign, values


def _update(asset: Asset, sign: int) -> Any:
    """The conditional UPDATE adding `:amount` (of `sign`) to `asset`.

    Parameters: `account_id`, `amount`, and `room` (the bound that keeps the value in the
    column's range) unless `sign` is 0, `neg` (= -amount) when `sign` is negative
    (`_change_values`).
    """
    column = wallets.c[asset.value]
    query = update(wallets).where(wallets.c.account_id == bindparam("account_id"))
    if sign:
        query = query.where(_room(column, sign))
    if sign < 0:
        query = query.where(_guard(asset, column))
    return query.values({column: column + bindparam("amount", type_=BigInteger)})


@functools.cache
def _change(asset: Asset, sign: int) -> Prepared:
    """`_update`, RETURNING the result."""
    return Prepared(_update(asset, sign).returning(wallets.c[asset.value]))


@functools.cache
def _change_at_once(asset: Asset, sign: int) -> Prepared:
    """`_update`, also only while the wallet holds `:before` and its account is live, with the
    ledger INSERT and the audit INSERT fed by what it changed (no row changed: none
    inserted): `WalletsRepository.change_at_once`. Its parameters are `_update`'s, the
    ledger's columns but `resulting` (the UPDATE's), and the audit row's after `_AUDIT`."""
    column = wallets.c[asset.value]
    live = exists().where(accounts.c.id == wallets.c.account_id, accounts.c.deactivated.is_(None))
    changed = (
        _update(asset, sign)
        .where(column == bindparam("before", type_=BigInteger), live)
        .returning(column.label("resulting"))
        .cte("changed")
    )
    audited = [c for c in audit_log.c if c.key != "id"]
    audit_row = insert(audit_log).from_select(
        audited, select(*(cast(bindparam(_AUDIT + c.key, type_=c.type), c.type) for c in audited))
        .select_from(changed)
    ).cte("audit_row")  # fmt: skip
    recorded = [c for c in ledger.c if c.key != "id"]
    fed = [changed.c.resulting if c.key == "resulting"
           else cast(bindparam(c.key, type_=c.type), c.type) for c in recorded]  # fmt: skip
    return Prepared(
        insert(ledger)
        .from_select(recorded, select(*fed).select_from(changed))
        .add_cte(audit_row)
        .returning(*ledger.c)
    )


def _room(column: ColumnElement[int], sign: int) -> ColumnElement[bool]:
    """`VALUE_MIN <= value + amount <= VALUE_MAX` (`wallet_rules.fits`), without the sum:
    `:room` is `VALUE_MAX - amount` for a positive amount, `VALUE_MIN - amount` for a
    negative one."""
    room = bindparam("room", type_=BigInteger)
    return column <= room if sign > 0 else column >= room


def _guard(asset: Asset, column: ColumnElement[int]) -> ColumnElement[bool]:
    """The domain's floor for `asset` (`wallet_rules.FLOORS`) as the UPDATE's predicate.

    `value + amount >= floor`, the floor taken per billing type from the wallet's own row:
    for money post-paid, minus its credit limit and never above zero, none without a limit.
    """
    by_type = {billing_type: floor_rule(asset, billing_type) for billing_type in BillingType}
    if len(set(by_type.values())) == 1:
        return _at_or_above(by_type[BillingType.PRE_PAID], column)
    return or_(
        *(
            and_(wallets.c.billing_type == billing_type.value, _at_or_above(rule, column))
            for billing_type, rule in by_type.items()
        )
    )


def _at_or_above(rule: Floor, column: ColumnElement[int]) -> ColumnElement[bool]:
    """`value + amount >= floor` for a floor of kind `rule` and a negative amount, written
    as `value >= floor + :neg` (`:neg` = -amount): with 0 <= :neg <= VALUE_MAX and
    -VALUE_MAX <= floor <= 0 the right side cannot overflow."""
    neg = bindparam("neg", type_=BigInteger)
    if rule is Floor.ZERO:
        return column >= neg
    if rule is Floor.NONE:
        return true()
    limit = wallets.c.credit_limit  # floor = min(0, -limit); no limit, no floor
    return or_(limit.is_(None), column >= neg, column >= neg - limit)
