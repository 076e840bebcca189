"""The web console's records: a server-side session and a subtree's counts and sums."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib


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


def password_stamp(password_hash: str | None) -> str:
    """What a session remembers of the password it was opened with: a digest of its hash,
    so that a new password (through any door) ends every session opened under the old."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()
