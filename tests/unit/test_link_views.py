"""The LINK view's own formatting answers what the library's formatting answers, and a
page's users what the view of each answers."""

from __future__ import annotations

import datetime as dt

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from smsaccounts.dialects.link import views
from smsaccounts.domain.subusers import USER_DEPTH, ListedAccount, ListedWallet, link_path
from smsaccounts.services.subusers import AnyRecord, UserRecord


@given(st.datetimes(timezones=st.sampled_from([dt.UTC, None])))
def test_a_link_time_is_what_strftime_writes_for_every_datetime(value: dt.datetime) -> None:
    """Every year (1 to 9999, unpadded below 1000 as glibc's `%Y`), month, day and time."""
    assert views.link_time(value) == value.strftime(views.TIME_FORMAT)


_TEXT = st.sampled_from(["", "x", "Acme & <Co>", "æøå"])
_TIME = st.datetimes(timezones=st.just(dt.UTC))
_LISTED = st.builds(
    ListedAccount,
    id=st.integers(1, 9),
    name=_TEXT,
    parent_id=st.none() | st.integers(1, 9),
    path=st.sampled_from(["1", "1.2", "1.2.3", "1.2.3.a", "1.2.3.a.b", "1.2.3.a.b.c"]),
    enabled=st.booleans(),
    deactivated=st.none() | _TIME,
    created_at=_TIME,
    company=_TEXT,
    integration_id=_TEXT,
    integration=_TEXT,
    defaultsender=_TEXT,
    prefixes=_TEXT,
    iprange=_TEXT,
    acl_billing=st.booleans(),
    acl_billing_high=st.booleans(),
    acl_charity=st.booleans(),
    acl_incoming=st.booleans(),
    acl_smsinbox=st.booleans(),
    acl_hlr=st.booleans(),
    acl_admin=st.booleans(),
    funding=st.sampled_from(["own", "parent"]),
)


def _wallet(account_id: int) -> st.SearchStrategy[ListedWallet]:
    figures = st.integers(-(10**12), 10**12)
    return st.builds(ListedWallet, account_id=st.just(account_id), credits=figures,
                     free_sms=figures, balance=figures, use_currency=st.booleans(),
                     messages_sent=st.integers(0, 10**9),
                     max_messages=st.none() | st.integers(0, 10**9))  # fmt: skip


@st.composite
def _records(draw: st.DrawFn) -> AnyRecord:
    account = draw(_LISTED)
    wallet = draw(_wallet(account.id))
    paying = draw(st.none() | st.just(wallet) | _wallet(account.id + 100))
    return UserRecord(account, wallet, paying)


@given(st.lists(_records(), max_size=6), st.integers(1, 9), st.sampled_from([None, "", "k"]))
def test_a_page_of_users_is_what_the_view_of_each_user_answers(
    records: list[AnyRecord], caller_id: int, apikey: str | None
) -> None:
    """Byte for byte, in JSON: texts set and empty, nulls, a deactivated user, sub-users
    at every depth, paying for itself or through another wallet, limits set and unset,
    and the caller's own key shown only when it sent one."""
    own = apikey or views.MASKED
    expected = [views.user(r, apikey=own if r.account.id == caller_id else views.MASKED)
                for r in records]  # fmt: skip
    page = views.page_users(records, caller_id=caller_id, apikey=apikey)
    assert msgspec.json.encode(page) == msgspec.json.encode(expected)


@given(st.lists(st.sampled_from(["", "1", "2", "7xl", "a.b"]), max_size=8))
def test_a_links_path_is_the_stored_path_past_its_first_three_steps(steps: list[str]) -> None:
    """What splitting every step and joining those past the third answers, for any path
    (shorter than three steps, empty steps and all)."""
    stored = ".".join(steps)
    assert link_path(stored) == ".".join(stored.split(".")[USER_DEPTH:])
