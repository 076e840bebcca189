"""The LINK view's own formatting answers what the library's formatting answers."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from smsaccounts.dialects.link import views


@given(st.datetimes(timezones=st.sampled_from([dt.UTC, None])))
def test_a_link_time_is_what_strftime_writes_for_every_datetime(value: dt.datetime) -> None:
    """Every year (1 to 9999, unpadded below 1000 as glibc's `%Y`), month, day and time."""
    assert views.link_time(value) == value.strftime(views.TIME_FORMAT)
