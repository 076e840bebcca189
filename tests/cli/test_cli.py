"""The real `smsaccounts` command: each prints JSON that carries what the next one needs."""

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from smsaccounts.config import Settings
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.services import outbox
from smsaccounts.storage.database import make_engine
from smsaccounts.storage.migrate import upgrade
from smsaccounts.storage.unit_of_work import UnitOfWork

COMMAND = str(Path(sys.executable).with_name("smsaccounts"))


def run(db_url: str, *args: str, ok: bool = True) -> Any:
    env = {**os.environ, "SMSACCOUNTS_DATABASE_URL": db_url}
    done = subprocess.run([COMMAND, *args], capture_output=True, text=True, env=env, timeout=60)
    assert (done.returncode == 0) is ok, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return lines if args[:2] == ("outbox", "list") else lines[0]


def test_the_operator_builds_a_tree_and_funds_it(db_url: str) -> None:
    assert run(db_url, "db", "upgrade")["status"] == "ok"
    reseller = run(
        db_url,
        "reseller",
        "create",
        "acme",
        "--password",
        "pw-1234",
        "--billing-type",
        "PRE_PAID",
        "--free-credits",
        "5",
        "--credits",
        "100",
    )
    assert (reseller["kind"], reseller["credits"], reseller["billing_type"]) == (
        "reseller",
        100,
        "PRE_PAID",
    )
    customer = run(db_url, "customer", "create", "shop", "--reseller", "acme")
    assert customer["parent_id"] == reseller["id"]
    user = run(
        db_url,
        "user",
        "create",
        "alice",
        "--password",
        "pw1234",
        "--customer",
        "shop",
        "--msisdn",
        "+436761234567",
        "--acl",
        "admin,hlr",
    )
    assert user["apikey"].startswith("sak_")
    assert user["msisdn"] == "436761234567"
    sub = run(db_url, "user", "create", "bob", "--password", "pw-1234", "--parent", "alice")
    assert sub["path"] == f"{user['path']}.{int(sub['id']):x}" or sub["parent_id"] == user["id"]
    key = run(
        db_url,
        "apikey",
        "create",
        "app",
        "--customer",
        "shop",
        "--right",
        "user.create",
        "--allow-ip",
        "10.0.0.0/8",
    )
    assert key["apikey"].startswith("sak_")
    assert key["rights"] == ["user.create"]
    assert run(db_url, "credits", "add", "customer:shop", "7")["credits"] == 7
    assert run(db_url, "credits", "add", str(customer["id"]), "3")["credits"] == 10
    assert run(db_url, "balance", "add", "user:alice", "1.25")["balance"] == "1.2500000"
    assert run(db_url, "secret", "set", "admin", "s3cret")["secret"] == "set"
    shown = run(db_url, "account", "set", "user:alice", "first_name=Al", "reg_city=Graz")
    assert shown["name"] == "alice"


def test_db_upgrade_reports_msisdns_it_could_not_make_canonical(tmp_path: Path) -> None:
    """Two live accounts hold one number in two spellings: 0003 merges nothing, keeps the
    canonical one, and `db upgrade` prints the collision for the operator to resolve."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(Settings(), url=url)
    upgrade(engine, "0001")
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in "436761234567")
    with engine.begin() as conn:
        for account_id, msisdn in ((2, "436761234567"), (3, fullwidth)):
            conn.execute(text(
                "INSERT INTO accounts (id, object_id, kind, name, parent_id, path, created_at, "
                "msisdn) VALUES (:id, :oid, 'reseller', :name, 1, :path, '2026-01-01', :msisdn)"
            ), {"id": account_id, "oid": f"{account_id:024x}", "name": f"r{account_id}",
                "path": f"1.{account_id}", "msisdn": msisdn})  # fmt: skip
    engine.dispose()
    env = {**os.environ, "SMSACCOUNTS_DATABASE_URL": url}
    done = subprocess.run([COMMAND, "db", "upgrade"], capture_output=True, text=True, env=env,
                          timeout=60, check=True)  # fmt: skip
    [report] = json.loads(done.stdout)["reports"]
    assert (report["problem"], report["msisdn"], report["kept"]) == (
        "msisdn_collision", "436761234567", 2)  # fmt: skip
    assert report["left_as_is"] == [{"key": 3, "msisdn": fullwidth}]
    assert json.loads(done.stderr.splitlines()[0])["warning"] == "migration"


def test_errors_are_json_with_a_nonzero_exit(db_url: str) -> None:
    error = run(db_url, "customer", "create", "shop", "--reseller", "missing", ok=False)
    assert (error["error"], error["code"]) == ("not_found", "account_not_found")
    run(db_url, "reseller", "create", "acme", "--password", "pw-1234")
    taken = run(db_url, "reseller", "create", "acme", "--password", "pw-1234", ok=False)
    assert (taken["error"], taken["code"]) == ("already_exists", "reseller_name_taken")
    assert run(db_url, "balance", "add", "reseller:acme", "1.123456789", ok=False)["field"] == (
        "amount"
    )
    assert run(db_url, "account", "set", "reseller:acme", "credits=5", ok=False)["field"] == (
        "credits"
    )


def test_any_account_the_admin_included_can_be_given_a_password(
    db_url: str, uow: UnitOfWork
) -> None:
    """MOR clients always send `p`; with this the admin's client logs in."""
    shown = run(db_url, "account", "set", "admin", "password=admin-pw-1")
    assert (shown["kind"], shown["password"]) == ("admin", "set")
    run(db_url, "reseller", "create", "acme", "--password", "old-pw")
    both = run(db_url, "account", "set", "reseller:acme", "password=new-pw-2", "company=Acme")
    assert both["password"] == "set"
    with uow.read() as tx:
        admin, acme = tx.accounts.get(ADMIN_ID), tx.accounts.get_by_name(Kind.RESELLER, "acme")
    assert admin is not None
    assert uow.passwords.verify(admin.password_hash, "admin-pw-1")
    assert acme is not None
    assert uow.passwords.verify(acme.password_hash, "new-pw-2")
    assert acme.company == "Acme"


def test_a_password_outside_the_rule_is_refused_and_changes_nothing(
    db_url: str, uow: UnitOfWork
) -> None:
    run(db_url, "reseller", "create", "acme", "--password", "old-pw")
    refused = run(db_url, "account", "set", "reseller:acme", "password=abc", "company=X", ok=False)
    assert (refused["error"], refused["field"]) == ("invalid_field", "password")
    with uow.read() as tx:
        acme = tx.accounts.get_by_name(Kind.RESELLER, "acme")
    assert acme is not None
    assert uow.passwords.verify(acme.password_hash, "old-pw")
    assert acme.company == ""


def test_the_cli_stores_msisdns_canonical_and_refuses_other_digits(
    db_url: str, uow: UnitOfWork
) -> None:
    run(db_url, "reseller", "create", "acme", "--password", "pw-1")
    run(db_url, "customer", "create", "shop", "--reseller", "acme")
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in "436761234567")
    refused = run(db_url, "user", "create", "al", "--password", "pw-1", "--customer", "shop",
                  "--msisdn", fullwidth, ok=False)  # fmt: skip
    assert (refused["error"], refused["field"]) == ("invalid_field", "msisdn")
    alice = run(db_url, "user", "create", "alice", "--password", "pw-1", "--customer", "shop",
                "--msisdn", "+4306761234567")  # fmt: skip
    assert alice["msisdn"] == "436761234567"
    bob = run(db_url, "user", "create", "bob", "--password", "pw-1", "--customer", "shop")
    taken = run(db_url, "account", "set", "user:bob", "msisdn=436761234567", ok=False)
    assert (taken["error"], taken["code"]) == ("already_exists", "msisdn_taken")
    moved = run(db_url, "account", "set", "user:bob", "msisdn=+4306761234568")
    assert (moved["id"], moved["msisdn"]) == (bob["id"], "436761234568")
    with uow.write() as tx:
        outbox.queue(tx, to_msisdn="436761234568", text="hi", purpose="pin", account_id=None)
    assert [m["to"] for m in run(db_url, "outbox", "list", "--to", "+4306761234568")] == [
        "436761234568"
    ]


def test_values_beyond_their_column_are_json_errors_never_tracebacks(db_url: str) -> None:
    """A wallet at its limit refuses one more unit with the same error as every dialect;
    an id beyond the id column is not found; a count beyond its column is out of range."""
    run(db_url, "reseller", "create", "acme", "--password", "pw-1")
    full = run(db_url, "credits", "add", "reseller:acme", str(2**63 - 1))
    assert full["credits"] == 2**63 - 1
    for amount in ("1", str(10**30)):
        refused = run(db_url, "credits", "add", "reseller:acme", amount, ok=False)
        assert (refused["error"], refused["code"]) == ("invalid_field", "value_out_of_range")
    assert run(db_url, "account", "show", "reseller:acme")["credits"] == 2**63 - 1
    for huge in (2**31, 2**63, 10**30):
        missing = run(db_url, "account", "show", str(huge), ok=False)
        assert missing["error"] == "not_found", huge
    for args in (("reseller", "create", "big", "--password", "pw-1", "--free-credits", str(10**30)),
                 ("account", "set", "reseller:acme", f"mo_charge={2**31}")):  # fmt: skip
        out = run(db_url, *args, ok=False)
        assert (out["error"], out["code"]) == ("invalid_field", "value_out_of_range"), args
    for amount in ("1_000", "\u0665", " 5"):  # argparse's int() would have read these
        out = run(db_url, "credits", "add", "reseller:acme", amount, ok=False)
        assert (out["error"], out["field"]) == ("invalid_field", "amount"), amount


def test_outbox_list_prints_one_json_line_per_message(db_url: str, uow: UnitOfWork) -> None:
    for to in ("436761234567", "436761234568"):
        with uow.write() as tx:
            outbox.queue(tx, to_msisdn=to, text=f"PIN for {to}", purpose="pin", account_id=None)
    everything = run(db_url, "outbox", "list")
    assert [m["to"] for m in everything] == ["436761234567", "436761234568"]
    [one] = run(db_url, "outbox", "list", "--to", "+436761234568")
    assert (one["text"], one["status"]) == ("PIN for 436761234568", "queued")


def test_outbox_list_masks_secrets_and_drops_what_has_expired(db_url: str, uow: UnitOfWork) -> None:
    """The operator reads the masked text only; an SMS past its end is shown expired."""
    now = dt.datetime.now(dt.UTC)  # the CLI runs on the system clock
    with uow.write() as tx:
        for to, lifetime in (("436761234567", 600), ("436761234568", -1)):
            outbox.queue(tx, to_msisdn=to, text="Your verification PIN is 428571.",
                         purpose="pin", account_id=None, secret="428571",
                         expires_at=now + dt.timedelta(seconds=lifetime))  # fmt: skip
    listed = run(db_url, "outbox", "list")
    assert [(m["text"], m["status"]) for m in listed] == [
        ("Your verification PIN is ******.", "queued"),
        ("Your verification PIN is ******.", "expired"),
    ]
    assert "428571" not in json.dumps(listed)
    [expired] = [m for m in outbox.list_messages(uow) if m.status == "expired"]
    assert expired.body is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_migrates_answers_healthz_and_delivers_the_outbox(
    db_url: str, uow: UnitOfWork
) -> None:
    with uow.write() as tx:
        outbox.queue(tx, to_msisdn="436761234567", text="hello", purpose="pin", account_id=None)
    port = _free_port()
    env = {
        **os.environ,
        "SMSACCOUNTS_DATABASE_URL": db_url,
        "SMSACCOUNTS_OUTBOX_POLL_SECONDS": "0.2",
    }
    server = subprocess.Popen(
        [COMMAND, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = _wait_for(f"http://127.0.0.1:{port}/healthz")
        assert json.loads(body) == {"status": "ok"}
        deadline = time.monotonic() + 20
        while outbox.list_messages(uow)[0].status != "sent":
            assert time.monotonic() < deadline, "the outbox worker did not deliver"
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_for(url: str) -> bytes:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return bytes(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
