"""The whole client journey of the mysms API, in every style a client may speak it."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import Asset
from smsaccounts.services import wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import multiserver

from .conftest import Tenant
from .wire_client import STYLES, Api, password_from_outbox, register

MSISDN = "436761234567"  # Austria
GERMAN = "4915112345678"


@pytest.mark.parametrize("style", list(STYLES))
@multiserver.moves_clock
def test_register_login_use_change_reset_delete_and_register_again(
    style: str, http: TestClient, uow: UnitOfWork, tenant: Tenant, clock: FakeClock
) -> None:
    """verify -> create -> login -> balance/features/settings/routing -> change -> reset ->
    delete -> the same msisdn registers again; each step answers exactly the contract."""
    api, key = Api(http, style), tenant.key
    first = register(api, uow, key, MSISDN, "first-pw")
    with uow.read() as tx:
        user = tx.accounts.get_by_msisdn(MSISDN)
    assert user is not None
    # Named by its msisdn in the form no other name may take: no username stands in its way.
    assert (user.parent_id, user.name, user.country) == (tenant.customer.id, f"+{MSISDN}", "AT")
    wallet.credit(uow, account_id=user.id, asset=Asset.CREDITS, amount=42, reason="test")

    login = api.call("login", apiKey=key, msisdn=MSISDN, password="first-pw")
    assert login["errorCode"] == 0
    assert login["authToken"].startswith("sat_")
    token = login["authToken"]
    assert first != token
    assert api.call("balance/get", apiKey=key, authToken=token) == {
        "errorCode": 0, "freeSms": 0, "credits": 42}  # fmt: skip
    assert api.call("feature/get", apiKey=key, authToken=token) == {
        "errorCode": 0, "features": ["plan.standard"]}  # fmt: skip

    assert api.call("setting/get", apiKey=key, authToken=token) == {
        "errorCode": 0, "smsRouting": 2, "signature": "", "a2aSendEnabled": True,
        "a2aReceiveEnabled": True}  # fmt: skip
    changed = {"smsRouting": 1, "signature": "-- sent by me", "a2aSendEnabled": False,
               "a2aReceiveEnabled": True}  # fmt: skip
    assert api.call("setting/set", apiKey=key, authToken=token, **changed) == {"errorCode": 0}
    assert api.call("setting/get", apiKey=key, authToken=token) == {"errorCode": 0, **changed}

    assert api.call("smsrouting/set", apiKey=key, authToken=token, recipient=GERMAN,
                    smsRouting=0) == {"errorCode": 0}  # fmt: skip
    assert api.call("smsrouting/get", apiKey=key, authToken=token, recipient=f"+{GERMAN}") == {
        "errorCode": 0, "recipient": int(GERMAN), "smsRouting": 0}  # fmt: skip

    assert api.call("password/change", apiKey=key, authToken=token, password="second-pw") == {
        "errorCode": 0}  # fmt: skip
    assert api.call("balance/get", apiKey=key, authToken=token) == {"errorCode": 100}
    assert api.call("login", apiKey=key, msisdn=MSISDN, password="first-pw") == {
        "errorCode": 101}  # fmt: skip
    token = api.call("login", apiKey=key, msisdn=MSISDN, password="second-pw")["authToken"]

    assert api.call("password/reset", apiKey=key, msisdn=MSISDN) == {"errorCode": 0}
    assert api.call("balance/get", apiKey=key, authToken=token) == {"errorCode": 100}
    generated = password_from_outbox(uow, MSISDN)
    token = api.call("login", apiKey=key, msisdn=MSISDN, password=generated)["authToken"]

    assert api.call("delete", apiKey=key, authToken=token) == {"errorCode": 0}
    assert api.call("balance/get", apiKey=key, authToken=token) == {"errorCode": 100}
    assert api.call("login", apiKey=key, msisdn=MSISDN, password=generated) == {
        "errorCode": 107}  # fmt: skip
    with uow.read() as tx:  # the deleted user's wallet and ledger are kept
        entries = tx.wallets.entries(user.id)
    assert [(e.asset, e.amount) for e in entries] == [(Asset.CREDITS, 42)]

    clock.advance(uow.settings.pin_resend_seconds)  # one PIN SMS a minute to a number
    again = register(api, uow, key, MSISDN, "third-pw")
    assert again.startswith("sat_")
    with uow.read() as tx:
        reborn = tx.accounts.get_by_msisdn(MSISDN)
    assert reborn is not None
    assert reborn.id != user.id


def test_json_posted_to_the_xml_mount_is_answered_in_xml(http: TestClient, tenant: Tenant) -> None:
    """Real clients (the public PHP wrapper) post JSON to /xml and read XML back."""
    answer = http.post("/xml/user/msisdn/verify", json={"apiKey": tenant.key, "msisdn": MSISDN})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    assert b"<userVerifyMsisdnResponse><errorCode>0</errorCode></userVerifyMsisdnResponse>" in (
        answer.content)  # fmt: skip


def test_xml_posted_to_the_json_mount_is_answered_in_json(http: TestClient, tenant: Tenant) -> None:
    body = f"<x><apiKey>{tenant.key}</apiKey><msisdn>+{MSISDN}</msisdn></x>".encode()
    answer = http.post("/json/user/msisdn/verify", content=body,
                       headers={"Content-Type": "text/xml; charset=utf-8"})  # fmt: skip
    assert (answer.status_code, answer.json()) == (200, {"errorCode": 0})


@pytest.mark.parametrize(
    ("content_type", "accept", "expected"),
    [
        ("application/xml", None, "application/xml"),
        ("application/xml", "*/*", "application/xml"),
        ("application/json", None, "application/json"),
        (None, None, "application/json"),
        ("application/json", "application/xml", "application/xml"),
        ("application/xml", "application/json", "application/json"),
        ("application/json", "text/html;q=1, application/xml;q=0.5", "application/xml"),
    ],
)
def test_rest_answers_in_the_accepted_type_else_in_the_request_type(
    http: TestClient, tenant: Tenant, content_type: str | None, accept: str | None, expected: str
) -> None:
    if content_type == "application/xml":
        body = f"<r><apiKey>{tenant.key}</apiKey><msisdn>{MSISDN}</msisdn></r>".encode()
    else:
        body = f'{{"apiKey": "{tenant.key}", "msisdn": {MSISDN}}}'.encode()
    headers = {k: v for k, v in (("Content-Type", content_type), ("Accept", accept)) if v}
    answer = http.post("/rest/user/msisdn/verify", content=body, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(expected)
    assert b"errorCode" in answer.content
    assert b"0" in answer.content


@pytest.mark.parametrize("mount", ["json", "xml", "rest"])
def test_an_unparseable_body_is_400_with_error_code_2(http: TestClient, mount: str) -> None:
    answer = http.post(f"/{mount}/user/login", content=b"{not json",
                       headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 400
    if mount == "xml":
        assert answer.content.endswith(
            b"<userLoginResponse><errorCode>2</errorCode></userLoginResponse>"
        )
    else:
        assert answer.json() == {"errorCode": 2}


def test_an_xml_body_with_a_dtd_is_refused_with_400(http: TestClient) -> None:
    body = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><apiKey>&x;</apiKey></r>'
    answer = http.post("/xml/user/login", content=body, headers={"Content-Type": "application/xml"})
    assert answer.status_code == 400
    assert b"<errorCode>2</errorCode>" in answer.content
    assert b"root:" not in answer.content


@pytest.mark.parametrize("mount", ["json", "xml"])
def test_an_unsupported_media_type_is_415_with_error_code_2(http: TestClient, mount: str) -> None:
    answer = http.post(f"/{mount}/user/login", content=b"apiKey=x",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert answer.status_code == 415
    expected = b"<errorCode>2</errorCode>" if mount == "xml" else b'{"errorCode":2}'
    assert expected in answer.content


def test_get_is_not_a_method_of_this_api(http: TestClient) -> None:
    assert http.get("/json/user/login").status_code == 405


@pytest.mark.only_backend("postgresql")
def test_the_awaited_hot_read_gives_what_the_threaded_one_gives(
    http: TestClient, tenant: Tenant, uow: UnitOfWork
) -> None:
    import asyncio

    from smsaccounts.domain.credentials import secret_hash

    token = register(Api(http, "json"), uow, tenant.key, "436641234567", "secret1")
    key = secret_hash(tenant.key)
    hashes = [(key, secret_hash(token)), (key, None), (key, secret_hash("sat_unknown")),
              (secret_hash("nope"), None)]  # fmt: skip

    async def awaited() -> list[object]:
        return [await uow.hot.read(*pair) for pair in hashes]

    threaded = [uow.hot.key_session(*pair) for pair in hashes]
    assert asyncio.run(awaited()) == threaded
    assert threaded[0] is not None
    assert threaded[0].user is not None
    assert threaded[1] is not None
    assert threaded[1].user is None
    assert threaded[3] is None
    # Each asyncio.run is a new loop: its connections are its own, the old ones closed.
    assert asyncio.run(awaited()) == threaded
