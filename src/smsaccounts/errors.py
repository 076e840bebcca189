"""Domain errors: one typed code per case and named fields, no HTTP.

`ErrorCode` is the whole vocabulary the core speaks to the dialects. Each dialect renders
it through one exhaustive table (`dialects/<name>/errors.py`), and a test per dialect fails
when a code has no row. The exception classes group the codes by what went wrong, so that
code below the dialects can catch a family (`except NotFound`); the dialects look only at
`error.code`.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar


class ErrorCode(enum.StrEnum):
    """Every case the core reports, one member each."""

    # The request itself
    BAD_REQUEST = "bad_request"  # a body or parameters that cannot be read at all
    MEDIA_TYPE_UNSUPPORTED = "media_type_unsupported"
    ROUTE_NOT_FOUND = "route_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    API_DISABLED = "api_disabled"  # the operator switched this API off
    # Fields
    FIELD_MISSING = "field_missing"
    FIELD_INVALID = "field_invalid"
    FIELD_FORBIDDEN = "field_forbidden"  # the caller may not set it
    # A count or amount beyond what its column holds, or a wallet change that would take a
    # value past what the wallet holds: refused the same way in every dialect.
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    PASSWORD_FORMAT = "password_format"  # noqa: S105 - an error code, not a password
    MSISDN_INVALID = "msisdn_invalid"  # not a valid number for its country
    COUNTRY_NOT_ALLOWED = "country_not_allowed"
    # Credentials
    API_KEY_INVALID = "api_key_invalid"
    TOKEN_INVALID = "token_invalid"  # noqa: S105 - an error code, not a token
    CREDENTIALS_WRONG = "credentials_wrong"
    ACCOUNT_UNKNOWN = "account_unknown"  # a login for a name or msisdn nobody has
    DEVICE_KEY_WRONG = "device_key_wrong"  # mysms `checkKey`
    PIN_INVALID = "pin_invalid"
    HASH_INVALID = "hash_invalid"  # MOR's request hash
    # Who may act
    KEY_DISABLED = "key_disabled"
    IP_NOT_ALLOWED = "ip_not_allowed"
    RIGHT_MISSING = "right_missing"  # an API key without the right for this method
    # A PIN asked for or checked through a key without `user.create`, which can never
    # register the number: refused before any SMS is sent.
    PIN_NOT_ALLOWED = "pin_not_allowed"
    ACCOUNT_DISABLED = "account_disabled"  # the caller's own account
    USER_DISABLED = "user_disabled"
    CUSTOMER_DISABLED = "customer_disabled"
    ADMIN_REQUIRED = "admin_required"  # managing users needs aclAdmin
    ACL_NOT_HELD = "acl_not_held"  # granting an ACL the caller does not hold
    ROLE_NOT_PERMITTED = "role_not_permitted"  # the caller's kind may not do this
    # What is there
    ACCOUNT_NOT_FOUND = "account_not_found"
    USER_NOT_FOUND = "user_not_found"
    CUSTOMER_NOT_FOUND = "customer_not_found"
    RESELLER_NOT_FOUND = "reseller_not_found"
    WALLET_NOT_FOUND = "wallet_not_found"
    NAME_TAKEN = "name_taken"
    USERNAME_TAKEN = "username_taken"
    CUSTOMER_NAME_TAKEN = "customer_name_taken"
    RESELLER_NAME_TAKEN = "reseller_name_taken"
    MSISDN_TAKEN = "msisdn_taken"
    # Lockouts
    LOGIN_BLOCKED = "login_blocked"
    PIN_BLOCKED = "pin_blocked"
    RESET_BLOCKED = "reset_blocked"
    # Money
    INSUFFICIENT_FUNDS = "insufficient_funds"
    BILLING_TYPE_INCOMPATIBLE = "billing_type_incompatible"
    POST_PAID_TARGET = "post_paid_target"  # credits cannot go to a post-paid customer
    # Charging a message (`services.charging`)
    RECIPIENT_INVALID = "recipient_invalid"  # not a valid phone number
    RECIPIENT_PREFIX_NOT_ALLOWED = "recipient_prefix_not_allowed"  # outside `prefixes`
    RECIPIENT_COUNTRY_NOT_ALLOWED = "recipient_country_not_allowed"  # outside the countries
    MESSAGE_CLASS_NOT_ALLOWED = "message_class_not_allowed"  # premium/charity without the ACL
    MESSAGE_TOO_LONG = "message_too_long"  # more parts than one message may have
    MESSAGE_LIMIT_REACHED = "message_limit_reached"  # max_messages
    CHARGE_NOT_FOUND = "charge_not_found"  # no charge under that reference
    REFUND_EXCEEDS_CHARGE = "refund_exceeds_charge"
    REFUND_ALREADY_MADE = "refund_already_made"
    # The service
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # the database or Redis does not answer
    INTERNAL = "internal"  # a bug: never a client's fault, never shown in detail


class DomainError(Exception):
    """Base of every error the core raises on purpose: a code, a message, named fields."""

    kind: ClassVar[str] = "domain_error"  # the family, for operators (the CLI's `error`)
    default_code: ClassVar[ErrorCode] = ErrorCode.INTERNAL

    def __init__(
        self,
        message: str = "",
        *,
        code: ErrorCode | None = None,
        field: str | None = None,
        account_id: int | None = None,
        until: dt.datetime | None = None,
        acl: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code or self.default_code
        super().__init__(message or self.code.value)
        self.message = message or self.code.value
        self.field = field  # the field at fault, in the core's names
        self.account_id = account_id
        self.until = until  # when a lockout ends
        self.acl = acl
        self.retry_after = retry_after  # seconds until a rate limit lets the caller in

    @property
    def fields(self) -> dict[str, Any]:
        """The named fields that are set, for logs and the CLI."""
        names = ("field", "account_id", "until", "acl", "retry_after")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.value}, {self.message!r}, {self.fields!r})"


class MissingField(DomainError):
    kind = "missing_field"
    default_code = ErrorCode.FIELD_MISSING


class InvalidField(DomainError):
    kind = "invalid_field"
    default_code = ErrorCode.FIELD_INVALID


class ForbiddenField(DomainError):
    kind = "forbidden_field"
    default_code = ErrorCode.FIELD_FORBIDDEN


class NotFound(DomainError):
    """No such entity, or one outside the caller's subtree: the two look the same."""

    kind = "not_found"
    default_code = ErrorCode.ACCOUNT_NOT_FOUND


class AlreadyExists(DomainError):
    kind = "already_exists"
    default_code = ErrorCode.NAME_TAKEN


class AuthenticationFailed(DomainError):
    kind = "authentication_failed"
    default_code = ErrorCode.CREDENTIALS_WRONG


class AccountDisabled(DomainError):
    kind = "account_disabled"
    default_code = ErrorCode.ACCOUNT_DISABLED


class AccessDenied(DomainError):
    """The caller may not do this: a missing right, an IP outside its ranges, its role."""

    kind = "access_denied"
    default_code = ErrorCode.ROLE_NOT_PERMITTED


class Blocked(DomainError):
    """A lockout blocks this action until `until`."""

    kind = "blocked"
    default_code = ErrorCode.LOGIN_BLOCKED


class InsufficientFunds(DomainError):
    kind = "insufficient_funds"
    default_code = ErrorCode.INSUFFICIENT_FUNDS


class ChargeRefused(DomainError):
    """A message that may not be sent or charged: a recipient, its class, a limit, a refund."""

    kind = "charge_refused"
    default_code = ErrorCode.MESSAGE_CLASS_NOT_ALLOWED


class IncompatibleBillingType(DomainError):
    kind = "incompatible_billing_type"
    default_code = ErrorCode.BILLING_TYPE_INCOMPATIBLE


class RateLimited(DomainError):
    kind = "rate_limited"
    default_code = ErrorCode.RATE_LIMITED


class ServiceUnavailable(DomainError):
    """The database (or another dependency) does not answer."""

    kind = "service_unavailable"
    default_code = ErrorCode.UNAVAILABLE


class BadRequest(DomainError):
    """The request cannot be read, or names no route or method the dialect serves."""

    kind = "bad_request"
    default_code = ErrorCode.BAD_REQUEST


_NOT_FOUND_BY_KIND = {
    "user": ErrorCode.USER_NOT_FOUND,
    "customer": ErrorCode.CUSTOMER_NOT_FOUND,
    "reseller": ErrorCode.RESELLER_NOT_FOUND,
}
_TAKEN_BY_KIND = {
    "user": ErrorCode.USERNAME_TAKEN,
    "customer": ErrorCode.CUSTOMER_NAME_TAKEN,
    "reseller": ErrorCode.RESELLER_NAME_TAKEN,
}


def not_found_code(kind: str) -> ErrorCode:
    """The not-found code for an account of `kind` ("user", "customer", ...)."""
    return _NOT_FOUND_BY_KIND.get(kind, ErrorCode.ACCOUNT_NOT_FOUND)


def name_taken_code(kind: str) -> ErrorCode:
    """The name-taken code for an account of `kind`."""
    return _TAKEN_BY_KIND.get(kind, ErrorCode.NAME_TAKEN)
