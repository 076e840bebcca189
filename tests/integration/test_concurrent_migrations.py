"""Four workers starting at once on a fresh database apply the migrations exactly once: the
first holds the lock (PostgreSQL's advisory lock, SQLite's write lock) and migrates, the
others wait and find nothing left to do. Without the lock the others fail on tables that
already exist (PostgreSQL) or on a read lock they cannot upgrade (SQLite)."""

from __future__ import annotations

import multiprocessing
import secrets
from collections.abc import Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, make_url, select, text

from smsaccounts.config import Settings
from smsaccounts.health import migration_heads
from smsaccounts.storage.database import make_engine
from smsaccounts.storage.migrate import upgrade
from smsaccounts.storage.tables import accounts, metadata
from tests.conftest import PG_URL

WORKERS = 4


def _worker(url: str, barrier: Barrier, outcomes: Queue[str]) -> None:
    engine = make_engine(Settings(), url=url)
    try:
        barrier.wait(timeout=60)  # all four are up first, then start together
        upgrade(engine)
    except Exception as error:  # noqa: BLE001 - reported to the test, which fails on it
        outcomes.put(f"{type(error).__name__}: {error}"[:300])
    else:
        outcomes.put("ok")
    finally:
        engine.dispose()


# PostgreSQL only where the suite runs on it (SMSACCOUNTS_TEST_DATABASE_URL): never skipped.
@pytest.fixture(params=["sqlite", *(["postgresql"] if PG_URL else [])])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nobody has migrated: a new file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"h20_mig_{secrets.token_hex(4)}"
    server = make_url(PG_URL).set(database="postgres", query={})
    dsn = server.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(PG_URL).set(database=name, query={}).render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_four_workers_starting_at_once_migrate_exactly_once(fresh_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(WORKERS), context.Queue()
    workers = [
        context.Process(target=_worker, args=(fresh_url, barrier, queue)) for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    outcomes = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert outcomes == ["ok"] * WORKERS
    engine = make_engine(Settings(), url=fresh_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            assert sorted(versions) == sorted(migration_heads())
            # The first migration's one admin row: written once, not once per worker.
            assert conn.execute(select(func.count()).select_from(accounts)).scalar_one() == 1
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
            assert diff == []
    finally:
        engine.dispose()
