"""The console end to end over plain HTTP: sign-in, pages, and the happy path of each form."""

from __future__ import annotations

import re
from collections.abc import Callable

from smsaccounts.services import wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.console.conftest import Browser


def test_the_admin_signs_in_and_sees_the_dashboard(admin: Browser) -> None:
    page = admin.get("/console/")
    assert page.status_code == 200
    assert "Dashboard" in page.text
    assert "admin" in page.text


def test_every_page_answers(admin: Browser, uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow, credits=10)
    for path in (
        "/console/",
        "/console/tree",
        "/console/tree?q=reseller",
        "/console/outbox",
        "/console/audit",
        "/console/sessions",
        f"/console/accounts/{reseller.id}",
        f"/console/tree?q={reseller.object_id}",
        f"/console/tree?q={reseller.id}",
    ):
        assert admin.get(path).status_code == 200, path


def test_admin_creates_a_reseller_and_tops_it_up(admin: Browser, uow: UnitOfWork) -> None:
    admin.get("/console/accounts/1")
    page = admin.post(
        "/console/accounts/1/create",
        {"name": "acme", "password": "acme-pw-1", "billing_type": "PRE_PAID"},
    )
    assert page.status_code == 200, page.text
    found = re.search(r"/console/accounts/(\d+)", str(page.url))
    assert found
    reseller_id = int(found.group(1))
    page = admin.post(f"/console/accounts/{reseller_id}/top-up", {"credits": "500"})
    assert page.status_code == 200
    assert wallet.get(uow, account_id=reseller_id).credits == 500
    assert 'id="chart"' in page.text


def test_a_reseller_creates_a_customer_and_moves_credits(
    browser: Callable[..., Browser], uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow, credits=100)
    b = browser()
    assert "Dashboard" in b.sign_in(reseller.name, factories.PASSWORD).text
    b.get(f"/console/accounts/{reseller.id}")
    page = b.post(
        f"/console/accounts/{reseller.id}/create", {"name": "cust1", "integration_id": "i"}
    )
    assert page.status_code == 200, page.text
    customer_id = int(str(page.url).rsplit("/", 1)[1])
    page = b.post(f"/console/accounts/{customer_id}/transfer", {"credits": "40", "direction": "to"})
    assert page.status_code == 200, page.text
    assert wallet.get(uow, account_id=customer_id).credits == 40
    page = b.post(
        f"/console/accounts/{customer_id}/transfer", {"credits": "400", "direction": "to"}
    )
    assert page.status_code == 400
    assert "(status 320)" in page.text
