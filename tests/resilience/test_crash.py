"""Crash safety: a real `smsaccounts serve` is killed with SIGKILL in the middle of a stream
of MOR debits, 30 times, and restarted; the clients resend every debit whose answer they did
not get, with the same Idempotency-Key. After each restart and at the end every wallet
equals its ledger, no key is in the ledger twice, and every debit answered "updated" is in
it exactly once; at the end every debit sent is in it exactly once.

SQLite runs with the default `synchronous=FULL`, the setting that keeps a committed debit
across a power loss."""

from __future__ import annotations

import collections
import dataclasses
import http.client
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from smsaccounts.domain import money
from smsaccounts.domain.models import Asset, BillingType
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import auth, wallet
from smsaccounts.storage.tables import ledger
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.mor.conftest import sha1_hash

COMMAND = str(Path(sys.executable).with_name("smsaccounts"))
SECRET = "crash-secret"
DEBIT = "-0.01"
UPDATED = b"<status>User balance updated</status>"  # inside <page><page>...</page></page>
KILLS = 30
CLIENTS = 4
SEED = 20240607  # the kill moments are random, but the same on every run
KILL_AFTER = (0.03, 0.35)  # seconds of traffic before a kill
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0
# A guard against a hang, not a speed test: a run takes ~35 s per backend on an idle
# machine (30 server starts dominate) and a few times that on a loaded one.
HANG_GUARD = 300.0


@dataclasses.dataclass(frozen=True)
class Debit:
    key: str
    user_id: int


class Stream:
    """Every debit the clients sent, what became of it, and those to resend."""

    def __init__(self, user_ids: list[int]) -> None:
        self.user_ids = user_ids
        self.lock = threading.Lock()
        self.numbers = itertools.count()
        self.resend: collections.deque[Debit] = collections.deque()
        self.sent: dict[str, Debit] = {}
        self.updated: set[str] = set()
        self.refused: dict[str, bytes] = {}

    def next(self) -> Debit:
        with self.lock:
            if self.resend:
                return self.resend.popleft()
            n = next(self.numbers)
            debit = Debit(f"crash-{n:06d}", self.user_ids[n % len(self.user_ids)])
            self.sent[debit.key] = debit
            return debit

    def answered(self, debit: Debit, body: bytes) -> None:
        with self.lock:
            if UPDATED in body:
                self.updated.add(debit.key)
            else:
                self.refused[debit.key] = body

    def lost(self, debit: Debit) -> None:
        with self.lock:
            self.resend.append(debit)

    def unanswered(self) -> set[str]:
        with self.lock:
            return {d.key for d in self.resend}


class Server:
    """`smsaccounts serve` in its own process group, restartable on the same port."""

    def __init__(self, db_url: str, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            **os.environ,
            "SMSACCOUNTS_DATABASE_URL": db_url,
            "SMSACCOUNTS_ARGON2_TIME_COST": "1",
            "SMSACCOUNTS_ARGON2_MEMORY_COST": "8",
            "SMSACCOUNTS_RATE_LIMIT": "1000000/second",
            "SMSACCOUNTS_LOG_LEVEL": "warning",
        }
        self.env.pop("SMSACCOUNTS_SQLITE_SYNCHRONOUS", None)  # the default: FULL
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [COMMAND, "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._healthy():
            assert self.process.poll() is None, f"serve exited: {self._tail()}"
            assert time.monotonic() < deadline, f"serve did not become healthy: {self._tail()}"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=1) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except (OSError, http.client.HTTPException):
            return False

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(base: str, debit: Debit) -> bytes:
    user_id = str(debit.user_id)
    form = {"u": "admin", "user_id": user_id, "balance": DEBIT,
            "hash": sha1_hash(user_id, DEBIT, SECRET)}  # fmt: skip
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/billing/api/user_balance_update",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Idempotency-Key": debit.key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:  # noqa: S310
        return bytes(answer.read())


def _client(base: str, stream: Stream, stop: threading.Event) -> None:
    """Send debits until told to stop; the first one without an answer ends this client."""
    while not stop.is_set():
        debit = stream.next()
        try:
            body = _post(base, debit)
        except (OSError, http.client.HTTPException):
            stream.lost(debit)
            return
        stream.answered(debit, body)


def _traffic_then_kill(server: Server, stream: Stream, delay: float) -> None:
    stop = threading.Event()
    clients = [
        threading.Thread(target=_client, args=(server.base, stream, stop), daemon=True)
        for _ in range(CLIENTS)
    ]
    for thread in clients:
        thread.start()
    time.sleep(delay)
    server.kill()  # first, so that debits are in flight when it dies
    stop.set()
    for thread in clients:
        thread.join(timeout=REQUEST_TIMEOUT + 5)
        assert not thread.is_alive(), "a client hung after the kill"


def _check(uow: UnitOfWork, stream: Stream, when: str) -> set[str]:
    """The invariants; returns the keys the ledger holds."""
    with uow.read() as tx:
        for user_id in stream.user_ids:
            found = tx.wallets.get(user_id)
            assert found is not None
            total = tx.wallets.ledger_sum(user_id, Asset.BALANCE)
            assert found.balance == total, f"{when}: wallet {user_id} is not its ledger sum"
        counts: dict[str, int] = dict(
            tx.conn.execute(
                select(ledger.c.idempotency_key, func.count())
                .where(ledger.c.idempotency_key.is_not(None))
                .group_by(ledger.c.idempotency_key)
            ).all()
        )
    twice = sorted(key for key, n in counts.items() if n != 1)
    assert not twice, f"{when}: keys applied twice: {twice[:10]}"
    with stream.lock:
        missing = sorted(stream.updated - counts.keys())
        refused = dict(stream.refused)
    assert not missing, f"{when}: answered 'updated' but not in the ledger: {missing[:10]}"
    assert not refused, f"{when}: debits refused: {list(refused.items())[:3]}"
    return set(counts)


@pytest.fixture
def user_ids(uow: UnitOfWork) -> list[int]:
    """Three post-paid users without a limit and two pre-paid ones with 1000.00 each."""
    auth.set_mor_secret(uow, account_id=ADMIN_ID, secret=SECRET)
    customer = factories.customer(uow, parent=factories.reseller(uow))
    post = [factories.user(uow, parent=customer, billing_type=BillingType.POST_PAID)
            for _ in range(3)]  # fmt: skip
    pre = [factories.user(uow, parent=customer, billing_type=BillingType.PRE_PAID)
           for _ in range(2)]  # fmt: skip
    for user in pre:
        wallet.credit(uow, account_id=user.id, asset=Asset.BALANCE,
                      amount=money.to_units(Decimal("1000")), reason="test")  # fmt: skip
    return [user.id for user in (*post, *pre)]


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    server = Server(db_url, tmp_path / "serve.log")
    try:
        yield server
    finally:
        server.kill()


@pytest.mark.slow
def test_thirty_sigkills_mid_stream_lose_no_debit_and_apply_none_twice(
    uow: UnitOfWork, user_ids: list[int], server: Server
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    stream = Stream(user_ids)
    before = {user_id: wallet.get(uow, account_id=user_id).balance for user_id in user_ids}
    survived = applied_but_unanswered = 0
    for crash in range(1, KILLS + 1):
        server.start()
        in_ledger = _check(uow, stream, f"after restart {crash}")
        applied_but_unanswered += len(stream.unanswered() & in_ledger)
        assert time.monotonic() - started < HANG_GUARD, f"stuck after {survived} crashes"
        _traffic_then_kill(server, stream, rng.uniform(*KILL_AFTER))
        survived += 1
    server.start()
    _check(uow, stream, "after the last restart")
    while stream.resend:  # the last kill's lost debits, resent with their keys
        debit = stream.resend.popleft()
        stream.answered(debit, _post(server.base, debit))
    server.kill()
    in_ledger = _check(uow, stream, f"at the end, after {survived} crashes")
    assert in_ledger == stream.updated == set(stream.sent), "a debit was lost or is extra"
    per_user = collections.Counter(debit.user_id for debit in stream.sent.values())
    for user_id in user_ids:
        expected = before[user_id] + per_user[user_id] * money.to_units(Decimal(DEBIT))
        assert wallet.get(uow, account_id=user_id).balance == expected
    print(  # the closing counts
        f"crashes survived: {survived}; debits: {len(stream.sent)}; applied but unanswered "
        f"at a kill, then resent and answered once: {applied_but_unanswered}"
    )
    assert survived == KILLS
