"""A locked, a wrong-password and an unknown-msisdn login do the same work (one argon2
verify, the same SQL statements), and with SMSACCOUNTS_LOGIN_UNIFORM_ERRORS their answers
are byte-identical. Timing itself is measured by `bench/login_timing.py`, not asserted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event
from starlette.testclient import TestClient

from smsaccounts.domain.credentials import Passwords
from smsaccounts.errors import DomainError
from smsaccounts.services import sessions
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.conftest import CLIENT_IP

from .conftest import RIGHTS

KNOWN, LOCKED, UNKNOWN = "436761111111", "436762222222", "436763333333"


class CountingPasswords:
    """The real hasher, counting how often a password is verified."""

    def __init__(self, real: Passwords) -> None:
        self.real = real
        self.verifies = 0

    def verify(self, stored: str | None, password: str) -> bool:
        self.verifies += 1
        return self.real.verify(stored, password)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def caller(uow: UnitOfWork) -> sessions.Caller:
    customer = factories.customer(uow)
    for msisdn in (KNOWN, LOCKED):
        factories.user(uow, parent=customer, msisdn=msisdn, country="AT")
    return sessions.client(uow, api_key=factories.client_key(uow, customer), client_ip=CLIENT_IP)


def _login(uow: UnitOfWork, caller: sessions.Caller, msisdn: str, password: str) -> str:
    try:
        sessions.login(uow, caller, msisdn=msisdn, password=password, key=None, check_key=False)
    except DomainError as error:
        return error.kind
    return "ok"


def test_locked_wrong_and_unknown_logins_verify_once_and_run_the_same_statements(
    uow: UnitOfWork, caller: sessions.Caller, statements: list[str]
) -> None:
    for _ in range(uow.settings.login_max_failures):
        _login(uow, caller, LOCKED, "wrong-pw")
    _login(uow, caller, KNOWN, "wrong-pw")  # each throttle row exists before measuring
    _login(uow, caller, UNKNOWN, "wrong-pw")
    counting = CountingPasswords(uow.passwords)
    uow.passwords = counting  # type: ignore[assignment]
    work: dict[str, tuple[str, int, list[str]]] = {}
    tries = [("locked", LOCKED, factories.PASSWORD), ("wrong", KNOWN, "wrong-pw"),
             ("unknown", UNKNOWN, "x-pw")]  # fmt: skip
    for name, msisdn, password in tries:
        counting.verifies, statements[:] = 0, []
        kind = _login(uow, caller, msisdn, password)
        work[name] = (kind, counting.verifies, list(statements))
    assert [kind for kind, _, _ in work.values()] == [
        "blocked", "authentication_failed", "not_found"]  # fmt: skip
    assert {verifies for _, verifies, _ in work.values()} == {1}
    assert work["locked"][2] == work["wrong"][2] == work["unknown"][2]
    # At least: the account read, the counter's lock and its write.
    assert len(work["wrong"][2]) >= 3


@pytest.mark.parametrize("mount", ["json", "xml"])
@pytest.mark.parametrize("uniform", [True, False])
def test_with_uniform_errors_locked_wrong_and_unknown_answer_the_same_bytes(
    make_http: Any, uow: UnitOfWork, mount: str, uniform: bool
) -> None:
    http: TestClient = make_http(login_uniform_errors=uniform)
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer, rights=RIGHTS)
    for msisdn in (KNOWN, LOCKED):
        factories.user(uow, parent=customer, msisdn=msisdn, country="AT")

    def login(msisdn: str, password: str) -> Any:
        return http.post(f"/{mount}/user/login", json={"apiKey": key, "msisdn": msisdn,
                                                         "password": password})  # fmt: skip

    for _ in range(uow.settings.login_max_failures):
        login(LOCKED, "wrong-pw")
    answers = [login(LOCKED, factories.PASSWORD), login(KNOWN, "wrong-pw"),
               login(UNKNOWN, "wrong-pw")]  # fmt: skip
    bodies = {(answer.status_code, answer.content) for answer in answers}
    if uniform:
        assert len(bodies) == 1
        assert b"101" in answers[0].content
    else:  # the seed's own codes: 109 blocked, 101 wrong, 107 unknown
        codes = [b"109", b"101", b"107"]
        assert all(code in a.content for code, a in zip(codes, answers, strict=True))
    assert login(KNOWN, factories.PASSWORD).status_code == 200
