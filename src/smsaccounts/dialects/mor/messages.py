"""The MOR API's messages, declared once: each function's parameters and documents, in
the order the seed and the wiki show their elements (msgspec keeps field order; the XML
follows it).

Every parameter is an optional string: MOR clients send form values, a missing one is
not the same as an empty one (a present value takes part in the hash even when empty).
"""

from __future__ import annotations

import msgspec


class Authenticated(msgspec.Struct, kw_only=True):
    """Who calls: `u` the caller's name, `p` its password (optional), `hash` the SHA1."""

    u: str | None = None
    p: str | None = None
    hash: str | None = None


class UserDetailsGet(Authenticated, kw_only=True):
    """`/billing/api/user_details_get`: hash over `user_id`, `username` (either or both)."""

    user_id: str | None = None
    username: str | None = None


class UserBalanceUpdate(Authenticated, kw_only=True):
    """`/billing/api/user_balance_update`: hash over `user_id`, `balance` (signed decimal)."""

    user_id: str | None = None
    balance: str | None = None


class MainDetail(msgspec.Struct, kw_only=True):
    account: str  # Postpaid | Prepaid
    balance: str  # "<amount> <currency>"
    balance_number: str
    balance_currency: str
    credit: str  # the credit limit, or Unlimited


class OtherDetails(msgspec.Struct, kw_only=True):
    username: str
    first_name: str
    surname: str
    personalid: str
    agreement_number: str
    agreement_date: str
    taxation_country: str
    vat_reg_number: str
    vat_percent: str


class Registration(msgspec.Struct, kw_only=True):
    reg_address: str
    reg_postcode: str
    reg_city: str
    reg_country: str
    reg_state: str
    reg_direction: str
    reg_phone: str
    reg_mobile: str
    reg_fax: str
    reg_email: str


class Details(msgspec.Struct, kw_only=True):
    main_detail: MainDetail
    other_details: OtherDetails
    registration: Registration


class Page(msgspec.Struct, kw_only=True):
    """The `<page>` user_details_get answers."""

    pagename: str
    language: str
    userid: str
    details: Details


class UpdatedUser(msgspec.Struct, kw_only=True):
    username: str
    id: str
    balance: str  # the new money balance, as user_details_get shows balances


class BalanceUpdate(msgspec.Struct, kw_only=True):
    status: str  # "User balance updated"
    user: UpdatedUser


class BalanceUpdated(msgspec.Struct, kw_only=True):
    """What user_balance_update answers: `<page><page><status>...</status><user>...`."""

    page: BalanceUpdate


class ErrorDocument(msgspec.Struct, kw_only=True):
    """Every failure: `<page><error>text</error></page>` (some inside `<status>`)."""

    error: str
