"""64-bit ids on PostgreSQL; canonical msisdns; idempotency keys scoped per caller; no
secrets kept in the outbox

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02

- PostgreSQL: every id column and its sequence become BIGINT, as SQLite's INTEGER already
  is, so that both databases hold the same ids (`domain.bounds.ID_MAX`).
- Every stored msisdn (accounts, PINs, per-recipient routes, the outbox) becomes its
  canonical E.164 digits (`domain.phone.canonical_digits`). Two live accounts whose numbers
  turn out to be the same are NOT merged: the one already spelled canonically (else the
  oldest) keeps the number, every other keeps its stored spelling, and each such collision
  (and each number libphonenumber cannot read) is reported: `smsaccounts db upgrade`
  prints the reports, `serve` logs them. An operator resolves them by hand.
- The ledger's idempotency keys get a scope (the caller and the operation,
  `wallet_rules.idempotency_scope`), filled in for the keyed entries already written, and
  the unique index takes it in: the same key from two callers is two changes.
- The outbox keeps the text to send (`body`) only while a message is pending, and the text
  shown (`text`) with its PIN or password masked; `expires_at` drops a PIN SMS unsent once
  the PIN is over. Rows already there are masked, and delivered or failed ones keep no body.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from smsaccounts.domain.phone import canonical_digits

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

# Every column holding an account id or a row id, the referenced table first.
_ID_COLUMNS = {
    "accounts": ("id", "parent_id"),
    "wallets": ("account_id",),
    "ledger": ("id", "account_id", "actor_id"),
    "auth_tokens": ("id", "account_id"),
    "api_keys": ("id", "account_id"),
    "sms_routes": ("account_id",),
    "outbox": ("id", "account_id"),
}
_SERIAL_TABLES = ("accounts", "ledger", "auth_tokens", "api_keys", "outbox")


def upgrade() -> None:
    _id_types("BIGINT")
    _canonical_msisdns()
    _scope_idempotency_keys()
    _mask_outbox_secrets()


def downgrade() -> None:
    _unmask_outbox()
    _unscope_idempotency_keys()  # fails if two callers have used the same key, as it must
    _id_types("INTEGER")  # fails if an id has grown past 2^31 - 1, as it must


def _report(**entry: Any) -> None:
    """Hand an operator-facing finding to whoever runs the migration (`migrate.upgrade`)."""
    reports: list[dict[str, Any]] = context.config.attributes.setdefault("reports", [])
    reports.append({"revision": revision, **entry})


def _is_postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _id_types(sql_type: str) -> None:
    """PostgreSQL's id columns and sequences to `sql_type`; SQLite's are 64-bit already."""
    if not _is_postgresql():
        return
    for table, columns in _ID_COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE {sql_type}" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")
    conn = op.get_bind()
    for table in _SERIAL_TABLES:
        sequence = conn.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table}
        ).scalar_one()
        op.execute(f"ALTER SEQUENCE {sequence} AS {sql_type}")


# -- the ledger: idempotency keys scoped per caller and operation -------------------------

_LEDGER = sa.table(
    "ledger",
    sa.column("actor_id", sa.BigInteger),
    sa.column("reason", sa.String),
    sa.column("idempotency_key", sa.String),
    sa.column("idempotency_scope", sa.String),
)


def _scope_idempotency_keys() -> None:
    op.add_column("ledger", sa.Column("idempotency_scope", sa.String(length=96), nullable=True))
    # `wallet_rules.idempotency_scope(actor_id, reason)` for the keyed entries, in SQL.
    actor = sa.case(
        (_LEDGER.c.actor_id.is_(None), "-"), else_=sa.cast(_LEDGER.c.actor_id, sa.String)
    )
    scope = actor + ":" + _LEDGER.c.reason
    with _ledger_writable():
        op.execute(
            sa.update(_LEDGER)
            .where(_LEDGER.c.idempotency_key.is_not(None))
            .values(idempotency_scope=scope)
        )
    op.drop_index("uq_ledger_idempotency", table_name="ledger")
    op.create_index(
        "uq_ledger_idempotency",
        "ledger",
        ["account_id", "asset", "idempotency_scope", "idempotency_key"],
        unique=True,
    )


def _unscope_idempotency_keys() -> None:
    op.drop_index("uq_ledger_idempotency", table_name="ledger")
    op.create_index(
        "uq_ledger_idempotency", "ledger", ["account_id", "asset", "idempotency_key"], unique=True
    )
    with _ledger_writable(), op.batch_alter_table("ledger") as batch:
        batch.drop_column("idempotency_scope")


@contextlib.contextmanager
def _ledger_writable() -> Iterator[None]:
    """The ledger is append-only (0001's triggers); a migration may rewrite it, nothing else."""
    if _is_postgresql():
        op.execute("ALTER TABLE ledger DISABLE TRIGGER ledger_append_only")
        yield
        op.execute("ALTER TABLE ledger ENABLE TRIGGER ledger_append_only")
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER ledger_no_{action.lower()}")
    yield
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER ledger_no_{action.lower()} BEFORE {action} ON ledger "
            "BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END"
        )


# -- the outbox: secrets kept only while a message is pending ---------------------------

MASK = "******"  # `domain.outbox.MASK`
PENDING = ("queued", "sending")
# The secret in each text 0001-era code wrote (registration and passwords), by purpose.
_SECRETS = {
    "pin": re.compile(r"(?<=PIN is )[0-9]+"),
    "password": re.compile(r"(?<=password is )\S+"),
}
_OUTBOX = sa.table(
    "outbox",
    sa.column("id", sa.BigInteger),
    sa.column("purpose", sa.String),
    sa.column("status", sa.String),
    sa.column("text", sa.Text),
    sa.column("body", sa.Text),
)


def _mask_outbox_secrets() -> None:
    op.add_column("outbox", sa.Column("body", sa.Text(), nullable=True))
    op.add_column("outbox", sa.Column("expires_at", sa.DateTime(), nullable=True))
    conn = op.get_bind()
    found = conn.execute(sa.select(_OUTBOX.c.id, _OUTBOX.c.purpose, _OUTBOX.c.status,
                                   _OUTBOX.c.text))  # fmt: skip
    for message_id, purpose, status, text in found.all():
        pattern = _SECRETS.get(purpose)
        shown = pattern.sub(MASK, text) if pattern else text
        body = text if status in PENDING else None  # delivered or given up: nothing to send
        conn.execute(
            sa.update(_OUTBOX).where(_OUTBOX.c.id == message_id).values(text=shown, body=body)
        )


def _unmask_outbox() -> None:
    """0001 sends `text`: a pending message's body goes back there; the rest stay masked."""
    op.execute(sa.update(_OUTBOX).where(_OUTBOX.c.body.is_not(None)).values(text=_OUTBOX.c.body))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("body")


# -- msisdns: one canonical spelling ----------------------------------------------------


def _canonical_msisdns() -> None:
    conn = op.get_bind()
    accounts = sa.table(
        "accounts", sa.column("id", sa.BigInteger), sa.column("msisdn", sa.String),
        sa.column("deactivated", sa.DateTime),
    )  # fmt: skip
    found = conn.execute(
        sa.select(accounts.c.id, accounts.c.msisdn, accounts.c.deactivated)
        .where(accounts.c.msisdn.is_not(None))
        .order_by(accounts.c.id)
    ).all()
    # Live accounts share one unique index; a deleted one frees its number.
    live = [(row.id, row.msisdn) for row in found if row.deactivated is None]
    gone = [(row.id, row.msisdn) for row in found if row.deactivated is not None]
    _rewrite(conn, accounts, "id", "msisdn", live, unique=True, what="account")
    _rewrite(conn, accounts, "id", "msisdn", gone, unique=False, what="account")
    for name, key, column in (("pins", "msisdn", "msisdn"), ("outbox", "id", "to_msisdn")):
        table = sa.table(name, sa.column(key), sa.column(column, sa.String))
        rows = conn.execute(sa.select(table.c[key], table.c[column])).all()
        unique = key == column  # a PIN's number is its key
        _rewrite(conn, table, key, column, [tuple(r) for r in rows], unique=unique, what=name)
    _canonical_routes(conn)


def _canonical_routes(conn: sa.Connection) -> None:
    """sms_routes: (account, recipient) is the key, so numbers collide per account."""
    routes = sa.table(
        "sms_routes", sa.column("account_id", sa.BigInteger), sa.column("recipient", sa.String)
    )
    by_account: dict[int, list[tuple[Any, str]]] = {}
    for account_id, recipient in conn.execute(sa.select(routes.c.account_id, routes.c.recipient)):
        by_account.setdefault(account_id, []).append(((account_id, recipient), recipient))
    for rows in by_account.values():
        _rewrite(conn, routes, ("account_id", "recipient"), "recipient", rows, unique=True,
                 what="sms_route")  # fmt: skip


def _rewrite(
    conn: sa.Connection,
    table: sa.TableClause,
    key: str | tuple[str, ...],
    column: str,
    rows: list[tuple[Any, str]],
    *,
    unique: bool,
    what: str,
) -> None:
    """Store each row's `column` canonical; with `unique`, one row per canonical number.

    Rows are (key value, stored number). Among rows that turn out to hold one number the
    row already spelled canonically keeps it, else the first; the others stay as they are
    and are reported, never merged.
    """
    groups: dict[str, list[tuple[Any, str]]] = {}
    for row_key, stored in rows:
        canonical = canonical_digits(stored)
        if canonical is None:
            _report(problem="msisdn_unreadable", table=what, key=_plain(row_key), msisdn=stored)
        else:
            groups.setdefault(canonical, []).append((row_key, stored))
    for canonical, group in groups.items():
        keepers = group
        if unique:
            keepers = [next((r for r in group if r[1] == canonical), group[0])]
            others = [r for r in group if r not in keepers]
            if others:
                left = [{"key": _plain(k), "msisdn": s} for k, s in others]
                _report(problem="msisdn_collision", table=what, msisdn=canonical,
                        kept=_plain(keepers[0][0]), left_as_is=left)  # fmt: skip
        for row_key, stored in keepers:
            if stored != canonical:
                _set(conn, table, key, row_key, column, canonical)


def _set(
    conn: sa.Connection, table: sa.TableClause, key: str | tuple[str, ...], row_key: Any,
    column: str, value: str,
) -> None:  # fmt: skip
    names = (key,) if isinstance(key, str) else key
    values = (row_key,) if isinstance(key, str) else row_key
    match = [table.c[name] == part for name, part in zip(names, values, strict=True)]
    conn.execute(sa.update(table).where(*match).values({column: value}))


def _plain(row_key: Any) -> Any:
    return list(row_key) if isinstance(row_key, tuple) else row_key
