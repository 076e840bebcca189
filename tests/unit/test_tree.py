"""The account tree: base-36 paths and the one authorization rule."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsaccounts.domain.tree import Kind, base36, can_access, child_path, may_parent, subtree_bounds


def test_the_contract_example_user_10281_has_path_7xl() -> None:
    assert base36(10281) == "7xl"
    assert child_path(None, 10281) == "7xl"


def test_a_child_path_is_the_parent_path_a_dot_and_the_base36_id() -> None:
    assert child_path("1.2", 36) == "1.2.10"


@given(st.integers(min_value=0, max_value=10**12))
def test_base36_round_trips_through_int(number: int) -> None:
    assert int(base36(number), 36) == number


def test_an_account_may_act_on_itself_and_below_but_not_on_siblings_or_ancestors() -> None:
    assert can_access("1.2", "1.2")
    assert can_access("1.2", "1.2.3.4")
    assert not can_access("1.2", "1")
    assert not can_access("1.2", "1.3")
    # A shared string prefix is not a shared subtree: 1.2 is not an ancestor of 1.20.
    assert not can_access("1.2", "1.20")


@given(st.lists(st.integers(1, 5000), min_size=1, max_size=6), st.integers(1, 5000))
def test_subtree_bounds_hold_exactly_the_strict_descendants(ids: list[int], other: int) -> None:
    path = ".".join(base36(i) for i in ids)
    low, high = subtree_bounds(path)
    below = f"{path}.{base36(other)}"
    sibling = f"{path}{base36(other)}"
    assert low <= below < high
    assert not (low <= sibling < high)
    assert not (low <= path < high)


def test_kinds_nest_admin_reseller_customer_user_and_users_under_users() -> None:
    assert may_parent(Kind.ADMIN, Kind.RESELLER)
    assert may_parent(Kind.RESELLER, Kind.CUSTOMER)
    assert may_parent(Kind.CUSTOMER, Kind.USER)
    assert may_parent(Kind.USER, Kind.USER)
    assert not may_parent(Kind.CUSTOMER, Kind.RESELLER)
    assert not may_parent(Kind.ADMIN, Kind.USER)


def test_negative_ids_have_no_path() -> None:
    with pytest.raises(ValueError, match="negative ids have no path"):
        base36(-1)
