"""/readyz names each dependency a request needs that is not there: the database, pending
migrations, and Redis when the rate limits are kept there; /healthz only says the process
answers. Outages are made with the loopback proxy the tests can cut."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import make_url, text
from starlette.testclient import TestClient

from smsaccounts.app import create_app
from smsaccounts.config import Settings
from smsaccounts.domain.clock import FakeClock
from smsaccounts.health import migration_heads
from smsaccounts.storage.database import make_engine
from tests.conftest import make_uow
from tests.resilience.proxy import Proxy

REDIS_URL = os.environ.get("SMSACCOUNTS_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


def _app(settings: Settings, clock: FakeClock) -> TestClient:
    engine = make_engine(settings, **_quick_connect(settings))
    app = create_app(settings, uow=make_uow(settings, engine, clock), deliver_sms=False)
    return TestClient(app)


def _quick_connect(settings: Settings) -> dict[str, Any]:
    return {} if settings.is_sqlite else {"connect_args": {"connect_timeout": 2}}


def _ready(http: TestClient) -> tuple[int, dict[str, Any]]:
    answer = http.get("/readyz")
    return answer.status_code, answer.json()


@pytest.fixture
def redis_proxy() -> Iterator[Proxy]:
    url = make_url(REDIS_URL)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 6379))
    proxy.start()
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 - no Redis here: nothing to test against
        proxy.stop()
        pytest.skip(f"no Redis at {REDIS_URL}")
    yield proxy
    proxy.stop()


def test_readyz_answers_ready_while_the_database_is_migrated(
    settings: Settings, clock: FakeClock
) -> None:
    with _app(settings, clock) as http:
        assert _ready(http) == (200, {"status": "ready"})


def test_readyz_names_pending_migrations(settings: Settings, engine: Any, clock: FakeClock) -> None:
    """A database behind this code's migrations (here: put back to 0003) is not ready."""
    (head,) = migration_heads()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    try:
        with _app(settings, clock) as http:
            assert _ready(http) == (503, {"status": "unavailable", "failed": ["migrations"]})
            assert http.get("/healthz").status_code == 200  # the process answers all the same
    finally:  # the PostgreSQL schema is the session's: put its version back
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_a_database_migrated_by_a_newer_version_leaves_this_one_ready(
    settings: Settings, engine: Any, clock: FakeClock
) -> None:
    """During a rolling upgrade the old workers keep serving after the new migrations."""
    (head,) = migration_heads()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    try:
        with _app(settings, clock) as http:
            assert _ready(http) == (200, {"status": "ready"})
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_readyz_names_the_database_when_it_does_not_answer(
    settings: Settings, clock: FakeClock, tmp_path: Any
) -> None:
    if settings.is_sqlite:
        down = settings.replace(database_url=f"sqlite:///{tmp_path}/missing/dir/x.db")
        with _app(down, clock) as http:
            assert _ready(http) == (503, {"status": "unavailable", "failed": ["database"]})
        return
    url = make_url(settings.database_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    proxied = settings.replace(
        database_url=url.set(port=proxy.port).render_as_string(hide_password=False)
    )
    try:
        with _app(proxied, clock) as http:
            assert _ready(http) == (200, {"status": "ready"})
            proxy.stop()
            assert _ready(http) == (503, {"status": "unavailable", "failed": ["database"]})
            proxy.start()
            assert _ready(http) == (200, {"status": "ready"})
    finally:
        proxy.stop()


def test_readyz_names_redis_when_the_limits_live_there_and_it_is_down(
    settings: Settings, clock: FakeClock, redis_proxy: Proxy
) -> None:
    shared = settings.replace(redis_url=f"redis://127.0.0.1:{redis_proxy.port}/5")
    with _app(shared, clock) as http:
        assert _ready(http) == (200, {"status": "ready"})
        redis_proxy.stop()
        assert _ready(http) == (503, {"status": "unavailable", "failed": ["redis"]})
        # A mysms call would answer 99 now: that is what readiness keeps traffic away from.
        errors = REGISTRY.get_sample_value("smsaccounts_redis_errors_total") or 0.0
        answer = http.post("/json/user/balance/get", json={"apiKey": "sak_x", "authToken": "x"})
        assert answer.json()["errorCode"] == 99
        assert REGISTRY.get_sample_value("smsaccounts_redis_errors_total") == errors + 1
        redis_proxy.start()
        assert _ready(http) == (200, {"status": "ready"})


def test_readyz_ignores_redis_when_none_is_configured(settings: Settings, clock: FakeClock) -> None:
    assert settings.redis_url == ""
    with _app(settings, clock) as http:
        assert _ready(http)[0] == 200
