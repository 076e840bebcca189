"""Fixtures for the mysms API: a tenant (customer + client key) and apps with own settings."""

from __future__ import annotations

import dataclasses
import io
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from starlette.testclient import TestClient

from smsaccounts.domain.models import Account
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .wire_client import Api

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
    del http  # requested for its effect only (see above)
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
