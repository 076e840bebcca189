"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24

The whole first schema, the admin root account and the ledger's append-only guard.
"""

from __future__ import annotations

import datetime
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("object_id", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column(
            "path",
            sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column("deactivated", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("login_key_hash", sa.String(length=64), nullable=True),
        sa.Column("msisdn", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("mor_secret", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), server_default="", nullable=False),
        sa.Column("phone_number", sa.String(length=64), server_default="", nullable=False),
        sa.Column("contact_name", sa.String(length=255), server_default="", nullable=False),
        sa.Column("company", sa.String(length=255), server_default="", nullable=False),
        sa.Column("integration_id", sa.String(length=255), server_default="", nullable=False),
        sa.Column("integration", sa.String(length=255), server_default="", nullable=False),
        sa.Column("defaultsender", sa.String(length=64), server_default="", nullable=False),
        sa.Column("virtual_number", sa.String(length=64), server_default="", nullable=False),
        sa.Column("prefixes", sa.Text(), server_default="", nullable=False),
        sa.Column("iprange", sa.Text(), server_default="", nullable=False),
        sa.Column("acl_billing", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column(
            "acl_billing_high", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
        ),
        sa.Column("acl_charity", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("acl_incoming", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("acl_smsinbox", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("acl_hlr", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("acl_admin", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("plan", sa.String(length=32), server_default="standard", nullable=False),
        sa.Column("rotation_algorithm", sa.String(length=32), server_default="", nullable=False),
        sa.Column("mo_charge", sa.Integer(), server_default="0", nullable=False),
        sa.Column("source_address", sa.String(length=32), server_default="", nullable=False),
        sa.Column("mo_push", sa.Text(), server_default="", nullable=False),
        sa.Column("final_status_push", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "swapping_source_address_allowed",
            sa.Boolean(),
            server_default=sa.text("(false)"),
            nullable=False,
        ),
        sa.Column(
            "default_customer_billing_type", sa.String(length=16), server_default="", nullable=False
        ),
        sa.Column("free_credits", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sms_routing", sa.Integer(), server_default="2", nullable=False),
        sa.Column("signature", sa.String(length=255), server_default="", nullable=False),
        sa.Column(
            "a2a_send_enabled", sa.Boolean(), server_default=sa.text("(true)"), nullable=False
        ),
        sa.Column(
            "a2a_receive_enabled", sa.Boolean(), server_default=sa.text("(true)"), nullable=False
        ),
        sa.Column("language", sa.String(length=8), server_default="en", nullable=False),
        sa.Column("first_name", sa.String(length=255), server_default="", nullable=False),
        sa.Column("surname", sa.String(length=255), server_default="", nullable=False),
        sa.Column("personalid", sa.String(length=255), server_default="", nullable=False),
        sa.Column("agreement_number", sa.String(length=255), server_default="", nullable=False),
        sa.Column("agreement_date", sa.String(length=32), server_default="", nullable=False),
        sa.Column("taxation_country", sa.String(length=255), server_default="", nullable=False),
        sa.Column("vat_reg_number", sa.String(length=255), server_default="", nullable=False),
        sa.Column("vat_percent", sa.String(length=32), server_default="", nullable=False),
        sa.Column("reg_address", sa.String(length=255), server_default="", nullable=False),
        sa.Column("reg_postcode", sa.String(length=32), server_default="", nullable=False),
        sa.Column("reg_city", sa.String(length=255), server_default="", nullable=False),
        sa.Column("reg_country", sa.String(length=255), server_default="", nullable=False),
        sa.Column("reg_state", sa.String(length=255), server_default="", nullable=False),
        sa.Column("reg_direction", sa.String(length=255), server_default="", nullable=False),
        sa.Column("reg_phone", sa.String(length=64), server_default="", nullable=False),
        sa.Column("reg_mobile", sa.String(length=64), server_default="", nullable=False),
        sa.Column("reg_fax", sa.String(length=64), server_default="", nullable=False),
        sa.Column("reg_email", sa.String(length=255), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["accounts.id"], name=op.f("fk_accounts_parent_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("object_id", name=op.f("uq_accounts_object_id")),
        sa.UniqueConstraint("path", name=op.f("uq_accounts_path")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_kind_name", ["kind", "name"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            "uq_accounts_kind_name_live",
            ["kind", "name"],
            unique=True,
            sqlite_where=sa.text("deactivated IS NULL"),
            postgresql_where=sa.text("deactivated IS NULL"),
        )
        batch_op.create_index(
            "uq_accounts_msisdn_live",
            ["msisdn"],
            unique=True,
            sqlite_where=sa.text("deactivated IS NULL"),
            postgresql_where=sa.text("deactivated IS NULL"),
        )

    op.create_table(
        "pins",
        sa.Column("msisdn", sa.String(length=20), nullable=False),
        sa.Column("pin_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("msisdn", name=op.f("pk_pins")),
    )
    op.create_table(
        "throttles",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=True),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.Column("last_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttles")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("rights", sa.Text(), server_default="", nullable=False),
        sa.Column("allowed_ips", sa.Text(), server_default="", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_account_id"), ["account_id"], unique=False)

    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_auth_tokens_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_tokens_token_hash")),
    )
    with op.batch_alter_table("auth_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_tokens_account_id"), ["account_id"], unique=False)

    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("resulting", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_ledger_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["accounts.id"], name=op.f("fk_ledger_actor_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger")),
    )
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index(
            "uq_ledger_idempotency", ["account_id", "asset", "idempotency_key"], unique=True
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("to_msisdn", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_outbox_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_outbox_to_msisdn", ["to_msisdn"], unique=False)

    op.create_table(
        "sms_routes",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("sms_routing", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sms_routes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "recipient", name=op.f("pk_sms_routes")),
    )
    op.create_table(
        "wallets",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("credits", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("free_sms", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billing_type", sa.String(length=9), server_default="PRE_PAID", nullable=False),
        sa.Column("credit_limit", sa.BigInteger(), nullable=True),
        sa.Column("use_currency", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("messages_sent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("max_messages", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_wallets_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_wallets")),
    )

    _seed_admin()
    _guard_ledger()


def _seed_admin() -> None:
    """The root of the tree: one admin per installation, id 1, path '1'."""
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    accounts = sa.table(
        "accounts",
        sa.column("id", sa.Integer),
        sa.column("object_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("name", sa.String),
        sa.column("path", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    wallets = sa.table(
        "wallets",
        sa.column("account_id", sa.Integer),
        sa.column("currency", sa.String),
        sa.column("billing_type", sa.String),
    )
    object_id = f"{int(now.timestamp()):08x}" + secrets.token_hex(8)
    op.bulk_insert(
        accounts,
        [dict(id=1, object_id=object_id, kind="admin", name="admin", path="1", created_at=now)],
    )
    op.bulk_insert(wallets, [dict(account_id=1, currency="EUR", billing_type="POST_PAID")])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('accounts', 'id'), 1)")


def _guard_ledger() -> None:
    """The ledger is append-only: the database itself refuses UPDATE and DELETE on it."""
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_no_{action.lower()} BEFORE {action} ON ledger "
                "BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'ledger is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger "
        "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_append_only ON ledger")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
    op.drop_table("wallets")
    op.drop_table("sms_routes")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_to_msisdn")
        batch_op.drop_index("ix_outbox_status_next_attempt_at")

    op.drop_table("outbox")
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_index("uq_ledger_idempotency")
        batch_op.drop_index("ix_ledger_account_id_id")

    op.drop_table("ledger")
    with op.batch_alter_table("auth_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_tokens_account_id"))

    op.drop_table("auth_tokens")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_account_id"))

    op.drop_table("api_keys")
    op.drop_table("throttles")
    op.drop_table("pins")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_accounts_msisdn_live",
            sqlite_where=sa.text("deactivated IS NULL"),
            postgresql_where=sa.text("deactivated IS NULL"),
        )
        batch_op.drop_index(
            "uq_accounts_kind_name_live",
            sqlite_where=sa.text("deactivated IS NULL"),
            postgresql_where=sa.text("deactivated IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_accounts_parent_id"))
        batch_op.drop_index("ix_accounts_kind_name")

    op.drop_table("accounts")
