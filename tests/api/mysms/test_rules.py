"""Pure pieces of the mysms dialect: features, routes, negotiation, the error table, limits."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.config import Settings
from smsaccounts.dialects.mysms import codes, handlers, messages, negotiation
from smsaccounts.domain import user_settings
from smsaccounts.domain.models import ACL_FIELDS
from smsaccounts.errors import RateLimited
from smsaccounts.ratelimit import RateLimiter
from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork
from smsaccounts.transports import LogTransport
from tests import factories

from .conftest import Tenant
from .wire_client import Api, pin_from_outbox, register

SEED_CODES = {0, 1, 2, 97, 98, 99, 100, 101, 102, 103, 104, 107, 108, 109, 400, 404, 500, 501, 600}
# What mysms documents for its sending methods (`/remote/sms/send`, docs/mysms.md): a recipient
# that is not a valid msisdn, and credit that does not cover every recipient.
SENDING_CODES = {200, 202}


def test_features_are_the_plan_then_each_acl_that_is_set(uow: UnitOfWork) -> None:
    user = factories.user(uow, plan="premium", acl_hlr=True, acl_billing=True)
    assert user_settings.features(user) == ["plan.premium", "billing", "hlr"]
    every_acl: dict[str, Any] = dict.fromkeys(ACL_FIELDS, True)
    everything = dataclasses.replace(user, plan="", **every_acl)
    granted = user_settings.ACL_FEATURES.values()
    assert user_settings.features(everything) == ["plan.standard", *granted]
    assert set(user_settings.ACL_FEATURES) == set(ACL_FIELDS)  # a new ACL must name its feature


@pytest.mark.parametrize(
    ("explicit", "routing", "user_country", "recipient_country", "expected"),
    [
        (None, 0, "AT", "DE", 0),
        (None, 1, "AT", "AT", 1),
        (None, 2, "AT", "AT", 0),
        (None, 2, "AT", "DE", 1),
        (None, 2, "AT", None, 1),
        (None, 2, None, None, 1),
        (1, 2, "AT", "AT", 1),
        (0, 1, "AT", "DE", 0),
    ],
)
def test_the_effective_route_is_explicit_else_the_setting_with_2_resolved_by_country(
    explicit: int | None, routing: int, user_country: str | None,
    recipient_country: str | None, expected: int,
) -> None:  # fmt: skip
    route = user_settings.effective_route(
        explicit=explicit,
        user_routing=routing,
        user_country=user_country,
        recipient_country=recipient_country,
    )
    assert route == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "json"), ("", "json"), ("*/*", "json"), ("application/xml", "xml"),
        ("text/xml", "xml"), ("application/json", "json"), ("text/html", "json"),
        ("application/xml;q=0.4, application/json;q=0.9", "json"),
        ("application/json;q=0, application/xml", "xml"),
    ],
)  # fmt: skip
def test_rest_prefers_the_accepted_format_else_the_request_format(
    accept: str | None, expected: str
) -> None:
    assert negotiation.response_format("rest", accept, "json") == expected
    assert negotiation.response_format("xml", accept, "json") == "xml"
    assert negotiation.response_format("json", accept, "xml") == "json"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [(None, "json"), ("*/*", "json"), ("application/json; charset=utf-8", "json"),
     ("text/xml", "xml"), ("application/soap+xml", "xml"), ("text/plain", None)],
)  # fmt: skip
def test_request_bodies_are_read_by_content_type(content_type: str | None, expected: str) -> None:
    assert negotiation.request_format(content_type) == expected


def test_every_seed_method_has_one_handler_and_every_code_is_a_seed_code() -> None:
    assert handlers.HANDLERS.keys() == messages.METHODS.keys()
    assert set(codes.CODES.values()) <= SEED_CODES | SENDING_CODES
    assert len(messages.METHODS) == 12


def test_json_and_xml_are_one_struct_encoded_twice() -> None:
    answer = messages.userGetFeatureResponse(errorCode=0, features=["a", "b"])
    encoded = json.loads(negotiation.encode(answer, "json"))
    assert encoded == {"errorCode": 0, "features": ["a", "b"]}
    assert negotiation.encode(answer, "xml").endswith(
        b"<userGetFeatureResponse><errorCode>0</errorCode><features>a</features>"
        b"<features>b</features></userGetFeatureResponse>"
    )


def test_the_limiter_refuses_the_request_over_the_limit_per_identity() -> None:
    limiter = RateLimiter(Settings(rate_limit="2/hour"))
    limiter.hit("ip", "a")
    limiter.hit("ip", "a")
    limiter.hit("ip", "b")
    with pytest.raises(RateLimited):
        limiter.hit("ip", "a")


def test_a_bad_rate_limit_setting_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="SMSACCOUNTS_RATE_LIMIT"):
        RateLimiter(Settings(rate_limit="lots"))


def test_the_pin_and_passwords_never_appear_in_the_logs(
    http: TestClient, uow: UnitOfWork, tenant: Tenant, captured_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Register, deliver the PIN SMS through the log transport, reset: the log says what
    happened but never carries the PIN, a password, a token or the key."""
    api = Api(http, "json")
    token = register(api, uow, tenant.key, "436761234567", "pw-4711x")
    pin = pin_from_outbox(uow, "436761234567")
    api.call("password/reset", apiKey=tenant.key, msisdn="436761234567")
    generated = str(outbox.list_messages(uow)[-1].body).rsplit(" ", 1)[-1]
    assert outbox.deliver_due(uow, LogTransport()) == 2
    api.call("msisdn/verify", apiKey=tenant.key, msisdn="436761234568", pin="x")  # a failure
    logged = captured_logs.getvalue() + caplog.text
    assert "sms handed to log transport" in logged  # the capture works
    for secret in (pin, "pw-4711x", generated, token, tenant.key):
        assert secret not in logged
