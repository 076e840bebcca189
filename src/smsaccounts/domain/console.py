"""The web console's records: a server-side session and a subtree's counts and sums."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

from smsaccounts.domain.models import Account, Wallet


@dataclasses.dataclass(frozen=True, slots=True)
class ConsoleSession:
    id: int
    account_id: int
    password_stamp: str
    client_ip: str | None
    user_agent: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    def live(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclasses.dataclass(frozen=True, slots=True)
class SubtreeStats:
    counts: dict[str, int]  # kind -> live accounts
    credits: int  # spendable credits of the subtree, the root's own included
    balance: int  # money, units of 10^-7


@dataclasses.dataclass(frozen=True, slots=True)
class LowBalance:
    """An account whose paying wallet is under the account's low-balance threshold."""

    account: Account
    payer: Account  # the account it spends from (itself when its funding is its own)
    value: int  # the paying wallet's credits, or money in units of 10^-7
    threshold: int


@dataclasses.dataclass(frozen=True, slots=True)
class LowBalancePage:
    rows: list[LowBalance]
    next_after: str | None  # the path to look further from; None: nothing further


def under_threshold(account: Account, paying: Wallet) -> int | None:
    """The paying wallet's value of the account's alert asset when it is under the
    account's threshold; None when no threshold is set or the value is not under it."""
    threshold = account.low_balance_threshold
    value = paying.balance if account.low_balance_asset == "balance" else paying.credits
    return value if threshold is not None and value < threshold else None


def password_stamp(password_hash: str | None) -> str:
    """What a session remembers of the password it was opened with: a digest of its hash,
    so that a new password (through any door) ends every session opened under the old."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()
