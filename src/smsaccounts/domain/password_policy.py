"""The one password policy every door applies to a new password: never empty, and a length
between the installation's bounds (SMSACCOUNTS_PASSWORD_MIN_LENGTH and _MAX_LENGTH).

A dialect may narrow it on top (mysms keeps its seed's 4-15), never widen it.
"""

from __future__ import annotations

from smsaccounts.errors import ErrorCode, InvalidField, MissingField


def check(password: str | None, *, min_length: int, max_length: int) -> str:
    """`password`, if it may be set (MissingField when empty, InvalidField when too short
    or too long, both naming the field `password`)."""
    if password is None or password == "":
        raise MissingField("password missing", field="password")
    if not min_length <= len(password) <= max_length:
        raise InvalidField(
            f"password must be {min_length}-{max_length} characters",
            field="password",
            code=ErrorCode.PASSWORD_FORMAT,
        )
    return password
