"""Engines and transactions: SQLite (WAL, foreign keys, BEGIN IMMEDIATE writes) or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import itertools
import select
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.pool import NullPool

from smsaccounts import metrics
from smsaccounts.config import Settings
from smsaccounts.errors import ServiceUnavailable
from smsaccounts.storage.awaited import Transactions
from smsaccounts.storage.prepared import raw_execute, savepoint

_BUSY_SECONDS = 30  # how long a SQLite writer waits for the one before it

# Errors that mean "the database does not answer", as opposed to a bug in a statement.
_OUTAGE = (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError)


# psycopg's switch for server-side prepared statements (None: never prepare).
NO_PREPARE: dict[str, Any] = {"prepare_threshold": None}


def make_engine(settings: Settings, *, url: str | None = None, **kwargs: Any) -> Engine:
    url = url or settings.database_url
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings, **kwargs)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    options: dict[str, Any] = {"pool_size": 10, "max_overflow": 20}
    if not settings.pg_prepared_statements:
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), **NO_PREPARE}
    engine = create_engine(url, **{**options, **kwargs})
    event.listen(engine, "checkout", _found_dead)
    return engine


def _found_dead(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed, or written to while it sat idle, is
    replaced before use (SQLAlchemy retries the checkout with a new one).

    This is the pool's pre-ping without its round trip, two of a MOR debit's nine: an idle
    connection has nothing to read unless the server has gone away (a restart or an
    idle-session timeout sends its FATAL and closes the socket; a proxy or a dead server
    closes it), so a readable socket means "do not use it". Only a peer lost without a
    word (a host gone, a silent firewall) is not seen here; the pre-ping saw that only after
    its own timeout too.
    """
    if dbapi_conn.closed or dbapi_conn.broken:
        raise exc.DisconnectionError("connection closed")
    poller = select.poll()  # not select.select: it refuses descriptors from 1024 on
    try:
        poller.register(dbapi_conn.fileno(), select.POLLIN)
    except Exception as error:  # psycopg's or the OS's: unusable either way
        raise exc.DisconnectionError("connection unusable") from error
    if poller.poll(0):  # readable, hung up or in error: not a quiet idle connection
        raise exc.DisconnectionError("the server closed or wrote to an idle connection")


def _sqlite_engine(url: str, settings: Settings, **kwargs: Any) -> Engine:
    memory = url in {"sqlite://", "sqlite:///:memory:"}
    engine = create_engine(
        url,
        connect_args={"timeout": _BUSY_SECONDS, "check_same_thread": False},
        **({"poolclass": NullPool} if memory else {}),
        **kwargs,
    )
    synchronous = settings.sqlite_synchronous

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute(f"PRAGMA busy_timeout={_BUSY_SECONDS * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front; a deferred BEGIN that upgrades later can
        # fail with SQLITE_BUSY without waiting for the busy timeout.
        # On the DB-API cursor: through `exec_driver_sql` this statement alone cost ~60 µs of
        # SQLAlchemy per transaction (`python -m bench.cpu`).
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        raw_execute(conn, "BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class WriterBusy(Exception):
    """A grouped write found SQLite's write lock taken (by a thread of this process, or by
    another process): nothing was written, and the caller runs its use case on a worker
    thread, which may wait for the lock."""


@dataclasses.dataclass(eq=False, slots=True)
class Group:
    """One SQLite write transaction shared by the writes of requests served on the event
    loop (`Database.group_write`); `done` resolves once it is committed (or failed)."""

    conn: Connection
    done: asyncio.Future[None]
    thread: int  # the event loop's
    savepoints: Iterator[int] = dataclasses.field(default_factory=itertools.count)
    # What its requests' transactions asked to run once committed (`Tx.after_commit`).
    committed: list[Callable[[], object]] = dataclasses.field(default_factory=list)
    last: bool = False  # the database was disposed while it was open: its connection goes


@dataclasses.dataclass(slots=True)
class Ticket:
    """A request's part in grouped writing: the group its writes joined, if any."""

    group: Group | None = None


# Set while a use case runs on the event loop with its writes grouped (`UnitOfWork.grouped`).
_TICKET: contextvars.ContextVar[Ticket | None] = contextvars.ContextVar(
    "smsaccounts_group_ticket", default=None
)


class Database:
    """Hands out connections inside one transaction each; outages become ServiceUnavailable.

    **Grouped writes (SQLite).** A use case served on the event loop (MOR debits, charges)
    writes into one open transaction shared with the other requests the loop serves in the
    same turn, each inside its own savepoint (undone alone if its use case fails), and the
    transaction commits at the end of that turn, in one sync to disk for all of them: group
    commit. A request is answered only after the commit that holds its writes, so nothing
    acknowledged is lost; if the commit fails, every request in it gets the failure. When a
    worker thread (or another process) holds the write lock, the request goes to a worker
    thread instead (`WriterBusy`). `make bench` (bench/README.md) has the figures.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time. Threads of this process that want to write queue
        # here, each woken the moment the one before commits, instead of in SQLite's busy
        # handler, which sleeps 1, 2, 5, 10 ms and more between tries: with 4 worker threads
        # that sleeping, not the sync to disk, bounded writes (`make bench` mor_debit).
        # Other processes still meet at SQLite's lock. Reentrant, so a nested write in one
        # thread behaves as before; waited for no longer than SQLite's busy timeout.
        self._writer = threading.RLock()
        self._group: Group | None = None
        self._group_conn: Connection | None = None  # the groups' own (`_group_connection`)

    @contextlib.contextmanager
    def _queued(self, write: bool) -> Iterator[None]:
        if not (write and self.is_sqlite):
            yield
            return
        if not self._writer.acquire(timeout=_BUSY_SECONDS):
            metrics.DATABASE_ERRORS.inc()
            raise ServiceUnavailable("database busy")
        try:
            yield
        finally:
            self._writer.release()

    @contextlib.contextmanager
    def transaction(
        self, *, write: bool, awaited: Transactions | None = None
    ) -> Iterator[Connection]:
        """A transaction; with `awaited`, on a connection whose statements are awaited on the
        event loop (storage/awaited.py), instead of this database's own."""
        if awaited is not None:
            with _outages(), awaited.connect() as conn, conn.begin():
                yield conn
            return
        group = self._group
        if write and group is not None and group.thread == threading.get_ident():
            # A write of this thread (the event loop's) outside a group while one is open:
            # the group commits first, or this transaction would wait on its own lock.
            self._commit(group)
        with _outages(), self._queued(write), self.engine.connect() as conn:
            if write and self.is_sqlite:
                conn = conn.execution_options(sqlite_immediate=True)
            with _snapshot_per_statement(conn, when=not (write or self.is_sqlite)), conn.begin():
                yield conn

    @contextlib.contextmanager
    def statement(self, *, awaited: Transactions | None = None) -> Iterator[Connection]:
        """A connection without a transaction, for one writing statement that is its own
        (no BEGIN, no COMMIT: two round trips less to a server); with `awaited`, as in
        `transaction`. A database server only: SQLite's writes go through `transaction`."""
        assert not self.is_sqlite
        with _outages(), (awaited.connect() if awaited is not None
                          else self.engine.connect()) as conn:  # fmt: skip
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextlib.contextmanager
    def group_write(self, ticket: Ticket) -> Iterator[Connection]:
        """A write inside the event loop's open group transaction (opened, and its commit
        scheduled for the end of this loop turn, if there is none), as a savepoint."""
        group = self._group
        if group is None:
            group = self._open_group()
        elif group.thread != threading.get_ident():
            raise WriterBusy  # another event loop's group (a second loop in this process)
        ticket.group = group
        with _outages(), savepoint(group.conn, f"g{next(group.savepoints)}"):
            yield group.conn

    def _open_group(self) -> Group:
        loop = asyncio.get_running_loop()
        if not self._writer.acquire(blocking=False):
            raise WriterBusy
        try:
            conn = self._group_connection()
            try:
                conn.begin()
            except exc.OperationalError as error:
                if "locked" in str(error.orig).lower() or "busy" in str(error.orig).lower():
                    raise WriterBusy from None  # no transaction began: the connection is kept
                self._drop_group_connection()
                raise
            except BaseException:
                self._drop_group_connection()
                raise
        except BaseException:
            self._writer.release()
            raise
        group = self._group = Group(conn, loop.create_future(), threading.get_ident())
        loop.call_soon(self._commit, group)
        return group

    def _group_connection(self) -> Connection:
        """The connection every group writes on, kept from one group to the next.

        Its busy timeout is 0 for its whole life: it never waits on the event loop (a lock
        held by another process sends the request to a worker thread, which waits for it),
        and once BEGIN IMMEDIATE holds the write lock nothing it runs waits on another
        writer. Kept out of the pool (detached), so that no other transaction gets a
        connection that does not wait. Connecting, the pool's checkout and return (a
        ROLLBACK) and setting the timeout twice cost ~17% of a MOR debit's CPU per group
        (py-spy of `python -m bench.cpu`).
        """
        conn = self._group_conn
        if conn is None:
            conn = self.engine.connect().execution_options(sqlite_immediate=True)
            try:
                conn.connection.detach()  # closing it closes the DB-API connection
                raw_execute(conn, "PRAGMA busy_timeout=0")
            except BaseException:
                conn.close()
                raise
            self._group_conn = conn
        return conn

    def _drop_group_connection(self) -> None:
        """Close the group connection after a failure: the next group connects anew."""
        conn, self._group_conn = self._group_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _commit(self, group: Group) -> None:
        """End `group`: commit (one sync to disk for every request in it), wake its requests."""
        if self._group is not group:
            return  # committed already (a write outside the group came first)
        self._group = None
        try:
            group.conn.commit()
        except Exception as error:  # noqa: BLE001 - every request of the group gets it
            failure: Exception = error
            if _down(error):
                metrics.DATABASE_ERRORS.inc()
                failure = ServiceUnavailable("database unavailable")
            with contextlib.suppress(Exception):
                group.conn.rollback()
            self._drop_group_connection()  # it may be broken: not kept
            group.done.set_exception(failure)
        else:
            group.done.set_result(None)
            for action in group.committed:
                action()
        finally:
            if not group.done.done():  # interrupted: its requests must not wait for ever
                group.done.set_exception(ServiceUnavailable("database unavailable"))
                self._drop_group_connection()
            if group.last:
                self._drop_group_connection()
            self._writer.release()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except exc.SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        """Close every connection: the pool's now, the groups' now or, while a group is
        open, once it has committed (its requests are still to be answered)."""
        group = self._group
        if group is None:
            self._drop_group_connection()
        else:
            group.last = True
        self.engine.dispose()


def ticket() -> Ticket | None:
    """The current request's grouped-writing ticket, if its writes are grouped."""
    return _TICKET.get()


@contextlib.contextmanager
def grouping() -> Iterator[Ticket]:
    """Group the writes made in this context (on the event loop, SQLite)."""
    found = Ticket()
    token = _TICKET.set(found)
    try:
        yield found
    finally:
        _TICKET.reset(token)


def _down(error: BaseException) -> bool:
    """Whether `error` means the database does not answer (not a broken statement)."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True  # the driver found its connection gone (asyncpg's is a plain DBAPIError)
    if not isinstance(error, _OUTAGE):
        return False
    return not isinstance(error, exc.OperationalError) or _is_outage(error)


@contextlib.contextmanager
def _snapshot_per_statement(conn: Connection, *, when: bool) -> Iterator[None]:
    """A read on a database server in autocommit, its connection put back in transactions
    after: at PostgreSQL's READ COMMITTED each statement of a read transaction reads its own
    snapshot, as it does in autocommit, so BEGIN and COMMIT were two round trips that bought
    nothing (two of a LINK page's seven). The lookups read the same way
    (`storage.lookups`). A read that wrote would commit statement by statement: every
    change goes through `UnitOfWork.write`.

    A connection that cannot be put back (the server closed it) is dropped from the pool,
    and the read's own error, if it raised one, is what goes on (an outage, not this)."""
    if not when:
        yield
        return
    server: Any = conn.connection.driver_connection
    server.autocommit = True
    try:
        yield
    finally:
        try:
            server.autocommit = False
        except Exception:  # noqa: BLE001 - any failure: the pool must not hand it out
            conn.invalidate()


@contextlib.contextmanager
def _outages() -> Iterator[None]:
    """A database that does not answer, as ServiceUnavailable (counted); other errors pass."""
    try:
        yield
    except (exc.DBAPIError, *_OUTAGE) as error:
        if not _down(error):
            raise
        metrics.DATABASE_ERRORS.inc()
        raise ServiceUnavailable("database unavailable") from error


def _is_outage(error: exc.OperationalError) -> bool:
    """SQLite reports a broken statement as OperationalError too; only I/O and locks count."""
    if error.connection_invalidated:
        return True
    orig = error.orig
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig).lower()
        return any(
            word in message
            for word in (
                "locked",
                "unable to open",
                "disk i/o",
                "readonly",
                "busy",
                "no such table",
            )
        )
    return True
