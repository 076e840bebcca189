"""Baseline (a): balance/get as a bare ASGI callable, the limit for this work in Python.

The same work as the service's `/json/user/balance/get` with nothing in between: parse the
JSON body, hash the token, one indexed query for the live token's account, one for its wallet,
and a body of the same size. sqlite3 runs inline on the event loop: an indexed read takes
microseconds, less than a hop to a thread would. PostgreSQL reads are awaited on the loop
from a pool of async connections (psycopg async or asyncpg: `BENCH_PG_DRIVER`), so the
baseline is a limit there too (a sync read on the loop blocks it for every round trip).

Served by `python -m uvicorn bench.baseline_bare:app` with `BENCH_DATABASE_URL` set.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ACCOUNT_SQL = (
    "SELECT a.id, a.enabled, a.deactivated FROM auth_tokens t JOIN accounts a "
    "ON a.id = t.account_id WHERE t.token_hash = ? AND t.revoked_at IS NULL"
)
WALLET_SQL = "SELECT free_sms, credits FROM wallets WHERE account_id = ?"
CONTENT_TYPE = (b"content-type", b"application/json")


class _Db:
    """SQLite: one connection per worker process, queried inline (microseconds, never a
    wait). PostgreSQL: a pool of async connections awaited on the event loop, so a round
    trip never blocks the loop (`BENCH_PG_DRIVER`: `asyncpg`, the default, the faster here,
    or `psycopg`; bench/README.md has the figures)."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.is_sqlite = url.startswith("sqlite")
        self.driver = os.environ.get("BENCH_PG_DRIVER", "asyncpg")
        self.conn: Any = None
        self.pool: asyncio.Queue[Any] | None = None

    def query(self, sql: str, params: tuple[Any, ...]) -> Any:
        if self.conn is None:
            path = self.url.split(":///", 1)[1]
            self.conn = sqlite3.connect(path, check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout=30000")
        return self.conn.execute(sql, params).fetchone()

    async def aquery(self, sql: str, params: tuple[Any, ...]) -> Any:
        if self.pool is None:
            await self._open_pool()
        assert self.pool is not None
        conn = await self.pool.get()
        try:
            if self.driver == "asyncpg":
                return await conn.fetchrow(_numbered(sql), *params)
            cursor = await conn.execute(sql.replace("?", "%s"), params, prepare=True)
            return await cursor.fetchone()
        finally:
            self.pool.put_nowait(conn)

    async def _open_pool(self) -> None:
        pool: asyncio.Queue[Any] = asyncio.Queue()
        for _ in range(POOL_SIZE):
            if self.driver == "asyncpg":
                import asyncpg

                pool.put_nowait(await asyncpg.connect(self.url))
            else:
                import psycopg

                pool.put_nowait(await psycopg.AsyncConnection.connect(self.url, autocommit=True))
        if self.pool is None:  # two first requests may both open one: keep the first
            self.pool = pool


def _numbered(sql: str) -> str:
    """`?` markers as asyncpg's `$1, $2, ...`."""
    parts = sql.split("?")
    return "".join(p + (f"${n}" if n < len(parts) else "") for n, p in enumerate(parts, 1))


POOL_SIZE = 8  # connections per worker: enough for 32 wrk connections' round trips
DB = _Db(os.environ.get("BENCH_DATABASE_URL", "sqlite:///./smsaccounts.db"))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/healthz":
        await _answer(send, 200, b'{"status":"ok"}')
        return
    await _answer(send, 200, await _balance(body))


async def _balance(body: bytes) -> bytes:
    try:
        token = json.loads(body)["authToken"]
    except (ValueError, KeyError, TypeError):
        return b'{"errorCode":2}'
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    if DB.is_sqlite:
        row = DB.query(ACCOUNT_SQL, (token_hash,))
    else:
        row = await DB.aquery(ACCOUNT_SQL, (token_hash,))
    if row is None or not row[1] or row[2] is not None:
        return b'{"errorCode":100}'
    if DB.is_sqlite:
        wallet = DB.query(WALLET_SQL, (row[0],))
    else:
        wallet = await DB.aquery(WALLET_SQL, (row[0],))
    return b'{"errorCode":0,"freeSms":%d,"credits":%d}' % (wallet[0], wallet[1])


async def _answer(send: Send, status: int, payload: bytes) -> None:
    headers = [CONTENT_TYPE, (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
