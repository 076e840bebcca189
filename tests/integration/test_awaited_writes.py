"""Writes awaited on the event loop (PostgreSQL through asyncpg, `uow.writes_on_loop`): a MOR
debit or a charge served there runs its transactions on an engine whose statements are
awaited (storage/awaited.py), instead of on a worker thread through psycopg.

The two paths must decide and store exactly the same: the same answers, the same wallets,
ledger and audit rows, for the same script of changes, refusals and idempotent
repeats. A pooled connection its server closed is replaced before use, concurrent repeats
of one idempotency key make one change, and the loop's connections close with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.util import await_only

from smsaccounts.app import create_app
from smsaccounts.config import Settings
from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.errors import DomainError, NotFound, ServiceUnavailable
from smsaccounts.services import accounts, audit, auth, balances, wallet
from smsaccounts.storage.awaited import _CONNECTIONS, AwaitedCursor, Transactions, _AsyncpgLink
from smsaccounts.storage.tables import audit_log, ledger, wallets
from smsaccounts.storage.unit_of_work import Statement, UnitOfWork
from tests import factories

pytestmark = pytest.mark.only_backend("postgresql")

SECRET = "awaited-secret"
IP = "10.9.8.7"


def _sign(user_id: str, balance: str) -> str:
    return hashlib.sha1(f"{user_id}{balance}{SECRET}".encode()).hexdigest()  # noqa: S324


@dataclasses.dataclass(frozen=True)
class Tree:
    """One reseller's accounts, by role: the same shape for each path."""

    reseller: Account
    customer: Account
    user: Account
    other: Account  # a user below the other tree's reseller: not below this one

    def roles(self) -> dict[int, str]:
        return {self.reseller.id: "reseller", self.customer.id: "customer",
                self.user.id: "user", self.other.id: "other", ADMIN_ID: "admin"}  # fmt: skip


def _trees(uow: UnitOfWork) -> tuple[Tree, Tree]:
    auth.set_mor_secret(uow, account_id=ADMIN_ID, secret=SECRET)
    made = []
    for n in range(2):
        reseller = factories.reseller(uow, name=f"aw-res{n}")
        customer = factories.customer(uow, parent=reseller, name=f"aw-cus{n}")
        made.append((reseller, customer, factories.user(uow, parent=customer, name=f"aw-usr{n}")))
    (r0, c0, u0), (r1, c1, u1) = made
    return Tree(r0, c0, u0, other=u1), Tree(r1, c1, u1, other=u0)


# What each step sends: the caller's role, the target's role (or an id of its own), the
# balance, the idempotency key, and whether the hash is signed right.
STEPS: list[tuple[str, str, str, str | None, bool]] = [
    ("reseller", "user", "2.25", None, True),  # a credit
    ("reseller", "user", "-1.5", None, True),  # a debit
    ("reseller", "customer", "7", None, True),
    ("reseller", "user", "-0.5", "k1", True),  # with a key
    ("reseller", "user", "-0.5", "k1", True),  # its repeat: the first entry again
    ("reseller", "user", "-0.75", "k1", True),  # the key with another amount
    ("reseller", "user", "-1000", None, True),  # more than the wallet holds
    ("reseller", "other", "1", None, True),  # not below the caller
    ("reseller", "999999999", "1", None, True),  # no such account
    ("reseller", "user", "1", None, False),  # a wrong hash
    ("reseller", "user", "abc", None, True),
    ("reseller", "user", "0", None, True),
    ("reseller", "user", "99999999999999", None, True),  # beyond what a wallet holds
    ("customer", "user", "1", None, True),  # a customer changes no balance
    ("reseller", "user", "0.0001", "k2", True),
]


def _script(uow: UnitOfWork, tree: Tree) -> list[tuple[Any, ...]]:
    """Every step of STEPS against `tree`, each outcome with its accounts named by role."""
    roles = tree.roles()
    by_role = {"reseller": tree.reseller, "customer": tree.customer, "user": tree.user,
               "other": tree.other}  # fmt: skip
    entries: list[int] = []  # ledger ids as first seen: a repeat answers an earlier one
    outcomes: list[tuple[Any, ...]] = []
    for caller, target, balance, key, signed in STEPS:
        user_id = str(by_role[target].id) if target in by_role else target
        sent = _sign(user_id, balance) if signed else "0" * 40
        creds = balances.Credentials(by_role[caller].name, None, sent, IP)
        try:
            account, entry = balances.update_balance(
                uow, creds, user_id=user_id, balance=balance, idempotency_key=key
            )
        except DomainError as error:
            outcomes.append((type(error).__name__, error.code, error.message))
            continue
        if entry.id not in entries:
            entries.append(entry.id)
        outcomes.append((roles[account.id], entries.index(entry.id), entry.asset, entry.amount,
                         entry.resulting, entry.reason, roles.get(entry.actor_id or 0),
                         entry.idempotency_key))  # fmt: skip
    return outcomes


def _without(mapping: Any, key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def _stored(uow: UnitOfWork, tree: Tree, since: int) -> dict[str, object]:
    """The rows the script left for `tree`'s accounts (audit rows after `since`), ids and
    times aside, by role."""
    roles = tree.roles()
    mine = [tree.reseller.id, tree.customer.id, tree.user.id]
    with uow.read() as tx:
        conn = tx.conn
        found_wallets = [
            {"role": roles[row.account_id], **_without(row._mapping, "account_id")}
            for row in conn.execute(
                select(wallets).where(wallets.c.account_id.in_(mine)).order_by(wallets.c.account_id)
            )
        ]
        found_ledger = [
            (roles[row.account_id], row.asset, row.amount, row.resulting, row.reason,
             roles.get(row.actor_id or 0), row.idempotency_key, row.idempotency_scope is None)
            for row in conn.execute(
                select(ledger).where(ledger.c.account_id.in_(mine)).order_by(ledger.c.id)
            )
        ]  # fmt: skip
        found_audit = [
            (row.door, row.client_ip, roles.get(row.actor_id or 0), row.action,
             roles.get(row.target_id or 0), row.changes)
            for row in conn.execute(
                select(audit_log)
                .where(audit_log.c.target_id.in_(mine), audit_log.c.id > since)
                .order_by(audit_log.c.id)
            )
        ]  # fmt: skip
    return {"wallets": found_wallets, "ledger": found_ledger, "audit": found_audit}


def _last_audit(uow: UnitOfWork) -> int:
    with uow.read() as tx:
        return int(tx.conn.execute(select(func.max(audit_log.c.id))).scalar_one())


@contextlib.contextmanager
def _transactions(uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records each transaction the database opens: awaited or not, on which thread."""
    opened: list[str] = []
    original = uow.db.transaction

    def recorded(*, write: bool, awaited: Transactions | None = None) -> Any:
        kind = "write" if write else "read"
        where = "awaited" if awaited is not None else "engine"
        thread = "loop" if threading.current_thread() is threading.main_thread() else "thread"
        opened.append(f"{kind} {where} {thread}")
        return original(write=write, awaited=awaited)

    def at_once(*, awaited: Transactions | None = None) -> Any:
        where = "awaited" if awaited is not None else "engine"
        thread = "loop" if threading.current_thread() is threading.main_thread() else "thread"
        opened.append(f"statement {where} {thread}")
        return statement(awaited=awaited)

    @contextlib.contextmanager
    def one_statement() -> Iterator[Any]:
        with uow_at_once() as one:
            if isinstance(one, Statement):  # on the lookups' awaited connections
                opened.append("statement linked loop")
            yield one

    statement, uow_at_once = uow.db.statement, uow.at_once
    monkeypatch.setattr(uow.db, "transaction", recorded)
    monkeypatch.setattr(uow.db, "statement", at_once)
    monkeypatch.setattr(uow, "at_once", one_statement)
    yield opened


def test_the_same_script_decides_and_stores_the_same_on_a_thread_and_awaited_on_the_loop(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    threaded, looped = _trees(uow)
    since = _last_audit(uow)
    assert uow.awaits_writes  # PostgreSQL through asyncpg
    with _transactions(uow, monkeypatch) as opened:
        on_thread = _script(uow, threaded)
        assert opened
        assert all(o.endswith("engine loop") for o in opened)  # called directly
        opened.clear()
        on_loop = asyncio.run(uow.writes_on_loop(_script, uow, looped))
        assert opened
        assert set(opened) == {"write awaited loop", "statement linked loop"}
    assert on_loop == on_thread
    assert _stored(uow, looped, since) == _stored(uow, threaded, since)
    # The script did what it says: changes, a replay, and each kind of refusal.
    kinds = {o[0] for o in on_thread}
    assert {"user", "customer"} <= kinds
    assert {"InsufficientFunds", "AccessDenied", "NotFound", "AuthenticationFailed",
            "InvalidField"} <= kinds  # fmt: skip
    assert on_thread[4] == on_thread[3]  # the repeated key answered the first entry
    stored = _stored(uow, looped, since)
    assert len(stored["ledger"]) == 5  # type: ignore[arg-type]
    assert len(stored["audit"]) == 5  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _client(settings: Settings, uow: UnitOfWork) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.replace(rate_limit="100000/second"), uow=uow, deliver_sms=False)
    transport = httpx.ASGITransport(app=app, client=(IP, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def _debit(
    client: httpx.AsyncClient, caller: Account, target: Account, balance: str, key: str | None
) -> httpx.Response:
    params = {"u": caller.name, "user_id": str(target.id), "balance": balance,
              "hash": _sign(str(target.id), balance)}  # fmt: skip
    headers = {"Idempotency-Key": key} if key else {}
    return await client.post("/billing/api/user_balance_update", data=params, headers=headers)


def _funded(uow: UnitOfWork, units: int) -> tuple[Account, Account]:
    auth.set_mor_secret(uow, account_id=ADMIN_ID, secret=SECRET)
    reseller = factories.reseller(uow)
    target = factories.user(uow, parent=factories.customer(uow, parent=reseller))
    wallet.credit(uow, account_id=target.id, asset=Asset.BALANCE, amount=units, reason="t")
    return reseller, target


def _balance(uow: UnitOfWork, account: Account) -> int:
    with uow.read() as tx:
        found = tx.wallets.get(account.id)
    assert found is not None
    return found.balance


def test_debits_and_charges_served_on_the_loop_run_every_transaction_awaited(
    settings: Settings, uow: UnitOfWork, gateway: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reseller, target = _funded(uow, 10**8)
    sender = factories.user(uow, parent=factories.prepaid_customer(uow, credits=5),
                            funding="parent")  # fmt: skip
    charge = {"reference": "r-1", "account_id": sender.id, "recipients": ["+4520123456"],
              "parts": 1}  # fmt: skip

    async def run() -> list[httpx.Response]:
        async with _client(settings, uow) as client:
            answers = [await _debit(client, reseller, target, "-1", None)]
            bearer = {"Authorization": f"Bearer {gateway}"}
            answers.append(await client.post("/charging/v1/charge", json=charge, headers=bearer))
            return answers

    with _transactions(uow, monkeypatch) as opened:
        answers = asyncio.run(run())
    assert [a.status_code for a in answers] == [200, 200]
    assert "User balance updated" in answers[0].text
    assert answers[1].json()["charged_parts"] == 1
    # The debit is one statement (`wallet.apply_at_once`) on the lookups' connections, the
    # charge a transaction.
    assert opened == ["statement linked loop", "write awaited loop"]
    assert _balance(uow, target) == 10**8 - 10**7
    with uow.read() as tx:  # the request's context reached the use case: its audit origin
        origin = tx.conn.execute(
            select(audit_log.c.door, audit_log.c.client_ip, audit_log.c.actor_id)
            .where(audit_log.c.target_id == target.id, audit_log.c.action == "wallet.change")
            .order_by(audit_log.c.id.desc())
        ).first()
    assert origin is not None
    assert tuple(origin) == ("mor", IP, reseller.id)


def test_concurrent_repeats_of_one_key_make_one_change(settings: Settings, uow: UnitOfWork) -> None:
    """The losers meet the ledger's unique index inside their savepoint, roll back to it on
    the awaited connection and answer the winner's entry."""
    reseller, target = _funded(uow, 10**8)

    async def run() -> list[httpx.Response]:
        async with _client(settings, uow) as client:
            return await asyncio.gather(
                *(_debit(client, reseller, target, "-0.25", "same-key") for _ in range(12))
            )

    answers = asyncio.run(run())
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1  # one entry, one resulting balance
    assert _balance(uow, target) == 10**8 - 25 * 10**5
    with uow.read() as tx:
        entries = tx.conn.execute(
            select(ledger.c.id).where(
                ledger.c.account_id == target.id, ledger.c.idempotency_key == "same-key"
            )
        ).all()
    assert len(entries) == 1


def _server_connections(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )).scalars())  # fmt: skip


def test_a_pooled_connection_the_server_closed_is_replaced_before_the_next_debit(
    settings: Settings, uow: UnitOfWork, engine: Engine
) -> None:
    reseller, target = _funded(uow, 10**8)
    before = _server_connections(engine)

    async def run() -> list[int]:
        async with _client(settings, uow) as client:
            codes = [(await _debit(client, reseller, target, "-1", None)).status_code]
            opened = _server_connections(engine) - before  # the loop's: lookups, writes
            assert opened
            with engine.connect() as conn:
                for pid in opened:
                    conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await asyncio.sleep(0.2)  # the loop reads each socket's end
            codes.append((await _debit(client, reseller, target, "-1", None)).status_code)
            return codes

    assert asyncio.run(run()) == [200, 200]
    assert _balance(uow, target) == 10**8 - 2 * 10**7


def test_the_loops_connections_close_when_it_ends(
    settings: Settings, uow: UnitOfWork, engine: Engine
) -> None:
    reseller, target = _funded(uow, 10**8)
    before = _server_connections(engine)

    async def run() -> set[int]:
        async with _client(settings, uow) as client:
            answers = await asyncio.gather(
                *(_debit(client, reseller, target, "-1", None) for _ in range(6))
            )
            assert {a.status_code for a in answers} == {200}
            return _server_connections(engine) - before

    opened = asyncio.run(run())
    assert opened  # the loop held connections of its own
    for _ in range(50):  # the server notices each close a moment later
        if not _server_connections(engine) & opened:
            break
        threading.Event().wait(0.05)
    assert not _server_connections(engine) & opened


def test_outside_writes_on_loop_no_transaction_is_awaited(uow: UnitOfWork) -> None:
    """`reads_on_loop` awaits lookups only; its use case never gets the awaited engine."""
    awaited = uow._awaited
    assert awaited is not None

    def engines() -> list[object]:
        with uow.lookups() as quick:
            quick.accounts.get(ADMIN_ID)
        return [awaited.transactions()]

    assert asyncio.run(uow.reads_on_loop(engines)) == [None]
    assert asyncio.run(uow.writes_on_loop(engines)) != [None]
    assert engines() == [None]  # on a worker thread, or any plain call


def test_a_write_whose_server_connection_dies_answers_unavailable_and_the_next_one_writes(
    uow: UnitOfWork,
) -> None:
    """An awaited transaction that loses its server is an outage (ServiceUnavailable, as on
    a worker thread), nothing of it is kept, and the next write gets a live connection."""
    _reseller, target = _funded(uow, 10**8)

    def change(die: bool) -> None:
        with uow.write() as tx:
            wallet.apply(tx, account_id=target.id, asset=Asset.BALANCE, amount=-5,
                         reason="t")  # fmt: skip
            if die:
                tx.conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    async def run() -> None:
        with pytest.raises(ServiceUnavailable):
            await uow.writes_on_loop(change, True)
        await uow.writes_on_loop(change, False)

    asyncio.run(run())
    assert _balance(uow, target) == 10**8 - 5


def test_a_connection_given_back_goes_to_the_longest_waiter(uow: UnitOfWork) -> None:
    """All connections in use, one waiting: a connection given back is the waiter's, even
    when a newcomer asks for one first in the same turn of the loop (through the pool's
    queue alone the newcomer took it and the waiter queued again)."""
    awaited = uow._awaited
    assert awaited is not None
    entered: list[int] = []
    spawned: list[asyncio.Future[None]] = []

    async def run() -> None:
        gates = [asyncio.Event() for _ in range(_CONNECTIONS + 2)]

        def work(n: int) -> None:
            transactions = awaited.transactions()
            assert transactions is not None
            with transactions.connect():
                entered.append(n)
                await_only(gates[n].wait())
                if n == 0:  # a newcomer asks before the waiter has run again
                    spawned.append(asyncio.ensure_future(start(_CONNECTIONS + 1)))

        def start(n: int) -> Awaitable[None]:
            return awaited.run(work, n, writes=True)

        holders = [asyncio.ensure_future(start(n)) for n in range(_CONNECTIONS)]
        while len(entered) < _CONNECTIONS:
            await asyncio.sleep(0.01)
        waiter = asyncio.ensure_future(start(_CONNECTIONS))
        await asyncio.sleep(0.05)
        assert len(entered) == _CONNECTIONS  # every connection in use: it waits
        gates[0].set()
        while len(entered) < _CONNECTIONS + 1:
            await asyncio.sleep(0.01)
        for gate in gates:
            gate.set()
        await asyncio.gather(*holders, waiter, *spawned)

    asyncio.run(run())
    assert entered[_CONNECTIONS] == _CONNECTIONS  # the waiter first, then the newcomer
    assert entered[-1] == _CONNECTIONS + 1


# --- A balance change in one statement (`wallet.apply_at_once`) ---------------------------


def test_the_same_script_decides_and_stores_the_same_in_one_statement_and_in_a_transaction(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only where the transaction would change the wallet does the statement run, and its
    answers and rows are the transaction's; everything else goes to the transaction."""
    at_once, in_transaction = _trees(uow)
    since = _last_audit(uow)
    assert uow.writes_at_once  # PostgreSQL
    with _transactions(uow, monkeypatch) as opened:
        first = _script(uow, at_once)
        statements = opened.count("statement engine loop")
        monkeypatch.setattr(UnitOfWork, "writes_at_once", False)
        opened.clear()
        second = _script(uow, in_transaction)
        assert not [o for o in opened if o.startswith("statement")]
    assert first == second
    assert _stored(uow, at_once, since) == _stored(uow, in_transaction, since)
    # The three changes without a key went in one statement each; nothing else tried it
    # (the refusals are known before: the wallet's floor and range, the target, the amount).
    assert statements == 3
    assert [o[0] for o in first[:3]] == ["user", "user", "customer"]


def _rows_of(uow: UnitOfWork, account: Account) -> tuple[int, int, int]:
    """The account's ledger rows, its audit rows and the sum of its ledger."""
    with uow.read() as tx:
        conn = tx.conn
        entries = conn.execute(select(func.count(), func.coalesce(func.sum(ledger.c.amount), 0))
                               .where(ledger.c.account_id == account.id)).one()  # fmt: skip
        audited = conn.execute(select(func.count()).where(audit_log.c.target_id == account.id))
        return int(entries[0]), int(audited.scalar_one()), int(entries[1])


def _racing(uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch, race: Any) -> list[object]:
    """Run `race()` once, committed, just before the next one-statement change; answers
    what each `change_at_once` answered."""
    answered: list[object] = []
    original = uow.at_once

    @contextlib.contextmanager
    def raced() -> Iterator[Any]:
        if not answered:
            race()
        with original() as tx:
            change = tx.wallets.change_at_once

            def recorded(*args: Any, **kwargs: Any) -> Any:
                found = change(*args, **kwargs)
                answered.append(found)
                return found

            monkeypatch.setattr(tx.wallets, "change_at_once", recorded)
            yield tx

    monkeypatch.setattr(uow, "at_once", raced)
    return answered


def _mor(uow: UnitOfWork, caller: Account, target: Account, balance: str) -> Any:
    creds = balances.Credentials(caller.name, None, _sign(str(target.id), balance), IP)
    return balances.update_balance(uow, creds, user_id=str(target.id), balance=balance)


def test_a_wallet_changed_after_the_read_is_left_to_the_transaction(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    reseller, target = _funded(uow, 10**8)
    ledger_before, audit_before, _ = _rows_of(uow, target)
    race = functools.partial(wallet.credit, uow, account_id=target.id, asset=Asset.BALANCE,
                             amount=5 * 10**6, reason="race")  # fmt: skip
    answered = _racing(uow, monkeypatch, race)
    account, entry = _mor(uow, reseller, target, "-3")
    assert answered == [None]  # the statement found another balance: it wrote nothing
    assert account.id == target.id
    assert entry.resulting == 10**8 + 5 * 10**6 - 3 * 10**7 == _balance(uow, target)
    entries, audited, total = _rows_of(uow, target)
    assert (entries, audited) == (ledger_before + 2, audit_before + 2)  # the race's, the debit's
    assert total == _balance(uow, target)


def test_a_target_deleted_after_the_read_answers_not_found_and_writes_nothing(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    reseller, target = _funded(uow, 10**8)
    before = _rows_of(uow, target)
    race = functools.partial(accounts.delete, uow, actor=reseller, account_id=target.id)
    answered = _racing(uow, monkeypatch, race)
    with pytest.raises(NotFound):
        _mor(uow, reseller, target, "-3")
    assert answered == [None]
    entries, _audited, total = _rows_of(uow, target)
    assert (entries, total) == before[::2]  # no ledger row: the deletion's audit row only
    assert _balance(uow, target) == 10**8


@pytest.mark.parametrize("limit", [None, 500])
def test_a_change_past_the_floor_the_statement_sees_writes_nothing(
    uow: UnitOfWork, limit: int | None
) -> None:
    """The floor and range are the UPDATE's, as `apply`'s: a wallet whose terms changed since
    the read refuses in SQL, and neither the ledger row nor the audit row is written."""
    _reseller, target = _funded(uow, 100)
    before = _rows_of(uow, target)
    billing = BillingType.PRE_PAID if limit is None else BillingType.POST_PAID
    with uow.write() as tx:
        made = audit.entry(tx, "wallet.change", target.id, before={"balance": 100},
                           after={"balance": -900})  # fmt: skip
        tx.wallets.set_terms(target.id, billing_type=billing.value, credit_limit=limit)
    with uow.at_once() as tx:
        found = tx.wallets.change_at_once(target.id, Asset.BALANCE, -1000, before=100,
                                          reason="t", actor_id=None, now=tx.now,
                                          audit=made)  # fmt: skip
    assert found is None
    assert _rows_of(uow, target) == before
    assert _balance(uow, target) == 100


def test_the_one_statement_runs_outside_any_transaction_awaited_on_the_loop(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No BEGIN and no COMMIT: the statement runs on one of the lookups' autocommit
    connections, which holds no transaction once it has run. Before it, the lookup of the
    caller's chain reads the target with its wallet too."""
    reseller, target = _funded(uow, 10**8)
    seen: list[object] = []
    statements: list[str] = []

    def counted(*args: Any) -> None:
        statements.append(args[2])

    event.listen(Engine, "before_cursor_execute", counted)
    write = AwaitedCursor.write

    def written(cursor: AwaitedCursor, sql: str, args: Any) -> None:
        write(cursor, sql, args)
        link = cursor._conn
        assert isinstance(link, _AsyncpgLink)
        seen.append(link.conn.is_in_transaction())

    monkeypatch.setattr(AwaitedCursor, "write", written)
    try:
        _account, entry = asyncio.run(uow.writes_on_loop(_mor, uow, reseller, target, "-1"))
    finally:
        event.remove(Engine, "before_cursor_execute", counted)
    assert seen == [False]  # written once, committed alone
    # The reseller's chain (its name tried kind by kind in one statement) with the target;
    # then the change.
    heads = [s.split("(")[0].strip() for s in statements]
    assert heads == ["WITH RECURSIVE up", "WITH changed AS"]
    assert entry.resulting == 10**8 - 10**7 == _balance(uow, target)


def test_a_statement_whose_connection_is_lost_after_it_ran_is_not_sent_again(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server may have committed a statement whose answer never came: it is an outage
    (ServiceUnavailable), never sent again on another connection, so the debit is made
    once. The next debit gets a live connection."""
    reseller, target = _funded(uow, 10**8)
    ledger_before, audit_before, _ = _rows_of(uow, target)
    fetch = _AsyncpgLink.fetch
    lost: list[str] = []

    async def answer_lost(link: _AsyncpgLink, sql: str, args: Any) -> Any:
        rows = await fetch(link, sql, args)
        if sql.startswith("WITH changed") and not lost:
            lost.append(sql)
            link.finish()
            raise ConnectionResetError("the answer was lost")
        return rows

    monkeypatch.setattr(_AsyncpgLink, "fetch", answer_lost)

    async def run() -> None:
        with pytest.raises(ServiceUnavailable):
            await uow.writes_on_loop(_mor, uow, reseller, target, "-1")
        await uow.writes_on_loop(_mor, uow, reseller, target, "-2")

    asyncio.run(run())
    assert len(lost) == 1
    assert _balance(uow, target) == 10**8 - 3 * 10**7  # the lost one once, then the next
    entries, audited, total = _rows_of(uow, target)
    assert (entries, audited) == (ledger_before + 2, audit_before + 2)
    assert total == _balance(uow, target)


def test_a_kept_connection_the_server_closed_is_not_given_the_statement(
    uow: UnitOfWork, engine: Engine
) -> None:
    """A statement that writes is never sent again once sent, so a kept connection whose
    end the loop has seen is replaced before it is sent (the lookups, which may read again,
    find out by trying)."""
    reseller, target = _funded(uow, 10**8)
    before = _server_connections(engine)

    def change(units: int) -> object:
        with uow.at_once() as one:
            assert isinstance(one, Statement)
            made = audit.entry(one, "wallet.change", target.id, before={"balance": units},
                               after={"balance": units - 1})  # fmt: skip
            return one.wallets.change_at_once(target.id, Asset.BALANCE, -1, before=units,
                                              reason="t", actor_id=None, now=one.now,
                                              audit=made)  # fmt: skip

    async def run() -> list[object]:
        await uow.writes_on_loop(_mor, uow, reseller, target, "-1")  # the loop's connections
        opened = _server_connections(engine) - before
        assert opened
        with engine.connect() as conn:
            for pid in opened:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.2)  # the loop reads each socket's end
        return [await uow.writes_on_loop(change, 10**8 - 10**7)]

    [entry] = asyncio.run(run())
    assert entry is not None
    assert _balance(uow, target) == 10**8 - 10**7 - 1
