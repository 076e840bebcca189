"""Users created through the reseller API get the ACLs the call names (`aclHlr=true`, the
names LINK shows), and on both create calls a mobile phoneNumber is the login msisdn."""

from __future__ import annotations

from typing import Any

import pytest

from smsaccounts.domain.models import ACL_FIELDS, Account
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.reseller.conftest import Api, by_object_id, counts

ALL_ACLS = {"aclBilling": "true", "aclBillingHigh": "TRUE", "aclCharity": "true",
            "aclIncoming": "true", "aclSmsinbox": "true", "aclHlr": "true",
            "aclAdmin": "true"}  # fmt: skip


def _user_create(api: Api, reseller: Account, customer: Account, **extra: Any) -> dict[str, Any]:
    return api.as_reseller(
        reseller, "user/create", username="till", password="till-pw-1",
        customerId=customer.object_id, email="till@example.com", phoneNumber="+43 1 5880",
        **extra,
    )  # fmt: skip


def _customer_user_create(api: Api, reseller: Account, **extra: Any) -> dict[str, Any]:
    return api.as_reseller(
        reseller, "customer-user/create", customer="kiosk", username="kim",
        password="kim-pw-12", applyFreeCredits="false", **extra,
    )  # fmt: skip


def _acls(account: Account) -> set[str]:
    return {name for name in ACL_FIELDS if getattr(account, name)}


def test_user_create_grants_the_acls_it_names_and_no_other(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = factories.customer(uow, parent=pool_reseller)
    answer = _user_create(api, pool_reseller, customer, aclHlr="true", aclAdmin="True",
                          aclBilling="false")  # fmt: skip
    assert answer["status"] == 0, answer
    assert _acls(by_object_id(uow, answer["id"])) == {"acl_hlr", "acl_admin"}


def test_a_reseller_may_grant_every_acl_although_it_holds_none(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    """Unlike LINK's users, a reseller is not bounded by ACLs of its own (it has none)."""
    assert _acls(pool_reseller) == set()
    customer = factories.customer(uow, parent=pool_reseller)
    answer = _user_create(api, pool_reseller, customer, **ALL_ACLS)
    assert _acls(by_object_id(uow, answer["id"])) == set(ACL_FIELDS)
    both = _customer_user_create(api, pool_reseller, **ALL_ACLS)
    assert _acls(by_object_id(uow, both["id"])) == set(ACL_FIELDS)


def test_without_acl_flags_a_user_holds_no_acl(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = factories.customer(uow, parent=pool_reseller)
    assert _acls(by_object_id(uow, _user_create(api, pool_reseller, customer)["id"])) == set()
    assert _acls(by_object_id(uow, _customer_user_create(api, pool_reseller)["id"])) == set()


def test_customer_user_create_grants_the_acls_it_names(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    answer = _customer_user_create(api, pool_reseller, aclSmsinbox="true", aclIncoming="true")
    assert answer["status"] == 0, answer
    assert _acls(by_object_id(uow, answer["id"])) == {"acl_smsinbox", "acl_incoming"}


@pytest.mark.parametrize("path", ["user/create", "customer-user/create"])
def test_a_bad_acl_value_is_status_2_naming_it_and_creates_nothing(
    api: Api, uow: UnitOfWork, pool_reseller: Account, path: str
) -> None:
    customer = factories.customer(uow, parent=pool_reseller)
    before = counts(uow)
    if path == "user/create":
        answer = _user_create(api, pool_reseller, customer, aclHlr="true", aclCharity="yes")
    else:
        answer = _customer_user_create(api, pool_reseller, aclHlr="true", aclCharity="yes")
    assert (answer["status"], answer["field"]) == (2, "aclCharity")
    assert counts(uow) == before


def test_customer_user_create_makes_a_mobile_phone_number_the_login_msisdn(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    first = _customer_user_create(api, pool_reseller, phoneNumber="+43 676 1234567")
    user = by_object_id(uow, first["id"])
    assert (user.msisdn, user.country, user.phone_number) == ("436761234567", "AT",
                                                              "+43 676 1234567")  # fmt: skip
    taken = api.as_reseller(
        pool_reseller, "customer-user/create", customer="kiosk2", username="kim2",
        password="kim-pw-12", applyFreeCredits="false", phoneNumber="+436761234567",
    )  # fmt: skip
    assert by_object_id(uow, taken["id"]).msisdn is None  # taken: contact data only


@pytest.mark.parametrize("phone", ["123", "+43 1 5880"])
def test_customer_user_create_keeps_a_number_that_is_no_mobile_as_contact_data(
    api: Api, uow: UnitOfWork, pool_reseller: Account, phone: str
) -> None:
    user = by_object_id(uow, _customer_user_create(api, pool_reseller, phoneNumber=phone)["id"])
    assert (user.msisdn, user.phone_number) == (None, phone)
