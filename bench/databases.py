"""Fresh databases for a run (a SQLite file, or a PostgreSQL schema) and the ledger check."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text

from smsaccounts.config import Settings
from smsaccounts.storage.database import make_engine


@contextlib.contextmanager
def fresh(base_url: str | None, tmp: Path, name: str) -> Iterator[str]:
    """A URL of an empty database for this run, removed afterwards.

    No URL: a SQLite file in `tmp`. A SQLite URL: that file, which must not exist yet. A
    PostgreSQL URL: a new schema in that database (selected through `search_path`), dropped
    at the end, so a run never touches existing tables.
    """
    if not base_url:
        yield f"sqlite:///{tmp / f'{name}.db'}"
        return
    if base_url.startswith("sqlite"):
        path = Path(base_url.split(":///", 1)[1])
        if path.exists():
            raise SystemExit(f"{path} exists; the benchmark seeds a fresh database only")
        yield base_url
        return
    schema = f"bench_{name}_{secrets.token_hex(4)}"
    admin = make_engine(Settings(), url=base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def ledger_check(url: str, account_ids: Iterable[int], debit_units: int) -> dict[str, Any]:
    """For the debited accounts: does each money balance equal the sum of its ledger?"""
    ids = list(account_ids)
    engine = make_engine(Settings(), url=url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT w.account_id, w.balance, "
                    "(SELECT COALESCE(SUM(l.amount), 0) FROM ledger l "
                    " WHERE l.account_id = w.account_id AND l.asset = 'balance'), "
                    "(SELECT COUNT(*) FROM ledger l WHERE l.account_id = w.account_id "
                    " AND l.asset = 'balance' AND l.amount = :debit) "
                    "FROM wallets w WHERE w.account_id BETWEEN :low AND :high"
                ),
                {"low": min(ids), "high": max(ids), "debit": -debit_units},
            ).all()
    finally:
        engine.dispose()
    mismatched = [r[0] for r in rows if int(r[1]) != int(r[2])]
    return {
        "accounts": len(rows),
        "mismatched": len(mismatched),
        "debits_in_ledger": sum(int(r[3]) for r in rows),
        "wallet_equals_ledger": not mismatched,
    }
