"""Every console form refuses bad input with the services' own message and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import accounts, apikeys, auth, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.console.conftest import Browser

PASSWORD_RULE = "password: password must be 4-128 characters."
NOT_ENOUGH = "There are not enough credits for this transfer (status 320)."


def error_of(page: Any) -> str | None:
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', page.text, re.S)
    return found.group(1) if found else None


def refused(page: Any, message: str) -> None:
    assert page.status_code == 400, page.text[-500:]
    assert error_of(page) == message


def signed_in(browser: Callable[..., Browser], account: Account, password: str) -> Browser:
    b = browser()
    b.sign_in(account.name, password)
    b.get(f"/console/accounts/{account.id}")
    return b


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "password": "pw-12345"}, "name: name is required."),
        ({"name": "r1", "password": "a"}, PASSWORD_RULE),
        ({"name": "r1", "password": "pw-12345", "billing_type": "WEIRD"},
         "billing type: must be PRE_PAID or POST_PAID."),
        ({"name": "taken", "password": "pw-12345"}, "Reseller name already taken."),
    ],
)  # fmt: skip
def test_the_reseller_form_refuses_bad_input(
    admin: Browser, uow: UnitOfWork, data: dict[str, str], message: str
) -> None:
    factories.reseller(uow, name="taken")
    admin.get(f"/console/accounts/{ADMIN_ID}")
    before = accounts.list_subtree(uow, actor=accounts.get(uow, actor=_admin(uow), account_id=1))
    refused(admin.post(f"/console/accounts/{ADMIN_ID}/create", data), message)
    assert len(accounts.list_subtree(uow, actor=_admin(uow))) == len(before)


def _admin(uow: UnitOfWork) -> Account:
    with uow.read() as tx:
        found = tx.accounts.get(ADMIN_ID)
    assert found is not None
    return found


def test_the_customer_form_refuses_what_the_reseller_api_refuses(
    browser: Callable[..., Browser], uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow)
    b = signed_in(browser, reseller, factories.PASSWORD)
    refused(b.post(f"/console/accounts/{reseller.id}/create", {"name": ""}),
            "name: name is required.")  # fmt: skip
    refused(
        b.post(f"/console/accounts/{reseller.id}/create",
               {"name": "pp", "billing_type": "POST_PAID"}),
        "A pre-paid reseller cannot have post-paid customers (status 321).",
    )  # fmt: skip
    page = b.post(f"/console/accounts/{reseller.id}/create", {"name": "ok", "integration_id": "i"})
    assert page.status_code == 200
    refused(b.post(f"/console/accounts/{reseller.id}/create", {"name": "ok"}),
            "Customer name already taken.")  # fmt: skip


def test_the_user_form_refuses_a_weak_password_and_a_taken_name(
    browser: Callable[..., Browser], uow: UnitOfWork
) -> None:
    customer = factories.customer(uow, billing_type=BillingType.PRE_PAID)
    auth.change_password(uow, account_id=customer.id, password="cust-pw-1")
    b = signed_in(browser, customer, "cust-pw-1")
    path = f"/console/accounts/{customer.id}/create"
    refused(b.post(path, {"name": "u1", "password": "a"}), PASSWORD_RULE)
    assert b.post(path, {"name": "u1", "password": "user-pw-1"}).status_code == 200
    refused(b.post(path, {"name": "u1", "password": "user-pw-1"}), "Username already taken.")


def test_transfers_follow_the_reseller_apis_rules_and_say_320_and_421(
    browser: Callable[..., Browser], uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow, credits=10)
    prepaid = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    postpaid = factories.customer(uow, parent=reseller, billing_type=BillingType.POST_PAID)
    b = signed_in(browser, reseller, factories.PASSWORD)
    cases = [
        (prepaid, {"credits": "11"}, NOT_ENOUGH),
        (prepaid, {"credits": "5", "direction": "back"}, NOT_ENOUGH),
        (postpaid, {"credits": "1"},
         "Credits cannot be transferred to a post-paid customer (status 421)."),
        (prepaid, {"credits": "-1"}, "credits: credits to move must be positive."),
        (prepaid, {"credits": "ten"}, "credits: must be a whole number."),
    ]  # fmt: skip
    for target, data, message in cases:
        refused(b.post(f"/console/accounts/{target.id}/transfer", data), message)
    assert wallet.get(uow, account_id=reseller.id).credits == 10
    assert wallet.get(uow, account_id=prepaid.id).credits == 0
    page = b.post(f"/console/accounts/{prepaid.id}/transfer", {"credits": "4"})
    assert page.status_code == 200
    assert wallet.get(uow, account_id=prepaid.id).credits == 4
    assert "reseller_credits" in page.text  # its ledger row


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("top-up", {"credits": "abc"}, "credits: must be a whole number."),
        ("top-up", {"credits": "0"}, "amount: amount must be positive."),
        ("keys", {"allowed_ips": "nope"},
         "allowed ips: not an IP address or CIDR range: &#39;nope&#39;."),
        ("keys", {"purpose": "user"},
         "purpose: a user&#39;s own key belongs to a user; others take client keys."),
        ("settings", {"iprange": "999.1.1.1"},
         "iprange: not an IP address or CIDR range: &#39;999.1.1.1&#39;."),
        ("state", {"state": "explode"}, "state: must be enable, disable or delete."),
        ("password", {"password": "a"}, PASSWORD_RULE),
        ("keys/revoke", {"key_id": "x"}, "key id: must be a whole number."),
    ],
)  # fmt: skip
def test_the_account_forms_refuse_bad_input(
    admin: Browser, uow: UnitOfWork, action: str, data: dict[str, str], message: str
) -> None:
    reseller = factories.reseller(uow, credits=3)
    admin.get(f"/console/accounts/{reseller.id}")
    refused(admin.post(f"/console/accounts/{reseller.id}/{action}", data), message)
    assert wallet.get(uow, account_id=reseller.id).credits == 3
    assert apikeys.list_keys(uow, account_id=reseller.id) == []
    assert accounts.get(uow, actor=reseller, account_id=reseller.id).iprange == ""


def test_a_key_is_shown_once_then_revoked_and_rotated(admin: Browser, uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow)
    admin.get(f"/console/accounts/{reseller.id}")
    page = admin.post(f"/console/accounts/{reseller.id}/keys", {"key_name": "app"})
    secret = re.search(r'<code class="secret-value">([^<]+)</code>', page.text)
    assert secret
    assert secret.group(1).startswith("sak_")
    assert secret.group(1) not in admin.get(f"/console/accounts/{reseller.id}").text
    (key,) = apikeys.list_keys(uow, account_id=reseller.id)
    rotated = admin.post(f"/console/accounts/{reseller.id}/keys/rotate", {"key_id": str(key.id)})
    assert "secret-value" in rotated.text
    keys = apikeys.list_keys(uow, account_id=reseller.id)
    assert [k.revoked_at is not None for k in keys] == [True, False]
    admin.post(f"/console/accounts/{reseller.id}/keys/revoke", {"key_id": str(keys[1].id)})
    assert all(k.revoked_at for k in apikeys.list_keys(uow, account_id=reseller.id))


def test_another_accounts_key_cannot_be_revoked_through_this_page(
    admin: Browser, uow: UnitOfWork
) -> None:
    one, other = factories.reseller(uow), factories.reseller(uow)
    _key, _secret = auth.create_api_key(uow, owner_id=other.id, name="theirs")
    admin.get(f"/console/accounts/{one.id}")
    page = admin.post(f"/console/accounts/{one.id}/keys/revoke", {"key_id": str(_key.id)})
    assert page.status_code == 404
    assert apikeys.list_keys(uow, account_id=other.id)[0].revoked_at is None


def test_the_ledger_is_keyset_paged(admin: Browser, uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow)
    for _ in range(30):
        wallet.credit(uow, account_id=reseller.id, asset=Asset.CREDITS, amount=1,
                      reason="test")  # fmt: skip
    first = admin.get(f"/console/accounts/{reseller.id}")
    rows = re.findall(r"<td>(\d+)</td><td>\d{4}-", first.text)
    assert len(rows) == 25
    older = re.search(r'href="(/console/accounts/\d+\?before=\d+)"', first.text)
    assert older
    second = admin.get(older.group(1))
    assert len(re.findall(r"<td>(\d+)</td><td>\d{4}-", second.text)) == 5
    assert "Older rows" not in second.text


def test_the_mor_secret_and_ip_range_are_set(admin: Browser, uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow)
    admin.get(f"/console/accounts/{reseller.id}")
    page = admin.post(
        f"/console/accounts/{reseller.id}/settings",
        {"iprange": "10.0.0.0/8", "mor_secret": "s3cret", "mor_secret_change": "yes"},
    )
    assert page.status_code == 200
    changed = accounts.get(uow, actor=reseller, account_id=reseller.id)
    assert (changed.iprange, changed.mor_secret) == ("10.0.0.0/8", "s3cret")
    assert "s3cret" not in page.text
