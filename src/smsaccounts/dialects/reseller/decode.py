"""Request parameters -> typed commands, every field checked by its rule before anything runs.

Fields are checked in the order the seed tables list them; the first broken one is
reported. Which rule a field follows is wire knowledge and lives here; what each rule
means lives once in `smsaccounts.domain.validation`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from smsaccounts.dialects.reseller import messages as m
from smsaccounts.domain import validation as v
from smsaccounts.domain.models import ACL_FIELDS, BillingType
from smsaccounts.errors import InvalidField
from smsaccounts.services.provisioning import CustomerRef, NewCustomer, NewCustomerUser, NewUser

P = TypeVar("P", bound=msgspec.Struct)


# Account and wallet columns only the system or an operator sets (mass assignment).
PROTECTED = frozenset(
    {"balance", "credits", "freeSms", "parent", "parentId", "kind", "role", "id", "objectId",
     "path", "forbrug", "apikey", "apiKey", "messagesSent", "creditLimit"}
)  # fmt: skip

_CREATES = (m.CustomerCreate, m.UserCreate, m.CustomerUserCreate)


@dataclasses.dataclass(frozen=True, slots=True)
class Login:
    name: str
    password: str


def params(raw: Mapping[str, Any], kind: type[P]) -> P:
    """The endpoint's parameter Struct; JSON numbers and booleans are read as their text.

    Parameters the endpoint does not know are ignored, whatever their shape, except that a
    create refuses by name what no caller may set (credits, balance, parent, ...), so that
    a client never believes it set them.
    """
    known = m.wire_names(kind)
    for key in raw if kind in _CREATES else ():
        if key in PROTECTED and key not in known:
            raise InvalidField(f"{key}: cannot be set through this API", field=key)
    texts = {key: _as_text(key, value) for key, value in raw.items() if key in known}
    return msgspec.convert(texts, kind)


def _as_text(key: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict) and key in m.STRUCTURED:
        return msgspec.json.encode(value).decode()
    raise InvalidField(f"{key}: must be a string", field=key)


def _login(name: str | None, password: str | None, names: tuple[str, str]) -> Login:
    return Login(v.reseller_name(names[0], name), v.required(names[1], password))


def _opt(value: str | None, rule: Any, field: str, default: Any = "") -> Any:
    present = v.optional(value)
    return default if present is None else rule(field, present)


def customer_create(p: m.CustomerCreate) -> tuple[Login, NewCustomer]:
    name = v.name("name", p.name)
    login = _login(p.reseller_name, p.reseller_password, ("resellerName", "resellerPassword"))
    return login, NewCustomer(
        name=name,
        integration_id=v.text("integrationId", p.integration_id),
        rotation_algorithm=_opt(
            p.rotation_algorithm, _rotation, "rotationAlgorithm", "MAX_ROTATION"
        ),
        billing_type=_opt(p.billing_type, _billing, "billingType", None),
        mo_charge=_opt(p.mo_charge, v.integer, "moCharge", 0),
        source_address=_opt(p.source_address, v.source_address, "sourceAddress"),
    )


def user_create(p: m.UserCreate) -> tuple[Login, NewUser]:
    username = v.name("username", p.username)
    password = v.required("password", p.password)
    login = _login(p.reseller_name, p.reseller_password, ("resellerName", "resellerPassword"))
    return login, NewUser(
        username=username,
        password=password,
        customer_id=v.object_id("customerId", p.customer_id),
        email=v.email("email", p.email),
        phone_number=v.phone("phoneNumber", p.phone_number),
        virtual_number=_opt(p.virtual_number, v.phone, "virtualNumber"),
        mo_push=_opt(p.mo_push, v.push, "moPush"),
        final_status_push=_opt(p.final_status_push, v.push, "finalStatusPush"),
        swapping_source_address_allowed=_opt(
            p.swapping_source_address_allowed, v.flag, "swappingSourceAddressAllowed", False
        ),
        source_address=_opt(p.source_address, v.source_address, "sourceAddress"),
        acls=_acls(p),
        funding=_opt(p.funding, _funding, "funding", None),
    )


def _funding(field: str, value: str) -> str:
    """`OWN` or `PARENT`, any case, as the service's `own` or `parent`."""
    return v.choice(field, value.lower(), ("own", "parent"))


def customer_user_create(p: m.CustomerUserCreate) -> tuple[Login, NewCustomerUser]:
    contact_name = _opt(p.contact_name, v.text, "contactName")
    email = _opt(p.email, v.email, "email")
    username = v.name("username", p.username)
    password = v.required("password", p.password)
    customer = v.name("customer", p.customer)
    login = _login(p.reseller_name, p.reseller_password, ("resellerName", "resellerPassword"))
    return login, NewCustomerUser(
        contact_name=contact_name,
        email=email,
        username=username,
        password=password,
        customer_name=customer,
        phone_number=_opt(p.phone_number, v.phone, "phoneNumber"),
        apply_free_credits=v.flag("applyFreeCredits", p.apply_free_credits),
        acls=_acls(p),
    )


def _acls(p: m.UserCreate | m.CustomerUserCreate) -> frozenset[str]:
    """The ACLs switched on (`aclHlr=true` -> `acl_hlr`): each an optional flag, default false."""
    wire = {field.name: field.encode_name for field in msgspec.structs.fields(p)}
    return frozenset(acl for acl in ACL_FIELDS if _opt(getattr(p, acl), v.flag, wire[acl], False))


def add_credits(p: m.AddCredits) -> tuple[Login, tuple[CustomerRef, int]]:
    login = _login(p.reseller, p.password, ("reseller", "password"))
    customer = _customer(p.customer, p.customer_id)
    field, amount = _either(("creditsToAdd", p.credits_to_add), ("credits", p.credits))
    return login, (customer, v.credits(field, amount))


def balance(p: m.Balance) -> tuple[Login, tuple[CustomerRef, str | None]]:
    login = _login(p.reseller, p.password, ("reseller", "password"))
    customer = _customer(p.customer, p.customer_id)
    return login, (customer, _opt(p.user_id, v.object_id, "userId", None))


def _customer(name: str | None, object_id: str | None) -> CustomerRef:
    """The documented `customer` (a name), or its alias `customerId` (an object id)."""
    field, value = _either(("customer", name), ("customerId", object_id))
    if field == "customer":
        return CustomerRef(name=v.name(field, value))
    return CustomerRef(object_id=v.object_id(field, value))


def _either(
    documented: tuple[str, str | None], alias: tuple[str, str | None]
) -> tuple[str, str | None]:
    """The parameter to read: the documented one, or its alias when only the alias is given.

    Neither given leaves the documented one (reported missing by its rule); both given is
    refused, since the two could name different things.
    """
    if v.optional(alias[1]) is None:
        return documented
    if v.optional(documented[1]) is not None:
        raise InvalidField(
            f"{alias[0]}: give {documented[0]} or {alias[0]}, not both", field=alias[0]
        )
    return alias


def _rotation(field: str, value: str) -> str:
    return v.choice(field, value, v.ROTATION_ALGORITHMS)


def _billing(field: str, value: str) -> BillingType:
    return BillingType(v.choice(field, value, v.BILLING_TYPES))
