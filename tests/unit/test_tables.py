"""The storage types' own conversions answer what the library's answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from smsaccounts.storage.tables import UTCDateTime, as_utc


@given(st.datetimes(), st.sampled_from([0, 1]))
def test_a_stored_time_read_back_is_the_same_instant_marked_utc(
    value: dt.datetime, fold: int
) -> None:
    """Every field, the fold included, and the very `dt.UTC` zone `replace` sets."""
    value = value.replace(fold=fold)
    found, expected = as_utc(value), value.replace(tzinfo=dt.UTC)
    assert (found, found.fold, found.tzinfo) == (expected, expected.fold, expected.tzinfo)
    assert found.tzinfo is dt.UTC


DIALECTS: list[Dialect] = [sqlite.dialect(), postgresql.psycopg.dialect()]  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: f"{d.name}+{d.driver}")
@given(value=st.one_of(st.none(), st.datetimes()))
def test_a_time_column_reads_back_what_typedecorators_own_processor_reads(
    dialect: Dialect, value: dt.datetime | None
) -> None:
    """`UTCDateTime.result_processor` answers what `TypeDecorator`'s generic one (the
    impl's processor, then `process_result_value`) answers, for what the column stores:
    on SQLite the text the bind processor writes, elsewhere the driver's naive datetime."""
    column: Any = UTCDateTime().dialect_impl(dialect)
    stored: Any = value
    store = column.impl_instance.bind_processor(dialect)
    if store is not None:
        stored = store(value)
    fast = column.result_processor(dialect, None)
    general = TypeDecorator.result_processor(column, dialect, None)
    assert fast is not None
    assert general is not None
    found, expected = fast(stored), general(stored)
    assert found == expected
    if value is not None:
        assert found is not None
        assert found.tzinfo is dt.UTC
        assert found == value.replace(tzinfo=dt.UTC)
