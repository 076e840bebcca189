"""The client's address is the peer's: X-Forwarded-For counts only when the peer is one of
SMSACCOUNTS_TRUSTED_PROXIES, so no client names its own address past a key's IP list, an
account's `iprange` or the per-IP limits."""

from __future__ import annotations

from typing import Any

import pytest

from smsaccounts import cli
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import RIGHTS

ALLOWED = "203.0.113.9"


def _ping(http: Any, key: str, forwarded: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    status: int = http.get(f"/v2/ping.json?apikey={key}", headers=headers).status_code
    return status


def test_x_forwarded_for_from_loopback_is_ignored_by_default(
    uow: UnitOfWork, make_http: Any
) -> None:
    """A sidecar, a tunnel or a pass-through proxy on the same host names nobody."""
    user = factories.user(uow, iprange=f"{ALLOWED}/32")
    key = factories.user_key(uow, user)
    local = make_http("127.0.0.1")
    assert _ping(local, key, ALLOWED) == 401
    assert _ping(make_http(ALLOWED), key, None) == 200


def test_a_trusted_proxys_x_forwarded_for_names_the_client(uow: UnitOfWork, make_http: Any) -> None:
    user = factories.user(uow, iprange=f"{ALLOWED}/32")
    key = factories.user_key(uow, user)
    proxy = make_http("10.0.0.2", trusted_proxies="10.0.0.0/24")
    assert _ping(proxy, key, ALLOWED) == 200
    assert _ping(proxy, key, f"{ALLOWED}, 10.0.0.1") == 200  # a chain of trusted proxies
    # What the client wrote itself stays left of what the proxy appended: never believed.
    assert _ping(proxy, key, f"{ALLOWED}, 198.51.100.4") == 401
    assert _ping(proxy, key, None) == 401  # the proxy itself is not the client
    stranger = make_http("198.51.100.4", trusted_proxies="10.0.0.0/24")
    assert _ping(stranger, key, ALLOWED) == 401  # only the named proxies are believed


def test_a_client_keys_ip_list_sees_through_no_header(uow: UnitOfWork, make_http: Any) -> None:
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer, rights=RIGHTS, allowed_ips=ALLOWED)
    fields = {"apiKey": key, "msisdn": "436761234567"}
    local = make_http("127.0.0.1")
    answer = local.post("/json/user/password/reset", json=fields,
                        headers={"X-Forwarded-For": ALLOWED})  # fmt: skip
    assert answer.json()["errorCode"] == 97


def test_the_per_ip_limit_cannot_be_dodged_with_made_up_addresses(
    uow: UnitOfWork, make_http: Any
) -> None:
    customer = factories.customer(uow)
    keys = [factories.client_key(uow, customer, rights=RIGHTS) for _ in range(3)]
    local = make_http("127.0.0.1", rate_limit="2/minute")
    codes = [
        local.post("/json/user/password/reset", json={"apiKey": key, "msisdn": "436761234567"},
                   headers={"X-Forwarded-For": f"198.51.100.{i}"}).json()["errorCode"]
        for i, key in enumerate(keys)
    ]  # fmt: skip
    assert codes == [0, 0, 98]


def test_serve_runs_uvicorn_without_proxy_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn would otherwise rewrite the peer from X-Forwarded-For sent from loopback."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda *_args, **kwargs: seen.update(kwargs))
    monkeypatch.setattr("smsaccounts.cli.upgrade", lambda _engine: [])  # no migration reports
    monkeypatch.setenv("SMSACCOUNTS_DATABASE_URL", "sqlite://")
    assert cli.main(["serve"]) == 0
    assert seen["proxy_headers"] is False


def test_an_unreadable_trusted_proxies_setting_stops_the_start(make_http: Any) -> None:
    with pytest.raises(ValueError, match="SMSACCOUNTS_TRUSTED_PROXIES"):
        make_http(trusted_proxies="10.0.0.0/33")
