"""Who pays for an account's messages: the one rule every door and the charging service use.

Every account spends from the wallet of the nearest account at or above it whose funding is
its own (`funding = own`), as Vonage's `use_primary_account_balance` shares a primary
account's balance. The root is always its own payer, so every chain has one.

Defaults, when the creator says nothing: resellers, customers and users registered through
mysms pay for themselves; users a reseller creates under a customer (reseller API) and LINK
sub-users spend their parent's pool.

What an account can spend (`Spendable`): the free SMS granted to it personally, then the
paying wallet's free SMS, then the paying wallet's credits (or its money, when the paying
wallet has a price per part). Every dialect's balance fields show that.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from smsaccounts.domain.models import Account
from smsaccounts.domain.tree import Kind


class Funding(enum.StrEnum):
    OWN = "own"
    PARENT = "parent"


class Door(enum.StrEnum):
    """Where an account is created, for its default funding."""

    MYSMS = "mysms"
    RESELLER = "reseller"
    LINK = "link"
    CLI = "cli"


def default_funding(kind: Kind, door: Door) -> Funding:
    """`own` for resellers, customers, mysms registrations and the operator's CLI; `parent`
    for users created by the reseller API under a customer and for LINK sub-users."""
    if kind is Kind.USER and door in (Door.RESELLER, Door.LINK):
        return Funding.PARENT
    return Funding.OWN


def may_set(actor_id: int, target_id: int) -> bool:
    """Who pays for an account is set by an account above it (or the operator), never by
    the account itself: a user switching itself to `parent` would spend a pool nobody
    gave it."""
    return actor_id != target_id


def parse(value: str) -> Funding:
    """`own` or `parent` (any case); ValueError naming the choices otherwise."""
    try:
        return Funding(value.strip().lower())
    except ValueError:
        raise ValueError("funding is 'own' or 'parent'") from None


def payer(chain: Sequence[Account]) -> Account:
    """The paying account of `chain[0]`: the nearest of the chain (the account, then its
    ancestors nearest first) whose funding is its own; the topmost when none says so."""
    for account in chain:
        if account.funding == Funding.OWN:
            return account
    return chain[-1]


def payer_index(fundings: Sequence[str]) -> int:
    """`payer` over the fundings of a chain alone (the hot read has no Account records)."""
    for index, funding in enumerate(fundings):
        if funding == Funding.OWN:
            return index
    return len(fundings) - 1


class Spendable(NamedTuple):
    """What an account can spend now: free SMS (its own and its payer's), credits and money
    (units of 10^-7) of the paying wallet.

    A tuple, as immutable as a frozen dataclass and made in a fifth of its time (a frozen
    dataclass sets each field through `object.__setattr__`; a LINK page makes 100)."""

    free_sms: int
    credits: int
    balance: int
    payer_id: int


class Figures(Protocol):
    """What `spendable` reads of a wallet (a `Wallet`, or a listing's narrower record)."""

    @property
    def account_id(self) -> int: ...
    @property
    def credits(self) -> int: ...
    @property
    def free_sms(self) -> int: ...
    @property
    def balance(self) -> int: ...


def spendable(own: Figures, paying: Figures) -> Spendable:
    extra = paying.free_sms if paying.account_id != own.account_id else 0
    return Spendable(own.free_sms + extra, paying.credits, paying.balance, paying.account_id)
