"""A wide `Prepared` read comes from SQLite as one JSON array a row (`json_array`, decoded by
msgspec: storage/prepared.py); what it answers is still what `Connection.execute` answers,
value for value and type for type, whatever text and numbers the row holds. A statement
with a column JSON would round (a REAL) is never packed. On PostgreSQL nothing is packed.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Float,
    Integer,
    String,
    bindparam,
    create_engine,
    literal_column,
    select,
    update,
)

from smsaccounts.storage.accounts import _BY_ID, PAGE_LISTED
from smsaccounts.storage.prepared import PACK_FROM, Prepared
from smsaccounts.storage.tables import accounts, wallets
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
