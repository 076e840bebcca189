"""Secrets never logged: a full session over all four dialects with every log captured
(structlog as the app configures it, JSON, and stdlib logging); no password, PIN, token,
key, MOR secret or hash used in it appears in any line."""

from __future__ import annotations

import io
import logging
import re
import sys
from typing import Any

import pytest
import structlog
from starlette.testclient import TestClient

from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork
from smsaccounts.transports import LogTransport
from tests import factories

from .conftest import Tree, mor_hash

PREFIXED = re.compile(r"(sat|sak)_[A-Za-z0-9_-]{16,}")
MSISDN = "436769876543"


@pytest.fixture
def captured(
    make_http: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Any:
    """An app logging JSON at debug level into a buffer, plus stdlib records via caplog.

    Module loggers cache their stream on first use, so each is replaced by a fresh proxy
    before the app configures structlog exactly as in production (`logs.configure`).
    """
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    for name, module in list(sys.modules.items()):
        if name.startswith("smsaccounts") and hasattr(module, "log"):
            monkeypatch.setattr(module, "log", structlog.get_logger(name))
    caplog.set_level(logging.DEBUG)
    # SQL echo is an operator's debugging switch, off in service; it would print rows.
    caplog.set_level(logging.WARNING, logger="sqlalchemy")
    http = make_http(log_format="json", log_level="debug")
    yield http, buffer, caplog
    structlog.reset_defaults()


def _mysms(http: TestClient, path: str, **fields: Any) -> dict[str, Any]:
    answer: dict[str, Any] = http.post(f"/json/user/{path}", json=fields).json()
    return answer


def _mysms_session(http: TestClient, uow: UnitOfWork, key: str) -> list[str]:
    assert _mysms(http, "msisdn/verify", apiKey=key, msisdn=MSISDN)["errorCode"] == 0
    pin = re.findall(r"\b\d{6}\b", str(outbox.list_messages(uow, to_msisdn=MSISDN)[-1].body))[0]
    _mysms(http, "msisdn/verify", apiKey=key, msisdn=MSISDN, pin="000000" if pin != "000000"
           else "111111")  # fmt: skip
    created = _mysms(http, "create", apiKey=key, msisdn=MSISDN, password="mysms-pw-1", pin=pin)
    login = _mysms(http, "login", apiKey=key, msisdn=MSISDN, password="mysms-pw-1",
                   key="device-key-4711")  # fmt: skip
    token = login["authToken"]
    _mysms(http, "balance/get", apiKey=key, authToken=token)
    _mysms(http, "password/change", apiKey=key, authToken=token, password="mysms-pw-2")
    _mysms(http, "login", apiKey=key, msisdn=MSISDN, password="mysms-wrong-9")
    _mysms(http, "password/reset", apiKey=key, msisdn=MSISDN)
    generated = re.findall(r"is (\S+)", str(outbox.list_messages(uow, to_msisdn=MSISDN)[-1].body))[
        0
    ]
    again = _mysms(http, "login", apiKey=key, msisdn=MSISDN, password=generated)
    _mysms(http, "balance/get", apiKey=key, authToken="sat_not-a-real-token-xyz123")
    assert outbox.deliver_due(uow, LogTransport()) >= 2
    return [pin, "mysms-pw-1", "mysms-pw-2", "mysms-wrong-9", generated, "device-key-4711",
            created["authToken"], token, again["authToken"], key]  # fmt: skip


def _link_session(http: TestClient, tree: Tree) -> list[str]:
    key = tree.link_key
    sub = {"user": {"username": "logged-sub", "password": "link-pw-77"}}
    made = http.post(f"/v2/user.json?apikey={key}", json=sub)
    new_key = made.json()["user"]["apikey"]
    http.get(f"/v2/ping.xml?apikey={new_key}")
    http.put(f"/v2/user/{made.json()['user']['id']}.json?apikey={key}",
             json={"user": {"password": "link-pw-88"}})  # fmt: skip
    legacy = {"apikey": "legacy", "username": "logged-sub", "type": "plain"}
    http.get("/v2/ping.json", params={**legacy, "password": "link-pw-88"})
    http.get("/v2/ping.json", params={**legacy, "password": "link-wrong-66"})
    http.get("/v2/users.json?apikey=sak_wrong-key-abcdefghijklmnop")
    return [key, new_key, "link-pw-77", "link-pw-88", "link-wrong-66"]


def _reseller_session(http: TestClient, tree: Tree) -> list[str]:
    login = {"resellerName": tree.reseller.name, "resellerPassword": factories.PASSWORD}
    http.post("/services/rest/user/create", data={
        **login, "username": "res-user", "password": "reseller-user-pw", "email": "r@example.com",
        "phoneNumber": "+436601234567", "customerId": tree.customer.object_id})  # fmt: skip
    http.post("/services/rest/admin/addCredits", data={
        "reseller": tree.reseller.name, "password": factories.PASSWORD,
        "customerId": tree.customer.object_id, "credits": "3"})  # fmt: skip
    http.post("/services/rest/admin/balance", data={
        "reseller": tree.reseller.name, "password": "reseller-wrong-5",
        "customerId": tree.customer.object_id})  # fmt: skip
    return [factories.PASSWORD, "reseller-user-pw", "reseller-wrong-5"]


def _mor_session(http: TestClient, tree: Tree) -> list[str]:
    u, uid = tree.reseller.name, str(tree.user.id)
    good = mor_hash(uid, tree.secret)
    http.post("/billing/api/user_details_get",
              data={"u": u, "user_id": uid, "hash": good, "p": factories.PASSWORD})  # fmt: skip
    http.post("/billing/api/user_details_get", data={"u": u, "user_id": uid, "hash": "0" * 40})
    balance_hash = mor_hash(uid, "2.5", tree.secret)
    http.post("/billing/api/user_balance_update",
              data={"u": u, "user_id": uid, "balance": "2.5", "hash": balance_hash})  # fmt: skip
    http.post("/billing/api/user_details_get", data={"u": u, "user_id": uid, "hash": good,
                                                     "p": "mor-wrong-pw-3"})  # fmt: skip
    return [tree.secret, good, balance_hash, "mor-wrong-pw-3"]


def test_no_secret_of_a_full_session_appears_in_any_log_line(
    captured: Any, uow: UnitOfWork, tree_a: Tree
) -> None:
    http, buffer, caplog = captured
    secrets = [
        *_mysms_session(http, uow, tree_a.client_key),
        *_link_session(http, tree_a),
        *_reseller_session(http, tree_a),
        *_mor_session(http, tree_a),
        tree_a.token, tree_a.sub_key, tree_a.password,
    ]  # fmt: skip
    lines = buffer.getvalue().splitlines() + [record.getMessage() for record in caplog.records]
    assert len(lines) >= 10, lines  # the session really logs, so the scan can find things
    assert any('"sms handed to log transport"' in line for line in lines)
    assert any('"link request"' in line for line in lines)
    for line in lines:
        for secret in secrets:
            assert secret not in line, (secret, line)
        assert not PREFIXED.search(line), line
    assert len(secrets) >= 20
