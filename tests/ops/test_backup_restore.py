"""Backup and restore as docs/deploy.md tells an operator: back up a database in use,
restore it into a fresh one, and `smsaccounts db verify` passes there, with every wallet
and ledger row as it was. SQLite: `smsaccounts db backup`; PostgreSQL: pg_dump and
pg_restore."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, make_url, select

from smsaccounts.domain.models import Asset
from smsaccounts.services import wallet
from smsaccounts.storage.tables import accounts, ledger, wallets
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.servers import COMMAND


def _cli(url: str, *args: str) -> tuple[int, dict[str, Any]]:
    env = {**os.environ, "SMSACCOUNTS_DATABASE_URL": url}
    done = subprocess.run([COMMAND, *args], env=env, capture_output=True, text=True, check=False)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def _contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    orders = ((accounts, accounts.c.id), (wallets, wallets.c.account_id), (ledger, ledger.c.id))
    with engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(select(table).order_by(key))]
            for table, key in orders
        }


def _seed(uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow, credits=1000)
    for _ in range(3):
        customer = factories.customer(uow, parent=reseller)
        wallet.transfer(uow, from_id=reseller.id, to_id=customer.id, asset=Asset.CREDITS,
                        amount=100, reason="test")  # fmt: skip
        factories.user(uow, parent=customer)


@pytest.fixture
def restored_pg() -> Iterator[str]:
    """A fresh PostgreSQL database's name, dropped afterwards."""
    name = f"h20_restore_{secrets.token_hex(4)}"
    yield name
    server = make_url(os.environ["SMSACCOUNTS_TEST_DATABASE_URL"]).set(
        database="postgres", query={}
    )
    with psycopg.connect(server.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restored_into_a_fresh_database_verifies(
    db_url: str, uow: UnitOfWork, engine: Engine, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _seed(uow)
    if db_url.startswith("sqlite"):
        backup = tmp_path / "backup.db"
        assert _cli(db_url, "db", "backup", str(backup))[1]["status"] == "ok"
        fresh = tmp_path / "restored" / "smsaccounts.db"
        fresh.parent.mkdir()
        shutil.copyfile(backup, fresh)  # restoring a SQLite backup is putting the file back
        restored_url = f"sqlite:///{fresh}"
    else:
        restored_url = _pg_round_trip(db_url, tmp_path, request.getfixturevalue("restored_pg"))
    assert _cli(restored_url, "db", "verify") == (0, {"status": "ok"})
    from smsaccounts.config import Settings
    from smsaccounts.storage.database import make_engine

    restored = make_engine(Settings(), url=restored_url)
    try:
        assert _contents(restored) == _contents(engine)
    finally:
        restored.dispose()


def _pg_round_trip(db_url: str, tmp_path: Path, name: str) -> str:
    """pg_dump the test's schema, pg_restore it into database `name`; its URL."""
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed")
    url = make_url(db_url)
    schema = str(url.query.get("options", "=public")).rpartition("=")[2]
    plain = url.set(query={}).render_as_string(hide_password=False)
    dump = tmp_path / "backup.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}", f"--file={dump}", plain],
                   check=True)  # fmt: skip
    server = url.set(database="postgres", query={}).render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    target = url.set(database=name, query={}).render_as_string(hide_password=False)
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={target}", str(dump)], check=True)
    return url.set(database=name).render_as_string(hide_password=False)
