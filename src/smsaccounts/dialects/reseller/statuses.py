"""The reseller API's status codes: THE table from the error vocabulary to
`{"status", "message"}` (docs/reseller.md).

Every answer to an endpoint is HTTP 200 but a rate-limited one: the seeds name no status
for that, so it is HTTP 429 with `Retry-After` and `{"status": 429, "message": "too many
requests"}`. A path or method this API does not have is HTTP 404 or 405, in the same shape.
What can only be the service's own fault (an outage, a bug, a wallet that is not there)
is 9999 without any detail.
"""

from __future__ import annotations

from smsaccounts.dialects.reseller.messages import Error
from smsaccounts.errors import DomainError
from smsaccounts.errors import ErrorCode as E

OK = 0
TOO_MANY_REQUESTS = 429
INTERNAL_ERROR = 9999
INTERNAL_MESSAGE = "internal error"

_MISSING = (1, "missing required parameter")
_INVALID = (2, "invalid parameter value")
_AUTH = (3, "authentication failed")
_INTERNAL = (INTERNAL_ERROR, INTERNAL_MESSAGE)

TABLE: dict[E, tuple[int, str]] = {
    E.BAD_REQUEST: _INVALID,
    E.MEDIA_TYPE_UNSUPPORTED: _INVALID,
    E.ROUTE_NOT_FOUND: (2, "no such endpoint"),
    E.METHOD_NOT_ALLOWED: (2, "method not allowed"),
    E.API_DISABLED: (4, "account blocked"),
    E.FIELD_MISSING: _MISSING,
    E.FIELD_INVALID: _INVALID,
    E.FIELD_FORBIDDEN: _INVALID,
    E.VALUE_OUT_OF_RANGE: _INVALID,
    E.PASSWORD_FORMAT: _INVALID,
    E.MSISDN_INVALID: _INVALID,
    E.COUNTRY_NOT_ALLOWED: _INVALID,
    E.API_KEY_INVALID: _AUTH,
    E.TOKEN_INVALID: _AUTH,
    E.CREDENTIALS_WRONG: _AUTH,
    E.ACCOUNT_UNKNOWN: _AUTH,
    E.DEVICE_KEY_WRONG: _AUTH,
    E.PIN_INVALID: _AUTH,
    E.HASH_INVALID: _AUTH,
    E.KEY_DISABLED: _AUTH,
    E.IP_NOT_ALLOWED: _AUTH,
    E.RIGHT_MISSING: _AUTH,
    E.PIN_NOT_ALLOWED: _AUTH,
    E.ADMIN_REQUIRED: _AUTH,
    E.ACL_NOT_HELD: _AUTH,
    E.ROLE_NOT_PERMITTED: _AUTH,
    # A locked-out login is a failed login: the lockout must not tell a guesser more.
    E.LOGIN_BLOCKED: _AUTH,
    E.PIN_BLOCKED: _AUTH,
    E.RESET_BLOCKED: _AUTH,
    E.ACCOUNT_DISABLED: (4, "account blocked"),
    E.USER_DISABLED: (220, "user account needs to be activated"),
    E.CUSTOMER_DISABLED: (420, "reseller has no rights to the customer"),
    E.USER_NOT_FOUND: (200, "user does not exist"),
    E.CUSTOMER_NOT_FOUND: (300, "customer does not exist"),
    E.RESELLER_NOT_FOUND: (400, "reseller does not exist"),
    E.ACCOUNT_NOT_FOUND: _INTERNAL,
    E.WALLET_NOT_FOUND: _INTERNAL,
    E.NAME_TAKEN: (201, "username already taken"),
    E.USERNAME_TAKEN: (201, "username already taken"),
    E.MSISDN_TAKEN: (201, "username already taken"),
    E.CUSTOMER_NAME_TAKEN: (301, "customer name already taken"),
    E.RESELLER_NAME_TAKEN: (401, "reseller name already taken"),
    E.INSUFFICIENT_FUNDS: (320, "insufficient credits"),
    E.BILLING_TYPE_INCOMPATIBLE: (321, "incompatible customer billing type"),
    E.POST_PAID_TARGET: (421, "cannot transfer credits to a post-paid customer"),
    E.RECIPIENT_INVALID: (2, "invalid recipient"),
    E.RECIPIENT_PREFIX_NOT_ALLOWED: (330, "recipient not allowed by prefixes"),
    E.RECIPIENT_COUNTRY_NOT_ALLOWED: (331, "recipient country not allowed"),
    E.MESSAGE_CLASS_NOT_ALLOWED: (332, "message class not allowed"),
    E.MESSAGE_TOO_LONG: (2, "message too long"),
    E.MESSAGE_LIMIT_REACHED: (333, "message limit reached"),
    E.CHARGE_NOT_FOUND: (334, "charge does not exist"),
    E.REFUND_EXCEEDS_CHARGE: (335, "refund exceeds the charge"),
    E.REFUND_ALREADY_MADE: (336, "charge already refunded"),
    E.RATE_LIMITED: (TOO_MANY_REQUESTS, "too many requests"),
    E.UNAVAILABLE: _INTERNAL,
    E.INTERNAL: _INTERNAL,
}

# Field errors say which rule broke and name the parameter; every other message is the
# table's, so that no internal detail (ids, reasons) reaches the client.
_FIELD_ERRORS = frozenset({E.FIELD_MISSING, E.FIELD_INVALID, E.FIELD_FORBIDDEN,
                           E.VALUE_OUT_OF_RANGE, E.PASSWORD_FORMAT, E.MSISDN_INVALID,
                           E.COUNTRY_NOT_ALLOWED})  # fmt: skip
_REQUEST_ERRORS = {E.BAD_REQUEST: "body", E.MEDIA_TYPE_UNSUPPORTED: "body",
                   E.ROUTE_NOT_FOUND: "path", E.METHOD_NOT_ALLOWED: "method"}  # fmt: skip


_HTTP = {E.RATE_LIMITED: 429, E.ROUTE_NOT_FOUND: 404, E.METHOD_NOT_ALLOWED: 405}


def error_for(error: DomainError) -> tuple[Error, int]:
    """The answer for an error, and its HTTP status."""
    status, message = TABLE[error.code]
    http = _HTTP.get(error.code, 200)
    if error.code in _FIELD_ERRORS:
        return Error(status=status, message=error.message, field=error.field or ""), http
    if error.code in (E.BAD_REQUEST, E.MEDIA_TYPE_UNSUPPORTED):
        return Error(status=status, message=error.message, field="body"), http
    if error.code in _REQUEST_ERRORS:
        return Error(status=status, message=message, field=_REQUEST_ERRORS[error.code]), http
    return Error(status=status, message=message), http


def internal_error() -> Error:
    return Error(status=INTERNAL_ERROR, message=INTERNAL_MESSAGE)
