"""Authentication: own keys only, iprange, disabled and deleted users, the legacy form, and
the error shapes (401 with a request id that is also in the log line of that request)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from smsaccounts.app import create_app
from smsaccounts.config import Settings
from smsaccounts.domain.models import Account
from smsaccounts.errors import ServiceUnavailable
from smsaccounts.services import accounts, auth, subusers
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories, multiserver

DENIED = re.compile(r"Access denied \[([0-9a-f]{8})\] authentication failed")


def _denied(response: Any) -> str:
    """Assert a LINK 401 and return its request id."""
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401
    match = DENIED.fullmatch(body["message"])
    assert match, body
    return match.group(1)


@pytest.fixture
def remote(settings: Settings, uow: UnitOfWork) -> Iterator[TestClient]:
    """A client calling from 10.9.9.9."""
    app = create_app(settings, uow=uow, deliver_sms=False)
    with TestClient(app, client=("10.9.9.9", 5000)) as test_client:
        yield test_client


def test_unknown_and_missing_keys_answer_401_with_a_fresh_request_id(client: Any) -> None:
    first = _denied(client.get("/v2/ping.json?apikey=sak_nope"))
    second = _denied(client.get("/v2/users.json"))
    assert first != second


@multiserver.reads_logs
def test_the_request_id_of_a_refusal_is_in_that_requests_log_line(client: Any) -> None:
    with capture_logs() as logs:
        request_id = _denied(client.get("/v2/users.json?apikey=sak_nope"))
    lines = [line for line in logs if line.get("request_id") == request_id]
    assert len(lines) == 1
    assert lines[0]["status"] == 401
    assert "sak_nope" not in repr(logs)  # the key (in the query string) is never logged


@pytest.mark.usefixtures("client")
def test_a_key_is_refused_from_an_ip_outside_its_users_iprange(
    remote: TestClient, uow: UnitOfWork
) -> None:
    fenced = factories.user(uow, iprange="10.1.0.0/16,192.168.5.5")
    key = factories.user_key(uow, fenced)
    _denied(remote.get(f"/v2/users.json?apikey={key}"))
    _denied(remote.get(f"/v2/user/{fenced.id}.json?apikey={key}"))
    inside = TestClient(create_app(uow.settings, uow=uow, deliver_sms=False),
                        client=("10.1.2.3", 5000))  # fmt: skip
    with inside:
        assert inside.get(f"/v2/users.json?apikey={key}").status_code == 200


def test_an_iprange_set_through_the_api_locks_out_the_next_call_from_elsewhere(
    remote: TestClient, client: Any, root_key: str
) -> None:
    body = {"user": {"username": "fenced", "iprange": "10.1.2.3"}}
    kid = client.post(f"/v2/user.json?apikey={root_key}", json=body).json()["user"]
    assert client.get(f"/v2/ping.json?apikey={kid['apikey']}").status_code == 401
    assert remote.get(f"/v2/ping.json?apikey={kid['apikey']}").status_code == 401


def test_disabled_and_deactivated_users_keys_answer_401(client: Any, uow: UnitOfWork) -> None:
    disabled = factories.user(uow)
    deleted = factories.user(uow)
    keys = [factories.user_key(uow, account) for account in (disabled, deleted)]
    admin = _admin(uow)
    accounts.disable(uow, actor=admin, account_id=disabled.id)
    accounts.delete(uow, actor=admin, account_id=deleted.id)
    for key in keys:
        _denied(client.get(f"/v2/ping.json?apikey={key}"))


def test_a_client_application_key_is_not_a_users_own_key(client: Any, uow: UnitOfWork) -> None:
    customer = factories.customer(uow)
    _denied(client.get(f"/v2/ping.json?apikey={factories.client_key(uow, customer)}"))


def test_legacy_plain_login_authenticates_by_password_and_shows_no_key(
    client: Any, root: Account
) -> None:
    params = {"apikey": "legacy", "username": root.name, "password": factories.PASSWORD}
    ping = client.get("/v2/ping.json", params={**params, "type": "plain"})
    assert ping.status_code == 200
    assert ping.json()["apikey"] == "---"
    assert ping.json()["userid"] == str(root.id)
    listed = client.get("/v2/users.json", params={**params, "type": "plain"}).json()
    assert [user["apikey"] for user in listed["users"]] == ["---"]
    _denied(client.get("/v2/ping.json", params={**params, "password": "wrong", "type": "plain"}))
    _denied(client.get("/v2/ping.json", params={**params, "username": "nobody"}))


def test_legacy_md5_is_refused_with_400_saying_why(client: Any, root: Account) -> None:
    params = {"apikey": "legacy", "username": root.name, "password": "0" * 32, "type": "md5"}
    answer = client.get("/v2/ping.json", params=params)
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert "md5" in message
    assert "argon2" in message


def test_legacy_login_is_refused_from_outside_the_users_iprange(
    remote: TestClient, uow: UnitOfWork
) -> None:
    fenced = factories.user(uow, iprange="10.1.0.0/16")
    params = {"apikey": "legacy", "username": fenced.name, "password": factories.PASSWORD,
              "type": "plain"}  # fmt: skip
    _denied(remote.get("/v2/ping.json", params=params))


def test_errors_in_xml_have_a_response_root_with_status_and_message(client: Any) -> None:
    answer = client.get("/v2/ping.xml?apikey=sak_nope")
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/xml")
    text = answer.text
    assert re.search(
        r"<response><status>401</status><message>Access denied \[[0-9a-f]{8}\] "
        r"authentication failed</message></response>",
        text,
    ), text


def test_an_unknown_format_is_a_json_404(client: Any, root_key: str) -> None:
    answer = client.get(f"/v2/users.yaml?apikey={root_key}")
    assert (answer.status_code, answer.json()) == (404, {"status": 404, "message": "Not found"})


def test_a_database_outage_is_a_503_in_the_same_shape(
    client: Any, root_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise ServiceUnavailable("database unavailable")

    monkeypatch.setattr(subusers, "list_page", down)
    answer = client.get(f"/v2/users.json?apikey={root_key}")
    assert answer.status_code == 503
    assert answer.json()["status"] == 503


def test_an_unexpected_error_is_a_500_without_a_stack_trace_and_is_logged(
    client: Any, root_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(subusers, "list_page", broken)
    with capture_logs() as logs:
        answer = client.get(f"/v2/users.xml?apikey={root_key}")
    assert answer.status_code == 500
    assert "secret internals" not in answer.text
    assert "Traceback" not in answer.text
    assert "<status>500</status>" in answer.text
    assert [line["log_level"] for line in logs if line.get("status") == 500] == ["error"]


def _admin(uow: UnitOfWork) -> Account:
    with uow.read() as tx:
        admin = tx.accounts.get(1)
    assert admin is not None
    return admin


def _on_the_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_key_reads_run_on_the_loop_on_sqlite_and_a_password_never_does(
    client: Any, uow: UnitOfWork, root: Account, root_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page, a user and a ping by key only read: on SQLite they run inline on the event
    loop (no worker thread). On a database server a page and a ping, whose reads are all
    lookups, run on the loop with their reads awaited; a user (a read transaction) on a
    worker thread. The legacy form hashes a password and may write its lockout: always on a
    worker thread."""
    where: list[tuple[str, bool]] = []

    def watched(name: str, use_case: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            where.append((name, _on_the_loop()))
            return use_case(*args, **kwargs)

        return run

    monkeypatch.setattr(subusers, "list_page", watched("page", subusers.list_page))
    monkeypatch.setattr(subusers, "get", watched("user", subusers.get))
    monkeypatch.setattr(auth, "authenticate_user_key", watched("key", auth.authenticate_user_key))
    monkeypatch.setattr(auth, "authenticate_user_password",
                        watched("password", auth.authenticate_user_password))  # fmt: skip
    legacy = {"apikey": "legacy", "username": root.name, "password": factories.PASSWORD}
    assert client.get(f"/v2/users.json?apikey={root_key}").status_code == 200
    assert client.get(f"/v2/user/{root.id}.json?apikey={root_key}").status_code == 200
    assert client.get(f"/v2/ping.json?apikey={root_key}").status_code == 200
    assert client.get("/v2/users.json", params=legacy).status_code == 200
    inline = uow.db.is_sqlite
    assert where == [("key", True), ("page", True), ("key", inline), ("user", inline),
                     ("key", True), ("password", False), ("page", False)]  # fmt: skip
