"""The codes every method lists (97, 98, 99, 600) and 100 for every authenticated method,
each asserted exactly, in JSON and in XML."""

from __future__ import annotations

import io
import re
from ipaddress import ip_address, ip_network
from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.app import create_app
from smsaccounts.config import Settings
from smsaccounts.domain.clock import FakeClock
from smsaccounts.services import accounts, auth, passwords
from smsaccounts.storage.database import make_engine
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.conftest import CLIENT_IP, make_uow

from .conftest import RIGHTS, Tenant
from .wire_client import AUTH_METHODS, ELEMENTS, Api

METHODS = list(ELEMENTS)
STYLES = ["json", "xml"]
USER_MSISDN = "436761234567"


def fields_for(path: str, key: str, token: str = "sat_none") -> dict[str, Any]:  # noqa: S107
    """A request that would succeed but for the condition a test sets up."""
    by_path: dict[str, dict[str, Any]] = {
        "msisdn/verify": {"msisdn": "436761234500"},
        "create": {"msisdn": "436761234500", "password": "pw-1234", "pin": "123456"},
        "login": {"msisdn": USER_MSISDN, "password": factories.PASSWORD},
        "password/reset": {"msisdn": USER_MSISDN},
        "setting/set": {"smsRouting": 0, "signature": "s", "a2aSendEnabled": True,
                        "a2aReceiveEnabled": True},
        "smsrouting/get": {"recipient": "4915112345678"},
        "smsrouting/set": {"recipient": "4915112345678", "smsRouting": 1},
        "password/change": {"password": "new-pw"},
    }  # fmt: skip
    token_field = {"authToken": token} if path in AUTH_METHODS else {}
    return {"apiKey": key, **token_field, **by_path.get(path, {})}


@pytest.fixture
def member(uow: UnitOfWork, tenant: Tenant) -> tuple[int, str]:
    """A user registered under the tenant, and a live token of it."""
    user = factories.user(uow, parent=tenant.customer, name=USER_MSISDN, msisdn=USER_MSISDN,
                          country="AT")  # fmt: skip
    with uow.write() as tx:
        return user.id, auth.issue_token(tx, user)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", METHODS)
def test_an_unknown_api_key_is_600(http: TestClient, path: str, style: str) -> None:
    answer = Api(http, style).call(path, **fields_for(path, "sak_unknown"))
    assert answer == {"errorCode": 600}


@pytest.mark.parametrize("style", STYLES)
def test_a_missing_api_key_and_a_users_own_key_are_600(
    http: TestClient, uow: UnitOfWork, style: str
) -> None:
    own_key = factories.user_key(uow, factories.user(uow))
    api = Api(http, style)
    assert api.call("login", msisdn=USER_MSISDN, password="x") == {"errorCode": 600}
    assert api.call("login", apiKey=own_key, msisdn=USER_MSISDN, password="x") == {
        "errorCode": 600}  # fmt: skip


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", METHODS)
def test_a_disabled_key_is_97(
    http: TestClient, uow: UnitOfWork, tenant: Tenant, member: tuple[int, str], path: str,
    style: str,
) -> None:  # fmt: skip
    api_key, plaintext = auth.create_api_key(uow, owner_id=tenant.customer.id, name="app",
                                             rights=RIGHTS)  # fmt: skip
    with uow.write() as tx:
        tx.credentials.set_key(api_key.id, enabled=False)
    answer = Api(http, style).call(path, **fields_for(path, plaintext, member[1]))
    assert answer == {"errorCode": 97}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", METHODS)
def test_a_caller_ip_outside_the_keys_ranges_is_97(
    http: TestClient, uow: UnitOfWork, tenant: Tenant, member: tuple[int, str], path: str,
    style: str,
) -> None:  # fmt: skip
    key = factories.client_key(uow, tenant.customer, rights=RIGHTS, allowed_ips="192.168.0.0/24")
    answer = Api(http, style).call(path, **fields_for(path, key, member[1]))
    assert answer == {"errorCode": 97}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", METHODS)
def test_a_disabled_customer_is_97(
    http: TestClient, uow: UnitOfWork, tenant: Tenant, member: tuple[int, str], path: str,
    style: str,
) -> None:  # fmt: skip
    with uow.write() as tx:
        tx.accounts.update(tenant.customer.id, {"enabled": False})
    answer = Api(http, style).call(path, **fields_for(path, tenant.key, member[1]))
    assert answer == {"errorCode": 97}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", [*AUTH_METHODS, "login"])
def test_a_disabled_user_is_97(
    http: TestClient, uow: UnitOfWork, tenant: Tenant, member: tuple[int, str], path: str,
    style: str,
) -> None:  # fmt: skip
    with uow.write() as tx:
        tx.accounts.update(member[0], {"enabled": False})
    answer = Api(http, style).call(path, **fields_for(path, tenant.key, member[1]))
    assert answer == {"errorCode": 97}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", [*AUTH_METHODS, "login", "password/reset"])
def test_a_caller_ip_outside_the_users_iprange_is_97(
    http: TestClient, uow: UnitOfWork, tenant: Tenant, member: tuple[int, str], path: str,
    style: str,
) -> None:  # fmt: skip
    iprange = "172.16.0.0/12"
    assert ip_address(CLIENT_IP) not in ip_network(iprange)  # the caller is really outside
    with uow.write() as tx:
        tx.accounts.update(member[0], {"iprange": iprange})
    answer = Api(http, style).call(path, **fields_for(path, tenant.key, member[1]))
    assert answer == {"errorCode": 97}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", AUTH_METHODS)
def test_a_missing_wrong_or_revoked_token_is_100(
    http: TestClient, uow: UnitOfWork, tenant: Tenant, member: tuple[int, str], path: str,
    style: str,
) -> None:  # fmt: skip
    api = Api(http, style)
    missing = {k: v for k, v in fields_for(path, tenant.key).items() if k != "authToken"}
    assert api.call(path, **missing) == {"errorCode": 100}
    assert api.call(path, **fields_for(path, tenant.key, "sat_wrong")) == {"errorCode": 100}
    auth.revoke_tokens(uow, account_id=member[0])
    assert api.call(path, **fields_for(path, tenant.key, member[1])) == {"errorCode": 100}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", AUTH_METHODS)
def test_another_tenants_token_is_100_even_when_that_user_is_disabled(
    http: TestClient, uow: UnitOfWork, tenant: Tenant, member: tuple[int, str], path: str,
    style: str,
) -> None:  # fmt: skip
    """A token is only valid with a key of the customer the user belongs to."""
    other = factories.customer(uow)
    other_key = factories.client_key(uow, other, rights=RIGHTS)
    answer = Api(http, style).call(path, **fields_for(path, other_key, member[1]))
    assert answer == {"errorCode": 100}
    accounts.disable(uow, actor=tenant.customer, account_id=member[0])
    answer = Api(http, style).call(path, **fields_for(path, other_key, member[1]))
    assert answer == {"errorCode": 100}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", METHODS)
def test_more_requests_than_the_limit_from_one_ip_are_98(
    make_http: Any, uow: UnitOfWork, tenant: Tenant, path: str, style: str
) -> None:
    """Per client IP: two different keys from one address share its budget."""
    # No PIN SMS spacing here: a second PIN within a minute is 98 for a reason of its own.
    api = Api(make_http(rate_limit="2/minute", pin_resend_seconds=0), style)
    second = factories.client_key(uow, tenant.customer, rights=RIGHTS)
    assert api.call(path, **fields_for(path, tenant.key))["errorCode"] != 98
    assert api.call(path, **fields_for(path, second))["errorCode"] != 98
    assert api.call(path, **fields_for(path, second)) == {"errorCode": 98}


@pytest.mark.parametrize("style", STYLES)
def test_more_requests_than_the_limit_with_one_key_are_98_from_any_ip(
    settings: Settings, engine: Any, clock: FakeClock, tenant: Tenant, style: str
) -> None:
    """Per API key: the same key from three addresses shares one budget."""
    app_settings = settings.replace(rate_limit="2/minute")
    app = create_app(app_settings, uow=make_uow(app_settings, engine, clock), deliver_sms=False)
    calls = [Api(TestClient(app, client=(f"10.0.0.{n}", 5000)), style) for n in (1, 2, 3)]
    fields = fields_for("password/reset", tenant.key)
    assert calls[0].call("password/reset", **fields) == {"errorCode": 0}
    assert calls[1].call("password/reset", **fields) == {"errorCode": 0}
    assert calls[2].call("password/reset", **fields) == {"errorCode": 98}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", METHODS)
def test_an_unreachable_database_is_99_without_a_trace(
    settings: Settings, clock: FakeClock, tmp_path: Any, path: str, style: str
) -> None:
    broken = settings.replace(database_url=f"sqlite:///{tmp_path}/missing/dir/db.sqlite")
    engine = make_engine(broken)
    app = create_app(broken, uow=make_uow(broken, engine, clock), deliver_sms=False)
    api = Api(TestClient(app, client=(CLIENT_IP, 5000)), style)
    answer = api.raw(path, fields_for(path, "sak_any"), ELEMENTS[path][0])
    assert answer.status_code == 200
    assert re.search(rb"errorCode.{0,3}99", answer.content)
    assert b"Traceback" not in answer.content
    assert b"sqlite" not in answer.content.lower()
    engine.dispose()


@pytest.mark.parametrize("style", STYLES)
def test_an_unexpected_error_is_99_and_logged_without_its_message(
    http: TestClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch,
    captured_logs: io.StringIO, style: str,
) -> None:  # fmt: skip
    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("-".join(("secret", "detail", "4711")))  # not in a frame's source

    monkeypatch.setattr(passwords, "reset_password", explode)
    answer = Api(http, style).call("password/reset", apiKey=tenant.key, msisdn=USER_MSISDN)
    assert answer == {"errorCode": 99}
    logged = captured_logs.getvalue()
    assert "mysms: unexpected error" in logged
    assert "RuntimeError" in logged
    assert "secret-detail-4711" not in logged
