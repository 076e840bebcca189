"""How long a locked, a wrong-password and an unknown-msisdn mysms login take, in process,
with the service's real argon2 parameters: `python -m bench.login_timing [--tries 200]`.

Not part of `make test` (no test asserts a timing). Prints each kind's median and the gaps
between the medians; the issue's bar is a gap under 5 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

from smsaccounts.config import Settings
from smsaccounts.domain.clock import SystemClock
from smsaccounts.domain.credentials import Passwords
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.errors import DomainError
from smsaccounts.services import accounts, auth, sessions
from smsaccounts.storage.database import Database, make_engine
from smsaccounts.storage.migrate import upgrade
from smsaccounts.storage.unit_of_work import UnitOfWork

KNOWN, LOCKED, UNKNOWN = "436761111111", "436762222222", "436763333333"


def _uow(settings: Settings) -> UnitOfWork:
    engine = make_engine(settings)
    upgrade(engine)
    passwords = Passwords(time_cost=settings.argon2_time_cost,
                          memory_cost=settings.argon2_memory_cost,
                          parallelism=settings.argon2_parallelism)  # fmt: skip
    return UnitOfWork(settings=settings, db=Database(engine), clock=SystemClock(),
                      passwords=passwords)  # fmt: skip


def _tenant(uow: UnitOfWork) -> sessions.Caller:
    reseller = accounts.create(uow, kind=Kind.RESELLER, name="r", parent_id=ADMIN_ID)
    customer = accounts.create(uow, kind=Kind.CUSTOMER, name="c", parent_id=reseller.id)
    for msisdn in (KNOWN, LOCKED):
        accounts.create(uow, kind=Kind.USER, name=msisdn, parent_id=customer.id,
                        password="right-pw-1", msisdn=msisdn, country="AT")  # noqa: S106  # fmt: skip
    _key, plaintext = auth.create_api_key(uow, owner_id=customer.id, name="app")
    return sessions.client(uow, api_key=plaintext, client_ip=None)


def _once(uow: UnitOfWork, caller: sessions.Caller, msisdn: str, password: str) -> float:
    start = time.perf_counter()
    with contextlib.suppress(DomainError):  # every kind measured here is a refusal
        sessions.login(uow, caller, msisdn=msisdn, password=password, key=None, check_key=False)
    return (time.perf_counter() - start) * 1000


@contextlib.contextmanager
def _scratch(url: str, tmp: str) -> Iterator[str]:
    """A database URL to fill and forget: a temp SQLite file, or a fresh PostgreSQL schema."""
    if not url.startswith("postgresql"):
        yield url or f"sqlite:///{Path(tmp) / 'timing.db'}"
        return
    schema = f"login_timing_{os.getpid()}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=200)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, _scratch(args.database_url, tmp) as url:
        # A window long enough that the "wrong" user never gets blocked during the run.
        settings = Settings(database_url=url, login_max_failures=10**9)
        uow = _uow(settings)
        caller = _tenant(uow)
        locked = uow.settings.replace(login_max_failures=1)
        _once(UnitOfWork(settings=locked, db=uow.db, clock=uow.clock, passwords=uow.passwords),
              caller, LOCKED, "wrong-pw")  # fmt: skip
        kinds = {"locked": (LOCKED, "right-pw-1"), "wrong": (KNOWN, "wrong-pw"),
                 "unknown": (UNKNOWN, "wrong-pw")}  # fmt: skip
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(args.tries):  # interleaved, so drift hits every kind alike
            for kind, (msisdn, password) in kinds.items():
                times[kind].append(_once(uow, caller, msisdn, password))
        uow.db.dispose()
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    print(f"argon2id t={settings.argon2_time_cost} m={settings.argon2_memory_cost} KiB, "
          f"{args.tries} tries each, {url.split(':', 1)[0]}")  # fmt: skip
    for kind, median in medians.items():
        print(f"  {kind:8s} median {median:7.2f} ms")
    names = list(medians)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            print(f"  gap {a}-{b}: {abs(medians[a] - medians[b]):.2f} ms")


if __name__ == "__main__":
    main()
