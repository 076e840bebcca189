"""The account tree: kinds, materialized paths, the one authorization rule, how a name is
resolved and who may change a balance.
"""

from __future__ import annotations

import enum
import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smsaccounts.domain.models import Account, Signer

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

# Names are unique per kind only, so a name is looked up kind by kind, root first: the
# first live match wins (an `admin` reseller can never shadow the admin).
NAME_ORDER: tuple[Kind, ...] = (Kind.ADMIN, Kind.RESELLER, Kind.CUSTOMER, Kind.USER)

# Only these kinds may change a balance, and only of accounts strictly below them.
BALANCE_KINDS: frozenset[Kind] = frozenset({Kind.ADMIN, Kind.RESELLER})


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


def ancestor_ids(path: str) -> list[int]:
    """The ids of every account above the one at `path`, root first (read from the path)."""
    return [int(part, 36) for part in path.split(".")[:-1]]


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


def may_change_balance(caller: Account | Signer, target: Account) -> bool:
    """The admin or a reseller, on an account strictly below it (never its own balance)."""
    return (
        caller.kind in BALANCE_KINDS
        and target.path != caller.path
        and can_access(caller.path, target.path)
    )
