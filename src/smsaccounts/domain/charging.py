"""What a message may cost and to whom it may go: the rules `services.charging` applies.

- Recipients: each a valid number (libphonenumber), allowed by the sender's `prefixes`
  (LINK's semantics: comma-separated leading digits, empty = any) and by the installation's
  allowed countries (empty = any).
- Classes: `standard`; `premium` needs `aclBilling`, and above the configured price
  `aclBillingHigh` too; `charity` needs `aclCharity`.
- Cost: recipients x parts of the text (`domain.sms`), taken from the sender's own free
  SMS, then the paying wallet's free SMS, then its credits, or its money at its price per
  part when it has one (`split`). A refund puts parts back in the opposite order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Sequence

from smsaccounts.domain import phone
from smsaccounts.domain.models import Account, Wallet
from smsaccounts.errors import ChargeRefused, ErrorCode

MAX_RECIPIENTS = 1000  # one charge; LINK's message resource takes lists this long


class MessageClass(enum.StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    CHARITY = "charity"


@dataclasses.dataclass(frozen=True, slots=True)
class Charge:
    """One charge as stored: who asked, for whom, what paid, what was refunded."""

    id: int
    caller_id: int
    reference: str
    account_id: int
    payer_id: int
    message_class: str
    recipients: int
    parts: int  # recipients x parts of the text
    own_free_sms: int
    free_sms: int
    credits: int
    money: int  # units of 10^-7
    refunded_parts: int | None
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Split:
    """How `parts` are paid: the sender's free SMS, the payer's, then credits or money."""

    own_free_sms: int
    free_sms: int
    credits: int
    money: int


class ChargeTaken(Exception):
    """The caller already has a charge under this reference (a concurrent one won): the
    savepoint around the charge rolls back, and the winner's charge is the answer."""

    def __init__(self, caller_id: int, reference: str) -> None:
        super().__init__(f"reference {reference!r} of {caller_id} already charged")


def recipients(raw: Sequence[object], *, prefixes: str, countries: Iterable[str]) -> list[str]:
    """The canonical digits of every recipient, or ChargeRefused naming the first bad one."""
    if not raw:
        raise ChargeRefused("at least one recipient", code=ErrorCode.RECIPIENT_INVALID,
                            field="recipients")  # fmt: skip
    if len(raw) > MAX_RECIPIENTS:
        raise ChargeRefused(f"at most {MAX_RECIPIENTS} recipients",
                            code=ErrorCode.RECIPIENT_INVALID, field="recipients")  # fmt: skip
    allowed = frozenset(countries)
    starts = tuple(p.strip().lstrip("+") for p in prefixes.split(",") if p.strip())
    return [_recipient(number, starts, allowed) for number in raw]


def _recipient(raw: object, starts: tuple[str, ...], allowed: frozenset[str]) -> str:
    try:
        number = phone.parse_msisdn(raw)
    except phone.PhoneError:
        number = None
    if number is None or not number.valid:
        raise ChargeRefused(f"not a valid phone number: {raw}", code=ErrorCode.RECIPIENT_INVALID,
                            field="recipients")  # fmt: skip
    if starts and not number.digits.startswith(starts):
        raise ChargeRefused(f"{number.digits} is outside the sender's prefixes",
                            code=ErrorCode.RECIPIENT_PREFIX_NOT_ALLOWED,
                            field="recipients")  # fmt: skip
    if allowed and number.country not in allowed:
        raise ChargeRefused(f"{number.digits}: its country is not allowed",
                            code=ErrorCode.RECIPIENT_COUNTRY_NOT_ALLOWED,
                            field="recipients")  # fmt: skip
    return number.digits


def check_class(account: Account, message_class: MessageClass, price: int, high: int) -> None:
    """Whether `account` may send this class (`price`: a premium message's, in units)."""
    if message_class is MessageClass.PREMIUM:
        if not account.acl_billing:
            raise _class_refused("premium messages need aclBilling", "acl_billing")
        if price > high and not account.acl_billing_high:
            raise _class_refused("premium messages at this price need aclBillingHigh",
                                 "acl_billing_high")  # fmt: skip
    if message_class is MessageClass.CHARITY and not account.acl_charity:
        raise _class_refused("charity messages need aclCharity", "acl_charity")


def _class_refused(message: str, acl: str) -> ChargeRefused:
    return ChargeRefused(message, code=ErrorCode.MESSAGE_CLASS_NOT_ALLOWED, acl=acl,
                         field="class")  # fmt: skip


def split(parts: int, own: Wallet, paying: Wallet) -> Split:
    """How to pay `parts` from the wallets as they are: free SMS first (the sender's, then
    the payer's), the rest in credits, or in money when the payer has a price per part.
    Whether the payer's floor allows the rest is the wallet rule's (`wallet_rules`)."""
    own_free = min(max(own.free_sms, 0), parts)
    pool_free = 0
    if paying.account_id != own.account_id:
        pool_free = min(max(paying.free_sms, 0), parts - own_free)
    rest = parts - own_free - pool_free
    if paying.price_per_part is not None:
        return Split(own_free, pool_free, 0, rest * paying.price_per_part)
    return Split(own_free, pool_free, rest, 0)


def refund_split(charge: Charge, parts: int) -> Split:
    """What `parts` of `charge` give back: paid parts first, then the payer's free SMS, then
    the sender's; never more of anything than the charge took."""
    paid = charge.parts - charge.own_free_sms - charge.free_sms
    back_paid = min(parts, paid)
    back_pool = min(parts - back_paid, charge.free_sms)
    back_own = parts - back_paid - back_pool
    price = charge.money // paid if paid and charge.money else 0
    credits = back_paid if charge.money == 0 else 0
    return Split(back_own, back_pool, credits, back_paid * price if charge.money else 0)
