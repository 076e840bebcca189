"""Integers read from text: ASCII digits only, within what their column holds."""

from __future__ import annotations

import pytest

from smsaccounts.domain import bounds


@pytest.mark.parametrize(
    "text", ["\u0663", "\uff13", "1_0", " 5", "5 ", "+5", "-5", "0", "", str(2**63), "9" * 5000]
)
def test_text_that_names_no_row_is_no_id(text: str) -> None:
    """`int()` reads the first five; no id column holds the rest."""
    assert bounds.parse_id(text) is None


def test_ids_up_to_2_63_minus_1_are_ids() -> None:
    assert bounds.parse_id("1") == 1
    assert bounds.parse_id(str(2**63 - 1)) == 2**63 - 1
    assert bounds.parse_id("007") == 7


def test_a_well_formed_number_outside_the_range_is_out_of_range_else_invalid() -> None:
    with pytest.raises(bounds.OutOfRange):
        bounds.parse_int(str(2**63))
    with pytest.raises(bounds.OutOfRange):
        bounds.parse_int("9" * 5000)  # int() itself would refuse to read it
    with pytest.raises(ValueError, match="whole number") as error:
        bounds.parse_int("1_000")
    assert not isinstance(error.value, bounds.OutOfRange)
    assert bounds.parse_int("-5", low=-5, high=5) == -5
    with pytest.raises(ValueError, match="whole number"):
        bounds.parse_int("+5", signed=False)
