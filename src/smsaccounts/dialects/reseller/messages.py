"""Every parameter and answer of the reseller API, declared once (OpenAPI is built from these).

Parameters arrive as text (query string, form or JSON body) and are all optional here:
the rules of `smsaccounts.domain.validation` decide what is required and valid, so that
a missing or broken value is answered with status 1 or 2 naming it, never a decode error.
`NEEDS` says, for the OpenAPI document and the docs, which of them the decoders require
(a test holds the two together). Field names are the wire names (camelCase); they are case
sensitive.
"""

from __future__ import annotations

import dataclasses

import msgspec


class _Params(msgspec.Struct, rename="camel", kw_only=True):
    """Base of the request parameter sets."""


class CustomerCreate(_Params):
    """POST /services/rest/customer/create: a customer of the authenticated reseller."""

    name: str | None = None
    reseller_name: str | None = None
    reseller_password: str | None = None
    integration_id: str | None = None
    rotation_algorithm: str | None = None
    billing_type: str | None = None
    mo_charge: str | None = None
    source_address: str | None = None


class UserCreate(_Params):
    """POST /services/rest/user/create: a user of one of the reseller's customers."""

    username: str | None = None
    password: str | None = None
    reseller_name: str | None = None
    reseller_password: str | None = None
    customer_id: str | None = None
    email: str | None = None
    phone_number: str | None = None
    virtual_number: str | None = None
    mo_push: str | None = None
    final_status_push: str | None = None
    swapping_source_address_allowed: str | None = None
    source_address: str | None = None
    acl_billing: str | None = None
    acl_billing_high: str | None = None
    acl_charity: str | None = None
    acl_incoming: str | None = None
    acl_smsinbox: str | None = None
    acl_hlr: str | None = None
    acl_admin: str | None = None
    funding: str | None = None  # OWN | PARENT (default PARENT: the customer's pool)


class CustomerUserCreate(_Params):
    """POST /services/rest/customer-user/create: a customer and its user, both or neither."""

    contact_name: str | None = None
    email: str | None = None
    username: str | None = None
    password: str | None = None
    customer: str | None = None
    reseller_name: str | None = None
    reseller_password: str | None = None
    phone_number: str | None = None
    apply_free_credits: str | None = None
    acl_billing: str | None = None
    acl_billing_high: str | None = None
    acl_charity: str | None = None
    acl_incoming: str | None = None
    acl_smsinbox: str | None = None
    acl_hlr: str | None = None
    acl_admin: str | None = None


class AddCredits(_Params):
    """POST /services/rest/admin/addCredits: move credits to (or, negative, from) a customer.

    `customer` is the customer's name and `creditsToAdd` the signed amount, as documented;
    `customerId` (the customer's object id) and `credits` are accepted in their place.
    """

    reseller: str | None = None
    password: str | None = None
    customer: str | None = None
    credits_to_add: str | None = None
    customer_id: str | None = None
    credits: str | None = None


class Balance(_Params):
    """GET or POST /services/rest/admin/balance: a customer's credits.

    `customer` is the customer's name (or `customerId` its object id); with `userId` (an
    object id) the answer is the credits of that user of the customer.
    """

    reseller: str | None = None
    password: str | None = None
    customer: str | None = None
    customer_id: str | None = None
    user_id: str | None = None


# -- Answers (HTTP 200 always; `status` says how it went) --------------------------------


class Created(msgspec.Struct):
    id: str
    status: int = 0


class CustomerUserCreated(msgspec.Struct, rename="camel"):
    id: str
    customer_id: str
    status: int = 0


class Credits(msgspec.Struct):
    credits: int
    status: int = 0


class Error(msgspec.Struct, omit_defaults=True):
    """Any non-zero status; `field` names the parameter for statuses 1 and 2."""

    status: int
    message: str
    field: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Needs:
    """What an endpoint requires: every name of `required`, and one name of each `one_of`."""

    required: tuple[str, ...]
    one_of: tuple[tuple[str, ...], ...] = ()


_CREATE_LOGIN = ("resellerName", "resellerPassword")
NEEDS: dict[type[_Params], Needs] = {
    CustomerCreate: Needs(("name", *_CREATE_LOGIN, "integrationId")),
    UserCreate: Needs(("username", "password", *_CREATE_LOGIN, "customerId", "email",
                       "phoneNumber")),
    CustomerUserCreate: Needs(("username", "password", "customer", *_CREATE_LOGIN,
                               "applyFreeCredits")),
    AddCredits: Needs(("reseller", "password"),
                      (("customer", "customerId"), ("creditsToAdd", "credits"))),
    Balance: Needs(("reseller", "password"), (("customer", "customerId"),)),
}  # fmt: skip


# Parameters that may arrive as a JSON object inside a JSON body, not only as text.
STRUCTURED = frozenset({"moPush", "finalStatusPush"})


def wire_names(params: type[msgspec.Struct]) -> frozenset[str]:
    """The parameter names an endpoint reads (camelCase, case sensitive)."""
    names = _WIRE_NAMES.get(params)
    if names is None:
        fields = msgspec.structs.fields(params)
        names = _WIRE_NAMES[params] = frozenset(field.encode_name for field in fields)
    return names


# Read once per Struct: msgspec.structs.fields resolves the annotations on every call, which
# cost a reseller call ~100 µs of its ~400 (`make bench --profile`).
_WIRE_NAMES: dict[type[msgspec.Struct], frozenset[str]] = {}
