"""mysms/mysms-api-samples, the official NodeJS and Perl samples, replayed.

What the samples do (nodejs/send-remote-sms.js, perl/send-remote-sms.pl): POST
`/json/user/login` with `apiKey`, `msisdn` and `password`, the msisdn a JSON number ("your
msisdn in international format without plus"). NodeJS: `JSON.stringify` the object, send it
with `Content-Type: application/json` and its `Content-Length`, `JSON.parse` the body when
the status is 200 and take any other status as errorCode 99. Perl: LWP's `post` with
`Content_Type => "application/json"` and `JSON::XS` (UTF-8), decode on a 2xx status, else
errorCode 99. Then they read `errorCode` and `authToken`, and send further requests with the
token and the key in the same body: `/json/remote/sms/send` with `recipients` (a list of
`+` numbers), `message`, `encoding` 0, `smsConnectorId` 0, `store` (NodeJS `true`, Perl
`1`), and report success on errorCode 0.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork

from .mysms_tenant import MSISDN, PASSWORD, Tenant, make_tenant

SAMPLES = ["nodejs", "perl"]


def request(wire: TestClient, sample: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Each sample's `request` function: the JSON answer, or errorCode 99 on a bad status."""
    if sample == "nodejs":
        data = json.dumps(body, separators=(",", ":")).encode()  # JSON.stringify
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        response = wire.post(path, content=data, headers=headers)
        ok = response.status_code == 200
    else:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()  # JSON::XS
        headers = {"Content-Type": "application/json", "User-Agent": "libwww-perl/6.72"}
        response = wire.post(path, content=data, headers=headers)
        ok = 200 <= response.status_code < 300  # $response->is_success()
    if not ok:
        return {"errorCode": 99}
    answer: dict[str, Any] = json.loads(response.content)
    return answer


@pytest.fixture
def tenant(uow: UnitOfWork) -> Tenant:
    return make_tenant(uow)


def _login(tenant: Tenant, password: str = PASSWORD) -> dict[str, Any]:
    """The samples' login body: the msisdn a number, as `USER_MSISDN = 123456789`."""
    return {"apiKey": tenant.api_key, "msisdn": int(MSISDN), "password": password}


@pytest.mark.parametrize("sample", SAMPLES)
def test_login_with_the_msisdn_as_a_number_then_a_call_with_the_token(
    wire: TestClient, tenant: Tenant, sample: str
) -> None:
    result = request(wire, sample, "/json/user/login", _login(tenant))
    assert result["errorCode"] == 0
    assert result["authToken"].startswith("sat_")
    body = {"authToken": result["authToken"], "apiKey": tenant.api_key}
    balance = request(wire, sample, "/json/user/balance/get", body)
    assert balance == {"errorCode": 0, "freeSms": 0, "credits": 42}


@pytest.mark.parametrize("sample", SAMPLES)
def test_a_failed_login_reaches_the_sample_as_its_error_code(
    wire: TestClient, tenant: Tenant, sample: str
) -> None:
    """HTTP 200 with the code: the samples would read anything else as 99."""
    wrong = request(wire, sample, "/json/user/login", _login(tenant, "x"))
    unknown_key = {**_login(tenant), "apiKey": "sak_unknown"}
    assert wrong == {"errorCode": 101}
    assert request(wire, sample, "/json/user/login", unknown_key) == {"errorCode": 600}


@pytest.mark.parametrize("sample", SAMPLES)
def test_recipients_written_with_a_plus_as_the_samples_write_them(
    wire: TestClient, tenant: Tenant, sample: str
) -> None:
    """`RECIPIENT_MSISDN = "+123456789"`: a string with `+` names the same recipient."""
    token = request(wire, sample, "/json/user/login", _login(tenant))["authToken"]
    auth = {"authToken": token, "apiKey": tenant.api_key}
    route = {**auth, "recipient": "+4915112345678", "smsRouting": 1}
    assert request(wire, sample, "/json/user/smsrouting/set", route) == {"errorCode": 0}
    read = request(wire, sample, "/json/user/smsrouting/get", {**auth, "recipient": 4915112345678})
    assert read == {"errorCode": 0, "recipient": 4915112345678, "smsRouting": 1}


def _remote_send(sample: str, token: str, api_key: str) -> dict[str, Any]:
    """send-remote-sms's second request, field for field (the recipient a real number in
    the samples' `+` form; Perl writes `store` as `1`, NodeJS as `true`)."""
    return {
        "recipients": ["+4915112345678"],
        "message": f"Hello, this a simple {'NodeJS' if sample == 'nodejs' else 'Perl'} test",
        "encoding": 0,
        "smsConnectorId": 0,
        "store": True if sample == "nodejs" else 1,
        "authToken": token,
        "apiKey": api_key,
    }


@pytest.mark.parametrize("sample", SAMPLES)
def test_send_remote_sms_logs_in_then_sends_and_the_message_is_charged_and_queued(
    wire: TestClient, uow: UnitOfWork, tenant: Tenant, sample: str
) -> None:
    """The samples' whole script: login, then `/json/remote/sms/send`; they print success
    on errorCode 0. The SMS goes from the user's number and costs one credit."""
    token = request(wire, sample, "/json/user/login", _login(tenant))["authToken"]
    result = request(wire, sample, "/json/remote/sms/send",
                     _remote_send(sample, token, tenant.api_key))  # fmt: skip
    assert result["errorCode"] == 0
    [queued] = outbox.list_messages(uow, to_msisdn="4915112345678")
    assert (queued.sender, queued.purpose) == (MSISDN, "message")
    balance = request(wire, sample, "/json/user/balance/get",
                      {"authToken": token, "apiKey": tenant.api_key})  # fmt: skip
    assert balance == {"errorCode": 0, "freeSms": 0, "credits": 41}
