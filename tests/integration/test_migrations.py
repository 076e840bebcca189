"""The Alembic history builds exactly the schema `storage/tables.py` declares, on SQLite and
PostgreSQL, and revision 0003 carries data written under 0001 over.

Migration tests start from an empty database of their own (a file, or a PostgreSQL schema),
migrate it to 0001, write rows as 0001 allowed them, and migrate to the head.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    Connection,
    Engine,
    column,
    create_engine,
    func,
    insert,
    select,
    table,
    text,
    update,
)
from sqlalchemy import (
    inspect as sa_inspect,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from smsaccounts.config import Settings
from smsaccounts.domain.bounds import ID_MAX
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import Asset
from smsaccounts.health import migration_heads
from smsaccounts.services import wallet
from smsaccounts.storage.database import make_engine
from smsaccounts.storage.migrate import alembic_config, upgrade
from smsaccounts.storage.tables import accounts, ledger, metadata, outbox, wallets
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests.conftest import FAST_ARGON2, PG_URL, Backend, make_uow

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def blank(backend: Backend, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database (no tables at all) of the session's kind."""
    if backend.kind == "sqlite":
        engine = make_engine(Settings(), url=f"sqlite:///{tmp_path / 'blank.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"m_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    engine = make_engine(Settings(), url=f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_the_migrated_schema_is_exactly_what_tables_py_declares(blank: Engine) -> None:
    """Types included: on PostgreSQL every id column is BIGINT, as on SQLite."""
    upgrade(blank)
    with blank.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def _account_with_id(account_id: int) -> dict[str, object]:
    return {"id": account_id, "object_id": secrets.token_hex(12), "kind": "reseller",
            "name": f"r{account_id}", "parent_id": 1, "path": f"1.{account_id}",
            "created_at": NOW}  # fmt: skip


@pytest.mark.parametrize("account_id", [2**31, ID_MAX], ids=["2^31", "2^63-1"])
def test_ids_up_to_2_63_minus_1_are_stored_and_found(uow: UnitOfWork, account_id: int) -> None:
    with uow.write() as tx:
        tx.conn.execute(insert(accounts).values(_account_with_id(account_id)))
        tx.conn.execute(insert(wallets).values(account_id=account_id, currency="EUR"))
    with uow.read() as tx:
        found = tx.accounts.get(account_id)
        assert found is not None
        assert found.id == account_id
        assert tx.wallets.get(account_id) is not None


@pytest.mark.only_backend("postgresql")
def test_postgresql_hands_out_ids_beyond_2_31(uow: UnitOfWork) -> None:
    from tests import factories

    with uow.write() as tx:
        tx.conn.execute(text("SELECT setval(pg_get_serial_sequence('accounts', 'id'), 2147483648)"))
    reseller = factories.reseller(uow)
    assert reseller.id == 2**31 + 1
    with uow.read() as tx:
        assert tx.conn.execute(select(accounts.c.id).where(accounts.c.id > 2**31)).all()


# -- data written under 0001 -------------------------------------------------------------

NAIVE_NOW = NOW.replace(tzinfo=None)  # 0001's columns hold naive UTC


def _old_account(conn: Connection, account_id: int, **values: object) -> None:
    row = {"id": account_id, "object_id": secrets.token_hex(12), "kind": "user",
           "name": f"u{account_id}", "parent_id": 1, "path": f"1.{account_id}",
           "created_at": NAIVE_NOW, **values}  # fmt: skip
    conn.execute(insert(table("accounts", *(column(name) for name in row))).values(row))
    conn.execute(
        insert(table("wallets", column("account_id"), column("currency"))).values(
            account_id=account_id, currency="EUR"
        )
    )


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_keyed_ledger_entries_written_before_0003_keep_replaying_for_their_caller(
    blank: Engine,
) -> None:
    upgrade(blank, "0001")
    names = ("account_id", "asset", "amount", "resulting", "reason", "actor_id",
             "idempotency_key", "created_at")  # fmt: skip
    with blank.begin() as conn:
        _old_account(conn, 2)
        conn.execute(
            insert(table("ledger", *(column(name) for name in names))),
            [{"account_id": 2, "asset": "balance", "amount": 5, "resulting": 5,
              "reason": "mor_balance_update", "actor_id": 1, "idempotency_key": "order-1",
              "created_at": NAIVE_NOW},
             {"account_id": 2, "asset": "credits", "amount": 7, "resulting": 7,
              "reason": "operator", "actor_id": None, "idempotency_key": "op-1",
              "created_at": NAIVE_NOW}],
        )  # fmt: skip
        conn.execute(update(table("wallets", column("account_id"), column("balance"),
                                  column("credits"))).values(balance=5, credits=7))  # fmt: skip
    upgrade(blank)
    with blank.connect() as conn:
        scopes = conn.execute(select(ledger.c.idempotency_scope).order_by(ledger.c.id)).scalars()
        assert list(scopes) == ["1:mor_balance_update", "-:operator"]
    uow = make_uow(Settings(**FAST_ARGON2), blank, FakeClock())  # type: ignore[arg-type]
    replay = wallet.change(uow, account_id=2, asset=Asset.BALANCE, amount=5,
                           reason="mor_balance_update", actor_id=1,
                           idempotency_key="order-1")  # fmt: skip
    assert replay.replayed
    other_caller = wallet.change(uow, account_id=2, asset=Asset.BALANCE, amount=5,
                                 reason="mor_balance_update", actor_id=2,
                                 idempotency_key="order-1")  # fmt: skip
    assert not other_caller.replayed
    with uow.write() as tx, pytest.raises(DBAPIError):
        # Still append-only: the migration gave the triggers back.
        tx.conn.execute(update(ledger).values(amount=0))


def test_0003_downgrades_to_0001_and_upgrades_again(blank: Engine) -> None:
    upgrade(blank)
    _downgrade(blank, "0001")
    upgrade(blank)
    with blank.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_0007_console_sessions_downgrade_to_0004_and_upgrade_again(blank: Engine) -> None:
    upgrade(blank)
    _downgrade(blank, "0004")
    with blank.connect() as conn:
        assert "console_sessions" not in sa_inspect(conn).get_table_names()
    upgrade(blank)
    with blank.connect() as conn:
        assert "console_sessions" in sa_inspect(conn).get_table_names()
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_outbox_secrets_written_before_0003_are_masked_and_kept_only_while_pending(
    blank: Engine,
) -> None:
    upgrade(blank, "0001")
    names = ("to_msisdn", "text", "purpose", "status", "attempts", "next_attempt_at",
             "created_at")  # fmt: skip
    old = [
        ("Your verification PIN is 111111. It is valid for 10 minutes.", "pin", "sent"),
        ("Your verification PIN is 222222. It is valid for 10 minutes.", "pin", "queued"),
        ("Your new password is Pw3333333x", "password", "failed"),
        ("Your new password is Pw4444444x", "password", "sending"),
        ("Welcome aboard", "notice", "sent"),
    ]
    with blank.begin() as conn:
        conn.execute(
            insert(table("outbox", *(column(name) for name in names))),
            [{"to_msisdn": "436761234567", "text": text, "purpose": purpose, "status": status,
              "attempts": 0, "next_attempt_at": NAIVE_NOW, "created_at": NAIVE_NOW}
             for text, purpose, status in old],
        )  # fmt: skip
    upgrade(blank)
    with blank.connect() as conn:
        found = conn.execute(select(outbox.c.text, outbox.c.body).order_by(outbox.c.id)).all()
    assert [tuple(row) for row in found] == [
        ("Your verification PIN is ******. It is valid for 10 minutes.", None),
        ("Your verification PIN is ******. It is valid for 10 minutes.", old[1][0]),
        ("Your new password is ******", None),
        ("Your new password is ******", old[3][0]),
        ("Welcome aboard", None),
    ]


def _fullwidth(digits: str) -> str:
    return "".join(chr(0xFF10 + int(d)) for d in digits)


def _arabic_indic(digits: str) -> str:
    return "".join(chr(0x0660 + int(d)) for d in digits)


def test_stored_msisdns_become_canonical_and_collisions_are_reported_not_merged(
    blank: Engine,
) -> None:
    upgrade(blank, "0001")
    deleted = NAIVE_NOW
    with blank.begin() as conn:
        _old_account(conn, 2, msisdn="436761234567")  # canonical already
        _old_account(conn, 3, msisdn=_fullwidth("436761234567"))  # the same number again
        _old_account(conn, 4, msisdn="+4306761234568")  # one number, another spelling
        _old_account(conn, 5, msisdn=_arabic_indic("436761234569"))  # twice, neither
        _old_account(conn, 6, msisdn=_fullwidth("436761234569"))  # canonical
        _old_account(conn, 7, msisdn=_fullwidth("436761234567"), deactivated=deleted)
        _old_account(conn, 8, msisdn="not a number")
        conn.execute(
            insert(table("pins", *(column(n) for n in ("msisdn", "pin_hash", "created_at",
                                                       "expires_at")))),
            [{"msisdn": _fullwidth("436761234570"), "pin_hash": "h", "created_at": NAIVE_NOW,
              "expires_at": NAIVE_NOW}],
        )  # fmt: skip
        conn.execute(
            insert(table("sms_routes", column("account_id"), column("recipient"),
                         column("sms_routing"))),
            [{"account_id": 2, "recipient": _fullwidth("4915112345678"), "sms_routing": 1},
             {"account_id": 2, "recipient": "4915112345678", "sms_routing": 0},
             {"account_id": 3, "recipient": "+4906912345678", "sms_routing": 1}],
        )  # fmt: skip
    reports = upgrade(blank)
    with blank.connect() as conn:
        stored = {row.id: row.msisdn for row in conn.execute(select(accounts))}
        pins = conn.execute(select(text("msisdn")).select_from(table("pins"))).scalars().all()
        routes = conn.execute(text("SELECT account_id, recipient, sms_routing FROM sms_routes "
                                   "ORDER BY account_id, sms_routing")).all()  # fmt: skip
    assert stored == {
        1: None,
        2: "436761234567",
        3: _fullwidth("436761234567"),  # left as it was: reported, not merged into 2
        4: "436761234568",
        5: "436761234569",  # the older of two spellings of one number keeps it
        6: _fullwidth("436761234569"),
        7: "436761234567",  # deleted: its number is free, so it may be canonical too
        8: "not a number",
    }
    assert pins == ["436761234570"]
    assert [tuple(r) for r in routes] == [
        (2, "4915112345678", 0),  # the canonical route wins; the other is reported
        (2, _fullwidth("4915112345678"), 1),
        (3, "496912345678", 1),
    ]
    problems = {(r["problem"], r["table"], r.get("msisdn")) for r in reports}
    assert ("msisdn_collision", "account", "436761234567") in problems
    assert ("msisdn_collision", "account", "436761234569") in problems
    assert ("msisdn_unreadable", "account", "not a number") in problems
    assert ("msisdn_collision", "sms_route", "4915112345678") in problems
    [collision] = [r for r in reports if r.get("msisdn") == "436761234567"]
    assert (collision["kept"], collision["left_as_is"]) == (
        2, [{"key": 3, "msisdn": _fullwidth("436761234567")}]
    )  # fmt: skip
    # Both accounts still exist, each with its own wallet: nothing was merged.
    with blank.connect() as conn:
        assert conn.execute(select(wallets.c.account_id).order_by(wallets.c.account_id)).scalars(
        ).all() == [1, 2, 3, 4, 5, 6, 7, 8]  # fmt: skip


def test_0008_leases_a_send_claimed_before_it_until_its_old_lease_ran_out(blank: Engine) -> None:
    """Before 0008 a `sending` message's lease was its next_attempt_at: the claim keeps it."""
    upgrade(blank, "0004")
    names = ("to_msisdn", "text", "purpose", "status", "attempts", "next_attempt_at",
             "created_at")  # fmt: skip
    with blank.begin() as conn:
        conn.execute(
            insert(table("outbox", *(column(name) for name in names))),
            [{"to_msisdn": "436761234567", "text": "x", "purpose": "pin", "status": status,
              "attempts": 1, "next_attempt_at": NAIVE_NOW, "created_at": NAIVE_NOW}
             for status in ("sending", "queued")],
        )  # fmt: skip
    upgrade(blank)
    with blank.connect() as conn:
        found = conn.execute(
            select(outbox.c.status, outbox.c.claimed_until, outbox.c.claimed_by)
            .order_by(outbox.c.id)
        ).all()  # fmt: skip
    assert [tuple(row) for row in found] == [
        ("sending", NOW, "before-0008"),
        ("queued", None, None),
    ]
    _downgrade(blank, "0004")
    upgrade(blank)
    with blank.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_an_upgrade_sqlite_finds_locked_is_tried_again_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(Settings(), url=f"sqlite:///{tmp_path / 'fresh.db'}")
    real, calls = command.upgrade, []

    def locked_twice(config: Any, revision: str) -> None:
        calls.append(revision)
        real(config, revision)  # written, then rolled back with the failed transaction
        if len(calls) <= 2:
            raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(command, "upgrade", locked_twice)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            assert sorted(versions) == sorted(migration_heads())
            # The first migration's one admin row: the failed tries left nothing behind.
            assert conn.execute(select(func.count()).select_from(accounts)).scalar_one() == 1
        assert len(calls) == 3
    finally:
        engine.dispose()


def test_other_upgrade_errors_are_not_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(Settings(), url=f"sqlite:///{tmp_path / 'fresh.db'}")
    calls = []

    def broken(_config: Any, revision: str) -> None:
        calls.append(revision)
        raise OperationalError("CREATE", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(command, "upgrade", broken)
    try:
        with pytest.raises(OperationalError, match="disk I/O error"):
            upgrade(engine)
        assert calls == ["head"]
    finally:
        engine.dispose()
