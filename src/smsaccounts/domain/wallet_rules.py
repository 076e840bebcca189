"""How low a wallet may go: the one rule that storage renders as SQL and a fake evaluates.

Per asset and billing type the rule names a floor: pre-paid never goes below zero; post-paid
credits have no floor; post-paid money goes down to minus the wallet's credit limit (no
limit set: no floor); free SMS never go below zero, post-paid too. Only a decrease is
checked.

Whatever the floor, every value stays within what its 64-bit column holds (VALUE_MIN to
VALUE_MAX): a change that would take it past either end is refused, increases included,
before the database would overflow.

A change under an idempotency key applies once: the ledger holds at most one entry per
account, asset, scope and key. The scope is the caller and the operation (Stripe scopes its
keys per account the same way): two callers that happen to pick the same key make two
changes, and one caller reusing a key for another amount is refused.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from smsaccounts.domain.bounds import INT64_MAX, INT64_MIN
from smsaccounts.domain.models import Asset, BillingType, Wallet

VALUE_MIN, VALUE_MAX = INT64_MIN, INT64_MAX  # a wallet value's column (BIGINT)
# The largest change one ledger entry may carry: its negation fits the column too, so every
# bound the UPDATE compares against (VALUE_MAX - amount, VALUE_MIN - amount) is computable.
AMOUNT_MAX = INT64_MAX


class Floor(enum.Enum):
    """The kinds of floor a wallet's asset can have."""

    ZERO = "zero"  # never below zero
    CREDIT_LIMIT = "credit_limit"  # down to minus the credit limit (never above zero); none: none
    NONE = "none"  # no floor


FLOORS: Mapping[tuple[Asset, BillingType], Floor] = MappingProxyType(
    {
        (Asset.CREDITS, BillingType.PRE_PAID): Floor.ZERO,
        (Asset.CREDITS, BillingType.POST_PAID): Floor.NONE,
        (Asset.FREE_SMS, BillingType.PRE_PAID): Floor.ZERO,
        (Asset.FREE_SMS, BillingType.POST_PAID): Floor.ZERO,
        (Asset.BALANCE, BillingType.PRE_PAID): Floor.ZERO,
        (Asset.BALANCE, BillingType.POST_PAID): Floor.CREDIT_LIMIT,
    }
)


def idempotency_scope(actor_id: int | None, reason: str) -> str:
    """Whose key it is and for what: the calling account ('-' for the operator or the
    system) and the operation (the ledger reason), as stored next to the key."""
    return f"{'-' if actor_id is None else actor_id}:{reason}"


def floor_rule(asset: Asset, billing_type: BillingType) -> Floor:
    return FLOORS[asset, billing_type]


def floor(asset: Asset, billing_type: BillingType, credit_limit: int | None) -> int | None:
    """The lowest value `asset` may reach in a wallet of these terms; None: no floor."""
    rule = floor_rule(asset, billing_type)
    if rule is Floor.ZERO:
        return 0
    if rule is Floor.NONE or credit_limit is None:
        return None
    return min(0, -credit_limit)


def allows(wallet: Wallet, asset: Asset, amount: int) -> bool:
    """Whether adding the signed `amount` to the wallet's `asset` keeps it at or above its floor."""
    if amount >= 0:
        return True
    lowest = floor(asset, wallet.billing_type, wallet.credit_limit)
    return lowest is None or getattr(wallet, asset.value) + amount >= lowest


def amount_fits(amount: int) -> bool:
    """Whether one change may carry `amount` at all (a ledger entry holds it, negated too)."""
    return -AMOUNT_MAX <= amount <= AMOUNT_MAX


def fits(value: int, amount: int) -> bool:
    """Whether `value + amount` stays within what a wallet's column holds."""
    return VALUE_MIN <= value + amount <= VALUE_MAX


def discrepancies(wallet: Wallet, ledger_sums: Mapping[Asset, int]) -> list[str]:
    """What is wrong with a wallet: an asset that differs from the sum of its ledger entries,
    or that sits below its floor (a pre-paid wallet below zero). Empty when it is sound."""
    found = []
    for asset in Asset:
        value = getattr(wallet, asset.value)
        total = ledger_sums.get(asset, 0)
        if value != total:
            found.append(f"{asset.value} is {value} but its ledger sums to {total}")
        lowest = floor(asset, wallet.billing_type, wallet.credit_limit)
        if lowest is not None and value < lowest:
            found.append(f"{asset.value} is {value}, below its floor {lowest}")
    return found


class IdempotencyKeyTaken(Exception):
    """The ledger already holds an entry under this key (a concurrent request wrote it first).

    Raised by the ledger's `record`; the transaction is usable again only once the savepoint
    around the change has rolled back. Not a DomainError: the wallet service answers it with
    the earlier entry, and it never reaches a dialect unless that entry cannot be found.
    """

    def __init__(self, account_id: int, asset: Asset, scope: str, key: str) -> None:
        super().__init__(
            f"idempotency key {key!r} of {scope} already used for {asset.value} of {account_id}"
        )
        self.account_id = account_id
        self.asset = asset
        self.scope = scope
        self.key = key
