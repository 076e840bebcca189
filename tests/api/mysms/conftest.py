"""Fixtures for the mysms API: a tenant (customer + client key) and apps with own settings."""

from __future__ import annotations

import dataclasses
import io
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from sqlalchemy import Engine
from starlette.testclient import TestClient

from smsaccounts.app import create_app
from smsaccounts.config import Settings
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import Account
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.conftest import make_uow

from .wire_client import Api

CLIENT_IP = "10.1.2.3"
RIGHTS = frozenset({"user.create", "user.delete"})


@dataclasses.dataclass
class Tenant:
    customer: Account
    key: str


@pytest.fixture
def tenant(uow: UnitOfWork) -> Tenant:
    customer = factories.customer(uow)
    return Tenant(customer, factories.client_key(uow, customer, rights=RIGHTS))


@pytest.fixture
def make_http(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[Any]:
    """Build an app on this test's database with changed settings, served to `ip`.

    The default rate limit is raised so that a long test never meets it by accident; the
    98 tests set their own small limit.
    """
    clients: list[TestClient] = []

    def build(ip: str = CLIENT_IP, **changes: Any) -> TestClient:
        app_settings = settings.replace(**{"rate_limit": "100000/second", **changes})
        app = create_app(app_settings, uow=make_uow(app_settings, engine, clock),
                         deliver_sms=False)  # fmt: skip
        http = TestClient(app, client=(ip, 5000))
        clients.append(http)
        return http

    yield build
    for http in clients:
        http.close()


@pytest.fixture
def http(make_http: Any) -> TestClient:
    http: TestClient = make_http()
    return http


@pytest.fixture(params=["json", "xml"])
def api(request: pytest.FixtureRequest, http: TestClient) -> Api:
    """The same test in JSON on /json and in XML on /xml."""
    return Api(http, request.param)


@pytest.fixture
def captured_logs(http: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Every structlog line the app writes during the test, as JSON lines.

    Loggers cache the stream they first wrote to (`cache_logger_on_first_use`), so each
    module's `log` is swapped for a fresh proxy over a configuration writing here. Depends
    on `http` so that the app's own `logs.configure` runs before this one.
    """
    buffer = io.StringIO()
    for name, module in list(sys.modules.items()):
        if name.startswith("smsaccounts") and hasattr(module, "log"):
            monkeypatch.setattr(module, "log", structlog.get_logger(name))
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=buffer),
        cache_logger_on_first_use=False,
    )
    yield buffer
    structlog.reset_defaults()
