"""The SQLAlchemy unit of work: repositories over one transaction, plus clock and settings.

Services type against the protocols in `smsaccounts.services.ports`; these classes are the
implementation the app, the CLI and the database tests wire in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy import Connection

from smsaccounts.config import Settings
from smsaccounts.domain.clock import Clock
from smsaccounts.domain.credentials import Passwords
from smsaccounts.storage import database
from smsaccounts.storage.accounts import AccountsRepository
from smsaccounts.storage.audit import AuditRepository
from smsaccounts.storage.awaited import AwaitedConnections, Transactions
from smsaccounts.storage.charges import ChargesRepository
from smsaccounts.storage.console import ConsoleRepository
from smsaccounts.storage.credentials import CredentialsRepository
from smsaccounts.storage.database import Database
from smsaccounts.storage.hotpath import HotReads
from smsaccounts.storage.lookups import Lookups, LookupStatements
from smsaccounts.storage.outbox import OutboxRepository
from smsaccounts.storage.prepared import savepoint
from smsaccounts.storage.throttles import ThrottlesRepository
from smsaccounts.storage.wallets import AwaitedWallets, WalletsRepository

T = TypeVar("T")


class AfterCommit:
    """What a transaction does once it has committed (count a charge in the metrics), kept
    by savepoint: a savepoint undone drops what was asked inside it."""

    def __init__(self) -> None:
        self._frames: list[list[Callable[[], object]]] = [[]]

    def add(self, action: Callable[[], object]) -> None:
        self._frames[-1].append(action)

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        self._frames.append([])
        try:
            yield
        except BaseException:
            self._frames.pop()
            raise
        kept = self._frames.pop()
        self._frames[-1].extend(kept)

    @property
    def actions(self) -> list[Callable[[], object]]:
        """Every action asked for outside an undone savepoint, in order."""
        return self._frames[0]


def run_all(actions: list[Callable[[], object]]) -> None:
    """Run a committed transaction's actions; it committed whatever one of them does."""
    for action in actions:
        action()


class Tx:
    """One open transaction: every repository on the same connection, and one `now`."""

    def __init__(
        self, conn: Connection, now: dt.datetime, *, default_currency: str, email: bool = False
    ) -> None:
        self.conn = conn
        self.now = now
        self.default_currency = default_currency  # of a wallet opened without one
        self.email = email  # an SMTP server is configured: e-mail alerts can go out
        self._savepoints = itertools.count()
        self.committed = AfterCommit()

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """What runs inside is undone alone if it raises; the transaction goes on."""
        with savepoint(self.conn, f"s{next(self._savepoints)}"), self.committed.savepoint():
            yield

    def after_commit(self, action: Callable[[], object]) -> None:
        """Run `action` once this transaction has committed; never if it is undone."""
        self.committed.add(action)

    @functools.cached_property
    def accounts(self) -> AccountsRepository:
        return AccountsRepository(self.conn)

    @functools.cached_property
    def wallets(self) -> WalletsRepository:
        return WalletsRepository(self.conn)

    @functools.cached_property
    def credentials(self) -> CredentialsRepository:
        return CredentialsRepository(self.conn)

    @functools.cached_property
    def throttles(self) -> ThrottlesRepository:
        return ThrottlesRepository(self.conn)

    @functools.cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.conn)

    @functools.cached_property
    def charges(self) -> ChargesRepository:
        return ChargesRepository(self.conn)

    @functools.cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.conn)

    @functools.cached_property
    def console(self) -> ConsoleRepository:
        return ConsoleRepository(self.conn)


class Statement:
    """What `UnitOfWork.at_once` opens on the event loop: one writing statement awaited on
    the lookups' autocommit connections (`AwaitedWallets`), its own transaction."""

    def __init__(self, wallets: AwaitedWallets, now: dt.datetime) -> None:
        self.wallets = wallets
        self.now = now
        self.committed = AfterCommit()

    def after_commit(self, action: Callable[[], object]) -> None:
        """Run `action` once the statement has run (and so committed)."""
        self.committed.add(action)


class UnitOfWork:
    """What every service function takes: transactions, the clock, settings, the hasher."""

    def __init__(
        self, *, settings: Settings, db: Database, clock: Clock, passwords: Passwords
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.passwords = passwords

    @functools.cached_property
    def hot(self) -> HotReads:
        """The one-statement reads of the hottest request paths."""
        return HotReads(
            self.db.engine, prepare=self.settings.pg_prepared_statements, awaited=self._awaited
        )

    @functools.cached_property
    def _awaited(self) -> AwaitedConnections | None:
        """PostgreSQL's connections awaited on the event loop (storage/awaited.py)."""
        if self.db.engine.dialect.driver != "psycopg":
            return None
        return AwaitedConnections(self.db.engine, prepare=self.settings.pg_prepared_statements)

    def close(self) -> None:
        if "hot" in self.__dict__:
            self.hot.close()
        if self.__dict__.get("_awaited") is not None:
            self.__dict__["_awaited"].close()
        if "_lookups" in self.__dict__:
            self._lookups.close()
        self.db.dispose()

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        """A writing transaction (SQLite: BEGIN IMMEDIATE); committed unless it raises.

        Inside `grouped` (SQLite, on the event loop) it is a savepoint of the loop's group
        transaction instead, committed with it (`Database`): undone alone if it raises.
        """
        awaited = self._transactions()
        ticket = database.ticket() if self.groups_writes else None
        with (self.db.group_write(ticket) if ticket is not None
              else self.db.transaction(write=True, awaited=awaited)) as conn:  # fmt: skip
            tx = Tx(conn, self.clock.now(), default_currency=self.settings.default_currency,
                    email=bool(self.settings.smtp_url))  # fmt: skip
            yield tx
        if ticket is not None and ticket.group is not None:
            ticket.group.committed.extend(tx.committed.actions)  # run by the group's commit
        else:
            run_all(tx.committed.actions)

    @property
    def writes_at_once(self) -> bool:
        """Whether `at_once` is open here: on a database server (PostgreSQL), where a
        statement that is its own transaction saves BEGIN's and COMMIT's round trips."""
        return not self.db.is_sqlite

    @contextlib.contextmanager
    def at_once(self) -> Iterator[Tx | Statement]:
        """A `Tx` for one writing statement that is its own transaction (`writes_at_once`):
        whatever runs in it commits as it runs, so it must run one statement, whose effects
        all happen or none. Its `after_commit` actions run after it. Inside `writes_on_loop`
        it is a `Statement` on the lookups' awaited connections instead (no pool, no
        `Connection`: the same statement with less Python around it)."""
        awaited = self._awaited
        if awaited is not None and awaited.writing():
            with awaited.cursor() as cursor:
                one = Statement(AwaitedWallets(cursor, self.db.engine), self.clock.now())
                yield one
            run_all(one.committed.actions)
            return
        with self.db.statement(awaited=self._transactions()) as conn:
            tx = Tx(conn, self.clock.now(), default_currency=self.settings.default_currency,
                    email=bool(self.settings.smtp_url))  # fmt: skip
            yield tx
        run_all(tx.committed.actions)

    @property
    def awaits_writes(self) -> bool:
        """Whether a use case's transactions may be awaited on the event loop
        (`writes_on_loop`): PostgreSQL through asyncpg (storage/awaited.py)."""
        return self._awaited is not None and self._awaited.writes

    async def writes_on_loop(self, use_case: Callable[..., T], *args: Any) -> T:
        """Run `use_case` (no password hash) for a caller on the event loop, its lookups
        and its transactions awaited (`awaits_writes`)."""
        assert self._awaited is not None
        return await self._awaited.run(use_case, *args, writes=True)

    def _transactions(self) -> Transactions | None:
        """The awaited transactions inside `writes_on_loop`, else None (and a
        transaction inside `reads_on_loop` is refused: it would block the loop)."""
        awaited = self._awaited
        found = awaited.transactions() if awaited is not None else None
        if found is None:
            self._not_awaited()
        return found

    @property
    def groups_writes(self) -> bool:
        """Whether a use case's writes may be grouped on the event loop (`grouped`): SQLite,
        whose writers take turns anyway; a database server commits concurrent
        transactions together by itself."""
        return self.db.is_sqlite

    def grouped(self) -> contextlib.AbstractContextManager[database.Ticket]:
        """Group the writes `write` makes in this context; the caller awaits the ticket's
        group (`ticket.group.done`) before answering, and runs the use case on a worker
        thread instead when it raises `database.WriterBusy`."""
        return database.grouping()

    @functools.cached_property
    def _lookups(self) -> LookupStatements:
        return LookupStatements(self.db.engine, awaited=self._awaited)

    async def reads_on_loop(self, use_case: Callable[..., T], *args: Any) -> T:
        """Run `use_case`, whose only I/O is `lookups` (no write, no password hash), for a
        caller on the event loop, in the cheapest way the storage allows: inline on SQLite
        (a read in WAL mode takes microseconds and never waits on a writer), its lookups
        awaited on PostgreSQL (storage/awaited.py), else as `run_reads` (on a worker thread)."""
        if self._awaited is not None:  # PostgreSQL only: never on SQLite
            return await self._awaited.run(use_case, *args)
        return await self.run_reads(use_case, *args)

    async def run_reads(self, use_case: Callable[..., T], *args: Any) -> T:
        """Run `use_case`, which only reads (`read`, `lookups`; no write, no password hash),
        for a caller on the event loop: inline on SQLite, whose reads in WAL mode never wait
        on a writer (a LINK page of 100 users, ~1 ms: inline it served 3x the pages a
        second of a worker thread under `make bench`, where the hop and the GIL handoffs
        between four busy threads cost more than the page), on a worker thread where a read
        is a round trip to a server (unlike `reads_on_loop`'s lookups, `read` is not awaited
        there: it would hold the loop)."""
        if self.db.is_sqlite:
            return use_case(*args)
        return await to_thread.run_sync(use_case, *args)

    def _not_awaited(self) -> None:
        """A transaction is never opened inside `reads_on_loop`'s awaited use case: its
        statements would block the event loop (only `lookups` are awaited there)."""
        awaited = self._awaited
        if awaited is not None and awaited.inside():
            raise RuntimeError("a transaction inside reads_on_loop: only lookups are awaited")

    def lookups(self) -> contextlib.AbstractContextManager[Lookups]:
        """`read` for the lookups by key, on a raw connection (storage/lookups.py)."""
        return self._lookups.open()

    @contextlib.contextmanager
    def read(self) -> Iterator[Tx]:
        with self.db.transaction(write=False, awaited=self._transactions()) as conn:
            tx = Tx(conn, self.clock.now(), default_currency=self.settings.default_currency,
                    email=bool(self.settings.smtp_url))  # fmt: skip
            yield tx
        run_all(tx.committed.actions)


def build(settings: Settings, *, clock: Clock | None = None) -> UnitOfWork:
    """Wire the unit of work for `settings`: engine, system clock, argon2id hasher."""
    from smsaccounts.domain.clock import SystemClock
    from smsaccounts.storage.database import make_engine

    return UnitOfWork(
        settings=settings,
        db=Database(make_engine(settings)),
        clock=clock or SystemClock(),
        passwords=Passwords(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
            cache_seconds=settings.credential_cache_seconds,
        ),
    )
