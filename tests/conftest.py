"""Fixtures shared by every test: a fresh migrated database per test on SQLite and, when
SMSACCOUNTS_TEST_DATABASE_URL is set, on PostgreSQL too; a movable clock; cheap argon2."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, select, text

from smsaccounts.config import Settings
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.credentials import Passwords
from smsaccounts.storage.database import Database, make_engine
from smsaccounts.storage.migrate import upgrade
from smsaccounts.storage.tables import accounts, metadata, wallets
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories, multiserver

PG_URL = os.environ.get("SMSACCOUNTS_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
# Behind PgBouncer (transaction pooling): no server-side prepared statements, and one
# dedicated database whose public schema the tests use (PgBouncer passes no `options`, so a
# schema of the test run's own cannot be chosen by search_path).
PG_PREPARED = os.environ.get("SMSACCOUNTS_PG_PREPARED_STATEMENTS", "true").lower() != "false"
PG_PUBLIC = os.environ.get("SMSACCOUNTS_TEST_PG_SCHEMA", "") == "public"
BASE = Settings(pg_prepared_statements=PG_PREPARED)
BASE_CONNECT: dict[str, Any] = {} if PG_PREPARED else {"prepare_threshold": None}
if multiserver.COUNT:  # servers in processes of their own share one PostgreSQL database
    if not PG_URL:
        raise RuntimeError("SMSACCOUNTS_TEST_SERVERS needs SMSACCOUNTS_TEST_DATABASE_URL")
    BACKENDS = ["postgresql"]

# Cheap but real argon2id: tests verify the mechanism, not the cost.
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 8, "argon2_parallelism": 1}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "only_backend(kind): run on that database kind only (deselected elsewhere)"
    )
    config.addinivalue_line(
        "markers",
        "in_process(reason): needs the app in the test's process (deselected when "
        "SMSACCOUNTS_TEST_SERVERS spreads requests over real servers)",
    )


def _in_process_reason(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("in_process")
    if marker:
        return str(marker.args[0])
    used = multiserver.IN_PROCESS_FIXTURES & set(getattr(item, "fixturenames", ()))
    if used:
        return f"patches or reads the in-process app ({', '.join(sorted(used))})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests meaningful on one database kind are deselected on the others, never skipped.

    With SMSACCOUNTS_TEST_SERVERS, a test that needs the app in this process (it patches
    code there, reads its logs, or moves its clock) is deselected too; one line says how many
    and why."""
    keep, drop, in_process = [], [], 0
    for item in items:
        marker = item.get_closest_marker("only_backend")
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("backend") if callspec else None
        if marker and kind is not None and kind != marker.args[0]:
            drop.append(item)
        elif multiserver.COUNT and _in_process_reason(item):
            in_process += 1
            drop.append(item)
        else:
            keep.append(item)
    if in_process:
        print(f"SMSACCOUNTS_TEST_SERVERS: {in_process} tests that need the app in this process "
              "(they patch it, read its logs or move its clock) are deselected")  # fmt: skip
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class Backend:
    """One database kind for the session: a URL per test and a way to make it fresh."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.tmp = tmp
        if kind == "sqlite":
            self.template = tmp / "template.db"
            engine = make_engine(Settings(), url=f"sqlite:///{self.template}")
            upgrade(engine)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
        else:
            self.schema = "public" if PG_PUBLIC else f"t_{os.getpid()}_{secrets.token_hex(4)}"
            self.url = PG_URL
            base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
            admin = create_engine(base, connect_args=BASE_CONNECT)
            with admin.begin() as conn:
                if PG_PUBLIC:  # the run's own database: start it empty
                    conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            if not PG_PUBLIC:
                sep = "&" if "?" in PG_URL else "?"
                self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}"
            self.engine = make_engine(BASE, url=self.url)
            upgrade(self.engine)
            with self.engine.connect() as conn:
                self.seed = {
                    table: [dict(r._mapping) for r in conn.execute(select(table))]
                    for table in (accounts, wallets)
                }

    def fresh_url(self, name: str) -> str:
        if self.kind == "sqlite":
            path = self.tmp / f"{name}-{secrets.token_hex(4)}.db"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        tables = ", ".join(t.name for t in metadata.sorted_tables)
        with self.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            for table, rows in self.seed.items():
                conn.execute(insert(table), rows)
            conn.execute(text("SELECT setval(pg_get_serial_sequence('accounts', 'id'), 1)"))
        return self.url

    def close(self) -> None:
        if self.kind == "postgresql":
            self.engine.dispose()
            if PG_PUBLIC:
                return  # the database is the run's own; whoever made it drops it
            admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    b = Backend(request.param, tmp_path_factory.mktemp(request.param))
    yield b
    b.close()


@pytest.fixture
def db_url(backend: Backend, request: pytest.FixtureRequest) -> str:
    if multiserver.COUNT:
        multiserver.flush_redis()
    return backend.fresh_url(request.node.name[:40].replace("/", "_").replace("[", "_"))


@pytest.fixture
def clock() -> FakeClock:
    if multiserver.COUNT:  # the servers read the real time: what the test writes must too
        return FakeClock(dt.datetime.now(dt.UTC))
    return FakeClock()


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[multiserver.Pool]:
    pool = multiserver.Pool(tmp_path_factory.mktemp("servers"))
    yield pool
    pool.close()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return BASE.replace(database_url=db_url, log_format="console", **FAST_ARGON2)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(settings: Settings, engine: Engine, clock: FakeClock) -> UnitOfWork:
    return make_uow(settings, engine, clock)


_OPEN: list[UnitOfWork] = []


@pytest.fixture(autouse=True)
def _close_units_of_work() -> Iterator[None]:
    """Every unit of work a test made is closed when it ends (its raw read connections too)."""
    yield
    while _OPEN:
        _OPEN.pop().close()


def make_uow(settings: Settings, engine: Engine, clock: Any) -> UnitOfWork:
    unit = UnitOfWork(
        settings=settings,
        db=Database(engine),
        clock=clock,
        passwords=Passwords(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
            cache_seconds=settings.credential_cache_seconds,
        ),
    )
    _OPEN.append(unit)
    return unit


@pytest.fixture
def client(settings: Settings, uow: UnitOfWork, request: pytest.FixtureRequest) -> Iterator[Any]:
    """An in-process HTTP client for the whole app (every dialect), on this test's database.

    Pass `client=("10.1.2.3", 5000)` to a TestClient of your own to test IP ranges.
    """
    from starlette.testclient import TestClient

    from smsaccounts.app import create_app

    if multiserver.COUNT:
        del uow  # the servers have their own
        pool = request.getfixturevalue("server_pool")
        with multiserver.RoundRobin(pool.servers(settings), None) as spread:
            yield spread
        return
    with TestClient(create_app(settings, uow=uow, deliver_sms=False)) as test_client:
        yield test_client


CLIENT_IP = "10.1.2.3"


@pytest.fixture
def make_http(
    settings: Settings, engine: Engine, clock: FakeClock, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """Build an app on this test's database with changed settings, served to `ip`.

    The default rate limit is raised so that a long test never meets it by accident; tests
    of the limit set their own.
    """
    from starlette.testclient import TestClient

    from smsaccounts.app import create_app

    clients: list[Any] = []

    def build(ip: str = CLIENT_IP, **changes: Any) -> Any:
        app_settings = settings.replace(**{"rate_limit": "100000/second", **changes})
        if multiserver.COUNT:
            pool = request.getfixturevalue("server_pool")
            spread = multiserver.RoundRobin(pool.servers(app_settings), ip)
            clients.append(spread)
            return spread
        app = create_app(app_settings, uow=make_uow(app_settings, engine, clock),
                         deliver_sms=False)  # fmt: skip
        http = TestClient(app, client=(ip, 5000))
        clients.append(http)
        return http

    yield build
    for http in clients:
        http.close()


@pytest.fixture
def gateway(uow: UnitOfWork) -> str:
    """A gateway's API key (the charging API's caller)."""
    return factories.gateway_key(uow)
