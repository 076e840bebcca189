"""A reseller provisions customers and users, tops them up and reads their credits."""

from __future__ import annotations

import json
import re
from typing import Any

from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.domain.tree import Kind
from smsaccounts.services import wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.reseller.conftest import BASE, Api, by_object_id, credits_of
from tests.factories import PASSWORD

OBJECT_ID = re.compile(r"[0-9a-f]{24}")


def test_a_reseller_provisions_a_customer_and_a_user_then_tops_up_and_reads_credits(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    """The whole life of a client of the contract, every answer in the contract's shape."""
    created = api.as_reseller(pool_reseller, "customer/create", name="acme",
                              integrationId="int-1", billingType="PRE_PAID", moCharge="42",
                              sourceAddress="ACME§Shop")  # fmt: skip
    assert created == {"id": created["id"], "status": 0}
    assert OBJECT_ID.fullmatch(created["id"])
    customer = by_object_id(uow, created["id"])
    assert (customer.kind, customer.name, customer.parent_id) == (
        Kind.CUSTOMER, "acme", pool_reseller.id)  # fmt: skip
    assert (customer.integration_id, customer.mo_charge, customer.source_address) == (
        "int-1", 42, "ACME§Shop")  # fmt: skip
    assert customer.rotation_algorithm == "MAX_ROTATION"

    user = api.as_reseller(pool_reseller, "user/create", username="alice", password="pw-1",
                           customerId=created["id"], email="alice@example.com",
                           phoneNumber="+43 676 1234567", virtualNumber="999444111",
                           moPush='{"type": "URL", "data": {"url": "http://push.example.com"}}',
                           finalStatusPush='{"type": "SMPP"}',
                           swappingSourceAddressAllowed="TRUE",
                           sourceAddress="48123456789")  # fmt: skip
    assert user == {"id": user["id"], "status": 0}
    stored = by_object_id(uow, user["id"])
    assert (stored.kind, stored.name, stored.parent_id) == (Kind.USER, "alice", customer.id)
    assert uow.passwords.verify(stored.password_hash, "pw-1")
    assert json.loads(stored.mo_push) == {"type": "URL", "data": {"url": "http://push.example.com"}}
    assert json.loads(stored.final_status_push) == {"type": "SMPP"}
    assert stored.swapping_source_address_allowed is True
    assert (stored.email, stored.phone_number, stored.virtual_number, stored.source_address) == (
        "alice@example.com", "+43 676 1234567", "999444111", "48123456789")  # fmt: skip

    topped = api.as_admin(pool_reseller, "addCredits", customer="acme", creditsToAdd="300")
    assert topped == {"credits": 300, "status": 0}
    assert api.as_admin(pool_reseller, "balance", customer="acme") == {
        "credits": 300, "status": 0}  # fmt: skip
    assert credits_of(uow, pool_reseller) == 700

    back = api.as_admin(pool_reseller, "addCredits", customer="acme", creditsToAdd="-100")
    assert back == {"credits": 200, "status": 0}
    assert credits_of(uow, pool_reseller) == 800


def test_customer_create_defaults_rotation_billing_mo_charge_and_source_address(
    api: Api, uow: UnitOfWork
) -> None:
    """Without the optional parameters: MAX_ROTATION, POST_PAID, moCharge 0, no sourceAddress."""
    reseller = factories.reseller(uow, billing_type=BillingType.POST_PAID)
    created = api.as_reseller(reseller, "customer/create", name="plain", integrationId="x")
    customer = by_object_id(uow, created["id"])
    assert (customer.rotation_algorithm, customer.mo_charge, customer.source_address) == (
        "MAX_ROTATION", 0, "")  # fmt: skip
    with uow.read() as tx:
        assert tx.wallets.get(customer.id).billing_type is BillingType.POST_PAID  # type: ignore[union-attr]


def test_user_create_defaults_swapping_to_false_and_leaves_optional_fields_empty(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = factories.customer(uow, parent=pool_reseller, billing_type=BillingType.PRE_PAID)
    answer = api.as_reseller(pool_reseller, "user/create", username="bob", password="pw-1234",
                             customerId=customer.object_id, email="bob@example.com",
                             phoneNumber="999444111", virtualNumber="",
                             moPush="")  # fmt: skip
    user = by_object_id(uow, answer["id"])
    assert user.swapping_source_address_allowed is False
    assert (user.virtual_number, user.mo_push, user.final_status_push) == ("", "", "")


def test_customer_user_create_creates_both_with_conversation_and_free_credits(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    """rotationAlgorithm CONVERSATION, the reseller's default billing type, 50 free credits."""
    answer = api.as_reseller(pool_reseller, "customer-user/create", contactName="John Doe",
                             email="john@doe.com", username="1212412@testReseller",
                             password="pw-1234", customer="1212412@testReseller",
                             phoneNumber="999 444 111", applyFreeCredits="True")  # fmt: skip
    assert answer == {"id": answer["id"], "customerId": answer["customerId"], "status": 0}
    user, customer = by_object_id(uow, answer["id"]), by_object_id(uow, answer["customerId"])
    assert user.parent_id == customer.id
    assert customer.parent_id == pool_reseller.id
    assert customer.rotation_algorithm == "CONVERSATION"
    assert (user.contact_name, user.email, user.phone_number) == (
        "John Doe", "john@doe.com", "999 444 111")  # fmt: skip
    with uow.read() as tx:
        assert tx.wallets.get(customer.id).billing_type is BillingType.PRE_PAID  # type: ignore[union-attr]
        entries = tx.wallets.entries(customer.id)
    assert [(e.asset, e.amount, e.reason, e.actor_id) for e in entries] == [
        (Asset.CREDITS, 50, "free_credits", pool_reseller.id)]  # fmt: skip
    assert credits_of(uow, customer) == 50
    assert credits_of(uow, pool_reseller) == 1000  # a grant: the pool is not touched


def test_customer_user_create_without_free_credits_writes_no_ledger_entry(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    answer = api.as_reseller(pool_reseller, "customer-user/create", username="u1",
                             password="pw12", customer="c1", applyFreeCredits="false")  # fmt: skip
    customer = by_object_id(uow, answer["customerId"])
    with uow.read() as tx:
        assert tx.wallets.entries(customer.id) == []


def test_customer_user_create_follows_the_resellers_billing_without_a_configured_default(
    api: Api, uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow, billing_type=BillingType.POST_PAID)
    answer = api.as_reseller(reseller, "customer-user/create", username="u2", password="pw-1234",
                             customer="c2", applyFreeCredits="false")  # fmt: skip
    customer = by_object_id(uow, answer["customerId"])
    with uow.read() as tx:
        assert tx.wallets.get(customer.id).billing_type is BillingType.POST_PAID  # type: ignore[union-attr]


def test_add_credits_writes_a_ledger_entry_on_both_sides(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = factories.customer(uow, parent=pool_reseller, billing_type=BillingType.PRE_PAID)
    api.as_admin(pool_reseller, "addCredits", customerId=customer.object_id, credits="250")
    api.as_admin(pool_reseller, "addCredits", customerId=customer.object_id, credits="-50")
    with uow.read() as tx:
        giver = [(e.amount, e.resulting, e.reason) for e in tx.wallets.entries(pool_reseller.id)]
        taker = [(e.amount, e.resulting, e.reason) for e in tx.wallets.entries(customer.id)]
        for account in (pool_reseller, customer):
            assert tx.wallets.ledger_sum(account.id, Asset.CREDITS) == credits_of(uow, account)
    assert giver[:2] == [(50, 800, "reseller_credits"), (-250, 750, "reseller_credits")]
    assert taker == [(-50, 200, "reseller_credits"), (250, 250, "reseller_credits")]


def test_add_credits_of_zero_changes_nothing_and_answers_the_credits(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = factories.customer(uow, parent=pool_reseller, billing_type=BillingType.PRE_PAID)
    answer = api.as_admin(pool_reseller, "addCredits", customerId=customer.object_id, credits="0")
    assert answer == {"credits": 0, "status": 0}
    with uow.read() as tx:
        assert tx.wallets.entries(customer.id) == []


def test_balance_with_a_user_id_answers_that_users_credits(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = factories.customer(uow, parent=pool_reseller, billing_type=BillingType.PRE_PAID)
    user = factories.user(uow, parent=customer)
    wallet.credit(uow, account_id=user.id, asset=Asset.CREDITS, amount=7, reason="t")
    answer = api.as_admin(pool_reseller, "balance", customerId=customer.object_id,
                          userId=user.object_id.upper())  # fmt: skip
    assert answer == {"credits": 7, "status": 0}


def _post(client: Any, path: str, **kwargs: Any) -> dict[str, Any]:
    response = client.post(f"{BASE}/{path}", **kwargs)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_parameters_may_come_from_the_query_string_a_form_or_a_json_body(
    client: Any, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = factories.customer(uow, parent=pool_reseller, billing_type=BillingType.PRE_PAID)
    auth = {"reseller": pool_reseller.name, "password": PASSWORD}
    query = _post(client, "admin/balance", params={**auth, "customerId": customer.object_id})
    form = _post(client, "admin/balance", data={**auth, "customerId": customer.object_id})
    body = {**auth, "customerId": customer.object_id, "credits": 5}
    as_json = _post(client, "admin/addCredits", json=body)
    assert query == form == {"credits": 0, "status": 0}
    assert as_json == {"credits": 5, "status": 0}


def test_a_json_body_may_carry_flags_as_booleans_and_push_configs_as_objects(
    client: Any, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = factories.customer(uow, parent=pool_reseller, billing_type=BillingType.PRE_PAID)
    answer = _post(client, "user/create", json={
        "resellerName": pool_reseller.name, "resellerPassword": PASSWORD, "username": "jay",
        "password": "pw-1234", "customerId": customer.object_id, "email": "jay@example.com",
        "phoneNumber": "123", "swappingSourceAddressAllowed": True,
        "moPush": {"type": "EMAIL", "data": {"to": "ops@example.com", "subject": "MO"}},
        "unknownParameter": {"ignored": True}})  # fmt: skip
    user = by_object_id(uow, answer["id"])
    assert user.swapping_source_address_allowed is True
    assert json.loads(user.mo_push) == {
        "type": "EMAIL", "data": {"to": "ops@example.com", "subject": "MO"}}  # fmt: skip


def test_parameter_names_are_case_sensitive(api: Api, pool_reseller: Account) -> None:
    """`ResellerName` is not `resellerName`: the reseller's name is missing."""
    answer = api.post("customer/create", name="x", ResellerName=pool_reseller.name,
                      resellerPassword=PASSWORD, integrationId="i")  # fmt: skip
    assert answer == {"status": 1, "message": answer["message"], "field": "resellerName"}


def test_a_malformed_json_body_is_an_invalid_parameter_and_creates_nothing(client: Any) -> None:
    answer = _post(client, "customer/create", content=b"{not json",
                   headers={"content-type": "application/json"})  # fmt: skip
    assert (answer["status"], answer["field"]) == (2, "body")


def test_only_balance_answers_get_the_other_endpoints_only_post(client: Any) -> None:
    """admin/balance was documented as GET (later also POST); everything else is POST."""
    assert client.get(f"{BASE}/admin/balance").json()["status"] == 1
    for path in ("admin/addCredits", "customer/create", "user/create", "customer-user/create"):
        answer = client.get(f"{BASE}/{path}")
        assert (answer.status_code, answer.headers["allow"]) == (405, "POST"), path
