"""What the database's integer columns hold, and integers read from text within them.

Every id, count and amount a client or an operator gives is checked against these before
a statement is built: a value beyond its column would otherwise fail inside the driver
(SQLite cannot bind an int of 2^63 or more; PostgreSQL refuses one beyond its column) and
answer as an internal error instead of the dialect's own "not found" or "invalid".
Both databases hold ids, wallet values and ledger amounts as 64-bit integers.
"""

from __future__ import annotations

import re

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ID_MIN, ID_MAX = 1, INT64_MAX  # account and row ids (BIGINT on PostgreSQL, INTEGER on SQLite)

# ASCII only: `str.isdigit` and `int()` also read digits of other scripts (U+0663, U+FF13) and
# `int()` underscores ('1_0') and surrounding blanks.
_UNSIGNED = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"[+-]?[0-9]+")
_MAX_DIGITS = 40  # more than any column holds, far below what int() refuses to read


class OutOfRange(ValueError):
    """A well-formed whole number beyond what its column holds."""


def is_id(value: int) -> bool:
    """Whether an id column could hold `value`: anything else names no row."""
    return ID_MIN <= value <= ID_MAX


def parse_id(text: str) -> int | None:
    """The id written as ASCII digits in `text`, or None when it cannot name a row."""
    try:
        return parse_int(text, low=ID_MIN, high=ID_MAX, signed=False)
    except ValueError:  # OutOfRange included
        return None


def parse_int(
    text: str, *, low: int = INT64_MIN, high: int = INT64_MAX, signed: bool = True
) -> int:
    """An ASCII integer (with a sign only if `signed`) from `low` to `high`: ValueError when
    `text` is no such integer, OutOfRange (a ValueError) when it is one outside the range."""
    if not (_SIGNED if signed else _UNSIGNED).fullmatch(text):
        raise ValueError(f"must be a whole number from {low} to {high}")
    if len(text.lstrip("+-").lstrip("0")) > _MAX_DIGITS:  # int() refuses 4,300 digits
        raise OutOfRange(f"must be a whole number from {low} to {high}")
    return check_int(int(text), low=low, high=high)


def check_int(value: int, *, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """`value`, or OutOfRange when it lies outside `low` to `high`."""
    if not low <= value <= high:
        raise OutOfRange(f"must be a whole number from {low} to {high}")
    return value
