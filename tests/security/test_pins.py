"""PIN SMS cannot be used to bomb a number or run up a bill, and PIN guesses spread over
many numbers stop being evaluated (404) long before they pay off."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import Account
from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import RIGHTS

MSISDN = "436761234567"


def verify(http: TestClient, key: str, msisdn: str, pin: str | None = None) -> int:
    fields = {"apiKey": key, "msisdn": msisdn, **({"pin": pin} if pin else {})}
    code: int = http.post("/json/user/msisdn/verify", json=fields).json()["errorCode"]
    return code


def sent(uow: UnitOfWork, msisdn: str = MSISDN) -> int:
    return len(outbox.list_messages(uow, to_msisdn=msisdn))


@pytest.fixture
def customer(uow: UnitOfWork) -> Account:
    return factories.customer(uow)


def test_20_pin_requests_for_one_number_send_one_sms_a_minute(
    http: TestClient, uow: UnitOfWork, customer: Account, clock: FakeClock
) -> None:
    keys = [factories.client_key(uow, customer, rights=RIGHTS) for _ in range(4)]
    answers = [verify(http, keys[i % 4], MSISDN) for i in range(20)]
    assert answers == [0] + [98] * 19  # whichever key asks
    assert sent(uow) == 1
    clock.advance(uow.settings.pin_resend_seconds - 1)
    assert verify(http, keys[0], MSISDN) == 98
    clock.advance(1)
    assert verify(http, keys[0], MSISDN) == 0
    assert sent(uow) == 2


def test_at_most_five_pin_sms_a_day_to_one_number(
    http: TestClient, uow: UnitOfWork, customer: Account, clock: FakeClock
) -> None:
    key = factories.client_key(uow, customer, rights=RIGHTS)
    answers = []
    for _ in range(20):
        answers.append(verify(http, key, MSISDN))
        clock.advance(uow.settings.pin_resend_seconds)
    assert answers == [0] * uow.settings.pin_daily_max + [98] * 15
    assert sent(uow) == 5
    clock.advance(24 * 3600 - 20 * uow.settings.pin_resend_seconds)  # a day after the first
    assert verify(http, key, MSISDN) == 0
    assert sent(uow) == 6


def test_a_key_without_user_create_sends_no_pin_and_checks_none(
    http: TestClient, uow: UnitOfWork, customer: Account
) -> None:
    """97: the seed lists no code 1 for msisdn/verify; such a key can never register."""
    key = factories.client_key(uow, customer, rights=frozenset({"user.delete"}))
    assert [verify(http, key, MSISDN) for _ in range(20)] == [97] * 20
    assert sent(uow) == 0
    assert verify(http, key, MSISDN, pin="123456") == 97


def _pin(uow: UnitOfWork, msisdn: str) -> str:
    """The PIN as the transport will send it (`text` shows it masked)."""
    body = str(outbox.list_messages(uow, to_msisdn=msisdn)[-1].body)
    return body.split("PIN is ")[1][:6]


def _numbers(count: int) -> list[str]:
    return [f"4367612{n:05d}" for n in range(count)]


def test_wrong_pins_spread_over_many_numbers_are_stopped_per_client_ip(
    make_http: Any, uow: UnitOfWork, customer: Account
) -> None:
    key = factories.client_key(uow, customer, rights=RIGHTS)
    attacker, user = make_http("203.0.113.5"), make_http("198.51.100.9")
    limit = uow.settings.pin_failures_per_ip
    assert limit == 20
    # Two wrong guesses per number never block a number, but they add up for the address.
    guesses = [verify(attacker, key, n, pin="000000") for n in _numbers(limit // 2) * 2]
    assert guesses == [400] * limit
    target = "436761299999"
    assert verify(user, key, target) == 0
    right = _pin(uow, target)
    assert verify(attacker, key, target, pin=right) == 404  # not even the right PIN
    assert verify(user, key, target, pin=right) == 0  # another address is not blocked


def test_wrong_pins_spread_over_many_numbers_and_addresses_are_stopped_per_key(
    make_http: Any, uow: UnitOfWork, customer: Account
) -> None:
    key = factories.client_key(uow, customer, rights=RIGHTS)
    other_key = factories.client_key(uow, customer, rights=RIGHTS)
    numbers = _numbers(12)
    answers = [
        verify(make_http(f"203.0.113.{i}", pin_failures_per_key=10), key, n, pin="000000")
        for i, n in enumerate(numbers[:10])
    ]
    assert answers == [400] * 10
    http = make_http("198.51.100.9", pin_failures_per_key=10)
    assert verify(http, key, numbers[10], pin="000000") == 404
    assert verify(http, other_key, numbers[10], pin="000000") == 400
