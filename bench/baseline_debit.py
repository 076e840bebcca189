"""Baseline (d): MOR debit's database work as a bare ASGI callable, the limit for a write.

`POST /billing/api/user_balance_update?u=&user_id=&balance=&hash=`: read the query, check
the SHA1 hash with the admin's MOR secret (read once), then in one transaction the
conditional UPDATE of the wallet (`WHERE balance >= -amount`, RETURNING the new balance)
and its ledger INSERT, and an answer of the service's size. The durability settings are
the service's own: SQLite in WAL mode with `synchronous` from `Settings` (FULL by default),
PostgreSQL's defaults. SQLite runs inline on the event loop (one writer at a time anyway);
PostgreSQL awaits a pool of async connections (`BENCH_PG_DRIVER`, as baseline (a)).

Served by `python -m uvicorn bench.baseline_debit:app` with `BENCH_DATABASE_URL` set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import os
import sqlite3
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

from bench.baseline_bare import POOL_SIZE, Receive, Scope, Send, _numbered
from smsaccounts.config import Settings

UPDATE_SQL = (
    "UPDATE wallets SET balance = balance + ? WHERE account_id = ? AND balance >= ? "
    "RETURNING balance"
)
LEDGER_SQL = (
    "INSERT INTO ledger (account_id, asset, amount, resulting, reason, actor_id, created_at) "
    "VALUES (?, 'balance', ?, ?, 'mor_balance_update', 1, ?)"
)
SECRET_SQL = "SELECT mor_secret FROM accounts WHERE id = 1"  # noqa: S105 - a query, not a secret
CONTENT_TYPE = (b"content-type", b"application/xml")
ANSWER = (b"<?xml version='1.0' encoding='UTF-8'?>\n<page><status>User balance updated"
          b"</status><user><username>bench-user-%d</username><id>%d</id><balance>%s</balance>"
          b"</user></page>")  # fmt: skip


class _Db:
    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.is_sqlite = url.startswith("sqlite")
        self.driver = os.environ.get("BENCH_PG_DRIVER", "asyncpg")
        self.conn: Any = None
        self.pool: asyncio.Queue[Any] | None = None
        self.secret: str | None = None

    def _sqlite(self) -> Any:
        if self.conn is None:
            path = self.url.split(":///", 1)[1]
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={Settings.from_env().sqlite_synchronous}")
            conn.execute("PRAGMA busy_timeout=30000")
            self.secret = conn.execute(SECRET_SQL).fetchone()[0]
            self.conn = conn
        return self.conn

    def debit_sqlite(self, account_id: int, units: int, now: str) -> int | None:
        conn = self._sqlite()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(UPDATE_SQL, (units, account_id, -units)).fetchone()
            if row is not None:
                conn.execute(LEDGER_SQL, (account_id, units, row[0], now))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return None if row is None else int(row[0])

    async def debit_pg(self, account_id: int, units: int, now: dt.datetime) -> int | None:
        if self.pool is None:
            await self._open_pool()
        assert self.pool is not None
        conn = await self.pool.get()
        try:
            if self.driver == "asyncpg":
                async with conn.transaction():
                    row = await conn.fetchrow(_numbered(UPDATE_SQL), units, account_id, -units)
                    if row is not None:
                        await conn.execute(_numbered(LEDGER_SQL), account_id, units, row[0], now)
            else:
                async with conn.transaction():
                    cursor = await conn.execute(_pg(UPDATE_SQL), (units, account_id, -units))
                    row = await cursor.fetchone()
                    if row is not None:
                        await conn.execute(_pg(LEDGER_SQL), (account_id, units, row[0], now))
        finally:
            self.pool.put_nowait(conn)
        return None if row is None else int(row[0])

    async def _open_pool(self) -> None:
        pool: asyncio.Queue[Any] = asyncio.Queue()
        for _ in range(POOL_SIZE):
            if self.driver == "asyncpg":
                import asyncpg

                conn = await asyncpg.connect(self.url)
                self.secret = (await conn.fetchrow(SECRET_SQL))[0]
            else:
                import psycopg

                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                found: Any = await (await conn.execute(SECRET_SQL)).fetchone()
                self.secret = found[0]
            pool.put_nowait(conn)
        if self.pool is None:
            self.pool = pool


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


DB = _Db(os.environ.get("BENCH_DATABASE_URL", "sqlite:///./smsaccounts.db"))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    while (await receive()).get("more_body"):
        pass
    if scope["path"] == "/healthz":
        status, payload = 200, b"ok"
    else:
        status, payload = await _debit(scope["query_string"])
    headers = [CONTENT_TYPE, (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _debit(query: bytes) -> tuple[int, bytes]:
    params = {k: v[0] for k, v in parse_qs(query.decode()).items()}
    try:
        account_id, balance = int(params["user_id"]), params["balance"]
        units = int(Decimal(balance).scaleb(7))
    except (KeyError, ValueError, InvalidOperation):
        return 400, b"<error>bad request</error>"
    if DB.is_sqlite:
        DB._sqlite()
    elif DB.pool is None:
        await DB._open_pool()
    expected = hashlib.sha1(f"{account_id}{balance}{DB.secret}".encode()).hexdigest()  # noqa: S324 - MOR's wire hash
    if not hmac.compare_digest(expected, params.get("hash", "")):
        return 200, b"<error>Incorrect hash</error>"
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if DB.is_sqlite:
        resulting = DB.debit_sqlite(account_id, units, now.isoformat(sep=" "))
    else:
        resulting = await DB.debit_pg(account_id, units, now)
    if resulting is None:
        return 200, b"<error>Insufficient balance</error>"
    money = f"{Decimal(resulting).scaleb(-7):.4f}".encode()
    return 200, ANSWER % (account_id, account_id, money)
