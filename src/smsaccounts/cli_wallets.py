"""The CLI's wallet and database commands: credits move, ledger list, db verify, db backup.
Each only translates: the rules are the services' and the domain's."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

from smsaccounts.cli_accounts import ACCOUNT_HELP, moment, resolve, summary
from smsaccounts.clikit import Failure
from smsaccounts.domain import money
from smsaccounts.domain.models import Asset, LedgerEntry
from smsaccounts.errors import InvalidField
from smsaccounts.services import provisioning, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork


def add_parsers(sub: Any, group: Any, db: Any, credits_type: Any) -> None:
    move = group(sub, "credits", create=False).add_parser(
        "move", help="move credits from a reseller to its customer (or back)"
    )
    move.add_argument("source", metavar="FROM", help=ACCOUNT_HELP)
    move.add_argument("target", metavar="TO", help=ACCOUNT_HELP)
    move.add_argument("amount", type=credits_type, help="a positive whole number of credits")
    move.set_defaults(handler=credits_move)

    ledger = group(sub, "ledger").add_parser("list", help="an account's ledger, newest first")
    ledger.add_argument("account", help=ACCOUNT_HELP)
    ledger.add_argument("--since", type=moment, help="only entries from this ISO 8601 time on")
    ledger.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    ledger.set_defaults(handler=ledger_list)

    db.add_parser(
        "verify", help="every wallet equals the sum of its ledger and none is below its floor"
    ).set_defaults(handler=db_verify)
    backup = db.add_parser("backup", help="copy a SQLite database while it serves")
    backup.add_argument("path", help="the file to write (must not exist)")
    backup.set_defaults(handler=db_backup)


def credits_move(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    source, target = resolve(uow, args.source), resolve(uow, args.target)
    provisioning.move_credits(uow, source=source, target=target, credits=args.amount)
    return {
        "from": {**summary(source), "credits": wallet.get(uow, account_id=source.id).credits},
        "to": {**summary(target), "credits": wallet.get(uow, account_id=target.id).credits},
        "moved": args.amount,
    }


def ledger_list(uow: UnitOfWork, args: argparse.Namespace) -> list[dict[str, Any]]:
    if not 1 <= args.limit <= 10_000:
        raise InvalidField("--limit must be from 1 to 10000", field="limit")
    account = resolve(uow, args.account)
    found = wallet.entries(uow, account_id=account.id, since=args.since, limit=args.limit)
    return [_entry(e) for e in found]


def _entry(entry: LedgerEntry) -> dict[str, Any]:
    def amount(units: int) -> int | str:
        return money.format_amount(units) if entry.asset is Asset.BALANCE else units

    return {
        "id": entry.id,
        "account_id": entry.account_id,
        "asset": entry.asset.value,
        "amount": amount(entry.amount),
        "resulting": amount(entry.resulting),
        "reason": entry.reason,
        "actor_id": entry.actor_id,
        "idempotency_key": entry.idempotency_key,
        "created_at": entry.created_at.isoformat(),
    }


def db_verify(uow: UnitOfWork, _args: argparse.Namespace) -> dict[str, Any]:
    """Exit 0 with `"status": "ok"`, or exit 1 naming every wallet that is wrong."""
    wrong = wallet.verify(uow)
    if not wrong:
        return {"status": "ok"}
    raise Failure(
        {
            "error": "verify",
            "code": "ledger_mismatch",
            "message": f"{len(wrong)} wallet(s) do not match their ledger",
            "wallets": [{**summary(account), "problems": problems} for account, problems in wrong],
        }
    )


def db_backup(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    """SQLite's online backup (a consistent copy while others write); PostgreSQL: pg_dump."""
    if not uow.db.is_sqlite:
        raise Failure(
            {
                "error": "backup",
                "code": "not_sqlite",
                "message": "db backup copies SQLite databases; for PostgreSQL use pg_dump "
                "(pg_dump --format=custom --file=PATH DATABASE_URL)",
            }
        )
    target = Path(args.path)
    if target.exists():
        raise InvalidField(f"{target} already exists", field="path")
    raw = uow.db.engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        with sqlite3.connect(target) as copy:
            source.backup(copy)
        copy.close()
    finally:
        raw.close()
    return {"status": "ok", "path": str(target), "bytes": target.stat().st_size}
