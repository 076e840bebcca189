"""Read-only lookups by key (an account by id or name, its chain, a wallet) on a raw DB-API
connection, inside one read transaction: the reads of a hash-signed MOR call.

Through SQLAlchemy Core each of these statements costs ~70 µs of Python around a SQLite
read of a few µs (statement cache keys, result metadata, row objects), and a MOR
user_details_get makes six of them in two transactions (`make bench --profile`: ~1 ms of
CPU per call, 14x a mysms read). Here each statement is compiled once, run on the pool's
DB-API connection, and its row converted with the very result processors SQLAlchemy would
apply, into the same records the repositories build (`rows.account`, `rows.wallet`), so the
services' rules run unchanged on either (tests/integration/test_lookups.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Engine, bindparam, exc, select

from smsaccounts.domain.models import Account, ApiKey, BillingType, Signer, Standing, Wallet
from smsaccounts.domain.subusers import ListedAccount, ListedWallet
from smsaccounts.domain.throttle import State
from smsaccounts.domain.tree import Kind, ancestor_ids
from smsaccounts.errors import ServiceUnavailable
from smsaccounts.storage import accounts as storage_accounts
from smsaccounts.storage import rows
from smsaccounts.storage.awaited import AwaitedConnections
from smsaccounts.storage.prepared import Form, Prepared, observed_raw
from smsaccounts.storage.tables import accounts, api_keys, throttles, wallets
from smsaccounts.storage.throttles import state_of as throttle_state

# An ancestor read narrow (`Lookups._ancestors`).
Narrow = TypeVar("Narrow", Standing, Signer)

_KEPT = 2  # SQLite connections kept between lookups: the event loop's, a worker thread's


class Pair(NamedTuple):
    """The makers of an account and its wallet from a paired row, and where its wallet's
    columns start (its `account_id` first: never NULL when there is one)."""

    account: Callable[[Sequence[Any]], Account]
    wallet: Callable[[Sequence[Any]], Wallet]
    wallet_at: int


class LookupStatements:
    """Compiled once per engine; `open` hands out a `Lookups` inside a read transaction."""

    def __init__(self, engine: Engine, *, awaited: AwaitedConnections | None = None) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.awaited = awaited  # PostgreSQL: inside `awaited.run`, the statements are awaited
        # An account by id, object id or name comes with its wallet, which the reads that
        # find one that way go on to read (a MOR details target, a reseller's customer):
        # one statement instead of two. Their rows: the account's columns, then the wallet's (all
        # None without one); `mapping` is never asked of them.
        paired = select(accounts, wallets).select_from(
            accounts.outerjoin(wallets, wallets.c.account_id == accounts.c.id))  # fmt: skip
        self.by_id = self._form(paired.where(accounts.c.id == bindparam("id")))
        self.by_name = self._form(paired.where(*storage_accounts.NAMED))
        # A caller's chain by name: one statement on a server (a round trip less), the caller
        # then its ancestors by id on SQLite (`Lookups.signers`).
        signers = storage_accounts.SIGNERS_BY_NAME
        if self.is_sqlite:
            signers = storage_accounts.SIGNER_BY_NAME
        self.signers_by_name = signers.form(engine.dialect)
        named = storage_accounts.FIRST_NAMED if self.is_sqlite else storage_accounts.NAMED_SIGNERS
        self.named_signers = named.form(engine.dialect)
        # The same chain with the account a signed call names (`Lookups.expect`): the
        # signer's columns, then a paired row's (a server only: on SQLite no round trip).
        self.signers_with = storage_accounts.SIGNERS_WITH_ACCOUNT.form(engine.dialect)
        self.signer_width = len(Signer._fields)
        self.named_pair = self._pair(self.signers_with, self.signer_width)
        self.wallet = self._form(select(wallets).where(
            wallets.c.account_id == bindparam("account_id")))  # fmt: skip
        self.by_object_id = self._form(paired.where(
            accounts.c.object_id == bindparam("object_id")))  # fmt: skip
        self.throttle = self._form(select(throttles).where(throttles.c.key == bindparam("key")))
        # A key by hash with its owner and the owner's wallet (a paired row, the key's
        # columns after the wallet's): one statement instead of two.
        self.key_owner = self._form(
            select(accounts, wallets, *(c.label(f"k_{c.name}") for c in api_keys.c))
            .select_from(accounts.join(api_keys, api_keys.c.account_id == accounts.c.id)
                         .outerjoin(wallets, wallets.c.account_id == accounts.c.id))
            .where(api_keys.c.key_hash == bindparam("key_hash"))
        )  # fmt: skip
        # SQLite connections kept between lookups (`_keep`); list.pop and list.append are
        # atomic, so threads and the event loop may share it.
        self._kept: list[Any] = []
        self.wallet_at = len(accounts.c)  # where a paired row's wallet starts
        # Every statement reading accounts selects the accounts' columns first.
        self.pair = self._pair(self.by_id, 0)
        self.account = self.pair.account
        self.wallet_record = self.wallet.builder(Wallet, {"billing_type": BillingType})
        self.key_at = self.wallet_at + len(wallets.c)  # where a key_owner row's key starts
        # A LINK page (`Lookups.listed_page`) and the walk to it by number (`subtree_paths`).
        self.listed = {after: page.form(engine.dialect)
                       for after, page in storage_accounts.PAGE_LISTED.items()}  # fmt: skip
        self.paths = {after: paths.form(engine.dialect)
                      for after, paths in storage_accounts.SUBTREE_PATHS.items()}  # fmt: skip

    def key_of(self, raw: Sequence[Any]) -> ApiKey:
        """The key of a `key_owner` row."""
        values = self.key_owner.row(raw)[self.key_at :]
        return rows.api_key(dict(zip(api_keys.c.keys(), values, strict=True)))

    @staticmethod
    def _pair(form: Form, start: int) -> Pair:
        """How to read a paired account and wallet from `form`'s rows, from column `start`."""
        wallet_at = start + len(accounts.c)
        return Pair(form.builder(Account, {"kind": Kind}, start=start, stop=wallet_at),
                    form.builder(Wallet, {"billing_type": BillingType}, start=wallet_at),
                    wallet_at)  # fmt: skip

    def _form(self, statement: Any) -> Form:
        return Prepared(statement).form(self.engine.dialect)

    def by_ids(self, count: int) -> Form:
        return storage_accounts.by_ids(count).form(self.engine.dialect)

    def columns_by_ids(self, names: tuple[str, ...], count: int) -> Form:
        return storage_accounts.columns_by_ids(names, count).form(self.engine.dialect)

    @contextlib.contextmanager
    def open(self) -> Iterator[Lookups]:
        """One read transaction on a pooled DB-API connection (a snapshot, as `uow.read`);
        inside `AwaitedConnections.run`, the same statements awaited on the event loop."""
        if self.awaited is not None and self.awaited.inside():
            with self.awaited.cursor() as cursor:
                yield Lookups(self, cursor)
            return
        dbapi = self.engine.dialect.loaded_dbapi
        outage = (dbapi.OperationalError, dbapi.InterfaceError, exc.SQLAlchemyError)
        try:
            conn = self._take()
            kept = False
            try:
                cursor = self._begin(conn)
                clean = True
                try:
                    yield Lookups(self, cursor)
                except outage:
                    clean = False  # the connection may be broken: never kept
                    raise
                finally:
                    self._end(conn, cursor)
                    # A refusal (a wrong hash, an unknown name) leaves it as good as ever.
                    kept = clean and self._keep(conn)
            finally:
                if not kept:
                    conn.close()  # back to the pool (a kept one: closed)
        except outage as error:
            raise ServiceUnavailable("database unavailable") from error

    def _take(self) -> Any:
        """A kept connection (SQLite), else one from the pool."""
        try:
            return self._kept.pop()
        except IndexError:
            return self.engine.raw_connection()

    def _keep(self, conn: Any) -> bool:
        """Keep a SQLite connection whose transaction ended well for the next lookups: the
        pool's checkout and its rollback on return cost ~10% of a MOR details call
        (cProfile of bench.cpu). Kept detached from the pool, whose own size stays what it
        was, a few at most; no server's, whose pool pings a connection before handing it
        out."""
        if not self.is_sqlite or len(self._kept) >= _KEPT:
            return False
        conn.detach()  # closing it now closes it; the pool opens another in its place
        self._kept.append(conn)
        return True

    def _begin(self, conn: Any) -> Any:
        # At PostgreSQL's READ COMMITTED each statement of a read transaction reads its own
        # snapshot, as it does in autocommit, which spares the BEGIN and the ROLLBACK: two of
        # a MOR debit's eleven round trips.
        if not self.is_sqlite:
            conn.driver_connection.autocommit = True
        cursor = conn.dbapi_connection.cursor()  # a kept one is detached: no driver_connection
        if self.is_sqlite:
            cursor.execute("BEGIN")  # the connection is in autocommit mode
        return cursor

    def _end(self, conn: Any, cursor: Any) -> None:
        try:
            if self.is_sqlite:
                cursor.execute("COMMIT")  # read-only: it changes nothing
            cursor.close()
        finally:
            if not self.is_sqlite:
                _transactional(conn, conn.driver_connection)

    def close(self) -> None:
        """Close the kept connections."""
        while self._kept:
            self._kept.pop().close()


def _transactional(conn: Any, server: Any) -> None:
    """The connection back in transactions before the pool hands it out again (a write in
    autocommit would commit statement by statement), or never handed out again."""
    try:
        server.autocommit = False
    except Exception:
        conn.invalidate()
        raise


class Lookups:
    """`Tx`'s lookups a hash-signed read (or a remembered password's) needs: `accounts`
    (get, get_by_name, get_by_object_id, chain; and a LINK page's `listed_page`,
    `subtree_paths` and `chains`), `wallets` (get) and `throttles` (get), on one cursor."""

    def __init__(self, statements: LookupStatements, cursor: Any) -> None:
        self._s = statements
        self._cursor = cursor
        self._read_here: dict[int, Account] = {}  # accounts this transaction read, by id
        self._expected: int | None = None  # the id `get` will be asked for (`expect`)
        # Accounts read ahead by id for `get` (None: there is none), by id.
        self._ahead: dict[int, Account | None] = {}
        # The wallets read with an account (None: it has none), by account id.
        self._wallets_here: dict[int, Wallet | None] = {}

    @property
    def accounts(self) -> Lookups:
        return self

    @property
    def wallets(self) -> _WalletLookups:
        return _WalletLookups(self)

    @property
    def throttles(self) -> _ThrottleLookups:
        return _ThrottleLookups(self)

    @property
    def credentials(self) -> Lookups:
        return self

    def key_with_owner(self, key_hash: str) -> tuple[ApiKey, Account] | None:
        """As `CredentialsRepository.key_with_owner`: the key and the account that owns it."""
        found = self._rows(self._s.key_owner, {"key_hash": key_hash})
        if not found:
            return None
        return self._s.key_of(found[0]), self._with_wallet(found[0])

    def _rows(self, form: Form, values: dict[str, Any]) -> list[Any]:
        params = form.params(values)
        observed_raw(self._s.engine, self._cursor, form.sql, params)
        self._cursor.execute(form.sql, params)
        return form.fetched(self._cursor.fetchall())

    def _paired(self, form: Form, values: dict[str, Any]) -> Account | None:
        """The account, with its wallet kept for `wallet` (read in the same statement)."""
        found = self._rows(form, values)
        return self._with_wallet(found[0]) if found else None

    def _with_wallet(self, row: Sequence[Any], pair: Pair | None = None) -> Account:
        """The account of a paired row (read as `pair` says; by default from its first
        column), its wallet kept for `wallet`."""
        pair = pair or self._s.pair
        account = self._noted(pair.account(row))
        paired = row[pair.wallet_at] is not None
        self._wallets_here[account.id] = pair.wallet(row) if paired else None
        return account

    def get(self, account_id: int) -> Account | None:
        if account_id in self._ahead:  # read with the caller's chain (`expect`)
            return self._ahead.pop(account_id)
        return self._paired(self._s.by_id, {"id": account_id})

    def expect(self, account_id: int) -> None:
        """`get(account_id)` (and its wallet) will be asked for after `named_signers`: on a
        server the chain's statement reads it too, a round trip less, as `get` would read it
        then (in autocommit each statement reads the latest rows anyway)."""
        if not self._s.is_sqlite:
            self._expected = account_id

    def get_by_name(self, kind: Kind, name: str) -> Account | None:
        return self._paired(self._s.by_name, {"kind": kind.value, "name": name})

    def get_by_object_id(self, object_id: str) -> Account | None:
        return self._paired(self._s.by_object_id, {"object_id": object_id})

    def throttle(self, key: str) -> State:
        found = self._rows(self._s.throttle, {"key": key})
        return throttle_state(self._s.throttle.mapping(found[0])) if found else State()

    def _noted(self, account: Account) -> Account:
        self._read_here[account.id] = account
        return account

    def chain(self, account: Account) -> list[Account]:
        """As `AccountsRepository.chain`: the account as stored now, then its ancestors."""
        ids = [*ancestor_ids(account.path), account.id]
        by_id: dict[int, Account] = {}
        if self._read_here.get(account.id) is account:
            # Read by this very transaction's snapshot a moment ago (the caller, just found
            # by name): reading it again would answer the same row. Its ancestors remain.
            by_id[account.id] = account
            ids.pop()
        if ids:
            values = {f"a{n}": account_id for n, account_id in enumerate(ids)}
            found = self._rows(self._s.by_ids(len(ids)), values)
            by_id.update((a.id, a) for a in map(self._s.account, found))
        if account.id not in by_id:  # pragma: no cover - accounts are never removed
            return []
        return [by_id[i] for i in reversed([*ancestor_ids(account.path), account.id]) if i in by_id]

    def listed_page(
        self, root: Account, *, after_path: str | None = None, limit: int = 100, at_most: int
    ) -> tuple[list[tuple[ListedAccount, ListedWallet]], int]:
        """As `AccountsRepository.listed_page` (the same statement)."""
        form = self._s.listed[after_path is not None]
        values = storage_accounts.range_values(root, after_path, limit=limit, at_most=at_most)
        return storage_accounts.listed([form.row(row) for row in self._rows(form, values)])

    def subtree_paths(
        self, root: Account, *, after_path: str | None = None, limit: int = 100
    ) -> list[str]:
        """As `AccountsRepository.subtree_paths` (the same statement)."""
        form = self._s.paths[after_path is not None]
        values = storage_accounts.range_values(root, after_path, limit=limit)
        return [row[0] for row in self._rows(form, values)]

    def chains(self, listed: Sequence[Account | ListedAccount]) -> dict[int, list[Account]]:
        """As `AccountsRepository.chains`: each one's `chain`, by id, in one read."""
        wanted = storage_accounts.chain_ids(listed)
        if not wanted:
            return {}
        ids = sorted({i for chain in wanted.values() for i in chain})
        values = {f"a{n}": account_id for n, account_id in enumerate(ids)}
        found = self._rows(self._s.by_ids(len(ids)), values)
        return storage_accounts.chains_of(wanted, {a.id: a for a in map(self._s.account, found)})

    def signers(self, kind: Kind, name: str) -> list[Signer]:
        """As `chain(get_by_name(kind, name))`, with only the columns a hash-signed call's
        authentication reads. On a server one statement climbs the parents (a round trip
        less: a reseller's remembered balance on PostgreSQL, `bench.cpu`, 624-670 -> 474-495
        µs); on SQLite the caller, then its ancestors by the ids its path names, cost less
        than the recursion (an admin's chain: ~5.5 against ~8 µs of SQLite)."""
        return self._signers(self._s.signers_by_name, {"kind": kind.value, "name": name})

    def named_signers(self, name: str) -> list[Signer]:
        """As `AccountsRepository.named_signers`: `signers` of the first kind in
        `tree.NAME_ORDER` with a live account named `name`, in one statement (a round trip
        a kind tried in vain on a server); with `expect`, the account read ahead too."""
        if self._expected is not None:
            return self._signers_ahead(self._expected, name)
        return self._signers(self._s.named_signers, {"name": name})

    def _signers(self, form: Form, values: dict[str, Any]) -> list[Signer]:
        found = self._rows(form, values)
        chain = [storage_accounts.signer(form.row(row)) for row in found]
        if not self._s.is_sqlite or not chain:
            return chain
        caller = chain[0]
        return [caller, *self._ancestors(caller.path, Signer._fields, storage_accounts.signer)]

    def _signers_ahead(self, account_id: int, name: str) -> list[Signer]:
        """`named_signers` (a server's), with the expected account and its wallet read
        ahead once a signer is found."""
        s = self._s
        form = s.signers_with
        found = self._rows(form, {"name": name, "id": account_id})
        chain = [storage_accounts.signer(form.row(row)[: s.signer_width]) for row in found]
        if found:
            self._expected = None
            first = found[0]
            found_it = first[s.signer_width] is not None  # the account's id: never NULL
            self._ahead[account_id] = self._with_wallet(first, s.named_pair) if found_it else None
        return chain

    def standings(self, account: Account) -> list[Standing]:
        """As `chain(account)[1:]`, with only the columns the access rule reads."""
        return self._ancestors(account.path, Standing._fields, Standing._make)

    def _ancestors(
        self, path: str, names: tuple[str, ...], record: Callable[[Sequence[Any]], Narrow]
    ) -> list[Narrow]:
        """The ancestors of the account at `path`, nearest first, each read as its columns
        `names` and made a `record` of them."""
        ids = ancestor_ids(path)
        if not ids:
            return []
        compiled = self._s.columns_by_ids(names, len(ids))
        found = self._rows(compiled, {f"a{n}": account_id for n, account_id in enumerate(ids)})
        by_id = {r.id: r for r in (record(compiled.row(row)) for row in found)}
        return [by_id[i] for i in reversed(ids) if i in by_id]

    def wallet(self, account_id: int) -> Wallet | None:
        if account_id in self._wallets_here:  # read with its account, in this transaction
            return self._wallets_here[account_id]
        found = self._rows(self._s.wallet, {"account_id": account_id})
        return self._s.wallet_record(found[0]) if found else None


class _WalletLookups:
    def __init__(self, lookups: Lookups) -> None:
        self._lookups = lookups

    def get(self, account_id: int) -> Wallet | None:
        return self._lookups.wallet(account_id)


class _ThrottleLookups:
    def __init__(self, lookups: Lookups) -> None:
        self._lookups = lookups

    def get(self, key: str) -> State:
        """As `ThrottlesRepository.get`: the last committed state, unlocked."""
        return self._lookups.throttle(key)
