"""The real `smsaccounts` command: each prints JSON that carries what the next one needs."""

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

from smsaccounts.services import outbox
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


def test_outbox_list_prints_one_json_line_per_message(db_url: str, uow: UnitOfWork) -> None:
    for to in ("436761234567", "436761234568"):
        with uow.write() as tx:
            outbox.queue(tx, to_msisdn=to, text=f"PIN for {to}", purpose="pin", account_id=None)
    everything = run(db_url, "outbox", "list")
    assert [m["to"] for m in everything] == ["436761234567", "436761234568"]
    [one] = run(db_url, "outbox", "list", "--to", "+436761234568")
    assert (one["text"], one["status"]) == ("PIN for 436761234568", "queued")


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
