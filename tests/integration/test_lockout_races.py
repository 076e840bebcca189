"""Lockouts, PIN checks, resets and PIN SMS under concurrency, on SQLite and PostgreSQL.

Each test fires 32 requests at once from threads (FakeClock: all at the same instant) and
counts how many were evaluated. SQLite serializes writers and would hide a lost update;
PostgreSQL's READ COMMITTED lets two transactions read the same count unless the row is
locked, which is what these tests are here to catch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import AuthenticationFailed, Blocked, DomainError, ErrorCode
from smsaccounts.services import auth, outbox, passwords, registration, sessions
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

T = TypeVar("T")
BURST = 32
RIGHTS = frozenset({"user.create", "user.delete"})
MSISDN = "436761234567"


def burst(call: Callable[[int], T], times: int = BURST) -> list[T | DomainError]:
    """Run `call(i)` `times` times at once; each result, or the domain error it raised."""
    start = threading.Barrier(times)

    def one(i: int) -> T | DomainError:
        start.wait()
        try:
            return call(i)
        except DomainError as error:
            return error

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(one, range(times)))


def codes(results: list[Any]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for result in results:
        name = result.code.value if isinstance(result, DomainError) else "ok"
        counted[name] = counted.get(name, 0) + 1
    return counted


def test_32_parallel_wrong_logins_evaluate_exactly_5(uow: UnitOfWork) -> None:
    """Exactly five guesses are told "wrong"; every other one is refused unevaluated."""
    factories.reseller(uow, name="racer")

    def guess(i: int) -> Any:
        return auth.authenticate_password(
            uow,
            door="reseller",
            name="racer",
            find=lambda tx: tx.accounts.get_by_name(Kind.RESELLER, "racer"),
            password=f"wrong-{i}",
            client_ip=None,
        )

    assert codes(burst(guess)) == {
        ErrorCode.CREDENTIALS_WRONG.value: uow.settings.login_max_failures,
        ErrorCode.LOGIN_BLOCKED.value: BURST - uow.settings.login_max_failures,
    }


def test_32_parallel_wrong_logins_through_different_doors_share_one_count(
    uow: UnitOfWork,
) -> None:
    """mysms, LINK's legacy login and MOR's `p` name one user: one lockout between them."""
    customer = factories.customer(uow)
    user = factories.user(uow, parent=customer, name="door-user", msisdn=MSISDN, country="AT")
    key = factories.client_key(uow, customer, rights=RIGHTS)
    caller = sessions.client(uow, api_key=key, client_ip=None)

    def guess(i: int) -> Any:
        wrong = f"wrong-{i}"
        if i % 3 == 0:
            return sessions.login(uow, caller, msisdn=MSISDN, password=wrong, key=None,
                                  check_key=False)  # fmt: skip
        if i % 3 == 1:
            return auth.authenticate_user_password(
                uow, username=user.name, password=wrong, client_ip=None
            )
        return auth.authenticate_password(
            uow, door="mor", name=user.name, password=wrong, client_ip=None,
            find=lambda tx: tx.accounts.get_by_name(Kind.USER, user.name),
        )  # fmt: skip

    assert codes(burst(guess)) == {
        ErrorCode.CREDENTIALS_WRONG.value: uow.settings.login_max_failures,
        ErrorCode.LOGIN_BLOCKED.value: BURST - uow.settings.login_max_failures,
    }


def test_32_parallel_wrong_pins_evaluate_exactly_3(uow: UnitOfWork) -> None:
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer, rights=RIGHTS)
    caller = sessions.client(uow, api_key=key, client_ip="10.9.8.7")
    registration.request_pin(uow, caller, msisdn=MSISDN)

    def guess(i: int) -> None:
        registration.check_pin(uow, caller, msisdn=MSISDN, pin=f"{i:06d}x")

    assert codes(burst(guess)) == {
        ErrorCode.PIN_INVALID.value: uow.settings.pin_max_failures,
        ErrorCode.PIN_BLOCKED.value: BURST - uow.settings.pin_max_failures,
    }


@pytest.mark.parametrize("earlier", [False, True], ids=["first", "after-an-earlier-one"])
def test_32_parallel_resets_reset_once_and_send_one_sms(
    uow: UnitOfWork, clock: FakeClock, earlier: bool
) -> None:
    """Also when an earlier reset left its row behind: then no insert makes the requests
    queue, only the row's lock does."""
    customer = factories.customer(uow)
    factories.user(uow, parent=customer, msisdn=MSISDN, country="AT")
    key = factories.client_key(uow, customer, rights=RIGHTS)
    caller = sessions.client(uow, api_key=key, client_ip=None)
    if earlier:
        passwords.reset_password(uow, caller, msisdn=MSISDN)
        clock.advance(uow.settings.reset_block_seconds)

    def reset(_i: int) -> None:
        passwords.reset_password(uow, caller, msisdn=MSISDN)

    assert codes(burst(reset)) == {"ok": 1, ErrorCode.RESET_BLOCKED.value: BURST - 1}
    assert len(outbox.list_messages(uow, to_msisdn=MSISDN)) == 1 + earlier


@pytest.mark.parametrize("earlier", [False, True], ids=["first", "after-an-earlier-one"])
def test_32_parallel_pin_requests_send_one_sms(
    uow: UnitOfWork, clock: FakeClock, earlier: bool
) -> None:
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer, rights=RIGHTS)
    caller = sessions.client(uow, api_key=key, client_ip=None)
    if earlier:
        registration.request_pin(uow, caller, msisdn=MSISDN)
        clock.advance(uow.settings.pin_resend_seconds)

    def ask(_i: int) -> None:
        registration.request_pin(uow, caller, msisdn=MSISDN)

    assert codes(burst(ask)) == {"ok": 1, ErrorCode.RATE_LIMITED.value: BURST - 1}
    assert len(outbox.list_messages(uow, to_msisdn=MSISDN)) == 1 + earlier


# -- a login racing a password change ------------------------------------------------------


class PausingPasswords:
    """The unit of work's hasher, with a hook run right after a verify: the moment between
    a login checking the password and the login's write transaction."""

    def __init__(self, inner: Any, after_verify: Callable[[], None]) -> None:
        self.inner = inner
        self.after_verify = after_verify

    def verify(self, stored: str | None, password: str) -> bool:
        result: bool = self.inner.verify(stored, password)
        self.after_verify()
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _login(uow: UnitOfWork, name: str, password: str) -> str:
    return auth.password_login(
        uow, door="user", name=name, password=password, client_ip=None,
        find=lambda tx: tx.accounts.get_by_name(Kind.USER, name), then=auth.issue_token,
    )  # fmt: skip


def _valid(uow: UnitOfWork, token: str) -> bool:
    try:
        auth.authenticate_token(uow, token=token, client_ip=None)
    except AuthenticationFailed:
        return False
    return True


def test_a_password_changed_between_check_and_token_yields_no_token(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change commits after the login verified the old password and before its write:
    the hash it checked is no longer the account's, so no token is issued."""
    user = factories.user(uow, name="racing", password="old-pw-1")
    changed = threading.Event()

    def change_once() -> None:
        if not changed.is_set():
            changed.set()
            passwords.change_password(uow, user, password="new-pw-1")

    monkeypatch.setattr(uow, "passwords", PausingPasswords(uow.passwords, change_once))
    with pytest.raises(AuthenticationFailed):
        _login(uow, "racing", "old-pw-1")
    monkeypatch.undo()
    assert _valid(uow, _login(uow, "racing", "new-pw-1"))


@pytest.mark.parametrize("round_", range(8))
def test_no_token_of_a_login_racing_a_password_change_survives_it(
    uow: UnitOfWork, clock: FakeClock, round_: int
) -> None:
    """Logins with the old password and one change, all at once, many times: whichever
    order they commit in, no token issued with the old password outlives the change."""
    del round_  # the race is run again, on a fresh database each time
    user = factories.user(uow, name="racer", password="old-pw-1")

    def act(i: int) -> str | None:
        if i == 0:
            passwords.change_password(uow, user, password="new-pw-1")
            return None
        return _login(uow, "racer", "old-pw-1")

    results = burst(act, times=12)
    tokens = [r for r in results if isinstance(r, str)]
    assert [r for r in results if isinstance(r, DomainError)] == [
        r for r in results if isinstance(r, AuthenticationFailed | Blocked)
    ]
    assert not [token for token in tokens if _valid(uow, token)]
    clock.advance(uow.settings.login_block_seconds)
    assert _valid(uow, _login(uow, "racer", "new-pw-1"))
