"""SQLAlchemy Core tables: the one schema every dialect reads and writes through services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, _dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, _dialect: Dialect) -> dt.datetime | None:
        return _read_back(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Processor:
        """What `TypeDecorator.result_processor` makes (the impl's processor, then
        `process_result_value`; tests/unit/test_tables.py), without its two calls a value:
        a LINK page reads 100 rows of times, and every account read has some."""
        inner = self.impl_instance.result_processor(dialect, coltype)
        if inner is None:
            return _read_back
        parse = inner

        def process(value: Any) -> dt.datetime | None:
            parsed = parse(value)
            return None if parsed is None else as_utc(parsed)

        return process


Processor = Callable[[Any], "dt.datetime | None"]


def _read_back(value: Any) -> dt.datetime | None:
    """A value the driver (or the impl's processor) read, as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):  # defensive: raw SQLite text
        value = dt.datetime.fromisoformat(value)
    return as_utc(value)


_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """`value.replace(tzinfo=dt.UTC)` (tests/unit/test_tables.py), in an eighth of its
    time: `replace` parses its keywords for each call (~0.7 µs; a LINK page reads 100 rows
    of dates, and every account read has some), where an aware instant plus a naive
    difference is two operations in C (~85 ns). A fold (never set on a value read back)
    goes the long way."""
    if value.fold:
        return value.replace(tzinfo=dt.UTC)
    return _UTC_EPOCH + (value - _NAIVE_EPOCH)


# Paths compare byte-wise so that the subtree range [path".", path"/") is exact; PostgreSQL's
# default linguistic collation would ignore punctuation.
PATH_LENGTH = 255
PathString = String(PATH_LENGTH).with_variant(String(PATH_LENGTH, collation="C"), "postgresql")
Name = String(255)
# Ids are 64-bit on both databases (`domain.bounds.ID_MAX`). SQLite's INTEGER is 64-bit
# already, and a primary key must be spelled INTEGER there to be the rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _s(name: str, length: int = 255) -> Column[Any]:
    """An optional free-text attribute that reads as '' when unset."""
    return Column(name, String(length), nullable=False, server_default="")


accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("object_id", String(24), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("name", Name, nullable=False),
    Column("parent_id", Id, ForeignKey("accounts.id"), nullable=True, index=True),
    Column("path", PathString, nullable=False, unique=True),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("deactivated", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("password_hash", String(255), nullable=True),
    Column("login_key_hash", String(64), nullable=True),
    Column("msisdn", String(20), nullable=True),
    Column("country", String(2), nullable=True),
    Column("mor_secret", String(255), nullable=True),
    # Contact and CRM attributes (reseller API, LINK).
    _s("email"),
    _s("phone_number", 64),
    _s("contact_name"),
    _s("company"),
    _s("integration_id"),
    _s("integration"),
    _s("defaultsender", 64),
    _s("virtual_number", 64),
    Column("prefixes", Text, nullable=False, server_default=""),
    Column("iprange", Text, nullable=False, server_default=""),
    # LINK ACLs.
    Column("acl_billing", Boolean, nullable=False, server_default=text("false")),
    Column("acl_billing_high", Boolean, nullable=False, server_default=text("false")),
    Column("acl_charity", Boolean, nullable=False, server_default=text("false")),
    Column("acl_incoming", Boolean, nullable=False, server_default=text("false")),
    Column("acl_smsinbox", Boolean, nullable=False, server_default=text("false")),
    Column("acl_hlr", Boolean, nullable=False, server_default=text("false")),
    Column("acl_admin", Boolean, nullable=False, server_default=text("false")),
    Column("plan", String(32), nullable=False, server_default="standard"),
    # Reseller API customer/user options.
    _s("rotation_algorithm", 32),
    Column("mo_charge", Integer, nullable=False, server_default="0"),
    _s("source_address", 32),
    Column("mo_push", Text, nullable=False, server_default=""),
    Column("final_status_push", Text, nullable=False, server_default=""),
    Column(
        "swapping_source_address_allowed", Boolean, nullable=False, server_default=text("false")
    ),
    _s("default_customer_billing_type", 16),
    Column("free_credits", BigInteger, nullable=False, server_default="0"),
    # mysms settings.
    Column("sms_routing", Integer, nullable=False, server_default="2"),
    _s("signature"),
    Column("a2a_send_enabled", Boolean, nullable=False, server_default=text("true")),
    Column("a2a_receive_enabled", Boolean, nullable=False, server_default=text("true")),
    # MOR personal details and registration.
    Column("language", String(8), nullable=False, server_default="en"),
    _s("first_name"),
    _s("surname"),
    _s("personalid"),
    _s("agreement_number"),
    _s("agreement_date", 32),
    _s("taxation_country"),
    _s("vat_reg_number"),
    _s("vat_percent", 32),
    _s("reg_address"),
    _s("reg_postcode", 32),
    _s("reg_city"),
    _s("reg_country"),
    _s("reg_state"),
    _s("reg_direction"),
    _s("reg_phone", 64),
    _s("reg_mobile", 64),
    _s("reg_fax", 64),
    _s("reg_email"),
    # Who pays (`domain.funding`) and what each new user below receives.
    Column("funding", String(8), nullable=False, server_default="own"),
    Column("free_sms_grant", BigInteger, nullable=False, server_default="0"),
    # Low-balance alerts (`domain.alerts`): asset, threshold (NULL: none) and contact.
    Column("low_balance_asset", String(8), nullable=False, server_default="credits"),
    Column("low_balance_threshold", BigInteger, nullable=True),
    Column("low_balance_contact", String(255), nullable=False, server_default=""),
    # A name (and an msisdn) is unique among the live accounts of its kind; a deleted
    # account keeps its data and frees both.
    Index(
        "uq_accounts_kind_name_live",
        "kind",
        "name",
        unique=True,
        sqlite_where=text("deactivated IS NULL"),
        postgresql_where=text("deactivated IS NULL"),
    ),
    Index(
        "uq_accounts_msisdn_live",
        "msisdn",
        unique=True,
        sqlite_where=text("deactivated IS NULL"),
        postgresql_where=text("deactivated IS NULL"),
    ),
    Index("ix_accounts_kind_name", "kind", "name"),
)

wallets = Table(
    "wallets",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("credits", BigInteger, nullable=False, server_default="0"),
    Column("free_sms", BigInteger, nullable=False, server_default="0"),
    Column("balance", BigInteger, nullable=False, server_default="0"),  # units of 10^-7
    Column("currency", String(3), nullable=False),
    Column("billing_type", String(9), nullable=False, server_default="PRE_PAID"),
    Column("credit_limit", BigInteger, nullable=True),  # units; NULL = unlimited
    Column("use_currency", Boolean, nullable=False, server_default=text("false")),
    Column("messages_sent", BigInteger, nullable=False, server_default="0"),
    Column("max_messages", BigInteger, nullable=True),  # NULL = unlimited
    Column("price_per_part", BigInteger, nullable=True),  # units; NULL: parts cost credits
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("asset", String(16), nullable=False),  # credits | free_sms | balance
    Column("amount", BigInteger, nullable=False),
    Column("resulting", BigInteger, nullable=False),
    Column("reason", String(64), nullable=False),
    Column("actor_id", Id, ForeignKey("accounts.id"), nullable=True),
    Column("idempotency_key", String(128), nullable=True),
    # Whose key and for what (`wallet_rules.idempotency_scope`); set when the key is.
    Column("idempotency_scope", String(96), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_ledger_account_id_id", "account_id", "id"),
    Index(
        "uq_ledger_idempotency",
        "account_id",
        "asset",
        "idempotency_scope",
        "idempotency_key",
        unique=True,
    ),
)

# One row per charge (`services.charging`): its reference is unique per caller, so a replay
# answers this row; what paid for it is kept so that a refund puts back at most that.
charges = Table(
    "charges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("caller_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("reference", String(128), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("payer_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("message_class", String(16), nullable=False),
    Column("recipients", Integer, nullable=False),
    Column("parts", BigInteger, nullable=False),  # recipients x parts of the text
    Column("own_free_sms", BigInteger, nullable=False),  # taken from the sender's free SMS
    Column("free_sms", BigInteger, nullable=False),  # from the payer's free SMS
    Column("credits", BigInteger, nullable=False),  # from the payer's credits
    Column("money", BigInteger, nullable=False),  # units, from the payer's balance
    Column("refunded_parts", BigInteger, nullable=True),  # NULL until refunded (once)
    Column("created_at", UTCDateTime, nullable=False),
    Index("uq_charges_caller_id_reference", "caller_id", "reference", unique=True),
)

auth_tokens = Table(
    "auth_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", Name, nullable=False),
    Column("purpose", String(16), nullable=False),  # client (an application's) | user (own)
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("rights", Text, nullable=False, server_default=""),  # space-separated
    Column("allowed_ips", Text, nullable=False, server_default=""),  # comma-separated
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

pins = Table(
    "pins",
    metadata,
    Column("msisdn", String(20), primary_key=True),
    Column("pin_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("consumed_at", UTCDateTime, nullable=True),
)

throttles = Table(
    "throttles",
    metadata,
    Column("key", String(128), primary_key=True),  # e.g. "login:436761234567"
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("window_start", UTCDateTime, nullable=True),
    Column("blocked_until", UTCDateTime, nullable=True),
    Column("last_at", UTCDateTime, nullable=True),
)

sms_routes = Table(
    "sms_routes",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("recipient", String(20), primary_key=True),
    Column("sms_routing", Integer, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=True),
    Column("to_msisdn", String(20), nullable=False),
    Column("text", Text, nullable=False),  # as shown: a PIN or password masked
    Column("body", Text, nullable=True),  # what is sent; NULL once sent, failed or expired
    Column("purpose", String(16), nullable=False),  # pin | password | ...
    Column("status", String(16), nullable=False, server_default="queued"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),  # dropped unsent after it
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    # While `sending`: the worker that claimed it, and until when the claim holds.
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("claimed_by", String(32), nullable=True),
    # How it goes (sms | webhook | email) and, when not by SMS, where: a URL or an address
    # (to_msisdn is then empty).
    Column("channel", String(8), nullable=False, server_default="sms"),
    Column("destination", Text, nullable=True),
    # Who an SMS is from (LINK's `sender`: 3-16 digits or 2-11 characters); NULL:
    # SMSACCOUNTS_SMS_SENDER.
    Column("sender", String(16), nullable=True),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_outbox_to_msisdn", "to_msisdn"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("door", String(16), nullable=False),  # cli | mysms | reseller | link | mor
    Column("client_ip", String(64), nullable=True),
    Column("actor_id", Id, nullable=True),  # the authenticated account; None: operator
    Column("action", String(64), nullable=False),  # account.update, wallet.change, ...
    Column("target_id", Id, nullable=True),
    Column("changes", Text, nullable=False, server_default="{}"),  # {field: [before, after]}
    Index("ix_audit_log_target_id_id", "target_id", "id"),
    Index("ix_audit_log_actor_id_id", "actor_id", "id"),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    # A digest of the password hash at sign-in: any password change, through any door,
    # ends every session opened under the old one.
    Column("password_stamp", String(64), nullable=False),
    Column("client_ip", String(64), nullable=True),
    Column("user_agent", String(255), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)
