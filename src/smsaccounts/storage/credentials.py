"""Auth tokens, API keys and msisdn PINs, stored only as hashes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from smsaccounts.domain.models import Account, ApiKey, Pin
from smsaccounts.domain.tree import subtree_bounds
from smsaccounts.storage import rows
from smsaccounts.storage.accounts import ACCOUNT
from smsaccounts.storage.prepared import Prepared
from smsaccounts.storage.tables import accounts, api_keys, auth_tokens, pins

_ACCOUNT_WIDTH = len(accounts.c)
_KEY_NAMES = tuple(api_keys.c.keys())
_KEY_WITH_OWNER = Prepared(
    select(accounts, *(c.label(f"k_{c.name}") for c in api_keys.c))
    .join(api_keys, api_keys.c.account_id == accounts.c.id)
    .where(api_keys.c.key_hash == bindparam("key_hash"))
)


class CredentialsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # Auth tokens.
    def add_token(self, account_id: int, token_hash: str, now: dt.datetime) -> None:
        self.conn.execute(
            insert(auth_tokens).values(account_id=account_id, token_hash=token_hash, created_at=now)
        )

    def account_for_token(self, token_hash: str) -> Account | None:
        """The account a live token belongs to, in one indexed join."""
        row = self.conn.execute(
            select(accounts)
            .join(auth_tokens, auth_tokens.c.account_id == accounts.c.id)
            .where(auth_tokens.c.token_hash == token_hash, auth_tokens.c.revoked_at.is_(None))
        ).first()
        return rows.account(row._mapping) if row else None

    def revoke_tokens(self, account_id: int, now: dt.datetime) -> int:
        result = self.conn.execute(
            update(auth_tokens)
            .where(auth_tokens.c.account_id == account_id, auth_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount

    def revoke_subtree_tokens(self, path: str, now: dt.datetime) -> int:
        """Revoke every live token of the account at `path` and of every account below it."""
        below = select(accounts.c.id).where(
            accounts.c.path >= path, accounts.c.path < subtree_bounds(path)[1]
        )
        result = self.conn.execute(
            update(auth_tokens)
            .where(auth_tokens.c.account_id.in_(below), auth_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount

    # API keys.
    def add_key(
        self,
        *,
        account_id: int,
        name: str,
        purpose: str,
        key_hash: str,
        rights: str,
        allowed_ips: str,
        now: dt.datetime,
    ) -> ApiKey:
        row = self.conn.execute(
            insert(api_keys)
            .values(
                account_id=account_id,
                name=name,
                purpose=purpose,
                key_hash=key_hash,
                rights=rights,
                allowed_ips=allowed_ips,
                created_at=now,
            )
            .returning(*api_keys.c)
        ).one()
        return rows.api_key(row._mapping)

    def key_with_owner(self, key_hash: str) -> tuple[ApiKey, Account] | None:
        """The key and the account that owns it, in one indexed join."""
        found = _KEY_WITH_OWNER.run(self.conn, {"key_hash": key_hash}).rows
        if not found:
            return None
        row = found[0]
        key = dict(zip(_KEY_NAMES, row[_ACCOUNT_WIDTH:], strict=True))
        return rows.api_key(key), ACCOUNT(row[:_ACCOUNT_WIDTH])

    def get_key(self, key_id: int) -> ApiKey | None:
        row = self.conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        return rows.api_key(row._mapping) if row else None

    def list_keys(self, *, account_id: int | None = None) -> list[ApiKey]:
        """Every key (of one account, if given), oldest first; revoked ones too."""
        query = select(api_keys).order_by(api_keys.c.id)
        if account_id is not None:
            query = query.where(api_keys.c.account_id == account_id)
        return [rows.api_key(row._mapping) for row in self.conn.execute(query)]

    def revoke_keys(self, account_id: int, now: dt.datetime) -> int:
        result = self.conn.execute(
            update(api_keys)
            .where(api_keys.c.account_id == account_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount

    def set_key(self, key_id: int, **values: Any) -> None:
        self.conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))

    # msisdn PINs: one live PIN per number; a new request replaces the old one.
    def put_pin(
        self, msisdn: str, pin_hash: str, now: dt.datetime, expires_at: dt.datetime
    ) -> None:
        self.conn.execute(delete(pins).where(pins.c.msisdn == msisdn))
        self.conn.execute(
            insert(pins).values(
                msisdn=msisdn, pin_hash=pin_hash, created_at=now, expires_at=expires_at
            )
        )

    def get_pin(self, msisdn: str) -> Pin | None:
        row = self.conn.execute(select(pins).where(pins.c.msisdn == msisdn)).first()
        return rows.pin(row._mapping) if row else None

    def consume_pin(self, msisdn: str, now: dt.datetime) -> bool:
        """Mark the PIN used; False when another request consumed it first."""
        result = self.conn.execute(
            update(pins)
            .where(pins.c.msisdn == msisdn, pins.c.consumed_at.is_(None))
            .values(consumed_at=now)
        )
        return result.rowcount == 1
