"""Money as Decimal in the domain and as integer units of 10^-7 in storage; never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

SCALE = 7
_UNIT = Decimal(1).scaleb(-SCALE)  # Decimal("1E-7")
_FACTOR = 10**SCALE


class MoneyError(ValueError):
    """Not a finite decimal amount representable at SCALE places."""


def parse_amount(raw: str | int | Decimal) -> Decimal:
    """A signed decimal amount, refused when it is not a number or has more than 7 places."""
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise MoneyError(f"not a decimal amount: {raw!r}") from None
    if not value.is_finite():
        raise MoneyError(f"not a finite amount: {raw!r}")
    if abs(value) >= Decimal(10) ** 11:
        raise MoneyError(f"amount too large: {raw!r}")
    if value != value.quantize(_UNIT):
        raise MoneyError(f"more than {SCALE} decimal places: {raw!r}")
    return value


def to_units(value: Decimal) -> int:
    return int(parse_amount(value) * _FACTOR)


def from_units(units: int) -> Decimal:
    return Decimal(units).scaleb(-SCALE)


def format_amount(units: int, places: int = SCALE) -> str:
    """`12400000` units -> `'1.2400000'` (7 places) or `'1.24'` at 2 places."""
    return f"{from_units(units):.{places}f}"
