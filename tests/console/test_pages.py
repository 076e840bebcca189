"""The console's pages: what they show, how they page, what they never read per request."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from smsaccounts.domain.console import SubtreeStats
from smsaccounts.domain.models import Account
from smsaccounts.storage.console import ConsoleRepository
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.console.conftest import Browser


def test_the_dashboard_counts_the_subtree_at_most_once_per_interval(
    browser: Callable[..., Browser],
    admin_password: str,
    uow: UnitOfWork,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Account] = []
    real = ConsoleRepository.subtree_stats

    def counted(self: ConsoleRepository, root: Account) -> SubtreeStats:
        calls.append(root)
        return real(self, root)

    monkeypatch.setattr(ConsoleRepository, "subtree_stats", counted)
    factories.customer(uow)
    admin = browser()
    admin.sign_in("admin", admin_password)
    for _ in range(3):
        page = admin.get("/console/")
    assert len(calls) == 1
    assert 'id="count-customer">1<' in page.text
    assert 'id="count-reseller">1<' in page.text


def test_the_tree_finds_an_account_by_name_id_object_id_msisdn_and_email(
    admin: Browser, uow: UnitOfWork
) -> None:
    user = factories.user(uow, email="wile@example.com", msisdn="+436761234567")
    link = f'href="/console/accounts/{user.id}"'
    for query in (user.name, str(user.id), user.object_id, "436761234567", "wile@example"):
        assert link in admin.get(f"/console/tree?q={query}").text, query


def test_the_tree_is_keyset_paged_with_breadcrumbs(admin: Browser, uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow)
    customers = [factories.customer(uow, parent=reseller) for _ in range(26)]
    first = admin.get(f"/console/tree?root={reseller.id}")
    assert 'class="next"' in first.text
    assert f'<a href="/console/accounts/{reseller.id}">{reseller.name}</a>' in first.text
    after = first.text.split('class="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = admin.get(after)
    assert f"/console/accounts/{customers[-1].id}" in second.text
    assert 'class="next"' not in second.text


def test_the_outbox_shows_messages_with_their_secrets_masked(
    admin: Browser, uow: UnitOfWork
) -> None:
    user = factories.user(uow)
    with uow.write() as tx:
        tx.outbox.add(to_msisdn="436761234567", text="Your PIN: ******", body="Your PIN: 4711",
                      purpose="pin", account_id=user.id, now=tx.now)  # fmt: skip
    page = admin.get("/console/outbox")
    assert "Your PIN: ******" in page.text
    # Not a bare "4711": the page's random CSRF token (hex) holds it now and then.
    assert "PIN: 4711" not in page.text


def test_the_outbox_shows_whom_a_message_is_from(admin: Browser, uow: UnitOfWork) -> None:
    user = factories.user(uow)
    with uow.write() as tx:
        tx.outbox.add(to_msisdn="4520123456", text="Ready", body="Ready", purpose="message",
                      account_id=user.id, now=tx.now, sender="ShopSender")  # fmt: skip
    assert "<td>ShopSender</td>" in admin.get("/console/outbox").text


def test_the_audit_log_filters_by_action_and_account(admin: Browser, uow: UnitOfWork) -> None:
    one, two = factories.reseller(uow), factories.reseller(uow)
    admin.get(f"/console/accounts/{one.id}")
    admin.post(f"/console/accounts/{one.id}/state", {"state": "disable"})
    admin.post(f"/console/accounts/{two.id}/state", {"state": "disable"})
    page = admin.get("/console/audit?action=account.disable")
    assert page.text.count("<td>account.disable</td>") == 2
    assert "<td>account.create</td>" not in page.text
    page = admin.get(f"/console/audit?action=account.disable&account={one.id}")
    assert page.text.count("<td>account.disable</td>") == 1


def test_the_console_and_its_vendored_htmx_are_served(admin: Browser) -> None:
    moved = admin.http.get("/console", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (308, "/console/")
    script = admin.http.get("/console/static/htmx.min.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "2.0.11" in admin.http.get("/console/static/VENDORED.txt").text


def test_an_acl_admin_user_creates_a_sub_user_below_itself(
    browser: Callable[..., Browser], uow: UnitOfWork
) -> None:
    boss = factories.user(uow, acl_admin=True)
    b = browser()
    b.sign_in(boss.name, factories.PASSWORD)
    b.get(f"/console/accounts/{boss.id}")
    page = b.post(f"/console/accounts/{boss.id}/create", {"name": "minion", "password": "pw-12345"})
    assert page.status_code == 200
    assert "user minion" in page.text
    assert f'<a href="/console/accounts/{boss.id}">{boss.name}</a>' in page.text  # breadcrumbs
