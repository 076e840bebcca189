"""What the console says about a refused change: the service's own message, in a sentence.

Field errors are the services' messages (the same the APIs send), naming the field. A
transfer's refusals carry the reseller API's status too, since that is the number resellers
know them by (320, 421).
"""

from __future__ import annotations

from smsaccounts.dialects.reseller import statuses
from smsaccounts.errors import DomainError, ErrorCode

E = ErrorCode
_SENTENCES = {
    E.INSUFFICIENT_FUNDS: "There are not enough credits for this transfer",
    E.POST_PAID_TARGET: "Credits cannot be transferred to a post-paid customer",
    E.BILLING_TYPE_INCOMPATIBLE: "A pre-paid reseller cannot have post-paid customers",
    E.LOGIN_BLOCKED: "Too many failed sign-ins: this account is locked for a while",
    E.CUSTOMER_DISABLED: "That customer is disabled",
    E.USER_DISABLED: "That user is disabled",
}
_FIELD_CODES = frozenset(
    {
        E.FIELD_MISSING,
        E.FIELD_INVALID,
        E.FIELD_FORBIDDEN,
        E.VALUE_OUT_OF_RANGE,
        E.PASSWORD_FORMAT,
        E.MSISDN_INVALID,
        E.COUNTRY_NOT_ALLOWED,
    }
)


def sentence(error: DomainError) -> str:
    """One sentence for a refused change, ending with the reseller API's status if any."""
    status, table_message = statuses.TABLE[error.code]
    text = _SENTENCES.get(error.code)
    if text is None and error.code in _FIELD_CODES:
        field = (error.field or "").replace("_", " ")
        named = field and not error.message.startswith(f"{error.field}:")  # says it already
        text = f"{field}: {error.message}" if named else error.message
    if text is None:
        text = table_message[:1].upper() + table_message[1:]
    if error.code in (E.INSUFFICIENT_FUNDS, E.POST_PAID_TARGET, E.BILLING_TYPE_INCOMPATIBLE):
        return f"{text} (status {status})."
    return text if text.endswith(".") else text + "."
