"""Bounds at the wire: ids, counts and amounts beyond what a column holds answer in the
dialect's own shape (not found, or its invalid-value error) and change nothing.

Before, on PostgreSQL any id >= 2^31 in LINK or MOR was a 500 (accounts.id was int4); on
SQLite a LINK paging cursor holding an id >= 2^63 was one (the driver cannot bind it); a
huge LINK max_forbrug overflowed BIGINT; and a wallet pushed past 2^63 answered MOR's
"Internal error" instead of "User balance not updated".
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.domain import money
from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.domain.wallet_rules import VALUE_MAX, VALUE_MIN
from smsaccounts.errors import ErrorCode, InsufficientFunds, InvalidField
from smsaccounts.services import auth, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.factories import PASSWORD

from .conftest import mor_hash, snapshot

HUGE_IDS = [2**31, 2**63, 10**30]
ID_NAMES = ["2^31", "2^63", "10^30"]
MOR_SECRET = "bounds-secret"


@pytest.fixture
def admin_secret(uow: UnitOfWork) -> str:
    auth.set_mor_secret(uow, account_id=ADMIN_ID, secret=MOR_SECRET)
    return MOR_SECRET


def mor(http: TestClient, function: str, **hashed: str) -> str | None:
    """Call a MOR function as the admin; the text of its `<error>`, or None."""
    params = {"u": "admin", **hashed, "hash": mor_hash(*hashed.values(), MOR_SECRET)}
    answer = http.post(f"/billing/api/{function}", data=params)
    assert answer.status_code == 200
    # Every error is a child of the document's root, as the Kolmisoft wiki shows.
    return etree.fromstring(answer.content).findtext("error")


def cursor(page: int, after_id: int) -> str:
    return base64.urlsafe_b64encode(f"{page}:{after_id}".encode()).decode().rstrip("=")


# -- ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("huge", HUGE_IDS, ids=ID_NAMES)
def test_a_link_id_beyond_the_column_is_not_found_for_every_method(
    http: TestClient, uow: UnitOfWork, huge: int
) -> None:
    root = factories.user(uow, acl_admin=True)
    key = factories.user_key(uow, root)
    before = snapshot(uow)
    for method in ("GET", "PUT", "DELETE"):
        body = {"user": {"company": "x"}} if method == "PUT" else None
        answer = http.request(method, f"/v2/user/{huge}.json?apikey={key}", json=body)
        assert (answer.status_code, answer.json()) == (404, {"status": 404, "message": "Not found"})
    assert snapshot(uow) == before


def test_a_link_id_in_other_digits_is_not_found(http: TestClient, uow: UnitOfWork) -> None:
    """`str.isdigit` takes U+0663 (Arabic-Indic three): an id is ASCII digits only."""
    root = factories.user(uow, acl_admin=True)
    key = factories.user_key(uow, root)
    answer = http.get(f"/v2/user/{chr(0x0660 + root.id)}.json?apikey={key}")
    assert answer.status_code == 404


@pytest.mark.parametrize("huge", HUGE_IDS, ids=ID_NAMES)
def test_a_link_paging_cursor_holding_an_id_beyond_the_column_is_a_400_naming_after(
    http: TestClient, uow: UnitOfWork, huge: int
) -> None:
    root = factories.user(uow)
    key = factories.user_key(uow, root)
    answer = http.get("/v2/users.json", params={"apikey": key, "after": cursor(2, huge)})
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("after")


@pytest.mark.parametrize("huge", HUGE_IDS, ids=ID_NAMES)
def test_a_mor_user_id_beyond_the_column_is_user_was_not_found(
    http: TestClient, uow: UnitOfWork, admin_secret: str, huge: int
) -> None:
    del admin_secret  # requested for its effect: the admin's secret is stored
    before = snapshot(uow)
    assert mor(http, "user_details_get", user_id=str(huge)) == "User was not found"
    assert mor(http, "user_balance_update", user_id=str(huge), balance="5") == (
        "User was not found"
    )
    assert snapshot(uow) == before


# -- counts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [10**30, str(10**30), 2**63, str(2**63)], ids=["int-10^30", "str-10^30",
                                                           "int-2^63", "str-2^63"]
)  # fmt: skip
def test_a_link_max_forbrug_beyond_the_column_is_a_400_naming_it_and_changes_nothing(
    http: TestClient, uow: UnitOfWork, value: Any
) -> None:
    root = factories.user(uow, acl_admin=True)
    key = factories.user_key(uow, root)
    sub = factories.user(uow, parent=root)
    before = snapshot(uow)
    created = http.post(f"/v2/user.json?apikey={key}",
                        json={"user": {"username": "big", "max_forbrug": value}})  # fmt: skip
    edited = http.put(f"/v2/user/{sub.id}.json?apikey={key}", json={"user": {"max_forbrug": value}})
    for answer in (created, edited):
        assert answer.status_code == 400
        assert answer.json()["message"].startswith("max_forbrug")
    as_xml = http.put(f"/v2/user/{sub.id}.xml?apikey={key}",
                      content=f"<user><max_forbrug>{value}</max_forbrug></user>")  # fmt: skip
    assert etree.fromstring(as_xml.content).findtext("status") == "400"
    assert snapshot(uow) == before


def test_the_largest_max_forbrug_the_column_holds_is_kept(
    http: TestClient, uow: UnitOfWork
) -> None:
    root = factories.user(uow, acl_admin=True)
    key = factories.user_key(uow, root)
    sub = factories.user(uow, parent=root)
    answer = http.put(f"/v2/user/{sub.id}.json?apikey={key}",
                      json={"user": {"max_forbrug": VALUE_MAX}})  # fmt: skip
    assert answer.status_code == 200
    assert answer.json()["user"]["max_forbrug"] == str(VALUE_MAX)


def test_mysms_counts_beyond_their_column_are_2(http: TestClient, uow: UnitOfWork) -> None:
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer)
    user = factories.user(uow, parent=customer, msisdn="436761234567")
    with uow.write() as tx:
        token = auth.issue_token(tx, user)
    before = snapshot(uow)
    auth_fields = {"apiKey": key, "authToken": token}
    settings = {"smsRouting": 10**30, "signature": "s", "a2aSendEnabled": True,
                "a2aReceiveEnabled": True}  # fmt: skip
    for path, fields in (
        ("setting/set", settings),
        ("smsrouting/set", {"recipient": "4915112345678", "smsRouting": 2**63}),
    ):
        answer = http.post(f"/json/user/{path}", json={**auth_fields, **fields})
        assert answer.json() == {"errorCode": 2}
    assert snapshot(uow) == before


@pytest.mark.parametrize(
    "value", [str(10**30), str(2**63), "\u0665", "1_000"],
    ids=["10^30", "2^63", "arabic-indic", "underscore"],
)  # fmt: skip
def test_reseller_credits_beyond_what_a_transfer_takes_or_not_ascii_are_status_2(
    http: TestClient, uow: UnitOfWork, value: str
) -> None:
    """(The reseller API checked these before this change; kept here with the others.)"""
    reseller = factories.reseller(uow, credits=10, billing_type=BillingType.PRE_PAID)
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    before = snapshot(uow)
    params = {"reseller": reseller.name, "password": PASSWORD,
              "customerId": customer.object_id, "credits": value}  # fmt: skip
    answer = http.post("/services/rest/admin/addCredits", data=params).json()
    assert (answer["status"], answer["field"]) == (2, "credits")
    assert snapshot(uow) == before


# -- a wallet at its limit ---------------------------------------------------------------


def _fill(uow: UnitOfWork, account: Account, asset: Asset, units: int) -> None:
    wallet.change(uow, account_id=account.id, asset=asset, amount=units, reason="test")


def test_mor_refuses_one_more_unit_on_a_full_balance_with_user_balance_not_updated(
    http: TestClient, uow: UnitOfWork, admin_secret: str
) -> None:
    del admin_secret
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    _fill(uow, user, Asset.BALANCE, VALUE_MAX)
    before = snapshot(uow)
    one_unit = "0.0000001"
    assert money.to_units(money.parse_amount(one_unit)) == 1
    assert mor(http, "user_balance_update", user_id=str(user.id), balance=one_unit) == (
        "User balance not updated"
    )
    assert snapshot(uow) == before
    assert mor(http, "user_balance_update", user_id=str(user.id), balance="-1") is None


def test_mor_refuses_one_more_unit_below_the_lowest_balance_a_wallet_holds(
    http: TestClient, uow: UnitOfWork, admin_secret: str
) -> None:
    """A post-paid wallet without a credit limit has no floor but the column's."""
    del admin_secret
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    _fill(uow, user, Asset.BALANCE, -VALUE_MAX)
    _fill(uow, user, Asset.BALANCE, -1)  # VALUE_MIN itself is held
    assert wallet.get(uow, account_id=user.id).balance == VALUE_MIN
    before = snapshot(uow)
    assert mor(http, "user_balance_update", user_id=str(user.id), balance="-0.0000001") == (
        "User balance not updated"
    )
    assert snapshot(uow) == before


def test_the_reseller_api_refuses_credits_a_full_customer_cannot_hold_with_status_2(
    http: TestClient, uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow, credits=10, billing_type=BillingType.PRE_PAID)
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    _fill(uow, customer, Asset.CREDITS, VALUE_MAX)
    before = snapshot(uow)
    answer = http.post("/services/rest/admin/addCredits", data={
        "reseller": reseller.name, "password": PASSWORD, "customerId": customer.object_id,
        "credits": "1"}).json()  # fmt: skip
    assert (answer["status"], answer["field"]) == (2, "credits")
    assert snapshot(uow) == before  # the reseller's side of the transfer is undone too


def test_a_change_beyond_the_column_is_refused_before_sql_as_out_of_range(
    uow: UnitOfWork,
) -> None:
    """The same refusal from the service whatever the door: the amount itself too large, or
    the value it would reach; a wallet at either end takes changes back into range."""
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    for amount in (2**63, -(2**63), 10**30):
        with pytest.raises(InvalidField) as error:
            wallet.change(uow, account_id=user.id, asset=Asset.CREDITS, amount=amount,
                          reason="t")  # fmt: skip
        assert (error.value.code, error.value.field) == (ErrorCode.VALUE_OUT_OF_RANGE, "credits")
    _fill(uow, user, Asset.CREDITS, VALUE_MAX)
    with pytest.raises(InvalidField) as error:
        _fill(uow, user, Asset.CREDITS, 1)
    assert error.value.code is ErrorCode.VALUE_OUT_OF_RANGE
    _fill(uow, user, Asset.CREDITS, -VALUE_MAX)
    with uow.read() as tx:
        assert tx.wallets.get(user.id).credits == 0  # type: ignore[union-attr]
        assert tx.wallets.ledger_sum(user.id, Asset.CREDITS) == 0


def test_a_pre_paid_debit_at_the_lowest_amount_is_insufficient_funds_not_out_of_range(
    uow: UnitOfWork,
) -> None:
    """The floor and the range are told apart: -VALUE_MAX from an empty pre-paid wallet."""
    user = factories.user(uow, billing_type=BillingType.PRE_PAID)
    with pytest.raises(InsufficientFunds):
        _fill(uow, user, Asset.BALANCE, -VALUE_MAX)
    assert money.from_units(wallet.get(uow, account_id=user.id).balance) == Decimal(0)
