"""The login lockout through the real auth service, on the in-memory unit of work.

Five failures within the window block every attempt, the right password too, for the
block time; attempts while blocked neither count nor extend the block; a success clears
the count; unknown names are counted like wrong passwords.
"""

from __future__ import annotations

import datetime as dt

import pytest

from smsaccounts.config import Settings
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import Account
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.errors import AccountDisabled, AuthenticationFailed, Blocked, NotFound
from smsaccounts.services import accounts, auth
from tests.unit.fakes import FakeUnitOfWork

PASSWORD = "right-pw"
WINDOW = BLOCK = 900  # seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def uow(clock: FakeClock) -> FakeUnitOfWork:
    settings = Settings(
        login_max_failures=5, login_window_seconds=WINDOW, login_block_seconds=BLOCK
    )
    unit = FakeUnitOfWork(settings=settings, clock=clock)
    accounts.create(unit, kind=Kind.RESELLER, name="r", parent_id=ADMIN_ID, password=PASSWORD)
    return unit


def login(uow: FakeUnitOfWork, password: str, name: str = "r") -> str:
    """A token for `name` (then = issue_token: it runs only when the login succeeds)."""
    return auth.password_login(
        uow,
        door="reseller",
        name=name,
        find=lambda tx: tx.accounts.get_by_name(Kind.RESELLER, name),
        password=password,
        client_ip=None,
        then=auth.issue_token,
    )


def fail(uow: FakeUnitOfWork, clock: FakeClock, times: int, *, every: float = 60) -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationFailed):
            login(uow, "wrong")
        clock.advance(every)


def tokens(uow: FakeUnitOfWork) -> int:
    return len(uow.store.tokens)


def test_five_failures_block_even_the_right_password(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    fail(uow, clock, 4, every=0)
    fifth_at = clock.now()
    fail(uow, clock, 1, every=10)
    with pytest.raises(Blocked) as blocked:
        login(uow, PASSWORD)
    assert blocked.value.until == fifth_at + dt.timedelta(seconds=BLOCK)
    assert tokens(uow) == 0  # `then` never ran
    clock.advance(BLOCK - 10)
    assert login(uow, PASSWORD)
    assert tokens(uow) == 1


def test_attempts_while_blocked_neither_count_nor_extend_the_block(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    fail(uow, clock, 5, every=0)
    until = clock.now() + dt.timedelta(seconds=BLOCK)
    for password in ("wrong", PASSWORD) * 5:
        clock.advance(BLOCK / 20)
        with pytest.raises(Blocked) as blocked:
            login(uow, password)
        assert blocked.value.until == until
    clock.advance((until - clock.now()).total_seconds())
    # Open again when the first block ends, and nothing was counted while blocked: four new
    # failures still leave the door open.
    fail(uow, clock, 4, every=0)
    assert login(uow, PASSWORD)


def test_a_success_resets_the_count(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    fail(uow, clock, 4)
    assert login(uow, PASSWORD)
    fail(uow, clock, 4)
    assert login(uow, PASSWORD)
    with uow.read() as tx:
        reseller = tx.accounts.get_by_name(Kind.RESELLER, "r")
        assert reseller is not None
        assert tx.throttles.get(auth.login_key(reseller)).failures == 0


def test_failures_count_within_the_window_only(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    fail(uow, clock, 4, every=0)
    clock.advance(WINDOW)
    fail(uow, clock, 4, every=0)  # a new window: one to four again, no block
    assert login(uow, PASSWORD)


def test_unknown_names_are_counted_too(uow: FakeUnitOfWork) -> None:
    for _ in range(5):
        with pytest.raises(NotFound):
            login(uow, "x", name="ghost")
    with pytest.raises(Blocked):
        login(uow, "x", name="ghost")


def test_the_lockout_is_the_accounts_whichever_door_names_it(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    """Four failures as a reseller login, the fifth through MOR's door: blocked at both."""
    fail(uow, clock, 4, every=0)
    with pytest.raises(AuthenticationFailed):
        auth.authenticate_password(
            uow, door="mor", name="r", password="wrong", client_ip=None,
            find=lambda tx: tx.accounts.get_by_name(Kind.RESELLER, "r"),
        )  # fmt: skip
    with pytest.raises(Blocked):
        login(uow, PASSWORD)


def test_a_disabled_ancestor_shuts_out_a_key_and_a_login_below_it(uow: FakeUnitOfWork) -> None:
    reseller = accounts.get_by_name(uow, actor=_admin(uow), kind=Kind.RESELLER, name="r")
    customer = accounts.create(uow, kind=Kind.CUSTOMER, name="c", parent_id=reseller.id)
    user = accounts.create(uow, kind=Kind.USER, name="u", parent_id=customer.id, password="pw12")
    _key, plaintext = auth.create_api_key(uow, owner_id=user.id, name="u", purpose="user")
    with uow.write() as tx:
        token = auth.issue_token(tx, user)
    accounts.disable(uow, actor=reseller, account_id=reseller.id)
    with pytest.raises(AccountDisabled):
        auth.authenticate_user_key(uow, key=plaintext, client_ip=None)
    with pytest.raises(AccountDisabled):
        auth.authenticate_user_password(uow, username="u", password="pw12", client_ip=None)
    with pytest.raises(AuthenticationFailed):  # revoked with the disable
        auth.authenticate_token(uow, token=token, client_ip=None)
    accounts.enable(uow, actor=reseller, account_id=reseller.id)
    assert auth.authenticate_user_key(uow, key=plaintext, client_ip=None).id == user.id


def _admin(uow: FakeUnitOfWork) -> Account:
    with uow.read() as tx:
        admin = tx.accounts.get(ADMIN_ID)
    assert admin is not None
    return admin
