"""64-bit ids on PostgreSQL; idempotency keys scoped per caller; no secrets kept in the outbox

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02

- PostgreSQL: every id column and its sequence become BIGINT, as SQLite's INTEGER already
  is, so that both databases hold the same ids (`domain.bounds.ID_MAX`).
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

import sqlalchemy as sa
from alembic import op

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
    _scope_idempotency_keys()
    _mask_outbox_secrets()


def downgrade() -> None:
    _unmask_outbox()
    _unscope_idempotency_keys()  # fails if two callers have used the same key, as it must
    _id_types("INTEGER")  # fails if an id has grown past 2^31 - 1, as it must


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
