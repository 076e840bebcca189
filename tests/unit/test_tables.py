"""The storage types' own conversions answer what the library's answer."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from smsaccounts.storage.tables import as_utc


@given(st.datetimes(), st.sampled_from([0, 1]))
def test_a_stored_time_read_back_is_the_same_instant_marked_utc(
    value: dt.datetime, fold: int
) -> None:
    """Every field, the fold included, and the very `dt.UTC` zone `replace` sets."""
    value = value.replace(fold=fold)
    found, expected = as_utc(value), value.replace(tzinfo=dt.UTC)
    assert (found, found.fold, found.tzinfo) == (expected, expected.fold, expected.tzinfo)
    assert found.tzinfo is dt.UTC
