"""MOR API rules: the request hash, where the secret comes from, how a name is resolved,
and who may move money. Pure: no I/O, no HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from smsaccounts.domain.models import Account
from smsaccounts.domain.tree import Kind, can_access

# The parameters each function hashes, in the order their values are concatenated
# (the seed's order); `u`, `p` and `hash` itself are never part of it.
HASH_PARAMS: dict[str, tuple[str, ...]] = {
    "user_details_get": ("user_id", "username"),
    "user_balance_update": ("user_id", "balance"),
}

# Names are unique per kind only, so a name is looked up kind by kind, root first: the
# first live match wins (an `admin` reseller can never shadow the admin).
NAME_ORDER: tuple[Kind, ...] = (Kind.ADMIN, Kind.RESELLER, Kind.CUSTOMER, Kind.USER)

# Only these kinds may change a balance, and only of accounts strictly below them.
BALANCE_KINDS: frozenset[Kind] = frozenset({Kind.ADMIN, Kind.RESELLER})


def expected_hash(values: Iterable[str | None], secret: str) -> str:
    """Hex SHA1 of the present values, concatenated with no separator, then the secret."""
    text = "".join(value for value in values if value is not None) + secret
    # SHA1 is what the MOR protocol fixes; clients compute it, so it cannot be upgraded here.
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324


def hash_matches(values: Iterable[str | None], secret: str | None, given: str | None) -> bool:
    """Constant-time check of a client's hash; no secret or no hash never matches.

    Hex digits are compared case-insensitively (an upper-case digest is the same digest).
    """
    if not secret or not given:
        return False
    expected = expected_hash(values, secret).encode()
    return hmac.compare_digest(expected, given.lower().encode())


def nearest_secret(chain: Iterable[Account]) -> str | None:
    """The first secret along `chain` (the caller, then its ancestors nearest first)."""
    return next((account.mor_secret for account in chain if account.mor_secret), None)


def may_change_balance(caller: Account, target: Account) -> bool:
    """The admin or a reseller, on an account strictly below it (never its own balance)."""
    return (
        caller.kind in BALANCE_KINDS
        and target.path != caller.path
        and can_access(caller.path, target.path)
    )
