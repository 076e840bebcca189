"""The account tree: kinds, materialized paths and the one authorization rule."""

from __future__ import annotations

import enum
import string

_DIGITS = string.digits + string.ascii_lowercase


class Kind(enum.StrEnum):
    ADMIN = "admin"
    RESELLER = "reseller"
    CUSTOMER = "customer"
    USER = "user"


# What each kind may hang below itself; a user may have sub-users.
CHILD_KINDS: dict[Kind, frozenset[Kind]] = {
    Kind.ADMIN: frozenset({Kind.RESELLER}),
    Kind.RESELLER: frozenset({Kind.CUSTOMER}),
    Kind.CUSTOMER: frozenset({Kind.USER}),
    Kind.USER: frozenset({Kind.USER}),
}

ADMIN_ID = 1
ADMIN_NAME = "admin"


def base36(number: int) -> str:
    """`10281` -> `'7xl'`."""
    if number < 0:
        raise ValueError("negative ids have no path")
    if number == 0:
        return "0"
    out = []
    while number:
        number, rem = divmod(number, 36)
        out.append(_DIGITS[rem])
    return "".join(reversed(out))


def child_path(parent_path: str | None, account_id: int) -> str:
    """The parent's path, a `.`, and the account's id in base 36 (the root has no parent)."""
    own = base36(account_id)
    return f"{parent_path}.{own}" if parent_path else own


def can_access(actor_path: str, target_path: str) -> bool:
    """The one rule: an account may act on itself and on the accounts below it, nothing else."""
    return target_path == actor_path or target_path.startswith(actor_path + ".")


def subtree_bounds(path: str) -> tuple[str, str]:
    """Half-open string range `[low, high)` holding exactly the strict descendants of `path`.

    `/` is the character right after `.`, so every `path.` prefix sorts inside it; the
    range lets a plain B-tree index (binary collation) serve subtree queries.
    """
    return path + ".", path + "/"


def may_parent(parent: Kind, child: Kind) -> bool:
    return child in CHILD_KINDS[parent]
