"""What the charging API takes and answers, as msgspec Structs (reference: docs/charging.md)."""

from __future__ import annotations

import msgspec

MEDIA_TYPE = b"application/json"


class ChargeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Charge one message: the sender (exactly one of apikey, username, account_id), its
    recipients, and its text (parts counted here) or its parts per recipient."""

    reference: str | None = None
    apikey: str | None = None
    username: str | None = None
    account_id: int | None = None
    recipients: list[str] | None = None
    text: str | None = None
    parts: int | None = None
    message_class: str = msgspec.field(default="standard", name="class")
    price: str | None = None  # a premium message's price, a decimal


class RefundRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Give back parts of a charge that were not delivered (at most what it took, once)."""

    reference: str | None = None
    parts: int | None = None


class Paid(msgspec.Struct, kw_only=True):
    """What paid for the parts: free SMS (the sender's own, then the pool's), credits, money."""

    own_free_sms: int
    free_sms: int
    credits: int
    money: str  # a decimal with 7 places


class Remaining(msgspec.Struct, kw_only=True):
    """What the sender can spend now (`domain.funding.Spendable`)."""

    free_sms: int
    credits: int
    balance: str  # a decimal with 7 places


class ChargeResponse(msgspec.Struct, kw_only=True):
    reference: str
    account_id: int
    payer_id: int
    recipients: int
    charged_parts: int
    paid: Paid
    remaining: Remaining
    replayed: bool
    refunded_parts: int | None


class ErrorResponse(msgspec.Struct, kw_only=True):
    """`error` is a stable code (the table in docs/charging.md); `field` names the field at
    fault, when one is."""

    error: str
    message: str
    field: str | None = None
