"""THE table from the error vocabulary to MOR's `<error>` texts (docs/mor.md), and
the root element the `<error>` sits in.

Every answer is HTTP 200 but a rate-limited one (HTTP 429 with `Retry-After`), an unknown
function (404) and a method other than POST and GET (405): the seed names none of those.
Parameters that cannot be read cannot have been hashed correctly either, so an unreadable
request is an incorrect hash.

The error is a child of the document's root, as the Kolmisoft wiki shows and as clients
test it (`isset($response->error)`): `<page><error>User was not found</error></page>`,
but `<status><error>Incorrect hash</error></status>` from a balance update.
"""

from __future__ import annotations

from smsaccounts.errors import ErrorCode as E

NOT_FOUND = "User was not found"
INCORRECT_HASH = "Incorrect hash"
BAD_LOGIN = "Bad login"
ACCESS_DENIED = "Access Denied"
API_DISABLED = "API Requests are disabled"
GET_DISABLED = "GET Requests are disabled"
NOT_UPDATED = "User balance not updated"
UNAVAILABLE = "Service unavailable"
INTERNAL_ERROR = "Internal error"
TOO_MANY_REQUESTS = "Too many requests"
METHOD_NOT_ALLOWED = "Method not allowed"

TABLE: dict[E, str] = {
    E.BAD_REQUEST: INCORRECT_HASH,
    E.MEDIA_TYPE_UNSUPPORTED: INCORRECT_HASH,
    E.ROUTE_NOT_FOUND: "Unknown API function",
    E.METHOD_NOT_ALLOWED: GET_DISABLED,  # the only method besides POST a function takes
    E.API_DISABLED: API_DISABLED,
    E.FIELD_MISSING: NOT_UPDATED,
    E.FIELD_INVALID: NOT_UPDATED,
    E.FIELD_FORBIDDEN: NOT_UPDATED,
    E.VALUE_OUT_OF_RANGE: NOT_UPDATED,
    E.PASSWORD_FORMAT: NOT_UPDATED,
    E.MSISDN_INVALID: NOT_UPDATED,
    E.COUNTRY_NOT_ALLOWED: NOT_UPDATED,
    E.HASH_INVALID: INCORRECT_HASH,
    E.API_KEY_INVALID: BAD_LOGIN,
    E.TOKEN_INVALID: BAD_LOGIN,
    E.CREDENTIALS_WRONG: BAD_LOGIN,
    E.ACCOUNT_UNKNOWN: BAD_LOGIN,
    E.DEVICE_KEY_WRONG: BAD_LOGIN,
    E.PIN_INVALID: BAD_LOGIN,
    E.LOGIN_BLOCKED: BAD_LOGIN,
    E.PIN_BLOCKED: BAD_LOGIN,
    E.RESET_BLOCKED: BAD_LOGIN,
    E.KEY_DISABLED: ACCESS_DENIED,
    E.IP_NOT_ALLOWED: ACCESS_DENIED,
    E.RIGHT_MISSING: ACCESS_DENIED,
    E.PIN_NOT_ALLOWED: ACCESS_DENIED,
    E.ACCOUNT_DISABLED: ACCESS_DENIED,
    E.USER_DISABLED: ACCESS_DENIED,
    E.CUSTOMER_DISABLED: ACCESS_DENIED,
    E.ADMIN_REQUIRED: ACCESS_DENIED,
    E.ACL_NOT_HELD: ACCESS_DENIED,
    E.ROLE_NOT_PERMITTED: ACCESS_DENIED,
    E.ACCOUNT_NOT_FOUND: NOT_FOUND,
    E.USER_NOT_FOUND: NOT_FOUND,
    E.CUSTOMER_NOT_FOUND: NOT_FOUND,
    E.RESELLER_NOT_FOUND: NOT_FOUND,
    E.WALLET_NOT_FOUND: NOT_FOUND,
    E.NAME_TAKEN: NOT_UPDATED,
    E.USERNAME_TAKEN: NOT_UPDATED,
    E.CUSTOMER_NAME_TAKEN: NOT_UPDATED,
    E.RESELLER_NAME_TAKEN: NOT_UPDATED,
    E.MSISDN_TAKEN: NOT_UPDATED,
    E.INSUFFICIENT_FUNDS: NOT_UPDATED,
    E.BILLING_TYPE_INCOMPATIBLE: NOT_UPDATED,
    E.POST_PAID_TARGET: NOT_UPDATED,
    E.RECIPIENT_INVALID: NOT_UPDATED,
    E.RECIPIENT_PREFIX_NOT_ALLOWED: NOT_UPDATED,
    E.RECIPIENT_COUNTRY_NOT_ALLOWED: NOT_UPDATED,
    E.MESSAGE_CLASS_NOT_ALLOWED: NOT_UPDATED,
    E.MESSAGE_TOO_LONG: NOT_UPDATED,
    E.MESSAGE_LIMIT_REACHED: NOT_UPDATED,
    E.CHARGE_NOT_FOUND: NOT_UPDATED,
    E.REFUND_EXCEEDS_CHARGE: NOT_UPDATED,
    E.REFUND_ALREADY_MADE: NOT_UPDATED,
    E.RATE_LIMITED: TOO_MANY_REQUESTS,
    E.UNAVAILABLE: UNAVAILABLE,
    E.INTERNAL: INTERNAL_ERROR,
}


ROOT = "page"
# (function, text) -> the root element, where it is not `<page>`.
_ROOTS = {("user_balance_update", INCORRECT_HASH): "status"}


def root_for(function: str | None, text: str) -> str:
    """The root element of an error document from `function` (None: no function matched)."""
    return _ROOTS.get((function or "", text), ROOT)
