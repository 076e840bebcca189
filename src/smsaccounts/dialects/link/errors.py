"""THE table from the error vocabulary to LINK's `{"status", "message"}` (docs/link.md).

Every failure to authenticate is a 401 whose message shows only the request id, so that a
caller learns nothing about why (an unknown key, a blocked login, an IP outside the
ranges); the request's log line carries the same id and the reason.
"""

from __future__ import annotations

from smsaccounts.dialects.link import views
from smsaccounts.errors import DomainError
from smsaccounts.errors import ErrorCode as E

# The same bytes for a missing id and one outside the caller's subtree.
NOT_FOUND = "Not found"
UNAVAILABLE = "Service temporarily unavailable, try again later"

STATUS: dict[E, int] = {
    E.BAD_REQUEST: 400,
    E.MEDIA_TYPE_UNSUPPORTED: 400,
    E.ROUTE_NOT_FOUND: 404,
    E.METHOD_NOT_ALLOWED: 405,
    E.API_DISABLED: 403,
    E.FIELD_MISSING: 400,
    E.FIELD_INVALID: 400,
    E.FIELD_FORBIDDEN: 400,
    E.VALUE_OUT_OF_RANGE: 400,
    E.PASSWORD_FORMAT: 400,
    E.MSISDN_INVALID: 400,
    E.COUNTRY_NOT_ALLOWED: 400,
    E.API_KEY_INVALID: 401,
    E.TOKEN_INVALID: 401,
    E.CREDENTIALS_WRONG: 401,
    E.ACCOUNT_UNKNOWN: 401,
    E.DEVICE_KEY_WRONG: 401,
    E.PIN_INVALID: 401,
    E.HASH_INVALID: 401,
    E.KEY_DISABLED: 401,
    E.IP_NOT_ALLOWED: 401,
    E.ACCOUNT_DISABLED: 401,
    E.USER_DISABLED: 401,
    E.CUSTOMER_DISABLED: 401,
    E.LOGIN_BLOCKED: 401,
    E.PIN_BLOCKED: 401,
    E.RESET_BLOCKED: 401,
    E.RIGHT_MISSING: 403,
    E.PIN_NOT_ALLOWED: 403,
    E.ADMIN_REQUIRED: 403,
    E.ACL_NOT_HELD: 403,
    E.ROLE_NOT_PERMITTED: 403,
    E.ACCOUNT_NOT_FOUND: 404,
    E.USER_NOT_FOUND: 404,
    E.CUSTOMER_NOT_FOUND: 404,
    E.RESELLER_NOT_FOUND: 404,
    E.WALLET_NOT_FOUND: 404,
    E.NAME_TAKEN: 400,
    E.USERNAME_TAKEN: 400,
    E.CUSTOMER_NAME_TAKEN: 400,
    E.RESELLER_NAME_TAKEN: 400,
    E.MSISDN_TAKEN: 400,
    E.INSUFFICIENT_FUNDS: 400,
    E.BILLING_TYPE_INCOMPATIBLE: 400,
    E.POST_PAID_TARGET: 400,
    E.RECIPIENT_INVALID: 400,
    E.RECIPIENT_PREFIX_NOT_ALLOWED: 403,
    E.RECIPIENT_COUNTRY_NOT_ALLOWED: 403,
    E.MESSAGE_CLASS_NOT_ALLOWED: 403,
    E.MESSAGE_TOO_LONG: 400,
    E.MESSAGE_LIMIT_REACHED: 403,
    E.CHARGE_NOT_FOUND: 404,
    E.REFUND_EXCEEDS_CHARGE: 400,
    E.REFUND_ALREADY_MADE: 400,
    E.RATE_LIMITED: 429,
    E.UNAVAILABLE: 503,
    E.INTERNAL: 500,
}

_TAKEN = frozenset({E.NAME_TAKEN, E.USERNAME_TAKEN, E.CUSTOMER_NAME_TAKEN,
                    E.RESELLER_NAME_TAKEN, E.MSISDN_TAKEN})  # fmt: skip
_INVALID = frozenset({E.FIELD_INVALID, E.VALUE_OUT_OF_RANGE, E.PASSWORD_FORMAT,
                      E.MSISDN_INVALID, E.COUNTRY_NOT_ALLOWED})  # fmt: skip

# Refusals of a message (`services.charging`): their message names the rule, no internals.
_CHARGE_REFUSALS = frozenset({E.RECIPIENT_INVALID, E.RECIPIENT_PREFIX_NOT_ALLOWED,
                              E.RECIPIENT_COUNTRY_NOT_ALLOWED, E.MESSAGE_CLASS_NOT_ALLOWED,
                              E.MESSAGE_TOO_LONG, E.MESSAGE_LIMIT_REACHED,
                              E.INSUFFICIENT_FUNDS})  # fmt: skip


def message_for(error: DomainError, request_id: str) -> str:
    """What the client reads, in LINK's field names; never a stack trace or an internal id."""
    status, code = STATUS[error.code], error.code
    field = views.wire_name(error.field or "")
    if status == 401:
        return f"Access denied [{request_id}] authentication failed"
    if status == 404:
        return NOT_FOUND
    if code is E.FIELD_FORBIDDEN:
        return f"{field} cannot be set through this API"
    if code is E.FIELD_MISSING:
        return f"{field} is required"
    if code in _INVALID:
        return f"{field}: {error.message}" if field else error.message
    if code in _TAKEN:
        return f"{field} is already taken"
    if code is E.ACL_NOT_HELD:
        acl = views.wire_name(error.acl or "")
        return f"Access denied: {acl} cannot be granted by a user who does not hold it"
    if code is E.API_DISABLED:
        return "Access denied: this API is disabled"
    if code in _CHARGE_REFUSALS:
        return error.message
    if status == 403:
        return "Access denied: managing users needs aclAdmin"
    if code is E.RATE_LIMITED:
        return "Too many requests"
    if code is E.UNAVAILABLE:
        return UNAVAILABLE
    if code is E.INTERNAL:
        return f"Internal error [{request_id}]"
    return error.message
