"""The one password policy: never empty, and within the installation's length bounds."""

from __future__ import annotations

import pytest

from smsaccounts.domain import password_policy
from smsaccounts.errors import ErrorCode, InvalidField, MissingField


def test_a_password_within_the_bounds_is_accepted_as_is() -> None:
    assert password_policy.check("abcd", min_length=4, max_length=8) == "abcd"
    assert password_policy.check("x" * 8, min_length=4, max_length=8) == "x" * 8


@pytest.mark.parametrize("empty", [None, ""])
def test_an_empty_password_is_missing(empty: str | None) -> None:
    with pytest.raises(MissingField) as caught:
        password_policy.check(empty, min_length=1, max_length=8)
    assert caught.value.field == "password"


@pytest.mark.parametrize("bad", ["abc", "x" * 9])
def test_a_password_outside_the_bounds_is_a_password_format_error(bad: str) -> None:
    with pytest.raises(InvalidField) as caught:
        password_policy.check(bad, min_length=4, max_length=8)
    assert (caught.value.field, caught.value.code) == ("password", ErrorCode.PASSWORD_FORMAT)
    assert "4-8" in caught.value.message
