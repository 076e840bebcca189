"""who pays, free SMS grants, prices per part, charges

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02

- `accounts.funding` (`own` | `parent`, `domain.funding`): every account there already pays
  for itself, as it did; `accounts.free_sms_grant`: free SMS each new user below receives.
- `wallets.price_per_part`: a paying wallet with one set pays parts in money.
- `accounts.low_balance_asset`, `_threshold`, `_contact`: low-balance alerts.
- `charges`: one row per charge, unique per caller and reference (`services.charging`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

# 64-bit ids on PostgreSQL, as revision 0003 made every other id column.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "accounts", sa.Column("funding", sa.String(length=8), server_default="own", nullable=False)
    )
    op.add_column(
        "accounts", sa.Column("free_sms_grant", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "accounts",
        sa.Column("low_balance_asset", sa.String(length=8), server_default="credits",
                  nullable=False),
    )  # fmt: skip
    op.add_column("accounts", sa.Column("low_balance_threshold", sa.BigInteger(), nullable=True))
    op.add_column(
        "accounts",
        sa.Column("low_balance_contact", sa.String(length=255), server_default="",
                  nullable=False),
    )  # fmt: skip
    op.add_column("wallets", sa.Column("price_per_part", sa.BigInteger(), nullable=True))
    op.create_table(
        "charges",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("caller_id", _ID, nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("payer_id", _ID, nullable=False),
        sa.Column("message_class", sa.String(length=16), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("parts", sa.BigInteger(), nullable=False),
        sa.Column("own_free_sms", sa.BigInteger(), nullable=False),
        sa.Column("free_sms", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("money", sa.BigInteger(), nullable=False),
        sa.Column("refunded_parts", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["caller_id"], ["accounts.id"], name=op.f("fk_charges_caller_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_charges_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["payer_id"], ["accounts.id"], name=op.f("fk_charges_payer_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
    )
    op.create_index(
        "uq_charges_caller_id_reference", "charges", ["caller_id", "reference"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_charges_caller_id_reference", table_name="charges")
    op.drop_table("charges")
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy of `accounts` would trip the foreign
    # keys every other table holds to it.
    for table, column in (("wallets", "price_per_part"), ("accounts", "free_sms_grant"),
                          ("accounts", "funding"), ("accounts", "low_balance_asset"),
                          ("accounts", "low_balance_threshold"),
                          ("accounts", "low_balance_contact")):  # fmt: skip
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
