"""Money as Decimal in the domain and as integer units of 10^-7 in storage; never a float."""

from __future__ import annotations

import re
from decimal import Decimal

SCALE = 7
_UNIT = Decimal(1).scaleb(-SCALE)  # Decimal("1E-7")
_FACTOR = 10**SCALE
_AT_SCALE = f"%d.%0{SCALE}d"
# Far below what the 64-bit wallet columns hold at SCALE places (about 9.2 * 10^11).
LIMIT = Decimal(10) ** 11
# A plain ASCII decimal: an optional minus, digits, and a point with digits. Decimal() would
# also take `1e5`, `+5`, ` 5 `, `1_000` and digits of any script (U+FF15, U+0665): none of those
# is an amount a client means, and a signed value must read the same to everyone.
_PLAIN = re.compile(r"(-?[0-9]+)(?:\.([0-9]+))?")


class MoneyError(ValueError):
    """Not a plain decimal amount representable at SCALE places."""


def parse_amount(raw: str | int | Decimal) -> Decimal:
    """A signed amount: text must be `-?[0-9]+(.[0-9]+)?` with at most SCALE decimals."""
    if isinstance(raw, str):
        return _checked(_parse_text(raw), raw)
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise MoneyError(f"not a decimal amount: {raw!r}")
    value = Decimal(raw)
    if not value.is_finite():
        raise MoneyError(f"not a finite amount: {raw!r}")
    _checked(value, raw)  # first: quantize cannot hold more digits than its context's 28
    if value != value.quantize(_UNIT):
        raise MoneyError(f"more than {SCALE} decimal places: {raw!r}")
    return value


def _parse_text(raw: str) -> Decimal:
    found = _PLAIN.fullmatch(raw)
    if found is None:
        raise MoneyError(f"not a plain decimal amount (-?digits[.digits]): {raw[:40]!r}")
    if len(found.group(2) or "") > SCALE:
        raise MoneyError(f"more than {SCALE} decimal places: {raw[:40]!r}")
    return Decimal(raw)


def _checked(value: Decimal, raw: object) -> Decimal:
    if abs(value) >= LIMIT:
        raise MoneyError(f"amount too large: {str(raw)[:40]!r}")
    return value


def to_units(value: Decimal) -> int:
    return int(parse_amount(value) * _FACTOR)


def from_units(units: int) -> Decimal:
    return Decimal(units).scaleb(-SCALE)


def format_amount(units: int, places: int = SCALE) -> str:
    """`12400000` units -> `'1.2400000'` (7 places) or `'1.24'` at 2 places.

    At SCALE places the units' digits are the amount's, so they are written as they are,
    in a quarter of what a Decimal costs (a LINK page writes 100 balances); what
    `from_units` formats is the reference (tests/unit/test_money.py), and rounds.
    """
    if places != SCALE:
        return f"{from_units(units):.{places}f}"
    if units >= 0:  # most balances: one format of the pair divmod makes
        text: str = _AT_SCALE % divmod(units, _FACTOR)
        return text
    whole, fraction = divmod(abs(units), _FACTOR)
    return "%s%d.%0*d" % ("-" if units < 0 else "", whole, SCALE, fraction)  # noqa: UP031 - as above
