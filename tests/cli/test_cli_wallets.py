"""The CLI's wallet and database commands: apikey create --user, credits move, ledger list,
db verify (caught a wallet edited behind the ledger's back) and db backup."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from tests.cli.test_cli import run
from tests.cli.test_cli_accounts import lines


@pytest.fixture
def shop(db_url: str) -> dict[str, Any]:
    run(db_url, "reseller", "create", "acme", "--password", "acme-pw", "--credits", "100")
    return dict(run(db_url, "customer", "create", "shop", "--reseller", "acme"))


def test_credits_move_follows_the_reseller_api_rules(db_url: str, shop: dict[str, Any]) -> None:
    moved = run(db_url, "credits", "move", "reseller:acme", "customer:shop", "30")
    assert (moved["from"]["credits"], moved["to"]["credits"]) == (70, 30)
    back = run(db_url, "credits", "move", shop["object_id"], "reseller:acme", "10")
    assert (back["from"]["credits"], back["to"]["credits"]) == (20, 80)
    too_much = run(db_url, "credits", "move", "reseller:acme", "customer:shop", "81", ok=False)
    assert too_much["code"] == "insufficient_funds"
    run(db_url, "reseller", "create", "post", "--password", "post-pw",
        "--billing-type", "POST_PAID")  # fmt: skip
    run(db_url, "customer", "create", "tab", "--reseller", "post")
    refused = run(db_url, "credits", "move", "reseller:post", "customer:tab", "5", ok=False)
    assert refused["code"] == "post_paid_target"
    stranger = run(db_url, "credits", "move", "reseller:post", "customer:shop", "5", ok=False)
    assert stranger["field"] == "to"


def test_ledger_list_shows_entries_newest_first(db_url: str, shop: dict[str, Any]) -> None:
    del shop
    run(db_url, "credits", "move", "reseller:acme", "customer:shop", "30")
    run(db_url, "balance", "add", "customer:shop", "1.5")
    entries = lines(db_url, "ledger", "list", "customer:shop")
    assert [(e["asset"], e["amount"]) for e in entries] == [("balance", "1.5000000"),
                                                            ("credits", 30)]  # fmt: skip
    assert len(lines(db_url, "ledger", "list", "customer:shop", "--limit", "1")) == 1
    assert lines(db_url, "ledger", "list", "customer:shop", "--since", "2999-01-01") == []


def test_db_verify_passes_on_a_clean_database_and_names_a_wallet_changed_behind_its_ledger(
    db_url: str, shop: dict[str, Any]
) -> None:
    run(db_url, "credits", "move", "reseller:acme", "customer:shop", "30")
    assert run(db_url, "db", "verify") == {"status": "ok"}
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("UPDATE wallets SET credits = -5 WHERE account_id = :id"),
                     {"id": shop["id"]})  # fmt: skip
    engine.dispose()
    failed = run(db_url, "db", "verify", ok=False)
    assert failed["code"] == "ledger_mismatch"
    [wrong] = failed["wallets"]
    assert wrong["id"] == shop["id"]
    assert wrong["problems"] == [
        "credits is -5 but its ledger sums to 30",
        "credits is -5, below its floor 0",
    ]


def test_db_backup_copies_sqlite_and_points_postgresql_to_pg_dump(
    db_url: str, shop: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "copy.db"
    if not db_url.startswith("sqlite"):
        assert "pg_dump" in run(db_url, "db", "backup", str(target), ok=False)["message"]
        return
    assert run(db_url, "db", "backup", str(target))["path"] == str(target)
    with sqlite3.connect(target) as copy:
        names = copy.execute("SELECT name FROM accounts ORDER BY id").fetchall()
    copy.close()
    assert names == [("admin",), ("acme",), (shop["name"],)]
    assert run(db_url, "db", "backup", str(target), ok=False)["field"] == "path"


def test_apikey_create_for_a_user_gives_it_another_key_of_its_own(
    db_url: str, shop: dict[str, Any], client: TestClient
) -> None:
    del shop
    run(db_url, "user", "create", "alice", "--password", "alice-pw", "--customer", "shop")
    key = run(db_url, "apikey", "create", "second", "--user", "alice")
    assert (key["purpose"], key["apikey"][:4]) == ("user", "sak_")
    assert client.get(f"/v2/ping.json?apikey={key['apikey']}").status_code == 200
