"""The console's reads and its sessions: keyset pages of ledgers, audit rows and outbox
messages inside one subtree, counts and sums by kind, and the session rows.

Every page is one indexed range or key lookup ordered by a unique key and cut at `limit`:
no page counts or scans a whole subtree (`subtree_stats` does, and the console caches it).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, select, update

from smsaccounts.domain.audit import AuditEntry
from smsaccounts.domain.console import ConsoleSession, SubtreeStats
from smsaccounts.domain.models import Account, LedgerEntry
from smsaccounts.domain.outbox import OutboxMessage
from smsaccounts.domain.tree import subtree_bounds
from smsaccounts.storage import rows
from smsaccounts.storage.tables import (
    accounts,
    audit_log,
    console_sessions,
    ledger,
    outbox,
    wallets,
)


def _alert_value() -> Any:
    """The account's wallet's value of its alert asset (`domain.alerts.ASSETS`)."""
    return case(
        (accounts.c.low_balance_asset == "balance", wallets.c.balance), else_=wallets.c.credits
    )


def _in_subtree(root: Account) -> Any:
    low, high = root.path, subtree_bounds(root.path)[1]
    return and_(accounts.c.path >= low, accounts.c.path < high)


def _session(row: Any) -> ConsoleSession:
    return ConsoleSession(
        id=row.id,
        account_id=row.account_id,
        password_stamp=row.password_stamp,
        client_ip=row.client_ip,
        user_agent=row.user_agent,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class ConsoleRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- sessions --------------------------------------------------------------------------

    def add_session(self, **values: Any) -> int:
        row = self.conn.execute(
            insert(console_sessions).values(**values).returning(console_sessions.c.id)
        ).one()
        return int(row.id)

    def session_by_hash(self, token_hash: str) -> ConsoleSession | None:
        row = self.conn.execute(
            select(console_sessions).where(console_sessions.c.token_hash == token_hash)
        ).first()
        return _session(row) if row else None

    def sessions(self, account_id: int, now: dt.datetime, limit: int = 50) -> list[ConsoleSession]:
        """The live sessions of an account, newest first."""
        query = (
            select(console_sessions)
            .where(
                console_sessions.c.account_id == account_id,
                console_sessions.c.revoked_at.is_(None),
                console_sessions.c.expires_at > now,
            )
            .order_by(console_sessions.c.id.desc())
            .limit(limit)
        )
        return [_session(row) for row in self.conn.execute(query)]

    def revoke_sessions(
        self, account_id: int, now: dt.datetime, *, session_id: int | None = None
    ) -> int:
        query = update(console_sessions).where(
            console_sessions.c.account_id == account_id, console_sessions.c.revoked_at.is_(None)
        )
        if session_id is not None:
            query = query.where(console_sessions.c.id == session_id)
        return int(self.conn.execute(query.values(revoked_at=now)).rowcount)

    # -- pages -----------------------------------------------------------------------------

    def ledger_page(
        self, account_id: int, *, before_id: int | None = None, limit: int = 25
    ) -> list[LedgerEntry]:
        """Newest first, a keyset page (`before_id`: the last id of the previous page)."""
        query = select(ledger).where(ledger.c.account_id == account_id)
        if before_id is not None:
            query = query.where(ledger.c.id < before_id)
        found = self.conn.execute(query.order_by(ledger.c.id.desc()).limit(limit))
        return [rows.ledger_entry(row._mapping) for row in found]

    def ledger_in_subtree(self, root: Account, *, limit: int = 10) -> list[LedgerEntry]:
        """The latest ledger rows of accounts in the subtree (newest first)."""
        query = (
            select(ledger)
            .join(accounts, accounts.c.id == ledger.c.account_id)
            .where(_in_subtree(root))
            .order_by(ledger.c.id.desc())
            .limit(limit)
        )
        return [rows.ledger_entry(row._mapping) for row in self.conn.execute(query)]

    def audit_page(
        self,
        root: Account,
        *,
        action: str | None = None,
        target_id: int | None = None,
        before_id: int | None = None,
        limit: int = 25,
    ) -> list[AuditEntry]:
        """Audit rows about accounts of the subtree, newest first (keyset on the id)."""
        query = select(audit_log).join(accounts, accounts.c.id == audit_log.c.target_id)
        query = query.where(_in_subtree(root))
        if action:
            query = query.where(audit_log.c.action.startswith(action, autoescape=True))
        if target_id is not None:
            query = query.where(audit_log.c.target_id == target_id)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        found = self.conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))
        return [
            AuditEntry(
                id=r.id,
                created_at=r.created_at,
                door=r.door,
                client_ip=r.client_ip,
                actor_id=r.actor_id,
                action=r.action,
                target_id=r.target_id,
                changes={k: (v[0], v[1]) for k, v in json.loads(r.changes).items()},
            )
            for r in found
        ]

    def outbox_page(
        self,
        root: Account | None,
        *,
        status: str | None = None,
        before_id: int | None = None,
        limit: int = 25,
    ) -> list[OutboxMessage]:
        """Outgoing SMS newest first: all of them (`root` None: the admin), else those of
        accounts in the subtree."""
        query = select(outbox)
        if root is not None:
            query = query.join(accounts, accounts.c.id == outbox.c.account_id)
            query = query.where(_in_subtree(root))
        if status:
            query = query.where(outbox.c.status == status)
        if before_id is not None:
            query = query.where(outbox.c.id < before_id)
        found = self.conn.execute(query.order_by(outbox.c.id.desc()).limit(limit))
        return [rows.outbox_message(row._mapping) for row in found]

    def subtree_stats(self, root: Account) -> SubtreeStats:
        """Accounts by kind and the spendable credits and money of a subtree: two range
        scans, so the console computes them at most every `console_stats_seconds`."""
        live = and_(_in_subtree(root), accounts.c.deactivated.is_(None))
        counts = {
            str(kind): int(n)
            for kind, n in self.conn.execute(
                select(accounts.c.kind, func.count()).where(live).group_by(accounts.c.kind)
            )
        }
        sums = self.conn.execute(
            select(
                func.coalesce(func.sum(wallets.c.credits), 0),
                func.coalesce(func.sum(wallets.c.balance), 0),
            )
            .select_from(accounts.join(wallets, wallets.c.account_id == accounts.c.id))
            .where(live)
        ).one()
        return SubtreeStats(counts=counts, credits=int(sums[0]), balance=int(sums[1]))

    def under_threshold(
        self, root: Account, *, after_path: str | None, limit: int, scan: int
    ) -> tuple[list[Account], str | None]:
        """Accounts of the subtree (the root included, path order after `after_path`) under
        their low-balance threshold, at most `limit`, looked for among the next `scan`
        accounts only; and the last path looked at when that bound stopped the look (None:
        the subtree's end was reached). Only an account that pays for itself has an alert
        (`services.accounts`), so its own wallet is the one compared.

        Cost: at most `scan` entries of the path index (one range read, cut by LIMIT), and for
        the accounts among them with a threshold one primary-key read of their wallet; never
        more, however large the subtree.
        """
        low, high = root.path, subtree_bounds(root.path)[1]
        looked = select(accounts.c.path).where(accounts.c.path >= low, accounts.c.path < high)
        if after_path is not None:
            looked = looked.where(accounts.c.path > after_path)
        window = looked.order_by(accounts.c.path).limit(scan).subquery("looked")
        count, last = self.conn.execute(select(func.count(), func.max(window.c.path))).one()
        threshold = accounts.c.low_balance_threshold
        query = (
            select(accounts)
            .select_from(
                accounts.join(window, window.c.path == accounts.c.path).join(
                    wallets, wallets.c.account_id == accounts.c.id
                )
            )
            .where(
                threshold.is_not(None),
                accounts.c.deactivated.is_(None),
                _alert_value() < threshold,
            )
            .order_by(accounts.c.path)
            .limit(limit)
        )
        found = [rows.account(row._mapping) for row in self.conn.execute(query)]
        return found, (str(last) if int(count) >= scan else None)
