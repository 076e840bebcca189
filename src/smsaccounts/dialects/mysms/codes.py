"""The one table from domain errors to the seed's errorCodes (CONTRACT section 2)."""

from __future__ import annotations

import structlog

from smsaccounts.errors import (
    AccessDenied,
    AccountDisabled,
    AlreadyExists,
    AuthenticationFailed,
    Blocked,
    DomainError,
    InvalidField,
    MissingField,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)

log = structlog.get_logger(__name__)

OK = 0
NOT_ALLOWED_BY_KEY = 1
PARAMETER = 2
ACCESS_DENIED = 97
TOO_MANY_REQUESTS = 98
UNAVAILABLE = 99
TOKEN_INVALID = 100
CREDENTIALS_WRONG = 101
PASSWORD_FORMAT = 102
MSISDN_REGISTERED = 103
RESET_BLOCKED = 104
MSISDN_UNKNOWN = 107
KEY_WRONG = 108
LOGIN_BLOCKED = 109
PIN_INVALID = 400
PIN_BLOCKED = 404
COUNTRY_NOT_ALLOWED = 500
MSISDN_INVALID = 501
API_KEY_INVALID = 600

# (error type, its discriminating field value) -> errorCode; `None` is that type's fallback.
# The discriminator is the first of the error's `reason`, `action`, `field`, `entity` that
# has an entry, so one row reads as "an AuthenticationFailed about the token is 100".
CODES: dict[tuple[type[DomainError], str | None], int] = {
    (AuthenticationFailed, "api_key"): API_KEY_INVALID,
    (AuthenticationFailed, "token"): TOKEN_INVALID,
    (AuthenticationFailed, "password"): CREDENTIALS_WRONG,
    (AuthenticationFailed, "key"): KEY_WRONG,
    (AuthenticationFailed, "pin"): PIN_INVALID,
    (AccessDenied, "right"): NOT_ALLOWED_BY_KEY,
    (AccessDenied, None): ACCESS_DENIED,
    (AccountDisabled, None): ACCESS_DENIED,
    (RateLimited, None): TOO_MANY_REQUESTS,
    (ServiceUnavailable, None): UNAVAILABLE,
    (InvalidField, "password_format"): PASSWORD_FORMAT,
    (InvalidField, "country_not_allowed"): COUNTRY_NOT_ALLOWED,
    (InvalidField, "not_valid"): MSISDN_INVALID,
    (InvalidField, None): PARAMETER,
    (MissingField, None): PARAMETER,
    (AlreadyExists, None): MSISDN_REGISTERED,
    (Blocked, "reset"): RESET_BLOCKED,
    (Blocked, "login"): LOGIN_BLOCKED,
    (Blocked, "pin"): PIN_BLOCKED,
    (NotFound, "account"): MSISDN_UNKNOWN,
}

_DISCRIMINATORS = ("reason", "action", "field", "entity")


def code_for(error: DomainError) -> int:
    """The errorCode of a domain error; one the table does not know is logged and 99."""
    kind = type(error)
    for name in _DISCRIMINATORS:
        value = error.fields.get(name)
        if isinstance(value, str) and (kind, value) in CODES:
            return CODES[(kind, value)]
    if (kind, None) in CODES:
        return CODES[(kind, None)]
    log.error("mysms: unmapped domain error", error=type(error).__name__, kind=error.kind)
    return UNAVAILABLE
