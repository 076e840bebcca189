"""The records services hand around: an account, its wallet, a ledger entry, an API key, a PIN.

Plain frozen dataclasses: storage builds them from its rows (`storage/rows.py`), an
in-memory fake from its dicts; nothing here knows a database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from smsaccounts.domain import money
from smsaccounts.domain.tree import Kind


class BillingType(enum.StrEnum):
    PRE_PAID = "PRE_PAID"
    POST_PAID = "POST_PAID"


class Asset(enum.StrEnum):
    CREDITS = "credits"
    FREE_SMS = "free_sms"
    BALANCE = "balance"  # money, in units of 10^-7


ACL_FIELDS = (
    "acl_billing",
    "acl_billing_high",
    "acl_charity",
    "acl_incoming",
    "acl_smsinbox",
    "acl_hlr",
    "acl_admin",
)

# Attributes an account carries as plain text ('' when unset); services may set them.
TEXT_FIELDS = (
    "email", "phone_number", "contact_name", "company", "integration_id", "integration",
    "defaultsender", "virtual_number", "prefixes", "iprange", "plan", "rotation_algorithm",
    "source_address", "mo_push", "final_status_push", "default_customer_billing_type",
    "signature", "language", "first_name", "surname", "personalid", "agreement_number",
    "agreement_date", "taxation_country", "vat_reg_number", "vat_percent", "reg_address",
    "reg_postcode", "reg_city", "reg_country", "reg_state", "reg_direction", "reg_phone",
    "reg_mobile", "reg_fax", "reg_email",
)  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class Account:
    id: int
    object_id: str
    kind: Kind
    name: str
    parent_id: int | None
    path: str
    enabled: bool
    deactivated: dt.datetime | None
    created_at: dt.datetime
    password_hash: str | None
    login_key_hash: str | None
    msisdn: str | None
    country: str | None
    mor_secret: str | None
    email: str
    phone_number: str
    contact_name: str
    company: str
    integration_id: str
    integration: str
    defaultsender: str
    virtual_number: str
    prefixes: str
    iprange: str
    acl_billing: bool
    acl_billing_high: bool
    acl_charity: bool
    acl_incoming: bool
    acl_smsinbox: bool
    acl_hlr: bool
    acl_admin: bool
    plan: str
    rotation_algorithm: str
    mo_charge: int
    source_address: str
    mo_push: str
    final_status_push: str
    swapping_source_address_allowed: bool
    default_customer_billing_type: str
    free_credits: int
    sms_routing: int
    signature: str
    a2a_send_enabled: bool
    a2a_receive_enabled: bool
    language: str
    first_name: str
    surname: str
    personalid: str
    agreement_number: str
    agreement_date: str
    taxation_country: str
    vat_reg_number: str
    vat_percent: str
    reg_address: str
    reg_postcode: str
    reg_city: str
    reg_country: str
    reg_state: str
    reg_direction: str
    reg_phone: str
    reg_mobile: str
    reg_fax: str
    reg_email: str
    funding: str  # own | parent (`domain.funding`)
    free_sms_grant: int  # free SMS each new user registered below it receives
    low_balance_asset: str  # credits | balance (`domain.alerts`)
    low_balance_threshold: int | None  # None: no alert
    low_balance_contact: str  # an msisdn's digits, '' for none

    @property
    def active(self) -> bool:
        """Enabled and not deleted itself (its ancestors are `acting`'s business)."""
        return stands(self.enabled, self.deactivated)

    def acls(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in ACL_FIELDS}


class Standing(NamedTuple):
    """What the access rule reads of an ancestor (`acting_under`): three of an `Account`'s
    columns, meaning what its fields of those names mean. An API key's owner has a few
    ancestors, and reading each whole (63 columns) cost more than the rest of the key's
    check (`AccountLookups.standings`)."""

    id: int
    enabled: bool
    deactivated: dt.datetime | None

    @property
    def active(self) -> bool:
        """As `Account.active`: enabled and not deleted itself."""
        return stands(self.enabled, self.deactivated)


class Signer(NamedTuple):
    """What authenticating a caller reads of it and its ancestors (a MOR hash's
    `request_hash.nearest_secret`, a remembered password's hash, `acting_under`,
    `tree.can_access`): nine of an `Account`'s columns, meaning what its fields of those
    names mean. Reading the caller whole (68 columns, built) cost ~25 µs of a MOR details
    call (cProfile of bench.cpu)."""

    id: int
    kind: Kind
    name: str
    path: str
    enabled: bool
    deactivated: dt.datetime | None
    iprange: str
    mor_secret: str | None
    password_hash: str | None

    @property
    def active(self) -> bool:
        """As `Account.active`: enabled and not deleted itself."""
        return stands(self.enabled, self.deactivated)

    @classmethod
    def of(cls, account: Account) -> Signer:
        """The same fields of a whole account."""
        return cls(*(getattr(account, name) for name in cls._fields))


def stands(enabled: bool, deactivated: dt.datetime | None) -> bool:
    """An account's own standing, read whole (`Account`) or narrow (`Standing`): enabled
    and not deleted itself."""
    return enabled and deactivated is None


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """What access rules need of an account: identity, place in the tree, state, IP ranges."""

    id: int
    kind: Kind
    path: str
    enabled: bool
    live: bool  # not deactivated (deleted)
    iprange: str
    ancestors_active: bool  # every account above it enabled and live

    @property
    def active(self) -> bool:
        """The one rule: an account acts only while it and every ancestor are enabled and
        not deactivated, so disabling or deleting an account shuts out its whole subtree."""
        return self.enabled and self.live and self.ancestors_active


def acting(chain: Sequence[Account | Signer]) -> Principal:
    """The first account of `chain` (the account, then every one of its ancestors) as the
    access rules see it."""
    return acting_under(chain[0], chain[1:])


def acting_under(
    account: Account | Signer, ancestors: Iterable[Account | Standing | Signer]
) -> Principal:
    """`account`, below `ancestors` (all of them, whole or their `Standing`), as the access
    rules see it."""
    return Principal(
        account.id,
        account.kind,
        account.path,
        account.enabled,
        account.deactivated is None,
        account.iprange,
        all(ancestor.active for ancestor in ancestors),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Wallet:
    account_id: int
    credits: int
    free_sms: int
    balance: int  # units of 10^-7
    currency: str
    billing_type: BillingType
    credit_limit: int | None  # units; None = unlimited
    use_currency: bool
    messages_sent: int
    max_messages: int | None
    price_per_part: int | None  # units of 10^-7 per SMS part; set: messages cost money

    @property
    def balance_amount(self) -> Decimal:
        return money.from_units(self.balance)

    @property
    def credit_limit_amount(self) -> Decimal | None:
        return None if self.credit_limit is None else money.from_units(self.credit_limit)


@dataclasses.dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: int
    account_id: int
    asset: Asset
    amount: int
    resulting: int
    reason: str
    actor_id: int | None
    idempotency_key: str | None
    created_at: dt.datetime
    replayed: bool = False  # True when an idempotency key answered an earlier entry


@dataclasses.dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    account_id: int
    name: str
    purpose: str  # client | user
    rights: frozenset[str]
    allowed_ips: str
    enabled: bool
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.enabled and self.revoked_at is None


@dataclasses.dataclass(frozen=True, slots=True)
class Pin:
    """The live PIN of an msisdn (one per number), stored only as a hash."""

    msisdn: str
    pin_hash: str
    created_at: dt.datetime
    expires_at: dt.datetime
    consumed_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class KeySession:
    """A client key with its owner, and (when a live token was given) the token's user and
    that user's wallet figures: what a mysms call needs to know about who calls."""

    key: ApiKey
    owner: Principal
    user: Principal | None  # the live token's account, None without a (valid) token
    free_sms: int
    credits: int
