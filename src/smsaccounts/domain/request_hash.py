"""The request hash a MOR client signs with: the parameters it covers, how it is computed
and checked, and whose secret it is keyed with. Pure: no I/O, no HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from smsaccounts.domain.models import Account, Signer

# The parameters each function hashes, in the order their values are concatenated
# (the seed's order); `u`, `p` and `hash` itself are never part of it.
HASH_PARAMS: dict[str, tuple[str, ...]] = {
    "user_details_get": ("user_id", "username"),
    "user_balance_update": ("user_id", "balance"),
}


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


def nearest_secret(chain: Iterable[Account | Signer]) -> str | None:
    """The first secret along `chain` (the caller, then its ancestors nearest first)."""
    return next((account.mor_secret for account in chain if account.mor_secret), None)
