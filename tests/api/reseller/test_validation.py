"""Every parameter of every method, broken each way its rule forbids: status 1 or 2 naming
that parameter, and nothing created (no account, no ledger row)."""

from __future__ import annotations

from typing import Any

import pytest

from smsaccounts.dialects.reseller import ENDPOINTS
from smsaccounts.dialects.reseller.messages import NEEDS, Needs, wire_names
from smsaccounts.domain.models import Account, BillingType
from smsaccounts.domain.throttle import State
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.reseller.conftest import Api, counts
from tests.factories import PASSWORD

MISSING = object()  # the parameter is left out
PUSH_URL = '{"type": "URL", "data": {"url": "https://push.example.com/mo"}}'


def _valid(path: str, reseller: Account, customer: Account) -> dict[str, str]:
    login = {"resellerName": reseller.name, "resellerPassword": PASSWORD}
    admin = {"reseller": reseller.name, "password": PASSWORD, "customer": customer.name}
    aliases = {"reseller": reseller.name, "password": PASSWORD, "customerId": customer.object_id}
    return {
        "customer/create": {**login, "name": "new-customer", "integrationId": "int",
                            "rotationAlgorithm": "CONVERSATION", "billingType": "PRE_PAID",
                            "moCharge": "3", "sourceAddress": "Shop"},
        "user/create": {**login, "username": "new-user", "password": "pw-1234",
                        "customerId": customer.object_id, "email": "u@example.com",
                        "phoneNumber": "+43 1", "virtualNumber": "12", "moPush": PUSH_URL,
                        "finalStatusPush": '{"type": "SMPP"}',
                        "swappingSourceAddressAllowed": "false", "sourceAddress": "123",
                        "aclHlr": "true"},
        "customer-user/create": {**login, "contactName": "J D", "email": "j@example.com",
                                 "username": "cu-user", "password": "pw-1234",
                                 "customer": "cu-customer", "phoneNumber": "1 2",
                                 "applyFreeCredits": "true", "aclAdmin": "false"},
        "admin/addCredits": {**admin, "creditsToAdd": "10"},
        "admin/balance": admin,
        "admin/addCredits#aliases": {**aliases, "credits": "10"},
        "admin/balance#aliases": aliases,
    }[path]  # fmt: skip


NAME = [(MISSING, 1), ("", 1), ("two words", 2), ("tab\there", 2), ("x" * 256, 2)]
RESELLER = [(MISSING, 1), ("", 1), ("re seller", 2), ("at@reseller", 2)]
PASS = [(MISSING, 1), ("", 1)]
OBJECT_ID = [(MISSING, 1), ("5a4e96a030046095c7ef280", 2), ("5a4e96a030046095c7ef280fa", 2),
             ("5a4e96a030046095c7ef280g", 2), ("not-an-id", 2)]  # fmt: skip
EMAIL = [("not-an-email", 2), ("a@b", 2), ("two words@example.com", 2)]
PHONE = [("999-444-111", 2), ("+43 (1) 234", 2), ("phone", 2), ("1" * 65, 2)]
FLAG = [("yes", 2), ("1", 2), ("truee", 2)]
SOURCE = [("12", 2), ("1" * 17, 2), ("a", 2), ("abcdefghijkl", 2), ("Shop€", 2),
          ("Shop^", 2), ("Shop[1]", 2), ("Shop\n", 2)]  # fmt: skip
PUSH = [("not json", 2), ("[]", 2), ('"URL"', 2), ('{"type": "FAX"}', 2), ('{"data": {}}', 2),
        ('{"type": "url", "data": {"url": "http://x.example"}}', 2),
        ('{"type": "URL"}', 2), ('{"type": "URL", "data": {}}', 2),
        ('{"type": "URL", "data": {"url": "ftp://x.example"}}', 2),
        ('{"type": "URL", "data": {"url": "push.example.com"}}', 2),
        ('{"type": "URL", "data": {"url": 5}}', 2),
        ('{"type": "EMAIL", "data": {"to": "nobody"}}', 2),
        ('{"type": "EMAIL", "data": {"subject": "s"}}', 2),
        ('{"type": "EMAIL", "data": {"to": "a@example.com", "body": 5}}', 2),
        ('{"type": "SMPP", "data": {"host": "x"}}', 2),
        ('{"type": "SMPP", "extra": 1}', 2)]  # fmt: skip
ACLS = {name: FLAG for name in ("aclBilling", "aclBillingHigh", "aclCharity", "aclIncoming",
                                "aclSmsinbox", "aclHlr", "aclAdmin")}  # fmt: skip
CREDITS = [(MISSING, 1), ("", 1), ("1.5", 2), ("ten", 2), ("1e3", 2), (str(10**16), 2)]

RULES: dict[str, dict[str, list[tuple[Any, int]]]] = {
    "customer/create": {
        "name": NAME,
        "resellerName": RESELLER,
        "resellerPassword": PASS,
        "integrationId": [(MISSING, 1), ("", 1), ("i" * 256, 2)],
        "rotationAlgorithm": [("ROUND_ROBIN", 2), ("conversation", 2)],
        "billingType": [("PREPAID", 2), ("pre_paid", 2)],
        "moCharge": [("4.2", 2), ("abc", 2), ("2147483648", 2), (" 4", 2)],
        "sourceAddress": SOURCE,
    },
    "user/create": {
        "username": NAME,
        "password": PASS,
        "resellerName": RESELLER,
        "resellerPassword": PASS,
        "customerId": OBJECT_ID,
        "email": [(MISSING, 1), ("", 1), *EMAIL],
        "phoneNumber": [(MISSING, 1), ("", 1), *PHONE],
        "virtualNumber": PHONE,
        "moPush": PUSH,
        "finalStatusPush": PUSH,
        "swappingSourceAddressAllowed": FLAG,
        "sourceAddress": SOURCE,
        **ACLS,
    },
    "customer-user/create": {
        "contactName": [("c" * 256, 2)],
        "email": EMAIL,
        "username": NAME,
        "password": PASS,
        "customer": NAME,
        "resellerName": RESELLER,
        "resellerPassword": PASS,
        "phoneNumber": PHONE,
        "applyFreeCredits": [(MISSING, 1), ("", 1), *FLAG],
        **ACLS,
    },
    "admin/addCredits": {
        "reseller": RESELLER,
        "password": PASS,
        "customer": NAME,
        "creditsToAdd": CREDITS,
    },
    "admin/balance": {
        "reseller": RESELLER,
        "password": PASS,
        "customer": NAME,
        "userId": OBJECT_ID[1:],
    },
    # The accepted aliases: customerId (an object id) for customer, credits for creditsToAdd.
    "admin/addCredits#aliases": {"customerId": OBJECT_ID[1:], "credits": CREDITS[2:]},
    "admin/balance#aliases": {"customerId": OBJECT_ID[1:]},
}

CASES = [
    pytest.param(path, field, value, status, id=f"{path}:{field}:{value!r:.20}")
    for path, fields in RULES.items()
    for field, broken in fields.items()
    for value, status in broken
]


@pytest.fixture
def setup(uow: UnitOfWork) -> tuple[Account, Account]:
    reseller = factories.reseller(uow, credits=100, default_customer_billing_type="PRE_PAID")
    return reseller, factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)


def test_every_valid_base_call_succeeds(api: Api, setup: tuple[Account, Account]) -> None:
    """The base parameters the broken cases start from are valid: each breakage is the cause."""
    for path in RULES:
        assert api.post(_endpoint(path), **_valid(path, *setup))["status"] == 0, path


def _endpoint(path: str) -> str:
    return path.partition("#")[0]


@pytest.mark.parametrize(("path", "field", "value", "status"), CASES)
def test_a_broken_parameter_is_named_and_nothing_is_created(
    api: Api,
    uow: UnitOfWork,
    setup: tuple[Account, Account],
    path: str,
    field: str,
    value: Any,
    status: int,
) -> None:
    params = _valid(path, *setup)
    if value is MISSING:
        del params[field]
    else:
        params[field] = value
    before = counts(uow)
    answer = api.post(_endpoint(path), **params)
    assert answer == {"status": status, "message": answer["message"], "field": field}
    assert answer["message"]
    assert counts(uow) == before


def test_parameters_are_checked_before_the_password_so_no_failure_is_counted(
    api: Api, uow: UnitOfWork, setup: tuple[Account, Account]
) -> None:
    reseller, _ = setup
    params = {**_valid("admin/addCredits", *setup), "password": "wrong", "creditsToAdd": "x"}
    assert api.post("admin/addCredits", **params)["field"] == "creditsToAdd"
    with uow.read() as tx:
        assert tx.throttles.get(auth.login_key(reseller)) == State()


@pytest.mark.parametrize(
    ("path", "alias", "documented"),
    [("admin/addCredits", "customerId", "customer"),
     ("admin/addCredits", "credits", "creditsToAdd"),
     ("admin/balance", "customerId", "customer")],
)  # fmt: skip
def test_a_documented_parameter_and_its_alias_together_are_refused_naming_the_alias(
    api: Api,
    uow: UnitOfWork,
    setup: tuple[Account, Account],
    path: str,
    alias: str,
    documented: str,
) -> None:
    """Both could name different things (another customer, another amount): status 2."""
    params = {**_valid(path, *setup), alias: _valid(f"{path}#aliases", *setup)[alias]}
    before = counts(uow)
    answer = api.post(path, **params)
    assert (answer["status"], answer["field"]) == (2, alias)
    assert documented in answer["message"]
    assert counts(uow) == before


def _needs(path: str) -> Needs:
    return NEEDS[ENDPOINTS[path][0]]


NEEDS_CASES = [
    pytest.param(path, name, id=f"{path}:{name}")
    for path, (kind, _decoder, _use) in ENDPOINTS.items()
    for name in sorted(wire_names(kind))
]


@pytest.mark.parametrize(("path", "name"), NEEDS_CASES)
def test_what_needs_declares_required_is_what_the_endpoint_requires(
    api: Api, setup: tuple[Account, Account], path: str, name: str
) -> None:
    """`messages.NEEDS` (which feeds the OpenAPI document and docs/) matches the decoders:
    leaving out a required parameter, or every name of a one-of group, is status 1 naming
    it; leaving out anything else is never status 1 (a default applies)."""
    needs = _needs(path)
    params = _valid(path, *setup)
    group = next((g for g in needs.one_of if name in g), None)
    for left_out in group or (name,):
        params.pop(left_out, None)
    answer = api.post(path, **params)
    if name in needs.required or group is not None:
        expected = name if group is None else group[0]
        assert (answer["status"], answer.get("field")) == (1, expected)
    else:
        assert answer["status"] != 1, answer
