"""Seed a migrated database fast: multi-row inserts (SQLite) or COPY (PostgreSQL), one transaction.

Follows `smsaccounts.storage.tables` column for column; every account gets a wallet, every
non-zero wallet value a ledger row (the wallet always equals the sum of its ledger), and the
credentials of `bench.layout` (token and key hashes, one argon2id hash reused for every
password: hashing 100,000 passwords would take an hour and prove nothing).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Engine

from bench import layout
from smsaccounts.config import Settings
from smsaccounts.domain.credentials import Passwords, secret_hash
from smsaccounts.domain.tree import ADMIN_ID, child_path
from smsaccounts.storage.database import make_engine
from smsaccounts.storage.migrate import upgrade

CHUNK = 20_000
CREATED = dt.datetime(2025, 1, 1, 12, 0, 0)  # naive UTC, as UTCDateTime stores it
USER_BALANCE = 1000 * 10**7  # 1000.00 EUR in units of 1e-7, on the debit accounts

ACCOUNT_COLUMNS = ("id", "object_id", "kind", "name", "parent_id", "path", "enabled",
                   "created_at", "password_hash", "msisdn", "country", "acl_admin")  # fmt: skip
WALLET_COLUMNS = ("account_id", "credits", "free_sms", "balance", "currency", "billing_type")
LEDGER_COLUMNS = ("account_id", "asset", "amount", "resulting", "reason", "created_at")
TOKEN_COLUMNS = ("account_id", "token_hash", "created_at")
KEY_COLUMNS = ("account_id", "name", "purpose", "key_hash", "rights", "created_at")


@dataclasses.dataclass(frozen=True, slots=True)
class SeedReport:
    seconds: float
    accounts: int
    rows: dict[str, int]


def seed(url: str, lay: layout.Layout, *, credentials: bool = True) -> SeedReport:
    """Migrate `url` (which must be empty) and fill it as `lay` describes.

    Without `credentials` (the 1,000,000-account database of the LINK scenario) no auth
    tokens and no password hashes are written; the API keys always are.
    """
    started = time.perf_counter()
    settings = Settings(database_url=url)
    engine = make_engine(settings, url=url)
    try:
        upgrade(engine)
        pw_hash = _password_hash(settings) if credentials else None
        with _Writer(engine) as w:
            rows = {
                "accounts": w.insert("accounts", ACCOUNT_COLUMNS, _accounts(lay, pw_hash, w.ts)),
                "wallets": w.insert("wallets", WALLET_COLUMNS, _wallets(lay)),
                "ledger": w.insert("ledger", LEDGER_COLUMNS, _ledger(lay, w.ts)),
            }
            if credentials:
                rows["auth_tokens"] = w.insert("auth_tokens", TOKEN_COLUMNS, _tokens(lay, w.ts))
            rows["api_keys"] = w.insert("api_keys", KEY_COLUMNS, _keys(lay, w.ts))
            w.execute(
                "UPDATE accounts SET mor_secret = ? WHERE id = ?",
                (layout.MOR_SECRET, layout.ADMIN_ID),
            )
    finally:
        engine.dispose()
    return SeedReport(time.perf_counter() - started, lay.total_accounts, rows)


def _password_hash(settings: Settings) -> str:
    """One argon2id hash with the service's own parameters, reused for every account."""
    hasher = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
    return hasher.hash(layout.PASSWORD)


def _accounts(lay: layout.Layout, pw_hash: str | None, ts: Any) -> Iterator[tuple[Any, ...]]:
    root = "1"
    r_paths = [child_path(root, lay.reseller_id(r)) for r in range(lay.resellers)]
    for r, path in enumerate(r_paths):
        rid = lay.reseller_id(r)
        yield (rid, layout.object_id(rid), "reseller", f"bench-reseller-{r}", layout.ADMIN_ID, path,
               True, ts, pw_hash, None, None, False)  # fmt: skip
    c_paths = []
    for c in range(lay.customers):
        cid = lay.customer_id(c)
        parent = lay.reseller_id(lay.customer_reseller(c))
        path = child_path(r_paths[lay.customer_reseller(c)], cid)
        c_paths.append(path)
        yield (cid, layout.object_id(cid), "customer", f"bench-customer-{c}", parent, path,
               True, ts, None, None, None, False)  # fmt: skip
    link = lay.link_root
    link_path = child_path(c_paths[0], link)
    yield _user(link, lay.customer_id(0), link_path, pw_hash, ts, acl_admin=True)
    for i in range(lay.link_below):
        uid = link + 1 + i
        yield _user(uid, link, child_path(link_path, uid), pw_hash, ts)
    for j in range(lay.regular_users):
        uid = lay.regular_user_id(j)
        c = lay.user_customer(j)
        yield _user(uid, lay.customer_id(c), child_path(c_paths[c], uid), pw_hash, ts)


def _user(
    uid: int, parent: int, path: str, pw_hash: str | None, ts: Any, *, acl_admin: bool = False
) -> tuple[Any, ...]:
    return (uid, layout.object_id(uid), "user", f"bench-user-{uid}", parent, path, True, ts,
            pw_hash, layout.msisdn(uid), "AT", acl_admin)  # fmt: skip


def _user_ids(lay: layout.Layout) -> range:
    return range(lay.link_root, lay.last_id + 1)


def _funds(uid: int, debit: range) -> tuple[int, int, int]:
    """(credits, free_sms, balance) of a user: small varied counts, money on the debit ones."""
    return 100 + uid % 900, uid % 50, USER_BALANCE if uid in debit else 0


def _wallets(lay: layout.Layout) -> Iterator[tuple[Any, ...]]:
    for r in range(lay.resellers):
        yield (lay.reseller_id(r), 0, 0, 0, "EUR", "PRE_PAID")
    for c in range(lay.customers):
        yield (lay.customer_id(c), 0, 0, 0, "EUR", "POST_PAID")
    debit = lay.debit_ids()
    for uid in _user_ids(lay):
        credits, free_sms, balance = _funds(uid, debit)
        yield (uid, credits, free_sms, balance, "EUR", "PRE_PAID")


def _ledger(lay: layout.Layout, ts: Any) -> Iterator[tuple[Any, ...]]:
    debit = lay.debit_ids()
    for uid in _user_ids(lay):
        for asset, amount in zip(
            ("credits", "free_sms", "balance"), _funds(uid, debit), strict=True
        ):
            if amount:
                yield (uid, asset, amount, amount, "bench seed", ts)


def _tokens(lay: layout.Layout, ts: Any) -> Iterator[tuple[Any, ...]]:
    for uid in _user_ids(lay):
        yield (uid, secret_hash(layout.auth_token(uid)), ts)


def _keys(lay: layout.Layout, ts: Any) -> Iterator[tuple[Any, ...]]:
    for c in range(lay.customers):
        yield (lay.customer_id(c), f"bench-app-{c}", "client", secret_hash(layout.client_key(c)),
               layout.CLIENT_RIGHTS, ts)  # fmt: skip
    yield (lay.link_root, "bench-link-root", "user", secret_hash(layout.user_key(lay.link_root)),
           "", ts)  # fmt: skip
    yield (ADMIN_ID, "bench-gateway", "gateway", secret_hash(layout.gateway_key()), "", ts)


class _Writer:
    """Bulk rows through the raw DBAPI: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = engine.dialect.name == "sqlite"
        self.engine = engine
        self.ts: Any = (
            CREATED.isoformat(sep=" ", timespec="microseconds") if self.sqlite else CREATED
        )
        self._conn: Any = None
        self._raw: Any = None

    def __enter__(self) -> _Writer:
        if self.sqlite:
            self._conn = sqlite3.connect(self.engine.url.database or "", isolation_level=None)
            # Durability is irrelevant while seeding a throwaway database; the service reopens
            # it with its own pragmas.
            self._conn.execute("PRAGMA synchronous=OFF")
            self._conn.execute("PRAGMA cache_size=-262144")
            self._conn.execute("BEGIN")
        else:
            self._raw = self.engine.raw_connection()
            self._conn = self._raw.driver_connection
            self._skip_pg_triggers()
        return self

    def _skip_pg_triggers(self) -> None:
        """As a superuser, skip the per-row foreign-key triggers (they cost half the time):
        the rows are written parents first, and the test of the seeder checks the tree."""
        row = self._conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if row.fetchone()[0]:
            self._conn.execute("SET LOCAL session_replication_role = replica")

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            if kind is not None:
                self._conn.execute("ROLLBACK") if self.sqlite else self._conn.rollback()
                return
            if self.sqlite:
                self._conn.execute("COMMIT")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                self._pg_finish()
        finally:
            if self.sqlite:
                self._conn.close()
            else:
                self._raw.close()

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        self._conn.execute(sql, params)

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        names = ", ".join(columns)
        if not self.sqlite:
            count = 0
            with self._conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
                    count += 1
            return count
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
        count, chunk = 0, []
        for row in rows:
            chunk.append(row)
            if len(chunk) == CHUNK:
                self._conn.executemany(sql, chunk)
                count, chunk = count + len(chunk), []
        if chunk:
            self._conn.executemany(sql, chunk)
        return count + len(chunk)

    def _pg_finish(self) -> None:
        for table in ("accounts", "ledger", "auth_tokens", "api_keys"):
            self._conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        self._conn.commit()
        # What autovacuum would have done on a database this size in production.
        self._conn.autocommit = True
        self._conn.execute("ANALYZE")
        self._conn.autocommit = False
