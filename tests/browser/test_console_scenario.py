"""The console in a real browser: the issue's scenario, from the admin to a revoked key.

Each step is what a person does (fill a form, press its button); what it changed is read
back from the page and, for keys and tokens, from the APIs the key or token is for.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import BillingType
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.browser.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """GET `url` (or POST `body` as JSON): the status and the decoded JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - http://127.0.0.1
    try:
        with urllib.request.urlopen(request) as answer:  # noqa: S310 - our own test server
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def sign_in(page: Any, base: str, name: str, password: str, shot: Path | None = None) -> None:
    page.goto(f"{base}/console/sign-in")
    if shot is not None:
        page.screenshot(path=shot)
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    submit(page, "button[type=submit]")


def submit(page: Any, button: str) -> None:
    """Press a form's button and wait until htmx has swapped in the page it answered."""
    page.eval_on_selector("main", "main => main.dataset.stale = 'yes'")
    page.click(button)
    page.wait_for_selector("main:not([data-stale])")


def sign_out(page: Any) -> None:
    submit(page, "form.signout button")
    page.wait_for_url(re.compile(r".*/console/sign-in$"), wait_until="commit")


def account_id(page: Any) -> int:
    found = re.search(r"/console/accounts/(\d+)", page.url)
    assert found, page.url
    return int(found.group(1))


def secret_shown(page: Any) -> str:
    return str(page.text_content("code.secret-value")).strip()


def chart_points(page: Any) -> list[str]:
    return [str(p.get_attribute("points")) for p in page.query_selector_all("#chart polyline")]


def test_the_issues_scenario_end_to_end(
    server: str, chromium: Any, screenshots: Path, uow: UnitOfWork, clock: FakeClock
) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # The admin signs in and creates a reseller, then gives it credits to sell.
    sign_in(page, server, "admin", ADMIN_PASSWORD, shot=screenshots / "sign-in.png")
    assert page.text_content("h1") == "Dashboard"
    page.goto(f"{server}/console/accounts/1")
    page.fill("#create-form input[name=name]", "acme")
    page.fill("#create-form input[name=password]", "acme-pw-1")
    submit(page, "#create-form button")
    page.wait_for_url(re.compile(r".*/console/accounts/\d+$"), wait_until="commit")
    reseller_id = account_id(page)
    page.fill("#top-up-form input[name=credits]", "1000")
    submit(page, "#top-up-form button")
    assert page.text_content("#wallet-credits") == "1000"
    sign_out(page)

    # The reseller signs in, creates a customer and tops it up: a ledger row, a new chart.
    sign_in(page, server, "acme", "acme-pw-1")
    page.goto(f"{server}/console/accounts/{reseller_id}")
    page.fill("#create-form input[name=name]", "globex")
    page.fill("#create-form input[name=password]", "globex-pw-1")
    submit(page, "#create-form button")
    page.wait_for_url(re.compile(r".*/console/accounts/\d+$"), wait_until="commit")
    customer_id = account_id(page)
    assert page.query_selector("#chart") is None
    clock.advance(3600)  # the server's clock: the chart plots the ledger over time
    page.fill("#transfer-form input[name=credits]", "300")
    submit(page, "#transfer-form button")
    assert page.text_content("#wallet-credits") == "300"
    assert "reseller_credits" in str(page.text_content("table.ledger"))
    first = chart_points(page)
    assert len(first) == 1
    clock.advance(5400)
    page.fill("#transfer-form input[name=credits]", "120")
    page.select_option("#transfer-form select[name=direction]", "back")
    submit(page, "#transfer-form button")
    assert page.text_content("#wallet-credits") == "180"
    assert chart_points(page) != first
    clock.advance(1800)
    page.fill("#transfer-form input[name=credits]", "75")
    page.select_option("#transfer-form select[name=direction]", "to")
    submit(page, "#transfer-form button")
    assert page.text_content("#wallet-credits") == "255"
    page.fill("#transfer-form input[name=credits]", "5000")
    page.select_option("#transfer-form select[name=direction]", "to")
    submit(page, "#transfer-form button")
    assert "(status 320)" in str(page.text_content("#error"))
    page.screenshot(path=screenshots / "account.png", full_page=True)

    # A client key on the customer, for mysms; then a user under the customer, and its key.
    submit(page, "#key-form button")
    client_key = secret_shown(page)
    page.fill("#create-form input[name=name]", "wile")
    page.fill("#create-form input[name=password]", "wile-pw-1")
    page.fill("#create-form input[name=phone_number]", "+436761234567")
    submit(page, "#create-form button")
    page.wait_for_url(re.compile(r".*/console/accounts/\d+$"), wait_until="commit")
    user_id = account_id(page)
    submit(page, "#key-form button")
    user_key = secret_shown(page)
    assert call(f"{server}/v2/ping.json?apikey={user_key}")[0] == 200
    submit(page, "form[action$='/keys/revoke'] button")
    status, answer = call(f"{server}/v2/ping.json?apikey={user_key}")
    assert (status, answer["status"]) == (401, 401)

    # The user's mysms token works until the reseller disables the user.
    login = {"apiKey": client_key, "msisdn": 436761234567, "password": "wile-pw-1"}
    _status, answer = call(f"{server}/json/user/login", login)
    token = answer["authToken"]
    balance = {"apiKey": client_key, "authToken": token}
    assert call(f"{server}/json/user/balance/get", balance)[1]["errorCode"] == 0
    page.goto(f"{server}/console/accounts/{user_id}")
    submit(page, "#state-form button[value=disable]")
    assert call(f"{server}/json/user/balance/get", balance)[1]["errorCode"] != 0
    for name, path in (("dashboard", "/console/"), ("tree", "/console/tree"),
                       ("user", f"/console/accounts/{user_id}"), ("outbox", "/console/outbox"),
                       ("audit", "/console/audit"), ("sessions", "/console/sessions")):  # fmt: skip
        page.goto(f"{server}{path}")
        page.screenshot(path=screenshots / f"{name}.png", full_page=True)

    # A CSRF-less post is refused, even with the session's cookie.
    refused = context.request.post(
        f"{server}/console/accounts/{customer_id}/state", form={"state": "disable"}
    )
    assert refused.status == 403
    page.goto(f"{server}/console/accounts/{customer_id}")
    assert "disabled" not in str(page.text_content("h1 .state"))
    sign_out(page)

    # The customer's administrator edits the URL to another reseller's account: not found.
    other = factories.reseller(uow, name="initech")
    theirs = factories.customer(uow, parent=other, billing_type=BillingType.PRE_PAID)
    sign_in(page, server, "globex", "globex-pw-1")
    for target in (other.id, theirs.id, reseller_id):
        answer = page.goto(f"{server}/console/accounts/{target}")
        assert answer is not None
        assert answer.status == 404
        assert page.text_content("h1") == "Not found"
    sign_out(page)

    # A locked-out account cannot sign in, even with its right password.
    for _ in range(uow.settings.login_max_failures):
        sign_in(page, server, "initech", "wrong-password")
    sign_in(page, server, "initech", factories.PASSWORD)
    assert "locked" in str(page.text_content("p.error"))
    assert page.url.endswith("/console/sign-in")

    # No CSP violation and no script error on any page (a 4xx page is expected, not one).
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
    context.close()
    _ = auth  # the admin's password was set by the server fixture through auth
