"""Accounts repository: the tree, lookups by name, msisdn and path, and per-recipient routes."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Integer,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from smsaccounts.domain.models import Account, Signer, Standing, Wallet
from smsaccounts.domain.subusers import ListedAccount, ListedWallet
from smsaccounts.domain.tree import NAME_ORDER, Kind, ancestor_ids, child_path, subtree_bounds
from smsaccounts.errors import AlreadyExists, name_taken_code
from smsaccounts.storage import rows
from smsaccounts.storage.prepared import Prepared
from smsaccounts.storage.tables import PATH_LENGTH, accounts, sms_routes, wallets


def _subtree_page(root: Account, after_path: str | None, limit: int, include_root: bool) -> Any:
    """One keyset page of a subtree in path order.

    `[path, path + "/")` holds exactly the account and its descendants: every character a
    sibling's path could continue with (a base-36 digit) sorts after `/`, only `.` before.
    """
    low = root.path if include_root else subtree_bounds(root.path)[0]
    high = subtree_bounds(root.path)[1]
    query = select(accounts).where(accounts.c.path >= low, accounts.c.path < high)
    if after_path is not None:
        query = query.where(accounts.c.path > after_path)
    return query.order_by(accounts.c.path).limit(limit)


# The lookups by key, built once: a statement built per call costs more than its SQLite
# read (expression building, and result columns adapted to each new statement object).
# The reads by key, built once (`storage.prepared`).
_BY_ID = Prepared(select(accounts).where(accounts.c.id == bindparam("id")))
_BY_OBJECT_ID = Prepared(select(accounts).where(accounts.c.object_id == bindparam("object_id")))
# The live account of a kind and name (`:kind`, `:name`).
NAMED = (
    accounts.c.kind == bindparam("kind"),
    accounts.c.name == bindparam("name"),
    accounts.c.deactivated.is_(None),
)
_BY_NAME = Prepared(select(accounts).where(*NAMED))
_BY_MSISDN = Prepared(select(accounts).where(
    accounts.c.msisdn == bindparam("msisdn"), accounts.c.deactivated.is_(None)
))  # fmt: skip
_BY_IDS = select(accounts).where(accounts.c.id.in_(bindparam("ids", expanding=True)))
_ACCOUNT_AND_WALLET = rows.pair_builder(accounts, wallets)


@functools.cache
def by_ids(count: int, *, lock: bool = False) -> Prepared:
    """The accounts of `count` ids (`:a0` ...): a chain is a few deep. With `lock`, FOR SHARE
    (SQLite has no row locks: its writers serialize). Lookups read chains with it too."""
    query = select(accounts).where(accounts.c.id.in_([bindparam(f"a{n}") for n in range(count)]))
    return Prepared(query.with_for_update(read=True) if lock else query)


@functools.cache
def columns_by_ids(names: tuple[str, ...], count: int) -> Prepared:
    """The columns `names` of the accounts of `count` ids (`:a0` ...), as `by_ids` reads
    them whole (storage/lookups.py: ancestors read narrow, as `Standing` or `Signer`)."""
    ids: list[Any] = [bindparam(f"a{n}") for n in range(count)]
    return Prepared(select(*(accounts.c[name] for name in names)).where(accounts.c.id.in_(ids)))


# A chain climbs at most this many parents: a path of 255 characters names at most 128 ids
# ("1.2.3..."). The bound stops a parent cycle, which a tree never has, from recursing forever.
_MOST_DEPTH = (PATH_LENGTH + 1) // 2


def _first_named() -> Any:
    """`Signer`'s columns and `parent_id` of `find_by_name`'s account: the live account
    named `:name` of the first kind in `tree.NAME_ORDER` that has one."""
    rank = case({kind.value: n for n, kind in enumerate(NAME_ORDER)}, value=accounts.c.kind)
    return (
        select(*(accounts.c[name] for name in Signer._fields), accounts.c.parent_id)
        .where(accounts.c.name == bindparam("name"), accounts.c.deactivated.is_(None),
               or_(*(accounts.c.kind == kind.value for kind in NAME_ORDER)))
        .order_by(rank)
        .limit(1)
    )  # fmt: skip


def _up(*, first_named: bool = False) -> Any:
    """`Signer`'s columns of the live account of a kind and name (`:kind`, `:name`; with
    `first_named`, of `_first_named`'s), then of each of its ancestors, with their `depth`
    (0: the account): a CTE climbing `parent_id`."""
    fields = Signer._fields
    zero = literal_column("0", Integer).label("depth")
    if first_named:
        named = _first_named().subquery("first_named")
        first = select(*(named.c[name] for name in fields), named.c.parent_id, zero)
    else:
        first = select(*(accounts.c[name] for name in fields), accounts.c.parent_id,
                       zero).where(*NAMED)  # fmt: skip
    up = first.cte("up", recursive=True)
    above = accounts.alias("above")
    return up.union_all(
        select(*(above.c[name] for name in fields), above.c.parent_id, up.c.depth + 1).where(
            above.c.id == up.c.parent_id, up.c.depth < _MOST_DEPTH
        )
    )


def _signers_by_name(*, first_named: bool = False) -> Prepared:
    """The chain of `_up`, nearest first: one statement (on PostgreSQL a round trip less
    than reading the ancestors the path names after the account)."""
    up = _up(first_named=first_named)
    return Prepared(select(*(up.c[name] for name in Signer._fields)).order_by(up.c.depth))


def _signers_with_account() -> Prepared:
    """`NAMED_SIGNERS`' rows, their columns labelled `s_...`, the first row (the signer's)
    followed by the account `:id` and its wallet as `Lookups.get` reads them (all NULL where
    there is none; the other rows' too): a signed call's caller and the account it names in
    one round trip (storage/lookups.py, `Lookups.expect`)."""
    up = _up(first_named=True)
    paired = select(accounts, wallets).select_from(
        accounts.outerjoin(wallets, wallets.c.account_id == accounts.c.id)
    ).where(accounts.c.id == bindparam("id")).subquery("named")  # fmt: skip
    signers = (up.c[name].label(f"s_{name}") for name in Signer._fields)
    return Prepared(
        select(*signers, *paired.c)
        .select_from(up.outerjoin(paired, up.c.depth == 0))
        .order_by(up.c.depth)
    )


# A hash-signed caller's (or a remembered reseller's) chain, as `Signer`s (storage/lookups.py).
SIGNERS_BY_NAME = _signers_by_name()
# The chain of `find_by_name`'s account (services/balances.py): its name tried kind by kind
# in `tree.NAME_ORDER` in the one statement; and the same with an account read ahead.
NAMED_SIGNERS = _signers_by_name(first_named=True)
SIGNERS_WITH_ACCOUNT = _signers_with_account()
# Only the caller's own `Signer` columns (`:kind`, `:name`): on SQLite, where a statement is
# no round trip, this and a read of the ancestors by id cost less than the recursion.
SIGNER_BY_NAME = Prepared(select(*(accounts.c[name] for name in Signer._fields)).where(*NAMED))
# `_first_named`'s `Signer` columns (`:name`), on SQLite, as SIGNER_BY_NAME.
FIRST_NAMED = Prepared(
    _first_named().with_only_columns(*(accounts.c[name] for name in Signer._fields))
)


def signer(values: Sequence[Any]) -> Signer:
    """A `Signer` from a processed row of `Signer`'s columns."""
    return Signer(values[0], Kind(values[1]), *values[2:])


# An Account from a prepared read of the whole row, by position (no dict of 68 columns).
ACCOUNT = rows.record_builder(Account, tuple(accounts.c.keys()), {"kind": Kind})


def _one_account(read: Prepared, conn: Connection, values: dict[str, Any]) -> Account | None:
    found = read.run(conn, values).rows
    return ACCOUNT(found[0]) if found else None


def _chain_of(ids: list[int], by_id: dict[int, Account]) -> list[Account]:
    """The account `ids[-1]`, then its ancestors `ids[:-1]` nearest first, from `by_id`."""
    if ids[-1] not in by_id:  # pragma: no cover - accounts are never removed
        return []
    return [by_id[i] for i in reversed(ids) if i in by_id]


def _in_range(query: Any, after: bool) -> Any:
    """`query` limited to `[:low, :high)` in path order, after `:after` if `after`."""
    query = query.where(accounts.c.path >= bindparam("low"), accounts.c.path < bindparam("high"))
    return query.where(accounts.c.path > bindparam("after")) if after else query


# A LINK page's two statements, built once per shape (the same SQL `_subtree_page` and a
# count of it build per call; building them cost as much as the SQLite range scans).
_PAGE_WITH_WALLETS = {
    after: _in_range(select(accounts, *[c.label(f"w_{c.name}") for c in wallets.c]), after)
    .join(wallets, wallets.c.account_id == accounts.c.id)
    .order_by(accounts.c.path)
    .limit(bindparam("limit"))
    for after in (False, True)
}


# The same page with only the columns a listing shows (`ListedAccount`, `ListedWallet`).
_LISTED_SELECT = select(
    *(accounts.c[name] for name in rows.LISTED_COLUMNS),
    *(wallets.c[name].label(f"w_{name}") for name in rows.LISTED_WALLET_COLUMNS),
)


def _count(after: bool, bounded: bool) -> Any:
    inner = _in_range(select(accounts.c.id), after)
    if bounded:
        inner = inner.limit(bindparam("at_most"))
    return select(func.count()).select_from(inner.subquery())


_COUNT_RANGE = {(a, b): Prepared(_count(a, b)) for a in (False, True) for b in (False, True)}


class _Ahead(NamedTuple):
    """The bounded count a listed page's every row carries (`listed_page`)."""

    accounts: int


# A LINK page: its rows, each with the bounded count of the accounts from its start (the
# same count `count_subtree` makes, computed once per statement): one statement, not two.
# Read by `AccountsRepository.listed_page` and by the lookups (storage/lookups.py).
PAGE_LISTED = {
    after: Prepared(
        _in_range(_LISTED_SELECT.add_columns(_count(after, True).scalar_subquery()), after)
        .join(wallets, wallets.c.account_id == accounts.c.id)
        .order_by(accounts.c.path)
        .limit(bindparam("limit")),
        records=(ListedAccount, ListedWallet, _Ahead),
    )
    for after in (False, True)
}

# The paths of a subtree in path order, a keyset page at a time: all that walking to a LINK
# page by its number reads of the pages before it.
SUBTREE_PATHS = {
    after: Prepared(
        _in_range(select(accounts.c.path), after)
        .order_by(accounts.c.path)
        .limit(bindparam("limit"))
    )
    for after in (False, True)
}


def range_values(root: Account, after_path: str | None, **values: Any) -> dict[str, Any]:
    """The parameters of a statement `_in_range` built: `root`'s subtree, after `after_path`
    in path order if given, and `values`."""
    found: dict[str, Any] = {"low": root.path, "high": subtree_bounds(root.path)[1], **values}
    if after_path is not None:
        found["after"] = after_path
    return found


def listed(
    found: Sequence[tuple[ListedAccount, ListedWallet, _Ahead]],
) -> tuple[list[tuple[ListedAccount, ListedWallet]], int]:
    """`PAGE_LISTED`'s rows as `listed_page` answers them: the rows, and the count."""
    ahead = found[0][2].accounts if found else 0  # none from the page's start: none ahead
    return [(account, wallet) for account, wallet, _ahead in found], ahead


def chain_ids(listed: Sequence[Account | ListedAccount]) -> dict[int, list[int]]:
    """The ids of each of `listed`'s chain, by its id: its ancestors', then its own."""
    return {account.id: [*ancestor_ids(account.path), account.id] for account in listed}


def chains_of(wanted: dict[int, list[int]], by_id: dict[int, Account]) -> dict[int, list[Account]]:
    """`chain_ids`' chains as accounts, from `by_id` (every account they name)."""
    return {account_id: _chain_of(chain, by_id) for account_id, chain in wanted.items()}


def new_object_id(now: dt.datetime) -> str:
    """Mongo-ObjectId shaped: 4 bytes of seconds, 8 random bytes, as 24 hex digits."""
    return f"{int(now.timestamp()) & 0xFFFFFFFF:08x}" + secrets.token_hex(8)


class AccountsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def text_limit(field: str) -> int | None:
        """The most characters a text column holds (None: unbounded)."""
        return getattr(accounts.c[field].type, "length", None)

    def add(
        self, *, kind: Kind, name: str, parent: Account | None, now: dt.datetime, **values: Any
    ) -> Account:
        """Insert, then set the materialized path, which needs the id the insert gave.

        AlreadyExists (the kind's name-taken code) when a live account of that kind already
        has the name or the msisdn: a concurrent insert that won the race between the
        caller's check and this one. The caller's transaction stays usable.
        """
        try:
            with self.conn.begin_nested():
                row = self.conn.execute(
                    insert(accounts)
                    .values(
                        object_id=new_object_id(now),
                        kind=kind.value,
                        name=name,
                        parent_id=parent.id if parent else None,
                        path=f"new:{secrets.token_hex(8)}",
                        created_at=now,
                        **values,
                    )
                    .returning(accounts.c.id)
                ).one()
        except IntegrityError:
            raise AlreadyExists(
                f"{kind} already exists", code=name_taken_code(kind.value), field="name"
            ) from None
        path = child_path(parent.path if parent else None, row.id)
        self.conn.execute(update(accounts).where(accounts.c.id == row.id).values(path=path))
        return self.get(row.id)  # type: ignore[return-value]

    def get(self, account_id: int) -> Account | None:
        return _one_account(_BY_ID, self.conn, {"id": account_id})

    def get_by_object_id(self, object_id: str) -> Account | None:
        return _one_account(_BY_OBJECT_ID, self.conn, {"object_id": object_id})

    def get_by_name(self, kind: Kind, name: str) -> Account | None:
        """The live account of that kind and name (a deleted one keeps its name but is gone)."""
        return _one_account(_BY_NAME, self.conn, {"kind": kind.value, "name": name})

    def get_by_msisdn(self, msisdn: str) -> Account | None:
        return _one_account(_BY_MSISDN, self.conn, {"msisdn": msisdn})

    def ancestors(self, account: Account) -> list[Account]:
        """The account's ancestors, nearest first (read from its path, one query)."""
        return self.chain(account)[1:]

    def chain(self, account: Account, *, lock: bool = False) -> list[Account]:
        """The account as stored now, then its ancestors, nearest first: one read by the
        primary keys its path names. With `lock`, the rows are share-locked until the
        transaction ends, so a concurrent disable, delete or password change of any of them
        waits for this transaction (and this one for it, seeing its result)."""
        ids = [*ancestor_ids(account.path), account.id]
        values = {f"a{n}": account_id for n, account_id in enumerate(ids)}
        found = by_ids(len(ids), lock=lock).run(self.conn, values).rows
        by_id = {account.id: account for account in map(ACCOUNT, found)}
        return _chain_of(ids, by_id)

    def signers(self, kind: Kind, name: str) -> list[Signer]:
        """`Signer` of each of `chain` of the live account of `kind` named `name`."""
        found = SIGNERS_BY_NAME.run(self.conn, {"kind": kind.value, "name": name}).rows
        return [signer(row) for row in found]

    def named_signers(self, name: str) -> list[Signer]:
        """`signers` of the first kind in `tree.NAME_ORDER` with a live account named
        `name`, in one statement."""
        return [signer(row) for row in NAMED_SIGNERS.run(self.conn, {"name": name}).rows]

    def standings(self, account: Account) -> list[Standing]:
        """`Standing` of each of `chain(account)[1:]`."""
        return [Standing(a.id, a.enabled, a.deactivated) for a in self.chain(account)[1:]]

    def chains(self, listed: Sequence[Account | ListedAccount]) -> dict[int, list[Account]]:
        """`chain` of each of `listed`, by id, in one read: a page's accounts share most
        of their ancestors."""
        wanted = chain_ids(listed)
        if not wanted:
            return {}
        ids = sorted({i for chain in wanted.values() for i in chain})
        found = self.conn.execute(_BY_IDS, {"ids": ids})
        return chains_of(wanted, {row.id: rows.account(row._mapping) for row in found})

    def list_subtree(
        self,
        root: Account,
        *,
        after_path: str | None = None,
        limit: int = 100,
        include_root: bool = True,
    ) -> list[Account]:
        """`root` and everything below it in path order, a keyset page at a time."""
        page = self.conn.execute(_subtree_page(root, after_path, limit, include_root))
        return [rows.account(row._mapping) for row in page]

    def search(
        self,
        root: Account,
        *,
        kind: Kind | None = None,
        text: str | None = None,
        after_path: str | None = None,
        limit: int = 100,
    ) -> list[Account]:
        query = _subtree_page(root, after_path, limit, True)
        if kind is not None:
            query = query.where(accounts.c.kind == kind.value)
        if text:
            query = query.where(
                or_(
                    *(
                        accounts.c[column].icontains(text, autoescape=True)
                        for column in ("name", "email", "msisdn")
                    )
                )
            )
        return [rows.account(row._mapping) for row in self.conn.execute(query)]

    def list_subtree_wallets(
        self, root: Account, *, after_path: str | None = None, limit: int = 100
    ) -> list[tuple[Account, Wallet]]:
        """`list_subtree` with each account's wallet, in the same single range scan."""
        query = _PAGE_WITH_WALLETS[after_path is not None]
        values = range_values(root, after_path, limit=limit)
        return [_ACCOUNT_AND_WALLET(row) for row in self.conn.execute(query, values).fetchall()]

    def listed_page(
        self, root: Account, *, after_path: str | None = None, limit: int = 100, at_most: int
    ) -> tuple[list[tuple[ListedAccount, ListedWallet]], int]:
        """`list_subtree_wallets` with only the columns a listing of sub-users shows, and
        `count_subtree(root, after_path=after_path, at_most=at_most)`, in one statement."""
        values = range_values(root, after_path, limit=limit, at_most=at_most)
        return listed(PAGE_LISTED[after_path is not None].run(self.conn, values).rows)

    def subtree_paths(
        self, root: Account, *, after_path: str | None = None, limit: int = 100
    ) -> list[str]:
        """The paths of `list_subtree(root, after_path=after_path, limit=limit)`."""
        values = range_values(root, after_path, limit=limit)
        return [row[0] for row in SUBTREE_PATHS[after_path is not None].run(self.conn, values).rows]

    def count_subtree(
        self, root: Account, *, after_path: str | None = None, at_most: int | None = None
    ) -> int:
        """How many accounts `root` and everything below it hold, after `after_path` in path
        order if given, counting no further than `at_most` (one indexed range scan that
        stops there: the cost of a bounded count does not grow with the subtree)."""
        query = _COUNT_RANGE[(after_path is not None, at_most is not None)]
        bound = {} if at_most is None else {"at_most": at_most}
        return int(query.run(self.conn, range_values(root, after_path, **bound)).rows[0][0])

    def children(self, parent: Account) -> list[Account]:
        found = self.conn.execute(
            select(accounts).where(accounts.c.parent_id == parent.id).order_by(accounts.c.id)
        )
        return [rows.account(row._mapping) for row in found]

    def update(self, account_id: int, values: Mapping[str, Any]) -> None:
        if values:
            self.conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))

    def set_route(self, account_id: int, recipient: str, routing: int) -> None:
        existing = self.get_route(account_id, recipient)
        if existing is None:
            self.conn.execute(
                insert(sms_routes).values(
                    account_id=account_id, recipient=recipient, sms_routing=routing
                )
            )
        else:
            self.conn.execute(
                update(sms_routes)
                .where(sms_routes.c.account_id == account_id, sms_routes.c.recipient == recipient)
                .values(sms_routing=routing)
            )

    def get_route(self, account_id: int, recipient: str) -> int | None:
        value = self.conn.execute(
            select(sms_routes.c.sms_routing).where(
                sms_routes.c.account_id == account_id, sms_routes.c.recipient == recipient
            )
        ).scalar()
        return None if value is None else int(value)
