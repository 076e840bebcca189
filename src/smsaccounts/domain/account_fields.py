"""An account attribute given as text (`smsaccounts account set FIELD=VALUE`), read with the
same rules the APIs apply to it: msisdns by libphonenumber, e-mails by email-validator,
booleans strictly `true|false`, billing types and integers by the reseller API's rules.
"""

from __future__ import annotations

from typing import Any

from smsaccounts.domain import validation
from smsaccounts.domain.models import ACL_FIELDS, TEXT_FIELDS
from smsaccounts.domain.phone import PhoneError, parse_msisdn
from smsaccounts.errors import ErrorCode, ForbiddenField, InvalidField

BOOLEANS = frozenset(
    (*ACL_FIELDS, "enabled", "swapping_source_address_allowed", "a2a_send_enabled",
     "a2a_receive_enabled")
)  # fmt: skip
INTEGERS = frozenset(("mo_charge", "free_credits", "free_sms_grant", "sms_routing"))
EMAILS = frozenset(("email", "reg_email"))
# Attributes an account has that only their own commands change (a secret, the tree, a
# wallet): named in the refusal so the operator knows where to go instead.
ELSEWHERE = {
    "password": "smsaccounts password set",
    "password_hash": "smsaccounts password set",
    "mor_secret": "smsaccounts secret set",
    "credits": "smsaccounts credits add",
    "balance": "smsaccounts balance add",
    "free_sms": "the wallet services",
    "billing_type": "the wallet's terms",
    "parent_id": "nothing (the tree never changes)",
    "kind": "nothing (the tree never changes)",
    "path": "nothing (the tree never changes)",
    "id": "nothing",
    "object_id": "nothing",
}
SETTABLE = frozenset(
    (
        *TEXT_FIELDS,
        *BOOLEANS,
        *INTEGERS,
        "name",
        "msisdn",
        "funding",
        "low_balance_asset",
        "low_balance_threshold",
        "low_balance_contact",
    )
)


def parse(field: str, raw: str) -> dict[str, Any]:
    """The attribute values `FIELD=raw` sets (an msisdn sets its country too)."""
    if field in ELSEWHERE:
        raise ForbiddenField(f"{field} cannot be set here; use {ELSEWHERE[field]}", field=field)
    if field not in SETTABLE:
        raise InvalidField(f"unknown field {field!r}", field=field)
    if field in BOOLEANS:
        return {field: validation.flag(field, raw)}
    if field in INTEGERS:
        return {field: validation.integer(field, raw)}
    if field == "msisdn":
        return _msisdn(raw)
    if field in EMAILS:
        return {field: validation.email(field, raw) if raw else ""}
    if field == "default_customer_billing_type":
        return {field: validation.choice(field, raw, validation.BILLING_TYPES) if raw else ""}
    if field == "low_balance_threshold":
        return {field: None if raw == "" else validation.integer(field, raw, low=0,
                                                                  high=2**63 - 1)}  # fmt: skip
    if field in ("low_balance_asset", "low_balance_contact"):
        return {field: raw}
    if field == "funding":
        return {field: validation.choice(field, raw, ("own", "parent"))}
    if field == "name":
        return {field: validation.name(field, raw)}
    return {field: raw}


def _msisdn(raw: str) -> dict[str, Any]:
    if raw == "":
        return {"msisdn": None, "country": None}
    try:
        number = parse_msisdn(raw)
    except PhoneError as error:
        raise InvalidField(f"msisdn: {error}", field="msisdn") from None
    if not number.valid:
        raise InvalidField(
            "msisdn: not a valid number for its country",
            field="msisdn",
            code=ErrorCode.MSISDN_INVALID,
        )
    return {"msisdn": number.digits, "country": number.country}
