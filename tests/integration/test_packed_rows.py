"""A wide `Prepared` read comes from SQLite as one JSON array a row (`json_array`, decoded by
msgspec: storage/prepared.py); what it answers is still what `Connection.execute` answers,
value for value and type for type, whatever text and numbers the row holds. A statement
with a column JSON would round (a REAL) is never packed. On PostgreSQL nothing is packed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Boolean,
    Connection,
    Float,
    Integer,
    String,
    bindparam,
    create_engine,
    insert,
    literal_column,
    select,
    text,
    update,
)

from smsaccounts.domain.subusers import ListedAccount, ListedWallet
from smsaccounts.storage.accounts import _BY_ID, PAGE_LISTED
from smsaccounts.storage.prepared import PACK_FROM, Prepared
from smsaccounts.storage.tables import UTCDateTime, accounts, metadata, wallets
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.integration.test_prepared import _typed

# Text columns of an account anyone may set to any text (no rule reads them), with their
# bounds; and integer ones.
_TEXTS = [c for c in accounts.c if isinstance(c.type, String) and c.name in {
    "company", "integration_id", "defaultsender", "prefixes", "email", "contact_name",
    "first_name", "surname", "reg_address", "reg_city", "signature", "language"}]  # fmt: skip
_LENGTHS = [getattr(c.type, "length", None) for c in _TEXTS]
_INTEGERS = [c for c in wallets.c if isinstance(c.type, Integer) and c.name != "account_id"]
_FLAGS = [c for c in accounts.c if isinstance(c.type, Boolean)]
_TIMES = [c for c in accounts.c if isinstance(c.type, UTCDateTime)]
_TEXT = st.text(max_size=40)  # any code point but a surrogate: quotes, \, controls, NUL
_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def _packed_here(uow: UnitOfWork, prepared: Prepared) -> bool:
    with uow.read() as tx:
        return prepared.form(tx.conn.dialect).unpack is not None


@pytest.fixture
def account_id(uow: UnitOfWork) -> int:
    return factories.user(uow, name="packed").id


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(texts=st.lists(_TEXT, min_size=len(_TEXTS), max_size=len(_TEXTS)),
       numbers=st.lists(_INT64, min_size=len(_INTEGERS), max_size=len(_INTEGERS)))  # fmt: skip
def test_a_packed_row_answers_what_sqlalchemy_answers_for_any_text_and_number(
    uow: UnitOfWork, account_id: int, texts: list[str], numbers: list[int]
) -> None:
    paired = select(accounts, wallets).select_from(
        accounts.outerjoin(wallets, wallets.c.account_id == accounts.c.id)
    ).where(accounts.c.id == bindparam("id"))  # fmt: skip
    with uow.write() as tx:
        if not uow.settings.database_url.startswith("sqlite"):  # PostgreSQL text holds no NUL
            texts = [text.replace("\x00", "") for text in texts]
        cut = [text[:length] for text, length in zip(texts, _LENGTHS, strict=True)]
        tx.conn.execute(update(accounts).where(accounts.c.id == account_id).values(
            dict(zip(_TEXTS, cut, strict=True))))  # fmt: skip
        tx.conn.execute(update(wallets).where(wallets.c.account_id == account_id).values(
            dict(zip(_INTEGERS, numbers, strict=True))))  # fmt: skip
    with uow.read() as tx:
        for statement in (paired, _BY_ID.statement):
            expected = [_typed(row) for row in tx.conn.execute(statement, {"id": account_id})]
            found = Prepared(statement).run(tx.conn, {"id": account_id}).rows
            assert [_typed(row) for row in found] == expected
            assert len(expected) == 1


_TIME = st.datetimes(
    min_value=dt.datetime(1, 1, 1, 0, 0, 1), max_value=dt.datetime(9999, 12, 31),
    timezones=st.just(dt.UTC),
)  # fmt: skip


def _listed(found: Sequence[Sequence[Any]]) -> list[list[list[tuple[type, Any]]]]:
    """A listed page's rows as its records' values and types, record by record."""
    return [[_typed(record) for record in records] for records in found]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(flags=st.lists(st.booleans(), min_size=len(_FLAGS), max_size=len(_FLAGS)),
       times=st.lists(st.none() | _TIME, min_size=len(_TIMES), max_size=len(_TIMES)))  # fmt: skip
def test_a_packed_row_answers_what_sqlalchemy_answers_for_any_flag_and_time(
    uow: UnitOfWork, account_id: int, flags: list[bool], times: list[dt.datetime | None]
) -> None:
    """Booleans and times are decoded by msgspec in C on SQLite (storage/prepared.py,
    `_typed`): the same values, of the same types, as SQLAlchemy's processors make."""
    values = {**dict(zip(_FLAGS, flags, strict=True)), **dict(zip(_TIMES, times, strict=True))}
    values[accounts.c.created_at] = times[0] or dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with uow.write() as tx:
        tx.conn.execute(update(accounts).where(accounts.c.id == account_id).values(values))
    _same_as_sqlalchemy(uow, account_id)


def _same_as_sqlalchemy(uow: UnitOfWork, account_id: int) -> None:
    with uow.read() as tx:
        _read_alike(tx.conn, account_id)


def _read_alike(conn: Connection, account_id: int) -> None:
    """The account's row, whole and as a LINK page lists it, as `Connection.execute` reads it."""
    expected = [_typed(row) for row in conn.execute(_BY_ID.statement, {"id": account_id})]
    found = _BY_ID.run(conn, {"id": account_id}).rows
    assert [_typed(row) for row in found] == expected
    assert len(expected) == 1
    path = conn.execute(select(accounts.c.path).where(accounts.c.id == account_id)).scalar_one()
    values = {"low": path, "high": f"{path}/", "limit": 1, "at_most": 5}
    page = PAGE_LISTED[False]
    want = [(ListedAccount(*row[:21]), ListedWallet(*row[21:28]), row[28:])
            for row in conn.execute(page.statement, values)]  # fmt: skip
    got = page.run(conn, values).rows
    assert len(got) == 1
    assert _listed(got) == _listed(want)
    assert [type(record) for record in got[0][:2]] == [ListedAccount, ListedWallet]


@pytest.mark.parametrize(
    ("column", "stored", "in_c"),
    [("enabled", "2", False), ("acl_hlr", "'yes'", False), ("acl_admin", "'false'", False),
     ("enabled", "0.5", False), ("created_at", "'2025-01-02'", False),
     ("created_at", "'2025-01-02 03:04:05.123456789'", False),
     ("created_at", "'2025-01-02T03:04:05.5'", False),
     ("deactivated", "'2025-01-02 03:04:05'", True), ("acl_hlr", "1", True)],
)  # fmt: skip
def test_a_row_msgspec_refuses_is_read_as_sqlalchemy_reads_it(
    column: str, stored: str, in_c: bool
) -> None:
    """A value no write of ours stores (a flag of 2, of 0.5 or of text, a date without its
    time, a time with nine decimals, which msgspec would round where SQLAlchemy cuts, or
    with one), put there by hand: the packed read falls back to plain JSON and each
    processor, and answers alike. A time without its fraction and a flag of 1 are read by
    msgspec alone (`in_c`: a tuple from one typed decode), alike too. (An in-memory SQLite
    database: nothing is packed elsewhere.)"""
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        made = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        conn.execute(insert(accounts).values(id=7, object_id="o7", kind="user", name="n",
                                              path="1.7", created_at=made))  # fmt: skip
        conn.execute(insert(wallets).values(account_id=7, currency="EUR"))
        by_hand = f"UPDATE accounts SET {column} = {stored} WHERE id = 7"  # noqa: S608 - ours
        conn.execute(text(by_hand))
        form = _BY_ID.form(conn.dialect)
        assert form.unpack is not None
        packed = conn.exec_driver_sql(form.sql, (7,)).scalar_one()
        assert isinstance(form.unpack(packed), tuple) is in_c
        _read_alike(conn, 7)


def test_the_wide_reads_are_packed_on_sqlite_only(uow: UnitOfWork) -> None:
    wide = (_BY_ID, PAGE_LISTED[False], PAGE_LISTED[True])
    sqlite = uow.settings.database_url.startswith("sqlite")
    assert [_packed_here(uow, prepared) for prepared in wide] == [sqlite] * len(wide)
    narrow = Prepared(select(*list(accounts.c)[: PACK_FROM - 1]))
    assert not _packed_here(uow, narrow)


def test_a_read_with_a_real_is_never_packed_so_it_is_not_rounded() -> None:
    """JSON writes a REAL to 15 digits: 0.30000000000000004 would come back as 0.3. (SQLite
    only: nothing is packed elsewhere.)"""
    real = 0.1 + 0.2
    numbers = [literal_column(str(n), Integer).label(f"n{n}") for n in range(PACK_FROM)]
    statement = select(literal_column(repr(real), Float).label("real"), *numbers)
    prepared = Prepared(statement)
    with create_engine("sqlite://").connect() as conn:
        assert prepared.form(conn.dialect).unpack is None
        assert prepared.run(conn, {}).rows[0][0] == real
