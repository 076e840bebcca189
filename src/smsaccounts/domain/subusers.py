"""Sub-users, the users a user manages below itself: their tree as a user sees it, and the
rules for what may be set on them (prefixes, message limits, passwords, ACL grants).

A user sits below admin > reseller > customer, and the root of a user tree is the topmost
user. Its path (`link_path`, LINK's `materialized_path`) and parent (`link_parent`) are
therefore read from the stored path with those three upper levels cut off.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import NamedTuple

from smsaccounts.domain import bounds
from smsaccounts.domain.models import ACL_FIELDS, Account

# admin.reseller.customer: the number of path segments above the topmost user.
USER_DEPTH = 3
_PREFIX = re.compile(r"\+?[0-9]{1,15}")


def link_path(stored_path: str) -> str:
    """`'1.2.3.7xl.7xm'` -> `'7xl.7xm'`: the path from the topmost user ancestor down.

    What follows the first USER_DEPTH dots, as it is: one split that stops there, where
    splitting every step and joining the user's back cost twice as much (100 a page)."""
    parts = stored_path.split(".", USER_DEPTH)
    return parts[USER_DEPTH] if len(parts) > USER_DEPTH else ""


class ListedAccount(NamedTuple):
    """The columns of an account a listing of sub-users shows: a third of `Account`'s,
    each meaning what `Account`'s field of that name means.

    A LINK page reads 100 of them: reading all 63 columns of each and filling a slotted
    dataclass field by field took most of its time (bench/README.md); a tuple is built
    from a row's slice in one call.
    """

    id: int
    name: str
    parent_id: int | None
    path: str
    enabled: bool
    deactivated: dt.datetime | None
    created_at: dt.datetime
    company: str
    integration_id: str
    integration: str
    defaultsender: str
    prefixes: str
    iprange: str
    acl_billing: bool
    acl_billing_high: bool
    acl_charity: bool
    acl_incoming: bool
    acl_smsinbox: bool
    acl_hlr: bool
    acl_admin: bool
    funding: str


class ListedWallet(NamedTuple):
    """The figures of a wallet a listing of sub-users shows, each meaning what `Wallet`'s
    field of that name means: built from a row's slice in one call, where filling a
    `Wallet`'s 11 slots (an enum among them) cost ~5 µs a row."""

    account_id: int
    credits: int
    free_sms: int
    balance: int
    use_currency: bool
    messages_sent: int
    max_messages: int | None


def link_parent(account: Account | ListedAccount) -> int:
    """The parent's id when the parent is a user (LINK's sub-user), else 0."""
    if account.parent_id is None or account.path.count(".") <= USER_DEPTH:
        return 0
    return account.parent_id


def normalize_prefixes(text: str) -> str:
    """`' 45, +4520'` -> `'45,+4520'`; raise ValueError naming an entry that is not digits."""
    entries = [part.strip() for part in text.split(",") if part.strip()]
    for entry in entries:
        if not _PREFIX.fullmatch(entry):
            raise ValueError(f"not a destination prefix (digits, optional +): {entry!r}")
    return ",".join(entries)


def parse_max_messages(value: int | str | None) -> int | None:
    """LINK's `max_forbrug`: a count of messages up to what the wallet's column holds;
    0, '' or null mean no limit (stored None)."""
    text = "" if value is None else str(value).strip()
    if text in ("", "0"):
        return None
    try:
        return bounds.parse_int(text, low=0, high=bounds.INT64_MAX, signed=False)
    except bounds.OutOfRange:
        raise bounds.OutOfRange(f"max_forbrug holds at most {bounds.INT64_MAX}") from None
    except ValueError:
        raise ValueError(f"max_forbrug must be a whole number of messages: {value!r}") from None


def ungrantable(
    actor: Account, changes: Mapping[str, object], current: Account | None = None
) -> str | None:
    """The first ACL `changes` would switch on that `actor` does not hold itself, or None.

    An ACL the edited account (`current`) holds already is not switched on by repeating it:
    a client may send back the user it read.
    """
    for acl in ACL_FIELDS:
        held = current is not None and getattr(current, acl)
        if changes.get(acl) is True and not getattr(actor, acl) and not held:
            return acl
    return None
