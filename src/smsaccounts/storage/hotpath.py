"""The hot read of every client-key request, in one indexed statement on a raw DB-API connection.

A mysms call needs the client key, the customer owning it, the user behind the auth token
and that user's wallet. Through the repositories that is three transactions of pooled
SQLAlchemy work (about 2 ms); here it is one statement that SQLAlchemy Core builds and
compiles once, executed on DB-API connections kept for this purpose (tens of µs). Only
reads live here: every write still goes through a unit of work.

An account acts only while every ancestor is enabled and live too (`Principal.active`), so
a second read by primary key asks which of the ancestors the two paths name (the
materialized path lists their ids) are not: disabling a reseller shuts out its customers'
keys and its users' tokens on this path at once, as everywhere else. The same read gives
the ancestors' funding and wallet figures, so a user who spends its customer's pool
(`domain.funding`) is shown that pool without a third statement.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from typing import Any, NamedTuple

from anyio import to_thread
from sqlalchemy import Engine, and_, bindparam, select

from smsaccounts import metrics
from smsaccounts.domain.funding import Funding, payer_index
from smsaccounts.domain.models import ApiKey, KeySession, Principal
from smsaccounts.domain.tree import Kind, ancestor_ids
from smsaccounts.errors import ServiceUnavailable
from smsaccounts.storage.awaited import AwaitedConnections, finish
from smsaccounts.storage.tables import accounts, api_keys, auth_tokens
from smsaccounts.storage.tables import wallets as wallets_table


def _ancestors_statement(count: int) -> Any:
    """State, funding and wallet figures of `count` accounts (by id): the ancestors of the
    key's owner and of the token's user, for `Principal.active` and for the wallet the user
    spends from (`domain.funding`)."""
    ids: list[Any] = [bindparam(f"a{n}") for n in range(count)]
    columns = (
        accounts.c.id, _active(accounts), accounts.c.funding,
        wallets_table.c.free_sms, wallets_table.c.credits,
    )  # fmt: skip
    return (
        select(*columns)
        .select_from(accounts)
        .outerjoin(wallets_table, wallets_table.c.account_id == accounts.c.id)
        .where(accounts.c.id.in_(ids))
    )


def _active(account: Any) -> Any:
    """Whether the account itself may act (enabled and live); NULL for no account."""
    return and_(account.c.enabled, account.c.deactivated.is_(None))


def _statement(ancestors: int = 0, *, wallets: bool = True) -> Any:
    """The key, its owner, the live token's user and its wallet; with `ancestors`, the state
    and wallet of that many accounts by id too (`a0`...), as `_ancestors_statement` reads
    them but for the id (NULLs for an id no account has). Without `wallets` only whether
    each may act: the rest is for a user who spends a pool (measured: each column a row
    carries costs sqlite3 ~0.2 µs to step and fetch)."""
    owner, user = accounts.alias("o"), accounts.alias("u")
    key, token, wallet = api_keys.alias("k"), auth_tokens.alias("t"), wallets_table.alias("w")
    columns: tuple[Any, ...] = (
        key.c.id, key.c.account_id, key.c.name, key.c.purpose, key.c.rights,
        key.c.allowed_ips, key.c.enabled, key.c.revoked_at.is_(None),
        owner.c.kind, owner.c.path, owner.c.enabled, owner.c.deactivated.is_(None),
        owner.c.iprange,
        user.c.id, user.c.kind, user.c.path, user.c.enabled, user.c.deactivated.is_(None),
        user.c.iprange, user.c.funding, wallet.c.free_sms, wallet.c.credits,
    )  # fmt: skip
    live_token = and_(token.c.token_hash == bindparam("token_hash"), token.c.revoked_at.is_(None))
    joined = (
        key.join(owner, owner.c.id == key.c.account_id)
        .outerjoin(token, live_token)
        .outerjoin(user, user.c.id == token.c.account_id)
        .outerjoin(wallet, wallet.c.account_id == user.c.id)
    )
    for n in range(ancestors):
        above = accounts.alias(f"a{n}")
        joined = joined.outerjoin(above, above.c.id == bindparam(f"a{n}"))
        columns += (_active(above),)
        if wallets:
            its_wallet = wallets_table.alias(f"aw{n}")
            joined = joined.outerjoin(its_wallet, its_wallet.c.account_id == above.c.id)
            columns += (above.c.funding, its_wallet.c.free_sms, its_wallet.c.credits)
    return select(*columns).select_from(joined).where(key.c.key_hash == bindparam("key_hash"))


class HotReads:
    """Compiled once per engine; DB-API connections handed out per call, kept for reuse."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_connections: int = 16,
        prepare: bool = True,
        awaited: AwaitedConnections | None = None,
    ) -> None:
        self.engine = engine
        # Behind PgBouncer's transaction pooling no statement is prepared on the server.
        self._no_prepare: dict[str, Any] = {} if prepare else {"prepare_threshold": None}
        # A SQLite read in WAL mode takes microseconds and never waits on a writer, so it may
        # run on the event loop; a PostgreSQL read is a network round trip and may not.
        self.inline = engine.dialect.name == "sqlite"
        # On PostgreSQL the same read is awaited on the event loop (storage/awaited.py).
        self.awaitable = engine.dialect.driver == "psycopg"
        # Connections handed in belong to whoever opened them (the unit of work, which
        # shares them with its lookups): `close` closes only the ones opened here.
        self._own_awaited = awaited is None and self.awaitable
        if self._own_awaited:
            awaited = AwaitedConnections(engine, prepare=prepare)
        self.awaited = awaited if self.awaitable else None
        compiled = _statement().compile(dialect=engine.dialect)
        self._sql = compiled.string
        names = tuple(compiled.positiontup or ())
        # Positional drivers (sqlite3) take the two hashes in the statement's order.
        self._positional = engine.dialect.paramstyle in ("qmark", "numeric")
        self._token_first = names[:1] == ("token_hash",)
        # Kept connections; list.pop and list.append are atomic, so threads may share it.
        self._idle: list[Any] = []
        # A database server has a connection limit to respect; SQLite files do not.
        self._slots = None if self.inline else threading.BoundedSemaphore(max_connections)
        dbapi = engine.dialect.loaded_dbapi
        self._outage: tuple[type[BaseException], ...] = (
            dbapi.OperationalError, dbapi.InterfaceError,
        )  # fmt: skip
        # The value objects a row's columns make, by those very columns: building them costs
        # more than the read itself, and equal columns always make equal (frozen) objects.
        self._keys: dict[tuple[Any, ...], tuple[ApiKey, Principal]] = {}
        self._users: dict[tuple[Any, ...], Principal] = {}
        # The ancestor read, compiled once per number of ids (a tree is a few levels deep).
        self._ancestors_sql: dict[int, tuple[str, tuple[str, ...]]] = {}
        # The ancestors two paths name, and their read with its arguments, by those paths:
        # reading them out of the paths on every call cost about what the read costs.
        self._chains: dict[tuple[str, str | None], _Chain] = {}
        # The chain of each key's last read, with a token and without: the next read of that
        # key joins the ancestors it names into its one statement (`_first`), and reads them
        # again only when the row's paths name others (measured: 21 µs against 15 + 14 µs
        # for the two statements of a user under its customer, bench.cpu on SQLite).
        # Their wallets are joined only when that read's user spent a pool (bench.cpu on
        # SQLite: 3 of the statement's 10 lookups for a user under a customer).
        self._guesses: dict[tuple[str, bool], _Guess] = {}
        # The statement with that many ancestors joined (with their wallets or without),
        # compiled once per shape.
        self._joined_sql: dict[tuple[int, bool], tuple[str, tuple[str, ...]]] = {}

    def key_session(self, key_hash: str, token_hash: str | None) -> KeySession | None:
        """The key (by hash) with its owner, and the live token's user with its wallet."""
        found = self._fetch_one(key_hash, token_hash)
        return None if found is None else self._read(*found)

    async def read(self, key_hash: str, token_hash: str | None) -> KeySession | None:
        """`key_session` for a caller on the event loop, in the cheapest way the database
        allows: a SQLite read in WAL mode inline (microseconds, never waiting on a writer),
        a PostgreSQL read awaited (storage/awaited.py), anything else on a worker thread."""
        if self.inline:
            return self.key_session(key_hash, token_hash)
        if not self.awaitable:
            return await to_thread.run_sync(self.key_session, key_hash, token_hash)
        found = await self._fetch_one_async(key_hash, token_hash)
        return None if found is None else self._read(*found)

    def _args(self, key_hash: str, token_hash: str | None) -> Any:
        token_hash = token_hash or ""
        if not self._positional:
            return {"key_hash": key_hash, "token_hash": token_hash}
        return (token_hash, key_hash) if self._token_first else (key_hash, token_hash)

    def _first(self, key_hash: str, token_hash: str | None) -> tuple[str, Any, _Guess | None]:
        """The first statement, its arguments, and the guess whose ancestors it joins (None:
        the plain statement, for a key not read yet or read last with nobody above)."""
        guess = self._guesses.get((key_hash, token_hash is None))
        if guess is None:
            return self._sql, self._args(key_hash, token_hash), None
        if not self._positional:
            values = {"key_hash": key_hash, "token_hash": token_hash or "", **guess.chain.named}
            return guess.sql, values, guess
        args = list(guess.args)
        args[guess.key_at] = key_hash
        args[guess.token_at] = token_hash or ""
        return guess.sql, args, guess

    def _guess(self, chain: _Chain, wallets: bool) -> _Guess:
        """The statement joining `chain`'s ancestors, and its arguments but for the hashes."""
        compiled = self._joined_sql.get((len(chain.ids), wallets))
        if compiled is None:
            statement = _statement(len(chain.ids), wallets=wallets)
            done = statement.compile(dialect=self.engine.dialect)
            compiled = (done.string, tuple(done.positiontup or ()))
            self._joined_sql[(len(chain.ids), wallets)] = compiled
        sql, order = compiled
        args = tuple(chain.named.get(name) for name in order)
        if not self._positional:
            return _Guess(chain, wallets, sql, args, -1, -1)
        return _Guess(chain, wallets, sql, args, order.index("key_hash"), order.index("token_hash"))

    def _found(
        self, row: Any, guess: _Guess | None, key: tuple[str, bool]
    ) -> tuple[tuple[Any, ...], _Chain, _Ancestors | None]:
        """The statement's own columns, their chain, and the ancestors' state when the first
        statement joined exactly that chain's ids, with their wallets if the user spends a
        pool (None: they are still to be read)."""
        own = tuple(row[:_ROW_COLUMNS])
        chain = self._chain(own)
        # Only a user who spends a pool is shown an ancestor's wallet (`_spendable`).
        pooled = bool(chain.user_ids) and own[_USER_COLUMNS] != Funding.OWN
        if not chain.ids:
            if guess is not None:
                self._guesses.pop(key, None)
        elif guess is None or guess.chain is not chain or guess.wallets is not pooled:
            self._guesses[key] = self._guess(chain, pooled)
            _bound(self._guesses)
        if chain.sql is None:
            return own, chain, {}
        if guess is None or guess.chain.ids != chain.ids or (pooled and not guess.wallets):
            return own, chain, None
        above: _Ancestors = {}
        width = _ANCESTOR_COLUMNS if guess.wallets else 1
        for id_, start in zip(chain.ids, range(_ROW_COLUMNS, len(row), width), strict=True):
            if row[start] is not None:  # NULL: no such account
                above[id_] = tuple(row[start : start + width])
        return own, chain, above

    def _chain(self, row: tuple[Any, ...]) -> _Chain:
        """The ancestors of the row's key owner and token user, and the read of their state."""
        user_path = row[_KEY_COLUMNS + _USER_PATH]
        # A path's ancestors are named by all but its last part: the users of one parent
        # share an entry (a user's own path would make one per user, cold at 100,000).
        paths = (row[_OWNER_PATH], None if user_path is None else user_path.rpartition(".")[0])
        chain = self._chains.get(paths)
        if chain is None:
            ids = _ancestors_named(row)
            sql, args = self._ancestors_query(ids) if ids else (None, None)
            owner_ids = frozenset(ancestor_ids(paths[0]))
            user_ids = None if user_path is None else tuple(ancestor_ids(user_path))
            user_set = frozenset(user_ids or ())
            named = {f"a{n}": account_id for n, account_id in enumerate(ids)}
            chain = self._chains[paths] = _Chain(
                sql, args, owner_ids, user_ids, user_set, tuple(ids), named
            )
            _bound(self._chains)
        return chain

    def _ancestors_query(self, ids: list[int]) -> tuple[str, Any]:
        """The ancestor read for `ids`, and its arguments in the driver's style."""
        compiled = self._ancestors_sql.get(len(ids))
        if compiled is None:
            statement = _ancestors_statement(len(ids)).compile(dialect=self.engine.dialect)
            compiled = (statement.string, tuple(statement.positiontup or ()))
            self._ancestors_sql[len(ids)] = compiled
        sql, order = compiled
        values = {f"a{n}": account_id for n, account_id in enumerate(ids)}
        if not self._positional:
            return sql, values
        return sql, tuple(values[name] for name in order)

    def _read(self, row: tuple[Any, ...], above: _Ancestors, chain: _Chain) -> KeySession:
        inactive = frozenset(id_ for id_, found in above.items() if not found[0])
        key_columns, user_columns = row[:_KEY_COLUMNS], row[_KEY_COLUMNS:_USER_COLUMNS]
        key_columns += (inactive.isdisjoint(chain.owner_ids),)
        found = self._keys.get(key_columns)
        if found is None:
            found = self._keys[key_columns] = _key_and_owner(key_columns)
            _bound(self._keys)
        user = None
        if user_columns[0] is not None:
            user_columns += (inactive.isdisjoint(chain.user_set),)
            user = self._users.get(user_columns)
            if user is None:
                user = self._users[user_columns] = _principal(user_columns)
                _bound(self._users)
        free_sms, credits = _spendable(row, above, chain.user_ids)
        return KeySession(found[0], found[1], user, free_sms, credits)

    def _fetch_one(self, key_hash: str, token_hash: str | None) -> _Found | None:
        if self._slots is None:
            return self._execute(key_hash, token_hash)
        if not self._slots.acquire(timeout=30):
            raise ServiceUnavailable("no database connection free")
        try:
            return self._execute(key_hash, token_hash)
        finally:
            self._slots.release()

    def _execute(self, key_hash: str, token_hash: str | None) -> _Found | None:
        """Run the statement (and the ancestor read, unless it joined them); a kept
        connection that died (a database restart) is retried once on a fresh one, as the
        engine's pre-ping does for pooled connections."""
        sql, args, guess = self._first(key_hash, token_hash)
        while True:
            try:
                conn, kept = self._idle.pop(), True
            except IndexError:
                conn, kept = self._connect(), False
            try:
                cursor = conn.cursor()
                try:
                    cursor.execute(sql, args)
                    row = cursor.fetchone()
                    found: _Found | None = None
                    if row is not None:
                        own, chain, above = self._found(row, guess, (key_hash, token_hash is None))
                        if above is None:
                            cursor.execute(chain.sql, chain.args)
                            above = {each[0]: each[1:] for each in cursor.fetchall()}
                        found = (own, above, chain)
                finally:
                    cursor.close()
            except self._outage as error:
                _close(conn)  # a broken connection is never handed out again
                if kept:
                    continue
                metrics.DATABASE_ERRORS.inc()
                raise ServiceUnavailable("database unavailable") from error
            self._idle.append(conn)
            return found

    def _connect(self) -> Any:
        dialect = self.engine.dialect
        cargs, cparams = dialect.create_connect_args(self.engine.url)
        try:
            if dialect.name == "sqlite":
                options: dict[str, Any] = {**cparams, "check_same_thread": False}
                connect: Any = sqlite3.connect  # its overloads do not type **options
                conn = connect(*cargs, **options, isolation_level=None)
                conn.execute("PRAGMA query_only=ON")
                conn.execute("PRAGMA busy_timeout=30000")
                conn.execute("PRAGMA mmap_size=1073741824")
                return conn
            conn = dialect.loaded_dbapi.connect(*cargs, **cparams, **self._no_prepare)
            conn.autocommit = True  # each read is one statement, its own snapshot
            return conn
        except self._outage as error:
            metrics.DATABASE_ERRORS.inc()
            raise ServiceUnavailable("database unavailable") from error

    def close(self) -> None:
        """Close every kept connection: the threads', and the event loop's if opened here."""
        while True:
            try:
                _close(self._idle.pop())
            except IndexError:
                break
        if self.awaited is not None and self._own_awaited:
            self.awaited.close()

    # -- awaited on the event loop (PostgreSQL) --------------------------------------------

    async def _fetch_one_async(self, key_hash: str, token_hash: str | None) -> _Found | None:
        assert self.awaited is not None
        pool = self.awaited.pool()
        outage = self.awaited.outage
        sql, args, guess = self._first(key_hash, token_hash)
        async with pool.slots:
            while True:
                try:
                    conn, kept = pool.idle.pop(), True
                except IndexError:
                    conn, kept = await self.awaited.connect(), False
                try:
                    rows = await conn.fetch(sql, args)
                    found: _Found | None = None
                    if rows:
                        own, chain, above = self._found(
                            rows[0], guess, (key_hash, token_hash is None)
                        )
                        if above is None:
                            assert chain.sql is not None  # `_found` answers {} without one
                            read = await conn.fetch(chain.sql, chain.args)
                            above = {each[0]: tuple(each[1:]) for each in read}
                        found = (own, above, chain)
                except outage as error:
                    finish(conn)  # a broken connection is never handed out again
                    if kept:
                        continue
                    metrics.DATABASE_ERRORS.inc()
                    raise ServiceUnavailable("database unavailable") from error
                pool.give_back(conn)
                return found


class _Guess(NamedTuple):
    """The statement for a key's next read: its last chain's ancestors joined."""

    chain: _Chain
    wallets: bool  # the ancestors' wallets joined too (that read's user spent a pool)
    sql: str
    args: tuple[Any, ...]  # positional: the arguments, with the two hashes still to set
    key_at: int  # where the key's hash goes in them (positional drivers)
    token_at: int  # and the token's


# Per ancestor id: may act (enabled and live), funding, free SMS, credits; only the first
# when the read needs no pool.
_Ancestors = dict[int, tuple[Any, ...]]


class _Chain(NamedTuple):
    """The ancestors of a key owner's and a token user's paths, and the read of them."""

    sql: str | None  # None: nobody above (the root's own key)
    args: Any
    owner_ids: frozenset[int]
    user_ids: tuple[int, ...] | None  # root first; None without a user
    user_set: frozenset[int]
    ids: tuple[int, ...]  # the ids `sql` reads, in its order
    named: dict[str, int]  # the same as the joined statement's arguments (`a0`...)


# The statement's row, its ancestors' state, and their chain.
_Found = tuple[tuple[Any, ...], _Ancestors, _Chain]
# The statement's columns: 13 of the key and its owner, 6 of the user, its funding, 2 of its
# wallet.
_KEY_COLUMNS = 13
_USER_COLUMNS = _KEY_COLUMNS + 6
_ROW_COLUMNS = _USER_COLUMNS + 3  # and after them, when joined, each ancestor's:
_ANCESTOR_COLUMNS = 4  # may act, funding, free SMS, credits (without wallets: may act)
_OWNER_PATH = 9  # in the key's columns
_USER_PATH = 2  # in the user's columns
_MEMO_SIZE = 65_536


def _ancestors_named(row: tuple[Any, ...]) -> list[int]:
    """The ids above the key's owner and above the token's user, each once."""
    ids = set(ancestor_ids(row[_OWNER_PATH]))
    user_path = row[_KEY_COLUMNS + _USER_PATH]
    if user_path is not None:
        ids.update(ancestor_ids(user_path))
    return sorted(ids)


def _spendable(
    row: tuple[Any, ...], above: _Ancestors, user_ids: tuple[int, ...] | None
) -> tuple[int, int]:
    """(free SMS, credits) the token's user can spend (`domain.funding.spendable`): its own
    free SMS, plus the paying ancestor's free SMS and credits when it spends a pool."""
    own_free, own_credits = int(row[-2] or 0), int(row[-1] or 0)
    if user_ids is None or row[-3] == Funding.OWN:
        return own_free, own_credits
    chain = [above.get(id_) for id_ in reversed(user_ids)]
    rows = [found for found in chain if found is not None]
    if not rows:
        return own_free, own_credits
    paying = rows[payer_index([found[1] for found in rows])]
    return own_free + int(paying[2] or 0), int(paying[3] or 0)


def _key_and_owner(columns: tuple[Any, ...]) -> tuple[ApiKey, Principal]:
    (k_id, k_account, k_name, k_purpose, k_rights, k_ips, k_enabled, k_live,
     o_kind, o_path, o_enabled, o_live, o_ips, o_above) = columns  # fmt: skip
    key = ApiKey(
        id=k_id, account_id=k_account, name=k_name, purpose=k_purpose,
        rights=frozenset(k_rights.split()), allowed_ips=k_ips, enabled=bool(k_enabled),
        revoked_at=None if k_live else _REVOKED,
    )  # fmt: skip
    return key, _principal((k_account, o_kind, o_path, o_enabled, o_live, o_ips, o_above))


def _principal(columns: tuple[Any, ...]) -> Principal:
    account_id, kind, path, enabled, live, iprange, above = columns
    return Principal(account_id, Kind(kind), path, bool(enabled), bool(live), iprange, above)


def _bound(memo: dict[Any, Any]) -> None:
    """A memo never outgrows _MEMO_SIZE entries: when full it starts over."""
    if len(memo) > _MEMO_SIZE:
        memo.clear()


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may fail again
        conn.close()


# A revoked key only needs to read as revoked; when is irrelevant to the checks.
_REVOKED = dt.datetime.min.replace(tzinfo=dt.UTC)
