"""Baseline (a): balance/get as a bare ASGI callable, the limit for this work in Python.

The same work as the service's `/json/user/balance/get` with nothing in between: parse the
JSON body, hash the token, one indexed query for the live token's account, one for its wallet,
and a body of the same size. sqlite3 (or psycopg for PostgreSQL) runs inline on the event
loop: an indexed read takes microseconds, less than a hop to a thread would.

Served by `python -m uvicorn bench.baseline_bare:app` with `BENCH_DATABASE_URL` set.
"""

from __future__ import annotations

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
    """One connection per worker process, opened on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: Any = None
        self.marker = "?"

    def query(self, sql: str, params: tuple[Any, ...]) -> Any:
        if self.conn is None:
            self._open()
        if self.marker != "?":
            sql = sql.replace("?", self.marker)
        return self.conn.execute(sql, params).fetchone()

    def _open(self) -> None:
        if self.url.startswith("sqlite"):
            path = self.url.split(":///", 1)[1]
            self.conn = sqlite3.connect(path, check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout=30000")
            return
        import psycopg

        self.conn = psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://"),
                                    autocommit=True)  # fmt: skip
        self.marker = "%s"


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
    await _answer(send, 200, _balance(body))


def _balance(body: bytes) -> bytes:
    try:
        token = json.loads(body)["authToken"]
    except (ValueError, KeyError, TypeError):
        return b'{"errorCode":2}'
    row = DB.query(ACCOUNT_SQL, (hashlib.sha256(token.encode()).hexdigest(),))
    if row is None or not row[1] or row[2] is not None:
        return b'{"errorCode":100}'
    wallet = DB.query(WALLET_SQL, (row[0],))
    return b'{"errorCode":0,"freeSms":%d,"credits":%d}' % (wallet[0], wallet[1])


async def _answer(send: Send, status: int, payload: bytes) -> None:
    headers = [CONTENT_TYPE, (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
