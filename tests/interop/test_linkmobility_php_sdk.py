"""loevgaard/linkmobility-php-sdk, the PHP SDK of the LINK v2 API, replayed.

What the SDK does (src/Client.php, `rawRequest`): the URL is the base URL, the request's
URI and `?apikey=<key>`; every request carries `Accept: application/json` and does not throw
on an HTTP error status (`http_errors` false); a non-empty body goes as Guzzle's `json`
option, which `json_encode`s it (slashes escaped, non-ASCII as `\\uXXXX`) and adds
`Content-Type: application/json`; the answer is `json_decode`d into an array whatever the
status. A client edits a user the way PHP code does with that array: read it, change a key,
send the `user` back.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain.models import Account, Asset
from smsaccounts.services import wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import php_json


class LinkSdk:
    """`Client::rawRequest`, written from the SDK's source."""

    def __init__(self, http: TestClient, api_key: str) -> None:
        self.http, self.api_key = http, api_key

    def raw_request(self, method: str, uri: str, body: dict[str, Any] | None = None
                    ) -> dict[str, Any]:  # fmt: skip
        headers = {"Accept": "application/json", "User-Agent": "GuzzleHttp/7"}
        content = None
        if body:
            content = php_json(body)
            headers["Content-Type"] = "application/json"
        response = self.http.request(method, f"/v2{uri}?apikey={self.api_key}",
                                     content=content, headers=headers)  # fmt: skip
        decoded: dict[str, Any] = json.loads(response.content)
        return decoded


@pytest.fixture
def admin(uow: UnitOfWork) -> tuple[Account, str]:
    user = factories.user(uow, acl_admin=True, acl_hlr=True, company="Mother ApS")
    return user, factories.user_key(uow, user)


@pytest.fixture
def sdk(wire: TestClient, admin: tuple[Account, str]) -> LinkSdk:
    return LinkSdk(wire, admin[1])


@pytest.fixture
def kid(sdk: LinkSdk) -> dict[str, Any]:
    fields = {"username": "kid", "password": "kid-pw-1", "aclHlr": True, "company": "Børn/Unge"}
    created = sdk.raw_request("POST", "/user.json", {"user": fields})
    assert created["status"] == 200, created
    user: dict[str, Any] = created["user"]
    return user


def test_ping_and_the_users_listing(sdk: LinkSdk, admin: tuple[Account, str],
                                   kid: dict[str, Any]) -> None:  # fmt: skip
    assert sdk.raw_request("GET", "/ping.json")["username"] == admin[0].name
    listing = sdk.raw_request("GET", "/users.json")
    assert listing["status"] == 200
    assert [u["username"] for u in listing["users"]] == [admin[0].name, "kid"]
    assert listing["users"][1]["company"] == kid["company"] == "Børn/Unge"


def test_a_user_read_changed_and_put_back_whole_is_saved(sdk: LinkSdk, kid: dict[str, Any]
                                                         ) -> None:  # fmt: skip
    """`$user = $sdk->rawRequest('GET', ...)['user']; $user['company'] = ...; PUT ['user' =>
    $user]`: every field comes back, the read-only ones (balance, credits, ...) unchanged."""
    user = sdk.raw_request("GET", f"/user/{kid['id']}.json")["user"]
    user["company"] = "Acme/ApS æøå"
    answer = sdk.raw_request("PUT", f"/user/{kid['id']}.json", {"user": user})
    assert answer["status"] == 200, answer
    assert answer["user"] == user
    assert sdk.raw_request("GET", f"/user/{kid['id']}.json")["user"]["company"] == "Acme/ApS æøå"


def test_a_changed_read_only_field_is_refused_naming_it(
    sdk: LinkSdk, uow: UnitOfWork, kid: dict[str, Any]
) -> None:
    user = sdk.raw_request("GET", f"/user/{kid['id']}.json")["user"]
    answer = sdk.raw_request("PUT", f"/user/{kid['id']}.json",
                             {"user": {**user, "balance": "1000.0000000"}})  # fmt: skip
    assert answer == {"status": 400, "message": "balance cannot be set through this API"}
    # The kid spends its parent's credits (a LINK sub-user's default funding): they are shown.
    wallet.credit(uow, account_id=kid["parent"], asset=Asset.CREDITS, amount=5, reason="test")
    stale = sdk.raw_request("PUT", f"/user/{kid['id']}.json", {"user": user})
    assert stale == {"status": 400, "message": "credits cannot be set through this API"}


def test_delete_answers_the_deactivated_user_and_the_listing_keeps_it(
    sdk: LinkSdk, kid: dict[str, Any]
) -> None:
    gone = sdk.raw_request("DELETE", f"/user/{kid['id']}.json")
    assert (gone["status"], gone["user"]["enabled"]) == (200, False)
    assert gone["user"]["deactivated"] is not None
    listed = sdk.raw_request("GET", "/users.json")["users"]
    assert [u["enabled"] for u in listed if u["id"] == kid["id"]] == [False]


def test_an_error_status_is_decoded_like_any_answer(wire: TestClient) -> None:
    answer = LinkSdk(wire, "sak_not-a-key").raw_request("GET", "/users.json")
    assert answer["status"] == 401
    assert answer["message"].startswith("Access denied [")


def test_post_message_request_is_charged_queued_and_read_as_a_batch_status(
    sdk: LinkSdk, admin: tuple[Account, str], uow: UnitOfWork
) -> None:
    """`new PostMessageRequest($sender, $message, [$recipient])` as the SDK builds it: the
    body `['message' => array_filter([...])]`, recipients joined by commas; the answer read
    the way BatchStatusResponse::init does (status, stat, details with their sendtimes)."""
    wallet.credit(uow, account_id=admin[0].id, asset=Asset.CREDITS, amount=3, reason="test")
    body = {"message": {"recipients": ",".join(["+4520123456", "+4520123457"]),
                        "sender": "Sender", "message": "Message"}}  # fmt: skip
    answer = sdk.raw_request("POST", "/message.json", body)
    assert 200 <= int(answer["status"]) < 300, answer
    for part in ("stat", "details"):
        assert re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d", answer[part]["sendtime"])
    assert {"buffered", "received", "rejected"} <= answer["stat"].keys()
    assert answer["details"]["state"] in ("QUEUED", "RUNNING", "DONE")
    assert int(answer["details"]["batchid"]) > 0
    assert wallet.get(uow, account_id=admin[0].id).credits == 1
    refused = sdk.raw_request("POST", "/message.json", body)  # 2 parts, 1 credit left
    assert refused["status"] == 400
