"""Reads awaited on the event loop, for the hot reads and the lookups, instead of a worker
thread: on a database server a read is a network round trip, and a worker thread's GIL
handoffs around it cost more than the read's own Python.

The connections are asyncpg's (psycopg's async connections behind PgBouncer, where nothing
may be prepared on the server): asyncpg reads each answer through a protocol of its own,
where psycopg's async wait adds and removes a reader and a future for every statement.
Measured here: a one-row read cost 73-80 µs of CPU through asyncpg on uvloop against
137-142 µs through psycopg async, and in two default `make bench` runs on PostgreSQL
(bench/README.md) mysms balance/get served 5,016 and 6,406 req/s against 4,635 and 4,400,
MOR details 3,164 and 3,417 against 2,198 and 2,227, a reseller balance 2,584 and 2,971
against 1,780 and 1,892. The statements are the ones compiled for the engine (psycopg's
`%(name)s` markers); for asyncpg they are numbered (`$1`...) once each (`numbered`).

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
import contextvars
import functools
import re
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, event, exc
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


class Link(Protocol):
    """One awaited connection, whichever driver opened it."""

    async def fetch(self, sql: str, args: Any) -> Sequence[Sequence[Any]]:
        """Every row of `sql` (compiled for the engine) run with `args`."""

    def finish(self) -> None:
        """Close it without awaiting."""

    @property
    def closed(self) -> bool:
        """Whether it is known closed (its socket's end seen while it sat idle)."""


class AwaitedConnections:
    """Autocommit connections of the running event loop, at most `_CONNECTIONS` in use, kept
    for reuse: asyncpg's, or psycopg's where nothing may be prepared (`prepare` False)."""

    def __init__(self, engine: Engine, *, prepare: bool = True) -> None:
        self.engine = engine
        # Behind PgBouncer's transaction pooling no statement is prepared on the server:
        # psycopg sends such a read in one round trip, asyncpg would prepare it in one and
        # run it in another, on whichever server connection PgBouncer gives it then.
        self.prepare = prepare
        # asyncpg where it may prepare and reads the whole URL; else psycopg, as before.
        self.asyncpg = prepare and set(engine.url.query) <= _ASYNCPG_READS
        dbapi = engine.dialect.loaded_dbapi
        self.outage: tuple[type[BaseException], ...] = (
            dbapi.OperationalError, dbapi.InterfaceError, *_asyncpg_outage(),
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

    async def connect(self) -> Link:
        try:
            if self.asyncpg:
                return await _AsyncpgLink.connect(self.engine)
            return await _PsycopgLink.connect(self.engine, prepare=self.prepare)
        except self.outage as error:
            metrics.DATABASE_ERRORS.inc()
            raise ServiceUnavailable("database unavailable") from error

    def close(self) -> None:
        if self._pool is not None:
            self._pool.discard()
            self._pool = None

    @property
    def writes(self) -> bool:
        """Whether a use case's transactions may be awaited too (`run` with `writes`):
        through asyncpg, as the lookups (behind PgBouncer they go to a worker thread)."""
        return self.asyncpg

    async def run(self, use_case: Callable[..., T], *args: Any, writes: bool = False) -> T:
        """Run the synchronous `use_case` on the event loop, its lookups awaited; with
        `writes`, its transactions too (`transactions`)."""
        if writes:
            if not self.writes:
                raise RuntimeError("transactions are awaited through asyncpg only")
            return await greenlet_spawn(_writing, use_case, *args)
        return await greenlet_spawn(use_case, *args)

    def transactions(self) -> Transactions | None:
        """Inside `run` with `writes`: the running loop's awaited transactions; else None."""
        if not self.writing():
            return None
        return self.pool().transactions(self)

    @staticmethod
    def writing() -> bool:
        """Whether this code runs inside `run` with `writes` (so a write may be awaited)."""
        return in_greenlet() and _WRITING.get()

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


# True while a use case runs inside `run` with `writes`.
_WRITING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "smsaccounts_awaited_writes", default=False
)


def _writing(use_case: Callable[..., T], *args: Any) -> T:
    token = _WRITING.set(True)
    try:
        return use_case(*args)
    finally:
        _WRITING.reset(token)


class AwaitedCursor:
    """A DB-API cursor's `execute` and `fetchall` as the lookups call them, each statement
    awaited on a kept connection. A kept connection that died (a database restart) is
    replaced once, at the first statement, as the engine's pre-ping does for pooled
    connections."""

    def __init__(self, source: AwaitedConnections, pool: _LoopConnections) -> None:
        self._source = source
        self._pool = pool
        self._conn: Link | None = None
        self._rows: Sequence[Sequence[Any]] = ()
        self._kept = False

    def execute(self, sql: str, args: Any) -> None:
        first = self._conn is None
        conn = self._open() if first else self._conn
        assert conn is not None
        self._rows = ()
        try:
            self._rows = await_only(conn.fetch(sql, args))
        except self._source.outage as error:
            self.drop()
            if not (first and self._kept):
                metrics.DATABASE_ERRORS.inc()
                raise ServiceUnavailable("database unavailable") from error
            self._conn = conn = await_only(self._source.connect())
            try:
                self._rows = await_only(conn.fetch(sql, args))
            except self._source.outage as again:
                self.drop()
                metrics.DATABASE_ERRORS.inc()
                raise ServiceUnavailable("database unavailable") from again

    def write(self, sql: str, args: Any) -> None:
        """`execute` for a statement that writes and is its own transaction (autocommit):
        sent once, never again on another connection, since a connection lost while it was
        in flight may have committed it. A kept connection already seen closed is
        replaced before anything is sent, as the pool's checkout does (`_closed_asyncpg`)."""
        conn = self._conn
        while conn is None:
            conn = self._open()
            if self._kept and conn.closed:
                self.drop()
                conn = None
        self._rows = ()
        try:
            self._rows = await_only(conn.fetch(sql, args))
        except self._source.outage as error:
            self.drop()
            metrics.DATABASE_ERRORS.inc()
            raise ServiceUnavailable("database unavailable") from error

    def fetchall(self) -> Sequence[Sequence[Any]]:
        rows, self._rows = self._rows, ()
        return rows

    def _open(self) -> Link:
        try:
            self._conn, self._kept = self._pool.idle.pop(), True
        except IndexError:
            self._conn, self._kept = await_only(self._source.connect()), False
        return self._conn

    def drop(self) -> None:
        """A broken connection is never handed out again."""
        if self._conn is not None:
            finish(self._conn)
        self._conn = None

    def give_back(self) -> None:
        if self._conn is not None:
            self._pool.give_back(self._conn)
            self._conn = None


class _LoopConnections:
    """The awaited connections of one event loop, at most _CONNECTIONS in use, closed when
    the loop shuts down.

    An asyncpg connection is closed by its loop (a callback that closes the socket): once
    the loop has closed, nothing can. `asyncio.run`, `anyio.run` (a test client's portal, a
    loop a request) and uvicorn finalize the loop's async generators before closing it, and
    `_closed_with_loop` is one: its `finally` closes the idle connections while the loop
    still runs.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.slots = asyncio.Semaphore(_CONNECTIONS)
        self.idle: list[Link] = []
        self.discarded = False
        self._transactions: Transactions | None = None
        self._watch = self._closed_with_loop()
        # Run to its `yield`: the running loop now holds it (`loop.shutdown_asyncgens`).
        with contextlib.suppress(StopIteration):
            self._watch.asend(None).send(None)

    async def _closed_with_loop(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            self.discard()

    def transactions(self, source: AwaitedConnections) -> Transactions:
        """This loop's awaited transactions (made at the first)."""
        if self._transactions is None:
            self._transactions = Transactions(source)
        return self._transactions

    def give_back(self, conn: Link) -> None:
        if self.discarded:
            finish(conn)
        else:
            self.idle.append(conn)

    def discard(self) -> None:
        self.discarded = True
        while self.idle:
            finish(self.idle.pop())
        if self._transactions is not None:
            self._transactions.discard()


class Transactions:
    """The transactions awaited on one event loop: SQLAlchemy's asyncpg dialect, whose DB-API
    connections await each statement from inside `run` (SQLAlchemy's own asyncio extension
    works the same way), at most _CONNECTIONS at once.

    Waiters for a connection take turns (`asyncio.Semaphore` serves them first come, first
    served), not the pool's queue: an `asyncio.Queue` lets a newcomer take a connection put
    back before the waiter woken for it runs, and that waiter queues again at the back.
    Measured (`make bench --accounts 20000`, PostgreSQL): MOR debits through the pool's
    queue alone had a p99 of 238 and 264 ms at a p50 of 65-72; taking turns, 123 and 125 at
    65 (bench/README.md, twelfth look).
    """

    def __init__(self, source: AwaitedConnections) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        self.slots = asyncio.Semaphore(_CONNECTIONS)
        self._opened: list[Any] = []  # the engine's asyncpg connections, to close at the end

        async def connect() -> Any:
            link = await source.connect()  # an outage is ServiceUnavailable, as for reads
            assert isinstance(link, _AsyncpgLink)  # `AwaitedConnections.writes`: asyncpg only
            self._opened = [kept for kept in self._opened if not kept.is_closed()]
            self._opened.append(link.conn)
            return link.conn

        made = create_async_engine(
            "postgresql+asyncpg://", async_creator=connect, pool_size=_CONNECTIONS, max_overflow=0
        )
        self.engine = made.sync_engine
        event.listen(self.engine, "checkout", _closed_asyncpg)

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """Inside `run`: a connection of this loop's engine, once one is free."""
        await_only(self.slots.acquire())
        try:
            with self.engine.connect() as conn:
                yield conn
        finally:
            self.slots.release()

    def discard(self) -> None:
        """Close every connection without awaiting (the loop is ending)."""
        while self._opened:
            with contextlib.suppress(Exception):
                self._opened.pop().terminate()


def _closed_asyncpg(_dbapi_conn: Any, _record: Any, proxy: Any) -> None:
    """A pooled asyncpg connection its server closed is replaced before use (the sync
    engine's `_found_dead`): asyncpg's protocol saw the socket close while it sat idle."""
    if proxy.driver_connection.is_closed():
        raise exc.DisconnectionError("connection closed")


def finish(conn: Link) -> None:
    """Close a connection without awaiting (its driver's close of the socket)."""
    with contextlib.suppress(Exception):
        conn.finish()


class _AsyncpgLink:
    """An asyncpg connection (autocommit: asyncpg opens no transaction unless asked)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, engine: Engine) -> _AsyncpgLink:
        import asyncpg  # only a PostgreSQL installation gets here

        # The engine's own URL, which asyncpg reads as libpq does (`_ASYNCPG_READS`), but
        # for `connect_timeout`: asyncpg's is an argument.
        url = engine.url.set(drivername="postgresql")
        timeout = url.query.get("connect_timeout")
        dsn = url.difference_update_query(["connect_timeout"])
        options = {"timeout": float(str(timeout))} if timeout else {}
        return cls(await asyncpg.connect(dsn.render_as_string(hide_password=False), **options))

    async def fetch(self, sql: str, args: Any) -> Sequence[Sequence[Any]]:
        import asyncpg

        text, names = numbered(sql)
        values = args if names is None else [args[name] for name in names]
        try:
            rows: Sequence[Sequence[Any]] = await self.conn.fetch(text, *values)
        except asyncpg.InterfaceError as error:
            # A closed connection is an outage; anything else asyncpg refuses (an argument
            # of the wrong type) is a bug, and stays one.
            if self.conn.is_closed():
                raise ConnectionResetError("the connection is closed") from error
            raise
        return rows

    def finish(self) -> None:
        self.conn.terminate()

    @property
    def closed(self) -> bool:
        return bool(self.conn.is_closed())


class _PsycopgLink:
    """A psycopg async connection; behind PgBouncer (`prepare` False) it prepares nothing."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, engine: Engine, *, prepare: bool) -> _PsycopgLink:
        import psycopg  # only a PostgreSQL installation gets here

        _cargs, cparams = engine.dialect.create_connect_args(engine.url)
        no_prepare: dict[str, Any] = {} if prepare else {"prepare_threshold": None}
        conn = await psycopg.AsyncConnection.connect(**cparams, **no_prepare, autocommit=True)
        return cls(conn)

    async def fetch(self, sql: str, args: Any) -> Sequence[Sequence[Any]]:
        cursor = self.conn.cursor()
        try:
            await cursor.execute(sql, args)
            rows: Sequence[Sequence[Any]] = await cursor.fetchall()
            return rows
        finally:
            await cursor.close()

    def finish(self) -> None:
        self.conn.pgconn.finish()

    @property
    def closed(self) -> bool:
        return bool(self.conn.closed)


# The URL parameters asyncpg reads as libpq does (asyncpg/connect_utils.py; `options` and
# `application_name` go to the server as the startup packet's, as libpq sends them). Any
# other (`keepalives`, `hostaddr`...) would reach the server as a setting it does not know:
# with one of those the awaited reads keep to psycopg.
_ASYNCPG_READS = frozenset({
    "host", "port", "dbname", "database", "user", "password", "passfile", "service",
    "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword", "sslnegotiation",
    "ssl_min_protocol_version", "ssl_max_protocol_version", "target_session_attrs",
    "krbsrvname", "gsslib", "options", "application_name", "connect_timeout",
})  # fmt: skip

# psycopg's markers in a statement compiled for the engine: a named parameter, a positional
# one, and a literal percent sign.
_MARKER = re.compile(r"%\((\w+)\)s|%s|%%")


@functools.lru_cache(maxsize=1024)
def numbered(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """`sql` as asyncpg takes it: psycopg's `%(name)s` markers as `$1`, `$2`... (a name
    used twice keeps its number), `%s` numbered in order, `%%` a percent sign; and the
    names in their numbers' order (None: the statement takes a sequence)."""
    names: list[str] = []
    count = 0

    def number(marker: re.Match[str]) -> str:
        nonlocal count
        name = marker.group(1)
        if name is not None:
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"
        if marker.group(0) == "%%":
            return "%"
        count += 1
        return f"${count}"

    text = _MARKER.sub(number, sql)
    if names and count:
        raise ValueError("a statement with both named and positional parameters")
    return text, tuple(names) if names else None


def _asyncpg_outage() -> tuple[type[BaseException], ...]:
    """asyncpg's errors that mean the server or the connection is gone (not the statement):
    refused, reset or closed (OSError, `_AsyncpgLink.fetch`), lost, shut down or
    restarting, out of connections."""
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - a dependency; SQLite-only installs may lack it
        return ()
    errors = asyncpg.exceptions
    return (
        OSError, errors.PostgresConnectionError, errors.OperatorInterventionError,
        errors.InsufficientResourcesError,
    )  # fmt: skip
