"""64-bit ids on PostgreSQL

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02

- PostgreSQL: every id column and its sequence become BIGINT, as SQLite's INTEGER already
  is, so that both databases hold the same ids (`domain.bounds.ID_MAX`).
"""

from __future__ import annotations

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


def downgrade() -> None:
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
