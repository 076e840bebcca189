"""What every dialect gets from the one pipeline: its own shape for bad bodies, unknown
paths and wrong methods, rate limits before any password hash, no redirect built from the
Host header, and one access log line per request without a secret."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.domain.credentials import Passwords
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories, multiserver
from tests.factories import PASSWORD

DEEP_JSON = b'{"a":' * 1000 + b"1" + b"}" * 1000
DEEP_XML = b"<a>" * 1000 + b"1" + b"</a>" * 1000

# dialect -> (a POST path it serves, a path under its mount it does not serve)
PATHS = {
    "mysms": ("/json/user/login", "/json/user/nothing"),
    "reseller": ("/services/rest/admin/balance", "/services/rest/nothing"),
    "link": ("/v2/user.json", "/v2/nothing.json"),
    "mor": ("/billing/api/user_details_get", "/billing/api/nothing"),
}


def _shape(dialect: str, response: Any) -> Any:
    """The dialect's own error field, read its way; fails on any other shape."""
    kind = response.headers["content-type"]
    if dialect == "mysms":
        assert kind.startswith("application/json")
        return response.json()["errorCode"]
    if dialect in ("reseller", "link"):
        assert kind.startswith("application/json")
        body = response.json()
        assert isinstance(body["message"], str)
        return body["status"]
    assert kind.startswith("application/xml")
    root = etree.fromstring(response.content)
    assert root.tag == "page"  # MOR's error documents: <page><error>...</error></page>
    return root.findtext("error")


@pytest.fixture
def link_key(uow: UnitOfWork) -> str:
    admin = factories.user(uow, parent=factories.customer(uow), acl_admin=True)
    return factories.user_key(uow, admin)


@pytest.mark.parametrize(("body", "media"), [(DEEP_JSON, "application/json"),
                                             (DEEP_XML, "application/xml")])  # fmt: skip
def test_a_body_nested_a_thousand_levels_is_each_dialects_bad_request(
    client: TestClient, link_key: str, body: bytes, media: str
) -> None:
    headers = {"content-type": media}
    mysms = client.post(PATHS["mysms"][0], content=body, headers=headers)
    assert (mysms.status_code, _shape("mysms", mysms)) == (400, 2)
    reseller = client.post(PATHS["reseller"][0], content=body, headers=headers)
    if media == "application/json":  # an XML body is no parameter source: status 1
        assert (reseller.status_code, _shape("reseller", reseller)) == (200, 2)
        assert reseller.json()["field"] == "body"
    link = client.post(f"{PATHS['link'][0]}?apikey={link_key}", content=body, headers=headers)
    assert (link.status_code, _shape("link", link)) == (400, 400)
    mor = client.post(PATHS["mor"][0], content=body, headers=headers)
    if media == "application/json":
        assert (mor.status_code, _shape("mor", mor)) == (200, "Incorrect hash")


# dialect -> (HTTP status, its own code) for an unknown path, and for a wrong method
UNKNOWN = {
    "mysms": ((404, 2), (405, 2)),
    "reseller": ((404, 2), (405, 2)),
    "link": ((404, 404), (405, 405)),
    "mor": ((404, "Unknown API function"), (405, "Method not allowed")),
}


@pytest.mark.parametrize("dialect", list(PATHS))
def test_an_unknown_path_and_a_wrong_method_answer_in_the_dialects_own_shape(
    client: TestClient, dialect: str
) -> None:
    served, unknown = PATHS[dialect]
    missing = client.post(unknown)
    assert (missing.status_code, _shape(dialect, missing)) == UNKNOWN[dialect][0]
    wrong = client.request("PATCH", served)
    assert (wrong.status_code, _shape(dialect, wrong)) == UNKNOWN[dialect][1]
    assert "POST" in wrong.headers["allow"]


def test_a_trailing_slash_is_never_redirected_to_the_host_the_client_names(
    client: TestClient, link_key: str
) -> None:
    for path in (f"/v2/users.json/?apikey={link_key}", "/healthz/", "/json/user/login/"):
        answer = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
        assert answer.status_code == 404, path
        assert "location" not in answer.headers
        assert "evil.example" not in answer.text


class Counted:
    """Counts argon2 verifies, wherever they come from."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = Passwords.verify

        def verify(passwords: Passwords, stored: str | None, password: str) -> bool:
            self.calls += 1
            return real(passwords, stored, password)

        monkeypatch.setattr(Passwords, "verify", verify)


@pytest.fixture
def verifies(monkeypatch: pytest.MonkeyPatch) -> Counted:
    return Counted(monkeypatch)


def _floods(uow: UnitOfWork) -> dict[str, Callable[[TestClient, int], Any]]:
    """Per dialect, the n-th made-up password login (all for the same credential)."""
    reseller = factories.reseller(uow)
    admin_params = {"reseller": reseller.name, "customerId": "5a4e96a030046095c7ef280f"}
    return {
        "mysms": lambda http, n: http.post("/json/user/login", json={
            "apiKey": "sak_made_up", "msisdn": "436761234567", "password": f"guess{n}"}),
        "reseller": lambda http, n: http.post("/services/rest/admin/balance",
                                              data={**admin_params, "password": f"guess{n}"}),
        "link": lambda http, n: http.get("/v2/ping.json", params={
            "apikey": "legacy", "type": "plain", "username": "nobody", "password": f"g{n}"}),
        "mor": lambda http, n: http.post("/billing/api/user_details_get", data={
            "u": "admin", "p": f"guess{n}", "user_id": "1", "hash": "0" * 40}),
    }  # fmt: skip


TOO_MANY = {"mysms": (200, 98), "reseller": (429, 429), "link": (429, 429),
            "mor": (429, "Too many requests")}  # fmt: skip


@pytest.mark.parametrize("dialect", list(TOO_MANY))
def test_a_flood_beyond_the_rate_limit_is_refused_before_any_password_is_hashed(
    make_http: Callable[..., TestClient], uow: UnitOfWork, verifies: Counted, dialect: str
) -> None:
    http = make_http(rate_limit="3/minute")
    send = _floods(uow)[dialect]
    answers = [send(http, n) for n in range(8)]
    refused = answers[3:]
    assert all((a.status_code, _shape(dialect, a)) == TOO_MANY[dialect] for a in refused)
    if dialect != "mysms":  # mysms answers HTTP 200, as all its errors
        assert all(int(a.headers["retry-after"]) >= 1 for a in refused)
    assert verifies.calls <= 3  # the three let through; none of the refused five


@pytest.fixture
def access_lines(make_http: Callable[..., TestClient]) -> Iterator[tuple[TestClient, io.StringIO]]:
    http = make_http()
    http.__enter__()  # the app configures logging at start; ours comes after
    buffer = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=buffer),
        cache_logger_on_first_use=False,
    )
    yield http, buffer
    structlog.reset_defaults()


@multiserver.reads_logs
def test_every_request_in_every_dialect_writes_one_access_line_without_a_secret(
    access_lines: tuple[TestClient, io.StringIO], uow: UnitOfWork
) -> None:
    http, buffer = access_lines
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer)
    user = factories.user(uow, parent=customer, msisdn="436761234567", acl_admin=True)
    user_key = factories.user_key(uow, user)
    reseller = factories.reseller(uow)
    secrets = [key, user_key, PASSWORD, "wrong-password-4711"]
    http.post("/json/user/login", json={"apiKey": key, "msisdn": "436761234567",
                                        "password": PASSWORD})  # fmt: skip
    http.post("/services/rest/admin/balance", data={
        "reseller": reseller.name, "password": "wrong-password-4711",
        "customerId": "5a4e96a030046095c7ef280f"})  # fmt: skip
    http.get(f"/v2/ping.json?apikey={user_key}")
    http.post("/billing/api/user_details_get", data={"u": "admin", "user_id": "1",
                                                     "hash": "0" * 40})  # fmt: skip
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    access = [line for line in lines if line["event"].endswith(" request")]
    assert [line["dialect"] for line in access] == ["mysms", "reseller", "link", "mor"]
    assert [line["status"] for line in access] == [200, 200, 200, 200]
    assert [line["result"] for line in access] == ["ok", "3", "ok", "Incorrect hash"]
    assert access[0]["caller_id"] == user.id
    assert access[2]["caller_id"] == user.id
    for line in access:
        assert len(line["request_id"]) == 8
        assert line["client_ip"]
        assert line["duration_ms"] >= 0
        assert line["operation"]
    for secret in secrets:
        assert secret not in buffer.getvalue()


@pytest.mark.parametrize("dialect", list(PATHS))
def test_a_path_no_route_pattern_matches_still_answers_in_the_dialects_shape(
    client: TestClient, dialect: str
) -> None:
    """A line break in the path matches no route pattern, not even a catch-all."""
    mount = PATHS[dialect][1].rpartition("/")[0]
    answer = client.post(f"{mount}/a%0Ab")
    assert (answer.status_code, _shape(dialect, answer)) == UNKNOWN[dialect][0]


@multiserver.reads_logs
def test_a_redis_outage_is_each_dialects_unavailable_and_logged_with_its_cause(
    make_http: Callable[..., TestClient],
) -> None:
    """Nothing listens on port 1: the shared rate limit cannot be counted, which is an
    outage (never a free pass), logged once per request with what failed."""
    http = make_http(redis_url="redis://127.0.0.1:1/0")
    http.__enter__()
    buffer = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=buffer),
        cache_logger_on_first_use=False,
    )
    try:
        mysms = http.post("/json/user/balance/get", json={"apiKey": "sak_x", "authToken": "t"})
        link = http.get("/v2/ping.json?apikey=sak_x")
    finally:
        structlog.reset_defaults()
    assert mysms.json()["errorCode"] == 99
    assert link.status_code == 503
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    outages = [line for line in lines if line["event"].endswith("dependency unavailable")]
    assert [line["dialect"] for line in outages] == ["mysms", "link"]
    assert all(line["level"] == "warning" for line in outages)
    assert all(line["cause"] and line["detail"] for line in outages)
    assert len(lines) == 2  # one line per request, the outage's
