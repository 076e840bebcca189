"""The reseller API's status codes: THE table from domain errors to `{"status", "message"}`.

Where one error class means different things, a field of the error picks the row: the
entity that is missing or taken, the kind of account that is disabled, the billing rule.
Anything not in the table (ServiceUnavailable, a bug) is 9999 and is logged by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from smsaccounts.dialects.reseller.messages import Error
from smsaccounts.errors import (
    AccountDisabled,
    AlreadyExists,
    AuthenticationFailed,
    Blocked,
    DomainError,
    IncompatibleBillingType,
    InsufficientFunds,
    InvalidField,
    MissingField,
    NotFound,
)

OK = 0
INTERNAL_ERROR = 9999
INTERNAL_MESSAGE = "internal error"


@dataclass(frozen=True, slots=True)
class Row:
    error: type[DomainError]
    status: int
    message: str
    field: str | None = None  # the error field that selects this row ...
    value: str | None = None  # ... when it has this value (None: any)


TABLE: tuple[Row, ...] = (
    Row(MissingField, 1, "missing required parameter"),
    Row(InvalidField, 2, "invalid parameter value"),
    Row(AuthenticationFailed, 3, "authentication failed"),
    # A locked-out login is a failed login: the lockout must not tell a guesser more.
    Row(Blocked, 3, "authentication failed"),
    Row(AccountDisabled, 220, "user account needs to be activated", "kind", "user"),
    Row(AccountDisabled, 420, "reseller has no rights to the customer", "kind", "customer"),
    Row(AccountDisabled, 4, "account blocked"),
    Row(NotFound, 200, "user does not exist", "entity", "user"),
    Row(NotFound, 300, "customer does not exist", "entity", "customer"),
    Row(NotFound, 400, "reseller does not exist", "entity", "reseller"),
    Row(AlreadyExists, 201, "username already taken", "entity", "user"),
    Row(AlreadyExists, 301, "customer name already taken", "entity", "customer"),
    Row(AlreadyExists, 401, "reseller name already taken", "entity", "reseller"),
    Row(InsufficientFunds, 320, "insufficient credits"),
    Row(
        IncompatibleBillingType,
        421,
        "cannot transfer credits to a post-paid customer",
        "reason",
        "post_paid_target",
    ),
    Row(IncompatibleBillingType, 321, "incompatible customer billing type"),
)


def error_for(error: DomainError) -> Error | None:
    """The answer for a domain error, or None when it is not the client's (-> 9999)."""
    for row in TABLE:
        if isinstance(error, row.error) and _selects(row, error):
            return Error(status=row.status, message=_message(row, error), field=_field(error))
    return None


def internal_error() -> Error:
    return Error(status=INTERNAL_ERROR, message=INTERNAL_MESSAGE)


def _selects(row: Row, error: DomainError) -> bool:
    return row.field is None or error.fields.get(row.field) == row.value


def _field(error: DomainError) -> str | None:
    if isinstance(error, MissingField | InvalidField):
        return str(error.fields.get("field", ""))
    return None


def _message(row: Row, error: DomainError) -> str:
    # Field errors say which rule broke; every other message is the table's, so that no
    # internal detail (ids, reasons) reaches the client.
    if isinstance(error, MissingField | InvalidField):
        return error.message
    return row.message
