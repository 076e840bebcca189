"""The console's security: headers, cookies, CSRF, sessions, lockout and subtree isolation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from smsaccounts.console.web import SESSION_COOKIE
from smsaccounts.domain import throttle
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import BillingType
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import accounts, apikeys, auth, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.console.conftest import Browser


@pytest.mark.parametrize("path", ["/console/sign-in", "/console/", "/console/nowhere"])
def test_every_console_page_carries_a_strict_csp_and_refuses_framing(
    admin: Browser, path: str
) -> None:
    response = admin.http.get(path)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_no_console_page_holds_an_inline_script_or_style(admin: Browser, uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow, credits=5)
    for path in ("/console/", "/console/tree", f"/console/accounts/{reseller.id}"):
        html = admin.get(path).text
        assert "<script>" not in html
        assert "<script " not in html.replace(
            '<script src="/console/static/htmx.min.js" defer>', ""
        )
        assert " style=" not in html
        assert "<style" not in html


def test_the_session_cookie_is_httponly_strict_and_secure_over_tls(
    browser: Callable[..., Browser], admin_password: str
) -> None:
    plain = browser()
    plain.get("/console/sign-in")
    response = plain.http.post(
        "/console/sign-in",
        data={"name": "admin", "password": admin_password, "csrf": plain.csrf},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(SESSION_COOKIE + "=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie
    tls = browser()
    tls.http.base_url = "https://testserver"
    tls.get("/console/sign-in")
    response = tls.http.post(
        "/console/sign-in",
        data={"name": "admin", "password": admin_password, "csrf": tls.csrf},
        follow_redirects=False,
    )
    assert "Secure" in response.headers["set-cookie"]


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    admin: Browser, uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow)
    admin.get(f"/console/accounts/{reseller.id}")
    refused = admin.post(f"/console/accounts/{reseller.id}/state", {"state": "disable"}, csrf=False)
    assert refused.status_code == 403
    wrong = admin.http.post(
        f"/console/accounts/{reseller.id}/state", data={"state": "disable", "csrf": "x" * 64}
    )
    assert wrong.status_code == 403
    assert accounts.get(uow, actor=reseller, account_id=reseller.id).enabled
    accepted = admin.post(f"/console/accounts/{reseller.id}/state", {"state": "disable"})
    assert accepted.status_code == 200
    assert not accounts.get(uow, actor=reseller, account_id=reseller.id).enabled


def test_a_sign_in_without_its_csrf_token_is_refused(
    browser: Callable[..., Browser], admin_password: str
) -> None:
    b = browser()
    b.get("/console/sign-in")
    response = b.post("/console/sign-in", {"name": "admin", "password": admin_password}, csrf=False)
    assert response.status_code == 403
    assert SESSION_COOKIE not in b.http.cookies


def test_another_sessions_csrf_token_is_refused(
    browser: Callable[..., Browser], admin: Browser, uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow)
    other = browser()
    other.sign_in(reseller.name, factories.PASSWORD)
    admin.get("/console/")
    admin.csrf = other.csrf
    refused = admin.post(f"/console/accounts/{reseller.id}/state", {"state": "disable"})
    assert refused.status_code == 403


def test_failed_sign_ins_count_in_the_accounts_one_lockout(
    browser: Callable[..., Browser], uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow)
    b = browser()
    for _ in range(uow.settings.login_max_failures):
        page = b.sign_in(reseller.name, "wrong-password")
        assert page.status_code == 403
        assert "The account name or the password is wrong." in page.text
    with uow.read() as tx:
        state = tx.throttles.get(throttle.key("login", "account", reseller.id))
    assert state.blocked_until is not None
    page = b.sign_in(reseller.name, factories.PASSWORD)
    assert page.status_code == 403
    assert "locked" in page.text
    assert SESSION_COOKIE not in b.http.cookies


def test_an_api_doors_failures_lock_the_console_too(
    browser: Callable[..., Browser], uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow)
    for _ in range(uow.settings.login_max_failures):
        with pytest.raises(Exception):  # noqa: B017, PT011 - whichever refusal: it counts
            auth.authenticate_password(
                uow, door="reseller", name=reseller.name, password="wrong", client_ip=None,
                find=lambda tx: tx.accounts.get(reseller.id),
            )  # fmt: skip
    page = browser().sign_in(reseller.name, factories.PASSWORD)
    assert "locked" in page.text


def test_a_user_without_acl_admin_cannot_sign_in_and_one_with_it_can(
    browser: Callable[..., Browser], uow: UnitOfWork
) -> None:
    plain = factories.user(uow)
    page = browser().sign_in(plain.name, factories.PASSWORD)
    assert page.status_code == 403
    assert "The account name or the password is wrong." in page.text
    boss = factories.user(uow, acl_admin=True)
    assert "Dashboard" in browser().sign_in(boss.name, factories.PASSWORD).text


def test_sign_out_ends_the_session_on_the_server(admin: Browser) -> None:
    cookie = admin.http.cookies[SESSION_COOKIE]
    admin.get("/console/")
    assert admin.post("/console/sign-out", {}).url.path == "/console/sign-in"
    admin.http.cookies.set(SESSION_COOKIE, cookie, path="/console")
    again = admin.http.get("/console/", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/console/sign-in"


def test_a_password_change_through_any_door_ends_every_session(
    admin: Browser, browser: Callable[..., Browser], admin_password: str, uow: UnitOfWork
) -> None:
    second = browser()
    second.sign_in("admin", admin_password)
    page = admin.get("/console/sessions")
    assert page.text.count("(this one)") == 1
    changed = admin.post(
        "/console/password",
        {"current_password": admin_password, "new_password": "admin-pw-2",
         "new_password_again": "admin-pw-2"},
    )  # fmt: skip
    assert changed.url.path == "/console/sign-in"
    assert second.http.get("/console/", follow_redirects=False).status_code == 303
    third = browser()
    third.sign_in("admin", "admin-pw-2")
    auth.change_password(uow, account_id=ADMIN_ID, password="admin-pw-3")  # the CLI's door
    assert third.http.get("/console/", follow_redirects=False).status_code == 303


def test_a_session_expires(admin: Browser, clock: FakeClock, uow: UnitOfWork) -> None:
    assert admin.http.get("/console/", follow_redirects=False).status_code == 200
    clock.advance(uow.settings.console_session_seconds + 1)
    assert admin.http.get("/console/", follow_redirects=False).status_code == 303


def test_disabling_an_account_ends_its_sessions(
    browser: Callable[..., Browser], admin: Browser, uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow)
    b = browser()
    b.sign_in(reseller.name, factories.PASSWORD)
    assert b.http.get("/console/", follow_redirects=False).status_code == 200
    admin.get(f"/console/accounts/{reseller.id}")
    admin.post(f"/console/accounts/{reseller.id}/state", {"state": "disable"})
    assert b.http.get("/console/", follow_redirects=False).status_code == 303


def test_another_subtree_is_not_found_whatever_the_url_says(
    browser: Callable[..., Browser], uow: UnitOfWork
) -> None:
    mine, theirs = factories.reseller(uow, credits=50), factories.reseller(uow, credits=50)
    their_customer = factories.customer(uow, parent=theirs, billing_type=BillingType.PRE_PAID)
    b = browser()
    b.sign_in(mine.name, factories.PASSWORD)
    for path in (f"/console/accounts/{theirs.id}", f"/console/accounts/{their_customer.id}",
                 f"/console/tree?root={theirs.id}", f"/console/accounts/{ADMIN_ID}"):  # fmt: skip
        page = b.get(path)
        assert page.status_code == 404, path
        assert "Not found" in page.text
    b.get("/console/")
    for action, data in (("state", {"state": "disable"}), ("transfer", {"credits": "5"}),
                         ("password", {"password": "taken-over"}),
                         ("keys", {"key_name": "mine"})):  # fmt: skip
        page = b.post(f"/console/accounts/{their_customer.id}/{action}", data)
        assert page.status_code == 404, action
    assert accounts.get(uow, actor=theirs, account_id=their_customer.id).enabled
    assert wallet.get(uow, account_id=their_customer.id).credits == 0
    assert apikeys.list_keys(uow, account_id=their_customer.id) == []
    for query in (their_customer.name, their_customer.object_id, str(their_customer.id)):
        found = b.get(f"/console/tree?q={query}").text
        assert f"/console/accounts/{their_customer.id}" not in found, query
    assert "No accounts match." in b.get(f"/console/tree?q={their_customer.name}").text
    audit = b.get(f"/console/audit?account={their_customer.id}")
    assert "No audit rows." in audit.text


def test_a_session_ends_when_the_client_is_outside_the_accounts_ip_range(
    browser: Callable[..., Browser], admin: Browser, uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow)
    b = browser()  # calls from 10.1.2.3
    b.sign_in(reseller.name, factories.PASSWORD)
    admin.get(f"/console/accounts/{reseller.id}")
    admin.post(f"/console/accounts/{reseller.id}/settings", {"iprange": "10.0.0.0/8"})
    assert b.http.get("/console/", follow_redirects=False).status_code == 200
    admin.post(f"/console/accounts/{reseller.id}/settings", {"iprange": "192.168.0.0/16"})
    assert b.http.get("/console/", follow_redirects=False).status_code == 303
