"""Brute force: a hypothesis state machine drives mysms logins, PIN requests and checks,
registrations and password resets in any order with clock jumps, and every errorCode must
be the one a model of the contract's rules (docs/mysms.md) predicts.

The model's lockout window opens at the first failure of a series (a fixed window, as
`domain.throttle` keeps it): 5 failures before it closes block for 15 minutes. PIN SMS to
one number are spaced a minute apart and capped at 5 a day (a window opened by the first).
The per-IP and per-key counts of wrong PINs are set out of reach here: every example
shares one client IP and one key (tests/security/test_lockout_doors.py covers them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from starlette.testclient import TestClient

from smsaccounts.domain.clock import FakeClock
from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories, multiserver

from .conftest import RIGHTS

MINUTE = 60
JUMPS = [0, 1, 59, 5 * MINUTE, 10 * MINUTE - 1, 10 * MINUTE, 15 * MINUTE - 1, 15 * MINUTE,
         15 * MINUTE + 1, 30 * MINUTE]  # fmt: skip
_numbers = itertools.count(1)


@dataclasses.dataclass
class Lock:
    """The model of one lockout: failures in the open window, and the block."""

    max_failures: int
    failures: int = 0
    start: dt.datetime | None = None
    until: dt.datetime | None = None

    def blocked(self, now: dt.datetime) -> bool:
        return self.until is not None and now < self.until

    def fail(self, now: dt.datetime) -> None:
        if self.blocked(now):
            return  # the count does not grow while blocked
        window = dt.timedelta(minutes=15)
        if self.start is None or now - self.start >= window:
            self.failures, self.start = 0, now
        self.failures += 1
        if self.failures >= self.max_failures:
            self.failures, self.start, self.until = 0, None, now + window

    def succeed(self) -> None:
        self.failures, self.start = 0, None


@dataclasses.dataclass
class World:
    """What every example shares: the app, the database, the clock and one tenant."""

    http: TestClient
    uow: UnitOfWork
    clock: FakeClock
    key: str
    customer: Any
    steps: int = 0
    examples: int = 0


WORLD: list[World] = []


def _msisdn() -> str:
    return f"43676{next(_numbers):07d}"


class LoginMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.w = WORLD[0]
        self.w.examples += 1
        self.user_msisdn, self.unknown_msisdn, self.pin_msisdn = _msisdn(), _msisdn(), _msisdn()
        self.password = "right-pw-1"
        factories.user(self.w.uow, parent=self.w.customer, password=self.password,
                       msisdn=self.user_msisdn, country="AT")  # fmt: skip
        self.login_lock = Lock(5)
        self.unknown_lock = Lock(5)
        self.pin_lock = Lock(3)
        self.pin: str | None = None
        self.pin_expires: dt.datetime | None = None
        self.sms_at: list[dt.datetime] = []  # PIN SMS of the open daily window
        self.registered = False
        self.last_reset: dt.datetime | None = None

    @property
    def now(self) -> dt.datetime:
        return self.w.clock.now()

    def call(self, path: str, **fields: Any) -> int:
        self.w.steps += 1
        answer = self.w.http.post(f"/json/user/{path}", json={"apiKey": self.w.key, **fields})
        assert answer.status_code == 200, answer.text
        code: int = answer.json()["errorCode"]
        return code

    # -- logins ----------------------------------------------------------------------------

    @rule(right=st.booleans())
    def login(self, right: bool) -> None:
        password = self.password if right else "wrong-pw-1"
        code = self.call("login", msisdn=self.user_msisdn, password=password)
        if self.login_lock.blocked(self.now):
            expected = 109  # the same for the right password
        elif right:
            expected = 0
            self.login_lock.succeed()
        else:
            expected = 101
            self.login_lock.fail(self.now)
        assert code == expected

    @rule()
    def login_unknown(self) -> None:
        code = self.call("login", msisdn=self.unknown_msisdn, password=self.password)
        expected = 109 if self.unknown_lock.blocked(self.now) else 107
        self.unknown_lock.fail(self.now)
        assert code == expected

    # -- PINs ------------------------------------------------------------------------------

    @rule()
    def request_pin(self) -> None:
        code = self.call("msisdn/verify", msisdn=self.pin_msisdn)
        if self.registered:
            assert code == 103
            return
        if self.sms_at and self.now - self.sms_at[0] >= dt.timedelta(days=1):
            self.sms_at = []
        if self.sms_at and (
            self.now - self.sms_at[-1] < dt.timedelta(minutes=1) or len(self.sms_at) >= 5
        ):
            assert code == 98
            return
        assert code == 0
        self.sms_at.append(self.now)
        self.pin = _last_sms_match(self.w.uow, self.pin_msisdn, r"\b(\d{6})\b")
        self.pin_expires = self.now + dt.timedelta(minutes=10)

    def _pin_expected(self, right: bool) -> int:
        if self.registered:
            return 103
        if self.pin_lock.blocked(self.now):
            return 404
        live = self.pin_expires is not None and self.now < self.pin_expires
        if right and self.pin is not None and live:
            self.pin_lock.succeed()
            return 0
        self.pin_lock.fail(self.now)
        return 400

    def _pin_to_send(self, right: bool) -> str:
        current = self.pin or "000000"
        return current if right else f"{(int(current) + 1) % 10**6:06d}"

    @rule(right=st.booleans())
    def check_pin(self, right: bool) -> None:
        pin = self._pin_to_send(right)
        code = self.call("msisdn/verify", msisdn=self.pin_msisdn, pin=pin)
        assert code == self._pin_expected(right and pin == self.pin)

    @rule(right=st.booleans())
    def register(self, right: bool) -> None:
        """create consumes the PIN: the number is then taken (103), the PIN never reusable."""
        pin = self._pin_to_send(right)
        code = self.call("create", msisdn=self.pin_msisdn, password="new-pw-1", pin=pin)
        expected = self._pin_expected(right and pin == self.pin)
        assert code == expected
        if expected == 0:
            self.registered = True

    # -- resets and time -------------------------------------------------------------------

    @rule()
    def reset(self) -> None:
        code = self.call("password/reset", msisdn=self.user_msisdn)
        spacing = dt.timedelta(minutes=15)
        if self.last_reset is not None and self.now - self.last_reset < spacing:
            assert code == 104
            return
        assert code == 0
        self.last_reset = self.now
        self.password = _last_sms_match(self.w.uow, self.user_msisdn, r"password is (\S+)")

    @rule()
    def reset_unknown(self) -> None:
        assert self.call("password/reset", msisdn=self.unknown_msisdn) == 0
        assert outbox.list_messages(self.w.uow, to_msisdn=self.unknown_msisdn) == []

    @rule(seconds=st.sampled_from(JUMPS))
    def wait(self, seconds: int) -> None:
        self.w.clock.advance(seconds)


def _last_sms_match(uow: UnitOfWork, msisdn: str, pattern: str) -> str:
    messages = outbox.list_messages(uow, to_msisdn=msisdn)
    found = re.search(pattern, str(messages[-1].body))  # the text to send, while pending
    assert found
    return found.group(1)


@multiserver.moves_clock
def test_every_step_answers_the_code_the_lockout_model_predicts(
    uow: UnitOfWork, clock: FakeClock, make_http: Any
) -> None:
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer, rights=RIGHTS)
    http = make_http(pin_failures_per_ip=10**6, pin_failures_per_key=10**6)
    WORLD[:] = [World(http, uow, clock, key, customer)]
    run_state_machine_as_test(
        LoginMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=40,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    world = WORLD.pop()
    assert world.examples >= 20
    assert world.steps >= 400
    print(f"brute force machine: {world.examples} examples, {world.steps} HTTP steps")
