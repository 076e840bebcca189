"""Reads awaited on the event loop (psycopg's async connections), for the hot reads and the
lookups, instead of a worker thread: on a database server a read is a network round trip,
and a worker thread's GIL handoffs around it cost more than the read's own Python.

The connections are autocommit: each statement is its own snapshot, which is what a read
transaction at PostgreSQL's READ COMMITTED gives each of its statements too, without its
BEGIN and ROLLBACK round trips.

A use case written as synchronous code (its reads are `uow.lookups()`) is awaited whole
through SQLAlchemy's greenlet bridge (`run`): each statement the lookups run suspends it
where a thread would block, and the event loop serves other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.util import await_only, greenlet_spawn
from sqlalchemy.util.concurrency import in_greenlet

from smsaccounts import metrics
from smsaccounts.errors import ServiceUnavailable

T = TypeVar("T")

# SQLAlchemy imports greenlet on the first call that needs it, and that first call is not
# safe across threads: a thread asking while another is halfway through it recurses until
# RecursionError. Worker threads ask `inside()` at once under load, so one debit after a
# restart answered "Internal error" (a CI run of tests/resilience/test_crash.py). Asked
# here, at import, before any thread can.
in_greenlet()

# Connections awaited on one loop: 8 keep a database server's cores busy (measured: 32
# concurrent reads over 8 connections took 53 µs each against 107 µs one after another).
_CONNECTIONS = 8


class AwaitedConnections:
    """Autocommit psycopg connections of the running event loop, at most `_CONNECTIONS` in
    use, kept for reuse."""

    def __init__(self, engine: Engine, *, prepare: bool = True) -> None:
        self.engine = engine
        # Behind PgBouncer's transaction pooling no statement is prepared on the server.
        self._no_prepare: dict[str, Any] = {} if prepare else {"prepare_threshold": None}
        dbapi = engine.dialect.loaded_dbapi
        self.outage: tuple[type[BaseException], ...] = (
            dbapi.OperationalError, dbapi.InterfaceError,
        )  # fmt: skip
        self._pool: _LoopConnections | None = None

    def pool(self) -> _LoopConnections:
        """The running loop's connections."""
        pool = self._pool
        if pool is None or pool.loop is not asyncio.get_running_loop():
            # Connections belong to the loop that opened them: a new loop (a new test client)
            # starts its own, and the old loop's are closed.
            if pool is not None:
                pool.discard()
            pool = self._pool = _LoopConnections(asyncio.get_running_loop())
        return pool

    async def connect(self) -> Any:
        import psycopg  # only a PostgreSQL installation gets here

        _cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        try:
            return await psycopg.AsyncConnection.connect(
                **cparams, **self._no_prepare, autocommit=True
            )
        except self.outage as error:
            metrics.DATABASE_ERRORS.inc()
            raise ServiceUnavailable("database unavailable") from error

    def close(self) -> None:
        if self._pool is not None:
            self._pool.discard()
            self._pool = None

    async def run(self, use_case: Callable[..., T], *args: Any) -> T:
        """Run the synchronous `use_case` on the event loop, its lookups awaited."""
        return await greenlet_spawn(use_case, *args)

    @staticmethod
    def inside() -> bool:
        """Whether this code runs inside `run` (so a read may be awaited here)."""
        return in_greenlet()

    @contextlib.contextmanager
    def cursor(self) -> Any:
        """Inside `run`: a cursor whose statements are awaited (`AwaitedCursor`)."""
        pool = self.pool()
        await_only(pool.slots.acquire())
        cursor = AwaitedCursor(self, pool)
        try:
            yield cursor
        except Exception:
            cursor.give_back()
            raise
        except BaseException:  # cancelled: a statement may be in flight on it
            cursor.drop()
            raise
        else:
            cursor.give_back()
        finally:
            pool.slots.release()


class AwaitedCursor:
    """A DB-API cursor's `execute` and `fetchall` as the lookups call them, each awaited on a
    kept connection. A kept connection that died (a database restart) is replaced once, at
    the first statement, as the engine's pre-ping does for pooled connections."""

    def __init__(self, source: AwaitedConnections, pool: _LoopConnections) -> None:
        self._source = source
        self._pool = pool
        self._conn: Any = None
        self._cursor: Any = None
        self._kept = False

    def execute(self, sql: str, args: Any) -> None:
        first = self._conn is None
        if first:
            self._open()
        try:
            await_only(self._cursor.execute(sql, args))
        except self._source.outage as error:
            self.drop()
            if not (first and self._kept):
                metrics.DATABASE_ERRORS.inc()
                raise ServiceUnavailable("database unavailable") from error
            self._conn = await_only(self._source.connect())
            self._cursor = self._conn.cursor()
            try:
                await_only(self._cursor.execute(sql, args))
            except self._source.outage as again:
                self.drop()
                metrics.DATABASE_ERRORS.inc()
                raise ServiceUnavailable("database unavailable") from again

    def fetchall(self) -> list[Any]:
        try:
            return await_only(self._cursor.fetchall())
        except self._source.outage as error:
            self.drop()
            metrics.DATABASE_ERRORS.inc()
            raise ServiceUnavailable("database unavailable") from error

    def _open(self) -> None:
        try:
            self._conn, self._kept = self._pool.idle.pop(), True
        except IndexError:
            self._conn, self._kept = await_only(self._source.connect()), False
        self._cursor = self._conn.cursor()

    def drop(self) -> None:
        """A broken connection is never handed out again."""
        if self._conn is not None:
            finish(self._conn)
        self._conn = self._cursor = None

    def give_back(self) -> None:
        if self._conn is not None:
            self._pool.give_back(self._conn)
            self._conn = self._cursor = None


class _LoopConnections:
    """The awaited connections of one event loop, at most _CONNECTIONS in use."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.slots = asyncio.Semaphore(_CONNECTIONS)
        self.idle: list[Any] = []
        self.discarded = False

    def give_back(self, conn: Any) -> None:
        if self.discarded:
            finish(conn)
        else:
            self.idle.append(conn)

    def discard(self) -> None:
        self.discarded = True
        while self.idle:
            finish(self.idle.pop())


def finish(conn: Any) -> None:
    """Close an async psycopg connection without awaiting: libpq's own close of the socket,
    which is what its `close()` awaits nothing else for."""
    with contextlib.suppress(Exception):
        conn.pgconn.finish()
