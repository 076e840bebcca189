"""Engines and transactions: SQLite (WAL, foreign keys, BEGIN IMMEDIATE writes) or PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.pool import NullPool

from smsaccounts import metrics
from smsaccounts.config import Settings
from smsaccounts.errors import ServiceUnavailable

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
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    if not settings.pg_prepared_statements:
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), **NO_PREPARE}
    return create_engine(url, **{**options, **kwargs})


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
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Hands out connections inside one transaction each; outages become ServiceUnavailable."""

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
    def transaction(self, *, write: bool) -> Iterator[Connection]:
        try:
            with self._queued(write), self.engine.connect() as conn:
                if write and self.is_sqlite:
                    conn = conn.execution_options(sqlite_immediate=True)
                with conn.begin():
                    yield conn
        except _OUTAGE as error:
            if isinstance(error, exc.OperationalError) and not _is_outage(error):
                raise
            metrics.DATABASE_ERRORS.inc()
            raise ServiceUnavailable("database unavailable") from error

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except exc.SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


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
