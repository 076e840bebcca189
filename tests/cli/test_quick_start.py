"""The README's quick start, run verbatim, builds a tree every dialect serves."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.cli.test_cli import COMMAND

README = (Path(__file__).parents[2] / "README.md").read_text()


def quick_start_commands() -> list[list[str]]:
    """Every `.venv/bin/smsaccounts` line of the quick start's shell blocks, as argv."""
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", quick, flags=re.DOTALL)
    lines = [line for block in blocks for line in block.splitlines()]
    commands = [shlex.split(line) for line in lines if line.startswith(".venv/bin/smsaccounts ")]
    assert len(commands) >= 5
    return [[COMMAND, *argv[1:]] for argv in commands]


def test_the_readme_quick_start_yields_a_tree_every_dialect_serves(
    db_url: str, client: TestClient
) -> None:
    env = {**os.environ, "SMSACCOUNTS_DATABASE_URL": db_url}
    printed: dict[str, Any] = {}
    for argv in quick_start_commands():
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        printed[" ".join(argv[1:3])] = json.loads(done.stdout)
    shop = printed["customer create"]
    assert shop["billing_type"] == "PRE_PAID"

    reseller = {"reseller": "acme", "password": "reseller-pw"}
    added = client.post(
        "/services/rest/admin/addCredits",
        data={**reseller, "customerId": shop["object_id"], "credits": "100"},
    ).json()
    assert added == {"credits": 100, "status": 0}
    login = {"resellerName": "acme", "resellerPassword": "reseller-pw"}
    created = client.post(
        "/services/rest/customer/create", data={**login, "name": "shop2", "integrationId": "s2"}
    ).json()
    assert created["status"] == 0
    both = client.post(
        "/services/rest/customer-user/create",
        data={**login, "customer": "shop3", "username": "carol", "password": "carol-pw",
              "applyFreeCredits": "true"},
    ).json()  # fmt: skip
    assert both["status"] == 0

    app_key = printed["apikey create"]["apikey"]
    token = client.post(
        "/json/user/login",
        json={"apiKey": app_key, "msisdn": 436761234567, "password": "alice-pw"},
    ).json()
    assert token["errorCode"] == 0
    balance = client.post(
        "/json/user/balance/get", json={"apiKey": app_key, "authToken": token["authToken"]}
    ).json()
    assert balance["errorCode"] == 0

    users = client.get("/v2/users.json", params={"apikey": printed["user create"]["apikey"]})
    assert users.status_code == 200
    assert "alice" in users.text

    digest = hashlib.sha1(b"alicemor-secret").hexdigest()  # noqa: S324 - MOR fixes SHA1
    details = client.post(
        "/billing/api/user_details_get", params={"u": "admin", "username": "alice", "hash": digest}
    )
    assert "<error>" not in details.text
    assert "alice" in details.text
    user_id = str(printed["user create"]["id"])
    digest = hashlib.sha1(f"{user_id}2.5mor-secret".encode()).hexdigest()  # noqa: S324
    updated = client.post(
        "/billing/api/user_balance_update",
        params={"u": "admin", "user_id": user_id, "balance": "2.5", "hash": digest},
    )
    assert "User balance updated" in updated.text
