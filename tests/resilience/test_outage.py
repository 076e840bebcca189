"""Database outages: while the database cannot be reached every dialect answers its own
"service unavailable" (mysms 99, reseller 9999, LINK 503, MOR an `<error>`), /healthz 503,
no client sees a trace, an exception or SQL; when the database is back the same app serves
again by itself.

PostgreSQL is reached through a loopback proxy the test can cut; SQLite is pointed at a
file in a directory that does not exist until the database "returns"."""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from lxml import etree
from sqlalchemy import make_url
from starlette.testclient import TestClient

from smsaccounts.app import create_app
from smsaccounts.config import Settings
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import BillingType
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import auth
from smsaccounts.storage.database import make_engine
from smsaccounts.storage.migrate import upgrade
from tests import factories
from tests.api.mor.conftest import sha1_hash
from tests.conftest import Backend, make_uow
from tests.resilience.proxy import Proxy

MOR_SECRET = "outage-secret"
MSISDN = "436761234567"
# Answers that would tell a client how we are built: traces, exception names, SQL, drivers.
LEAKS = re.compile(
    r"Traceback|\w+(Error|Exception)\b|ServiceUnavailable|sqlalchemy|psycopg|sqlite|"
    r"\bSELECT\b|\bINSERT\b|\bUPDATE\b|\bFROM\b|\bWHERE\b|connection|refused|"
    r"unable to open|postgres|5432|File \"",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True)
class Seed:
    """What a client of each dialect holds: keys, names, ids (placeholders before seeding)."""

    client_key: str = "sak_" + "0" * 32
    user_key: str = "sak_" + "1" * 32
    user_id: int = 2
    reseller: str = "outage-reseller"
    customer_oid: str = "0" * 24
    user_oid: str = "1" * 24
    auth_token: str = "sat_" + "0" * 32


Send = Callable[[TestClient, Seed], Any]


def _mysms(mount: str, path: str, element: str, fields: Callable[[Seed], dict[str, Any]]) -> Send:
    def send(http: TestClient, seed: Seed) -> Any:
        body = fields(seed)
        if mount == "json":
            return http.post(f"/json/user/{path}", json=body)
        root = etree.Element(element)
        for name, value in body.items():
            etree.SubElement(root, name).text = str(value)
        return http.post(f"/xml/user/{path}", content=etree.tostring(root),
                         headers={"Content-Type": "application/xml"})  # fmt: skip

    return send


def _login(seed: Seed) -> dict[str, Any]:
    return {"apiKey": seed.client_key, "msisdn": MSISDN, "password": factories.PASSWORD}


def _session(seed: Seed) -> dict[str, Any]:
    return {"apiKey": seed.client_key, "authToken": seed.auth_token}


def _reseller_balance(user: bool) -> Send:
    def send(http: TestClient, seed: Seed) -> Any:
        params = {"reseller": seed.reseller, "password": factories.PASSWORD,
                  "customerId": seed.customer_oid}  # fmt: skip
        if user:
            params["userId"] = seed.user_oid
        return http.post("/services/rest/admin/balance", data=params)

    return send


def _link(path: str) -> Send:
    def send(http: TestClient, seed: Seed) -> Any:
        return http.get(path.format(id=seed.user_id), params={"apikey": seed.user_key})

    return send


def _mor_details(http: TestClient, seed: Seed) -> Any:
    user_id = str(seed.user_id)
    return http.post("/billing/api/user_details_get", data={
        "u": "admin", "user_id": user_id, "hash": sha1_hash(user_id, MOR_SECRET)})  # fmt: skip


def _mor_balance(http: TestClient, seed: Seed) -> Any:
    user_id = str(seed.user_id)
    params = {"u": "admin", "user_id": user_id, "balance": "1",
              "hash": sha1_hash(user_id, "1", MOR_SECRET)}  # fmt: skip
    key = {"Idempotency-Key": secrets.token_hex(8)}
    return http.post("/billing/api/user_balance_update", data=params, headers=key)


# (style, what is asked, how) for a representative set of every dialect's operations.
PROBES: list[tuple[str, str, Send]] = [
    *[
        (f"mysms-{mount}", path, _mysms(mount, path, element, fields))
        for mount in ("json", "xml")
        for path, element, fields in (
            ("login", "userLoginRequest", _login),
            ("balance/get", "userGetBalanceRequest", _session),
            ("setting/get", "userGetSettingRequest", _session),
        )
    ],
    ("reseller", "admin/balance customer", _reseller_balance(user=False)),
    ("reseller", "admin/balance user", _reseller_balance(user=True)),
    *[
        (f"link-{fmt}", path, _link(path))
        for fmt in ("json", "xml")
        for path in (f"/v2/ping.{fmt}", f"/v2/users.{fmt}", f"/v2/user/{{id}}.{fmt}")
    ],
    ("mor", "user_details_get", _mor_details),
    ("mor", "user_balance_update", _mor_balance),
]


def _xml(response: Any) -> tuple[str, dict[str, str]]:
    assert response.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    return root.tag, {child.tag: child.text or "" for child in root} | {"": root.text or ""}


def _json(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response.content)
    return body


# style -> (the outage answer's (HTTP status, status field), the same for a success).
def _status(style: str, response: Any) -> tuple[int, str]:
    """The HTTP status and the dialect's own status field, read the dialect's way."""
    if style == "mysms-json":
        return response.status_code, str(_json(response)["errorCode"])
    if style == "mysms-xml":
        return response.status_code, _xml(response)[1]["errorCode"]
    if style == "reseller":
        return response.status_code, str(_json(response)["status"])
    if style == "link-json":
        return response.status_code, str(_json(response)["status"])
    if style == "link-xml":
        tag, fields = _xml(response)
        assert tag == "response"
        return response.status_code, fields["status"]
    tag, fields = _xml(response)  # mor: a document, or an <error> with its text inside one
    return response.status_code, f"error: {fields['error']}" if "error" in fields else tag


UNAVAILABLE = {
    "mysms-json": (200, "99"),
    "mysms-xml": (200, "99"),
    "reseller": (200, "9999"),
    "link-json": (503, "503"),
    "link-xml": (503, "503"),
    "mor": (200, "error: Service unavailable"),
}
SERVED = {
    "mysms-json": (200, "0"),
    "mysms-xml": (200, "0"),
    "reseller": (200, "0"),
    "link-json": (200, "200"),
    "link-xml": (200, "200"),
}


def _expect_unavailable(http: TestClient, seed: Seed, checks: collections.Counter[str]) -> None:
    for style, what, send in PROBES:
        response = send(http, seed)
        assert _status(style, response) == UNAVAILABLE[style], (style, what, response.text)
        assert not LEAKS.search(response.text), (style, what, response.text)
        checks[style.split("-")[0]] += 1
    health = http.get("/healthz")
    assert health.status_code == 503
    assert not LEAKS.search(health.text), health.text
    checks["healthz"] += 1


def _expect_served(http: TestClient, seed: Seed) -> None:
    for style, what, send in PROBES:
        status = _status(style, send(http, seed))
        if style == "mor":
            assert status in {(200, "page"), (200, "status")}, (what, status)
        else:
            assert status == SERVED[style], (style, what, status)
    assert http.get("/healthz").status_code == 200


class Outage(Protocol):
    app_url: str

    def start(self) -> None: ...


class SqliteOutage:
    """A database file in a directory that is not there; it "returns" once created."""

    def __init__(self, tmp: Path, settings: Settings) -> None:
        self.folder = tmp / "not-yet"
        self.app_url = f"sqlite:///{self.folder / 'app.db'}"
        self.settings = settings

    def start(self) -> None:
        self.folder.mkdir()
        engine = make_engine(self.settings, url=self.app_url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()


class PostgresOutage:
    """The app reaches PostgreSQL only through a proxy; stopping it is the outage."""

    def __init__(self, db_url: str) -> None:
        url = make_url(db_url)
        self.proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
        self.proxy.start()  # once, to own a port the app's URL can name
        self.proxy.stop()
        self.app_url = url.set(host="127.0.0.1", port=self.proxy.port).render_as_string(
            hide_password=False
        )

    def start(self) -> None:
        self.proxy.start()

    def stop(self) -> None:
        self.proxy.stop()


@pytest.fixture
def outage(backend: Backend, db_url: str, settings: Settings, tmp_path: Path) -> Iterator[Outage]:
    """A database that is down until `start()`; PostgreSQL's can be stopped again."""
    if backend.kind == "sqlite":
        yield SqliteOutage(tmp_path, settings)
        return
    pg = PostgresOutage(db_url)
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def server(outage: Outage) -> PostgresOutage:
    """A database server that can also go away while the app is serving."""
    # Tests using this are marked only_backend("postgresql"): an open SQLite file cannot be
    # taken away from the app.
    assert isinstance(outage, PostgresOutage)
    return outage


@pytest.fixture
def app_settings(settings: Settings, outage: Outage) -> Settings:
    return settings.replace(database_url=outage.app_url, rate_limit="1000000/second")


@pytest.fixture
def http(app_settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    engine = make_engine(app_settings)
    app = create_app(app_settings, uow=make_uow(app_settings, engine, clock), deliver_sms=False)
    try:
        with TestClient(app, client=("10.1.2.3", 5000)) as client:
            yield client
    finally:
        engine.dispose()


def _seed(settings: Settings, clock: FakeClock, http: TestClient) -> Seed:
    """The accounts and keys every probe needs, written through the returned database."""
    engine = make_engine(settings)
    try:
        uow = make_uow(settings, engine, clock)
        auth.set_mor_secret(uow, account_id=ADMIN_ID, secret=MOR_SECRET)
        reseller = factories.reseller(uow, name="outage-reseller")
        customer = factories.customer(uow, parent=reseller)
        user = factories.user(uow, parent=customer, name=MSISDN, msisdn=MSISDN,
                              acl_admin=True, billing_type=BillingType.POST_PAID)  # fmt: skip
        seed = Seed(client_key=factories.client_key(uow, customer),
                    user_key=factories.user_key(uow, user), user_id=user.id,
                    reseller=reseller.name, customer_oid=customer.object_id,
                    user_oid=user.object_id)  # fmt: skip
    finally:
        engine.dispose()
    login = _json(http.post("/json/user/login", json=_login(seed)))
    assert login["errorCode"] == 0, login
    return dataclasses.replace(seed, auth_token=login["authToken"])


def _report(checks: collections.Counter[str]) -> None:
    print("outage checks:", dict(sorted(checks.items())))


def test_started_without_its_database_every_dialect_answers_unavailable_then_serves_when_back(
    http: TestClient, outage: Outage, app_settings: Settings, clock: FakeClock
) -> None:
    checks: collections.Counter[str] = collections.Counter()
    for _ in range(2):
        _expect_unavailable(http, Seed(), checks)
    outage.start()
    _expect_served(http, _seed(app_settings, clock, http))
    _report(checks)


@pytest.mark.only_backend("postgresql")
def test_a_database_lost_while_serving_is_reported_unavailable_and_service_resumes_by_itself(
    http: TestClient, server: PostgresOutage, app_settings: Settings, clock: FakeClock
) -> None:
    server.start()
    seed = _seed(app_settings, clock, http)
    _expect_served(http, seed)
    checks: collections.Counter[str] = collections.Counter()
    for _ in range(3):
        server.stop()
        _expect_unavailable(http, seed, checks)
        _expect_unavailable(http, seed, checks)
        server.start()
        _expect_served(http, seed)
    _report(checks)


@pytest.mark.only_backend("postgresql")
def test_a_database_restart_while_the_app_is_idle_costs_no_request(
    http: TestClient, server: PostgresOutage, app_settings: Settings, clock: FakeClock
) -> None:
    """Connections the restart cut are found dead before use, not by a client's request."""
    server.start()
    seed = _seed(app_settings, clock, http)
    for _ in range(3):
        _expect_served(http, seed)
        server.stop()
        server.start()
        _expect_served(http, seed)


@pytest.mark.only_backend("postgresql")
@pytest.mark.parametrize("style", ["mor", "reseller"])
def test_a_read_awaited_on_the_event_loop_after_an_idle_restart_costs_no_request(
    http: TestClient, server: PostgresOutage, app_settings: Settings, clock: FakeClock, style: str
) -> None:
    """MOR details and a remembered reseller balance await their lookups on connections of
    their own kept between calls (storage/awaited.py): the first read after a restart finds
    its connection dead and reads again on a new one, when no other door came first."""
    server.start()
    seed = _seed(app_settings, clock, http)
    probes = [(name, what, send) for name, what, send in PROBES if name == style]
    for _ in range(3):
        for _name, what, send in probes:
            assert _status(style, send(http, seed))[1] in {"page", "status", "0"}, what
        server.stop()
        server.start()
