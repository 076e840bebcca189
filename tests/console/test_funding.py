"""The account page's funding source and low-balance alert, and the dashboard's accounts
under their low-balance threshold (issue 18's fields, set through `accounts.update`)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest

from smsaccounts.console import pages
from smsaccounts.domain.models import Account, Asset
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.errors import InvalidField
from smsaccounts.services import accounts, auth, console, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.console.conftest import Browser
from tests.console.test_forms import error_of, refused, signed_in


def _admin(uow: UnitOfWork) -> Account:
    with uow.read() as tx:
        found = tx.accounts.get(ADMIN_ID)
    assert found is not None
    return found


def _set(uow: UnitOfWork, account: Account, **changes: Any) -> Account:
    return accounts.update(uow, actor=_admin(uow), account_id=account.id, changes=changes)


def _now(uow: UnitOfWork, account: Account) -> Account:
    with uow.read() as tx:
        found = tx.accounts.get(account.id)
    assert found is not None
    return found


def _pool(uow: UnitOfWork, credits: int) -> Account:
    """A pre-paid customer holding `credits`."""
    customer = factories.customer(uow)
    wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=credits, reason="t")
    return customer


def _dd(page: Any, dd_id: str) -> str:
    found = re.search(rf'<dd id="{dd_id}">(.*?)</dd>', page.text, re.S)
    assert found, f"no {dd_id} on the page"
    return re.sub(r"<[^>]+>", "", html.unescape(found.group(1))).strip()


def test_the_account_page_shows_the_funding_source_and_the_paying_wallet(
    admin: Browser, uow: UnitOfWork
) -> None:
    pool = _pool(uow, 70)
    spender = factories.user(uow, parent=pool, funding="parent")
    page = admin.get(f"/console/accounts/{spender.id}")
    assert _dd(page, "funding") == f"spends from {pool.name} (customer)"
    assert f'<a href="/console/accounts/{pool.id}" id="payer">' in page.text
    assert _dd(page, "paying-wallet").startswith("credits 70 ")
    assert _dd(page, "wallet-credits") == "0"  # its own wallet, shown above, is not the pool
    own = admin.get(f"/console/accounts/{pool.id}")
    assert _dd(own, "funding") == "own"
    assert 'id="paying-wallet"' not in own.text


def test_a_threshold_set_through_the_form_is_stored_and_can_be_cleared(
    admin: Browser, uow: UnitOfWork
) -> None:
    target = _pool(uow, 5)
    admin.get(f"/console/accounts/{target.id}")
    form = {"low_balance_asset": "credits", "low_balance_threshold": "50",
            "low_balance_contact": "+4520123456"}  # fmt: skip
    page = admin.post(f"/console/accounts/{target.id}/low-balance", form)
    assert page.status_code == 200
    assert error_of(page) is None
    now = _now(uow, target)
    assert (now.low_balance_asset, now.low_balance_threshold) == ("credits", 50)
    assert now.low_balance_contact == "4520123456"
    assert _dd(page, "low-balance") == "below 50 credits, to 4520123456"
    cleared = admin.post(f"/console/accounts/{target.id}/low-balance",
                         {**form, "low_balance_threshold": ""})  # fmt: skip
    assert _now(uow, target).low_balance_threshold is None
    assert _dd(cleared, "low-balance") == "none"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"low_balance_threshold": "-5"},
         "low_balance_threshold: must be an integer from 0 to 9223372036854775807."),
        ({"low_balance_threshold": "ten"},
         "low_balance_threshold: must be an integer from 0 to 9223372036854775807."),
        ({"low_balance_asset": "gold"},
         "low balance asset: low_balance_asset is credits or balance."),
        ({"low_balance_contact": "not a number"},
         "low balance contact: low_balance_contact is an msisdn in international form, an "
         "http(s) URL or an e-mail address."),
    ],
)  # fmt: skip
def test_an_invalid_threshold_shows_the_services_message_and_changes_nothing(
    admin: Browser, uow: UnitOfWork, changes: dict[str, str], message: str
) -> None:
    target = _set(uow, _pool(uow, 5), low_balance_threshold=7, low_balance_contact="4520123456")
    admin.get(f"/console/accounts/{target.id}")
    form = {"low_balance_asset": "balance", "low_balance_threshold": "9",
            "low_balance_contact": "", **changes}  # fmt: skip
    refused(admin.post(f"/console/accounts/{target.id}/low-balance", form), message)
    now = _now(uow, target)
    assert (now.low_balance_asset, now.low_balance_threshold) == ("credits", 7)
    assert now.low_balance_contact == "4520123456"


def test_an_account_cannot_change_its_own_funding_but_one_above_it_can(
    browser: Callable[..., Browser], admin: Browser, uow: UnitOfWork
) -> None:
    customer = factories.customer(uow)
    auth.change_password(uow, account_id=customer.id, password=factories.PASSWORD)
    me = signed_in(browser, customer, factories.PASSWORD)
    assert 'id="funding-form"' not in me.get(f"/console/accounts/{customer.id}").text
    refused(me.post(f"/console/accounts/{customer.id}/funding", {"funding": "parent"}),
            "funding: funding is set by an account above this one.")  # fmt: skip
    assert _now(uow, customer).funding == "own"
    user = factories.user(uow, parent=customer, funding="parent")
    me.get(f"/console/accounts/{user.id}")
    assert me.post(f"/console/accounts/{user.id}/funding", {"funding": "own"}).status_code == 200
    assert _now(uow, user).funding == "own"
    admin.get(f"/console/accounts/{customer.id}")
    assert 'id="funding-form"' in admin.get(f"/console/accounts/{customer.id}").text
    admin.post(f"/console/accounts/{customer.id}/funding", {"funding": "parent"})
    assert _now(uow, customer).funding == "parent"


def _low_rows(page: Any) -> set[int]:
    section = page.text.split('<section id="low-balance">', 1)[1].split("</section>", 1)[0]
    return {int(found) for found in re.findall(r'<tr id="low-(\d+)">', section)}


def test_the_dashboard_lists_accounts_under_their_threshold_by_the_wallet_they_spend_from(
    browser: Callable[..., Browser], uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow)
    under = _set(uow, _customer_of(uow, reseller, 50), low_balance_threshold=100)
    above = _set(uow, _customer_of(uow, reseller, 50), low_balance_threshold=10)
    other = _set(uow, _pool(uow, 1), low_balance_threshold=5)  # another reseller's: not shown
    page = signed_in(browser, reseller, factories.PASSWORD).get("/console/")
    assert _low_rows(page) == {under.id}
    for left_out in (above, other):
        assert left_out.id not in _low_rows(page)
    with uow.read() as tx:
        found, looked_to = tx.console.under_threshold(reseller, after_path=None, limit=50, scan=50)
    assert {a.id for a in found} == {under.id}
    assert looked_to is None


def test_an_account_that_spends_its_parents_pool_takes_no_alert_of_its_own(
    uow: UnitOfWork,
) -> None:
    """Its alert would watch a pool whose changes are its payer's: set it on the payer."""
    customer = _customer_of(uow, factories.reseller(uow), 50)
    user = factories.user(uow, parent=customer, funding="parent")
    with pytest.raises(InvalidField, match="spends its parent's pool") as refused:
        _set(uow, user, low_balance_threshold=60)
    assert refused.value.field == "low_balance_threshold"
    own = _set(uow, factories.user(uow, parent=customer), low_balance_threshold=60)
    with pytest.raises(InvalidField, match="spends its parent's pool") as switched:
        _set(uow, own, funding="parent")
    assert switched.value.field == "funding"
    assert _now(uow, own).funding == "own"


def _customer_of(uow: UnitOfWork, reseller: Account, credits: int) -> Account:
    customer = factories.customer(uow, parent=reseller)
    wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=credits, reason="t")
    return customer


@pytest.mark.parametrize(("scan", "shown"), [(2, 10), (1000, 1)])
def test_the_dashboard_is_bounded_and_links_further(
    browser: Callable[..., Browser],
    uow: UnitOfWork,
    monkeypatch: pytest.MonkeyPatch,
    scan: int,
    shown: int,
) -> None:
    """At most `shown` rows, found among at most `scan` accounts (2: the reseller and its
    first customer); "Look further" pages on through the rest."""
    reseller = factories.reseller(uow)
    low = [_set(uow, _customer_of(uow, reseller, 1), low_balance_threshold=2) for _ in range(3)]
    monkeypatch.setattr(console, "LOW_BALANCE_SCAN", scan)
    monkeypatch.setattr(pages, "LOW_SHOWN", shown)
    b = signed_in(browser, reseller, factories.PASSWORD)
    seen: list[int] = []
    page = b.get("/console/")
    for _ in range(5):
        seen += sorted(_low_rows(page))
        more = re.search(r'id="low-balance-more" href="([^"]+)"', page.text)
        if more is None:
            break
        page = b.get(html.unescape(more.group(1)))
    assert len(_low_rows(b.get("/console/"))) == 1
    assert sorted(seen) == sorted(a.id for a in low)


@pytest.mark.parametrize(
    ("action", "data"),
    [("funding", {"funding": "parent"}),
     ("low-balance", {"low_balance_asset": "credits", "low_balance_threshold": "3"})],
)  # fmt: skip
def test_the_funding_and_alert_forms_refuse_a_post_without_its_csrf_token(
    admin: Browser, uow: UnitOfWork, action: str, data: dict[str, str]
) -> None:
    target = factories.customer(uow)
    admin.get(f"/console/accounts/{target.id}")
    refused = admin.post(f"/console/accounts/{target.id}/{action}", data, csrf=False)
    assert refused.status_code == 403
    now = _now(uow, target)
    assert (now.funding, now.low_balance_threshold) == ("own", None)
    assert admin.post(f"/console/accounts/{target.id}/{action}", data).status_code == 200
    assert _now(uow, target) != now  # the same post with its token does change it
