"""Money is Decimal in the domain and integer units in storage; never a float."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsaccounts.domain import money


@given(st.decimals(min_value=-(10**10), max_value=10**10, places=7, allow_nan=False))
def test_amounts_round_trip_through_units_exactly(value: Decimal) -> None:
    assert money.from_units(money.to_units(value)) == value


@pytest.mark.parametrize("raw", ["abc", "", "1e400", "NaN", "Infinity", "0.00000001", "1,5"])
def test_non_amounts_and_excess_precision_are_refused(raw: str) -> None:
    with pytest.raises(money.MoneyError):
        money.parse_amount(raw)


@pytest.mark.parametrize(
    "raw", ["1_000", "\uff15", "\u0665", "1_0.5", "1e5", "1E5", "+5", " 5", "5\n", "-", "1.5.1"]
)
def test_only_plain_ascii_decimals_are_amounts(raw: str) -> None:
    """`-?[0-9]+(.[0-9]+)?`: Decimal() would read every one of these."""
    with pytest.raises(money.MoneyError):
        money.parse_amount(raw)


def test_amounts_format_with_a_fixed_number_of_places() -> None:
    assert money.format_amount(12_400_000) == "1.2400000"
    assert money.format_amount(0) == "0.0000000"
    assert money.format_amount(-12_345_678, places=4) == "-1.2346"


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_an_amount_at_scale_is_written_as_its_decimal_formats(units: int) -> None:
    """Every value a 64-bit wallet column holds: sign, leading zeros, the fraction."""
    expected = f"{money.from_units(units):.{money.SCALE}f}"
    assert money.format_amount(units) == expected
    assert money.format_amount(units, places=money.SCALE) == expected


def test_signed_amounts_parse() -> None:
    assert money.parse_amount("-0.25") == Decimal("-0.25")
    assert money.to_units(Decimal("-0.25")) == -2_500_000
