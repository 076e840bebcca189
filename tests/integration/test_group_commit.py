"""Grouped writes: charges and MOR debits served on the event loop share one SQLite
transaction per loop turn, each in its own savepoint, and are answered only after it
commits (storage/database.py). On PostgreSQL every request commits on its own.

Each test drives the app in-process with concurrent requests on one event loop, as uvicorn
serves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, event, exc, func, select

from smsaccounts.app import create_app
from smsaccounts.config import Settings
from smsaccounts.domain.models import Account, Asset
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import auth, wallet
from smsaccounts.storage.database import Database, Ticket, make_engine
from smsaccounts.storage.tables import charges, ledger, wallets
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.conftest import make_uow

CHARGE = "/charging/v1/charge"
BURST = 40
COVERED = 30  # credits in the pool: 30 of the 40 one-part charges are covered


@pytest.fixture
def sender(uow: UnitOfWork) -> Account:
    """A user spending its pre-paid customer's pool of COVERED credits."""
    customer = factories.prepaid_customer(uow, credits=COVERED)
    return factories.user(uow, parent=customer, funding="parent")


@contextlib.asynccontextmanager
async def _client(settings: Settings, uow: UnitOfWork) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.replace(rate_limit="100000/second"), uow=uow, deliver_sms=False)
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def _charge(client: httpx.AsyncClient, key: str, user: Account, n: int) -> httpx.Response:
    body = {"reference": f"r-{n}", "account_id": user.id, "recipients": ["+4520123456"],
            "parts": 1}  # fmt: skip
    return await client.post(CHARGE, json=body, headers={"Authorization": f"Bearer {key}"})


def _counted() -> tuple[float, float]:
    """Charged parts paid by credits, and credit debits, as the metrics count them."""
    parts = REGISTRY.get_sample_value("smsaccounts_charged_parts_total", {"asset": "credits"})
    debits = REGISTRY.get_sample_value(
        "smsaccounts_wallet_changes_total", {"asset": "credits", "direction": "debit"}
    )
    return parts or 0.0, debits or 0.0


def _counted_since(before: tuple[float, float]) -> tuple[float, float]:
    parts, debits = _counted()
    return parts - before[0], debits - before[1]


def _commits(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the write transactions that commit: groups, and writes on their own."""
    counted = [0]
    group_commit, transaction = db._commit, db.transaction

    def count_group(group: Any) -> None:
        counted[0] += db._group is group
        group_commit(group)

    def count_write(*, write: bool, **options: Any) -> Any:
        counted[0] += write
        return transaction(write=write, **options)

    monkeypatch.setattr(db, "_commit", count_group)
    monkeypatch.setattr(db, "transaction", count_write)
    return counted


def test_a_burst_of_charges_commits_together_and_a_refused_one_is_undone_alone(
    settings: Settings, uow: UnitOfWork, gateway: str, sender: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    async def burst() -> list[httpx.Response]:
        async with _client(settings, uow) as client:
            await _charge(client, gateway, sender, -1)  # warm: the app's first request
            commits[0] = 0
            return await asyncio.gather(*(_charge(client, gateway, sender, n)
                                          for n in range(BURST)))  # fmt: skip

    commits = _commits(uow.db, monkeypatch)
    counted = _counted()
    answers = asyncio.run(burst())

    ok = [a for a in answers if a.status_code == 200]
    # Counted once committed, each once: the refused ones (undone alone) count nothing.
    assert _counted_since(counted) == (COVERED, COVERED)
    refused = [a.json()["error"] for a in answers if a.status_code != 200]
    assert len(ok) == COVERED - 1  # the warm-up took one
    assert refused == ["insufficient_funds"] * (BURST - COVERED + 1)
    with uow.read() as tx:
        pool = tx.wallets.get(sender.parent_id)  # type: ignore[arg-type]
        assert pool is not None
        assert pool.credits == 0
        assert tx.wallets.ledger_sum(pool.account_id, Asset.CREDITS) == 0
        made = tx.conn.execute(select(func.count()).select_from(charges)).scalar_one()
        assert made == COVERED  # every answered charge is stored, no refused one is
    if settings.is_sqlite:
        assert commits[0] < BURST / 2  # many charges a commit: the group's sync to disk
    else:
        assert commits[0] >= BURST  # PostgreSQL: each on its own (it groups commits itself)


def test_a_failed_commit_fails_every_request_in_it_and_keeps_nothing(
    settings: Settings, uow: UnitOfWork, gateway: str, sender: Account
) -> None:
    failing = [False]

    def fail(_conn: Any) -> None:
        if failing[0]:
            raise exc.OperationalError("COMMIT", None, sqlite3.OperationalError("disk I/O error"))

    async def burst() -> list[httpx.Response]:
        async with _client(settings, uow) as client:
            await _charge(client, gateway, sender, -1)
            failing[0] = True
            return await asyncio.gather(*(_charge(client, gateway, sender, n)
                                          for n in range(8)))  # fmt: skip

    # On every engine: PostgreSQL's writes here commit on the loop's awaited engine.
    event.listen(Engine, "commit", fail)
    counted = _counted()
    try:
        answers = asyncio.run(burst())
    finally:
        event.remove(Engine, "commit", fail)

    assert {a.status_code for a in answers} == {503}
    # The warm-up's charge is counted; none of the lost ones is.
    assert _counted_since(counted) == (1, 1)
    assert {a.json()["error"] for a in answers} == {"unavailable"}
    with uow.read() as tx:
        assert tx.conn.execute(select(func.count()).select_from(charges)).scalar_one() == 1
        pool = tx.wallets.get(sender.parent_id)  # type: ignore[arg-type]
        assert pool is not None
        assert pool.credits == COVERED - 1


@pytest.mark.parametrize("holder", ["thread", "process"])
def test_while_the_write_lock_is_held_the_loop_keeps_serving_and_the_write_waits(
    settings: Settings, uow: UnitOfWork, gateway: str, sender: Account, holder: str,
    clock: Any,
) -> None:  # fmt: skip
    """A worker thread of this process (or another process: the CLI, a second worker)
    holds SQLite's write lock (on PostgreSQL: the pool's wallet row): the charge goes to a
    worker thread and waits there, and the event loop answers a read meanwhile."""
    secret = "s3cret"
    auth.set_mor_secret(uow, account_id=ADMIN_ID, secret=secret)
    released, holding = threading.Event(), threading.Event()
    read_while_held: list[bool] = []

    def hold() -> None:
        if holder == "thread" or not settings.is_sqlite:
            unit = uow if holder == "thread" else make_uow(settings, make_engine(settings), clock)
            with unit.write() as tx:
                pool = select(wallets).where(wallets.c.account_id == sender.parent_id)
                tx.conn.execute(pool.with_for_update())  # SQLite: the write lock itself
                holding.set()
                released.wait(10)
            holding.clear()
            return
        path = settings.database_url.split(":///", 1)[1]
        process = sqlite3.connect(path, isolation_level=None)
        process.execute("BEGIN IMMEDIATE")
        holding.set()
        released.wait(10)
        process.execute("COMMIT")
        holding.clear()
        process.close()

    async def scenario() -> httpx.Response:
        async with _client(settings, uow) as client:
            holder_thread = threading.Thread(target=hold)
            holder_thread.start()
            await asyncio.to_thread(holding.wait, 10)
            charged = asyncio.ensure_future(_charge(client, gateway, sender, 1))
            await asyncio.sleep(0.05)
            query = {"u": "admin", "user_id": str(sender.id),
                     "hash": hashlib.sha1(f"{sender.id}{secret}".encode()).hexdigest()}  # fmt: skip  # noqa: S324
            details = await client.post("/billing/api/user_details_get", params=query)
            read_while_held.append(details.status_code == 200 and holding.is_set())
            assert not charged.done()  # still waiting for the lock
            released.set()
            answer = await charged
            await asyncio.to_thread(holder_thread.join, 10)
            return answer

    answer = asyncio.run(scenario())
    assert read_while_held == [True]
    assert answer.status_code == 200
    assert answer.json()["charged_parts"] == 1
    with uow.read() as tx:
        rows = tx.conn.execute(select(func.count()).select_from(ledger)
                               .where(ledger.c.reason == "charge")).scalar_one()  # fmt: skip
        assert rows == 1


def test_a_write_on_the_loop_outside_the_group_commits_the_group_first(
    uow: UnitOfWork, sender: Account
) -> None:
    """Not a deadlock on the loop's own lock: the open group commits, then the write runs."""

    async def scenario() -> Ticket:
        with uow.grouped() as ticket:
            wallet.credit(uow, account_id=sender.id, asset=Asset.CREDITS, amount=1, reason="g")
        wallet.credit(uow, account_id=sender.id, asset=Asset.CREDITS, amount=2, reason="alone")
        if ticket.group is not None:
            assert ticket.group.done.done()  # committed before the second write began
            await ticket.group.done
        return ticket

    ticket = asyncio.run(scenario())
    assert (ticket.group is not None) is uow.groups_writes  # grouped on SQLite only
    with uow.read() as tx:
        own = tx.wallets.get(sender.id)
        assert own is not None
        assert own.credits == 3


def test_a_write_that_found_the_lock_held_is_grouped_once_it_is_free(
    settings: Settings, uow: UnitOfWork, gateway: str, sender: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Not sent to a worker thread at once: there it would hold the lock in turn, the next
    write would find it held too, and every write would end up on a thread."""
    groups, alone = [], []
    group_commit, transaction = uow.db._commit, uow.db.transaction
    held, release = threading.Event(), threading.Event()

    def count_group(group: Any) -> None:
        groups.append(group)
        group_commit(group)

    def count_write(*, write: bool, **options: Any) -> Any:
        if write:
            alone.append(threading.current_thread().name)
        return transaction(write=write, **options)

    def hold() -> None:  # as a worker thread's write would
        with uow.db._writer:
            held.set()
            release.wait(10)

    async def scenario() -> httpx.Response:
        async with _client(settings, uow) as client:
            await _charge(client, gateway, sender, -1)  # warm: the app's first request
            monkeypatch.setattr(uow.db, "_commit", count_group)
            monkeypatch.setattr(uow.db, "transaction", count_write)
            holder = threading.Thread(target=hold)
            holder.start()
            await asyncio.to_thread(held.wait, 10)
            charged = asyncio.ensure_future(_charge(client, gateway, sender, 1))
            await asyncio.sleep(0.01)
            release.set()
            answer = await charged
            await asyncio.to_thread(holder.join, 10)
            return answer

    answer = asyncio.run(scenario())
    assert answer.status_code == 200
    if settings.is_sqlite:
        assert len(groups) == 1
        assert alone == []  # no write of its own on a worker thread
    else:  # a database server: every write its own transaction, awaited on the loop
        assert groups == []
        assert alone == [threading.main_thread().name]


def test_groups_write_on_one_kept_connection_that_never_waits_and_never_joins_the_pool(
    settings: Settings, uow: UnitOfWork, gateway: str, sender: Account
) -> None:
    """Group after group writes on the same connection, its busy timeout set once (0: it
    never waits on the loop); dropped after a failed commit, it is closed, not handed to
    other transactions, which wait for the write lock as ever."""
    if not settings.is_sqlite:
        pytest.skip("SQLite groups writes; PostgreSQL commits each request on its own")
    timeouts: list[str] = []
    failing = [False]

    def seen(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.startswith("PRAGMA busy_timeout"):
            timeouts.append(sql)

    def fail(_conn: Any) -> None:
        if failing[0]:  # not an outage: the connection would stay usable, were it pooled
            raise RuntimeError("commit refused")

    async def turns() -> list[int]:
        async with _client(settings, uow) as client:
            statuses = [(await _charge(client, gateway, sender, n)).status_code for n in range(4)]
            failing[0] = True
            statuses.append((await _charge(client, gateway, sender, 4)).status_code)
            failing[0] = False
            statuses.append((await _charge(client, gateway, sender, 5)).status_code)
            return statuses

    event.listen(uow.db.engine, "before_cursor_execute", seen)
    event.listen(uow.db.engine, "commit", fail)
    try:
        statuses = asyncio.run(turns())
    finally:
        event.remove(uow.db.engine, "commit", fail)
        event.remove(uow.db.engine, "before_cursor_execute", seen)
    assert statuses == [200, 200, 200, 200, 500, 200]
    # Once for the first group's connection, once for the one after the failed commit.
    assert timeouts == ["PRAGMA busy_timeout=0"] * 2
    pooled = [uow.db.engine.connect() for _ in range(8)]  # more than the pool keeps idle
    try:
        waits = {c.exec_driver_sql("PRAGMA busy_timeout").scalar_one() for c in pooled}
    finally:
        for conn in pooled:
            conn.close()
    assert waits == {30_000}


def test_disposed_while_a_group_is_open_the_group_commits_then_its_connection_closes(
    settings: Settings, uow: UnitOfWork, sender: Account
) -> None:
    """Shutting down does not undo the open group's writes, nor leave its kept connection
    open for the process's life."""
    if not settings.is_sqlite:
        pytest.skip("SQLite groups writes; PostgreSQL commits each request on its own")

    async def scenario() -> tuple[Any, bool]:
        with uow.grouped() as ticket:
            wallet.credit(uow, account_id=sender.id, asset=Asset.CREDITS, amount=5, reason="g")
        kept = uow.db._group_conn
        assert ticket.group is not None
        assert kept is not None
        uow.db.dispose()
        open_after_dispose = not kept.closed
        await ticket.group.done
        return kept, open_after_dispose

    kept, open_after_dispose = asyncio.run(scenario())
    assert open_after_dispose  # not closed under the group, which had yet to commit
    assert kept.closed
    assert uow.db._group_conn is None
    with uow.read() as tx:
        own = tx.wallets.get(sender.id)
        assert own is not None
        assert own.credits == 5
