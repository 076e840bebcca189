"""Authentication on the real databases: passwords with lockout, tokens, API keys, IP ranges."""

import pytest

from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import Account
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import (
    AccessDenied,
    AccountDisabled,
    AuthenticationFailed,
    Blocked,
    ErrorCode,
    NotFound,
)
from smsaccounts.services import accounts, auth
from smsaccounts.storage.tables import accounts as accounts_table
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories


def login(uow: UnitOfWork, name: str, password: str) -> Account:
    return auth.authenticate_password(
        uow,
        door="user",
        name=name,
        password=password,
        find=lambda tx: tx.accounts.get_by_name(Kind.USER, name),
        client_ip=None,
    )


def test_the_right_password_logs_in_and_a_wrong_one_does_not(uow: UnitOfWork) -> None:
    user = factories.user(uow, name="carol")
    assert login(uow, "carol", factories.PASSWORD).id == user.id
    with pytest.raises(AuthenticationFailed):
        login(uow, "carol", "wrong")
    with pytest.raises(NotFound):
        login(uow, "nobody", "wrong")


def test_five_wrong_passwords_in_fifteen_minutes_block_for_fifteen(
    uow: UnitOfWork, clock: FakeClock
) -> None:
    factories.user(uow, name="dave")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            login(uow, "dave", "wrong")
        clock.advance(60)
    # Blocked: even the right password is refused, the same way as a wrong one.
    with pytest.raises(Blocked):
        login(uow, "dave", factories.PASSWORD)
    with pytest.raises(Blocked):
        login(uow, "dave", "wrong")
    clock.advance(15 * 60)
    assert login(uow, "dave", factories.PASSWORD).name == "dave"


def test_unknown_names_are_throttled_too(uow: UnitOfWork) -> None:
    for _ in range(5):
        with pytest.raises(NotFound):
            login(uow, "ghost", "x")
    with pytest.raises(Blocked):
        login(uow, "ghost", "x")


def test_a_disabled_account_with_the_right_password_is_refused(uow: UnitOfWork) -> None:
    customer = factories.customer(uow)
    user = factories.user(uow, parent=customer, name="erin")
    accounts.disable(uow, actor=customer, account_id=user.id)
    with pytest.raises(AccountDisabled):
        login(uow, "erin", factories.PASSWORD)


def test_a_login_rehashes_a_password_stored_with_weaker_parameters(uow: UnitOfWork) -> None:
    from smsaccounts.domain.credentials import Passwords

    user = factories.user(uow, name="frank")
    weak = Passwords(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    stronger = UnitOfWork(
        settings=uow.settings,
        db=uow.db,
        clock=uow.clock,
        passwords=Passwords(time_cost=2, memory_cost=16, parallelism=1),
    )
    with uow.write() as tx:
        tx.accounts.update(user.id, {"password_hash": weak})
    login(stronger, "frank", "pw")
    with uow.read() as tx:
        stored = (
            tx.conn.execute(accounts_table.select().where(accounts_table.c.id == user.id))
            .one()
            .password_hash
        )
    assert stored != weak
    assert "t=2" in stored


def test_tokens_authenticate_until_revoked(uow: UnitOfWork) -> None:
    user = factories.user(uow)
    with uow.write() as tx:
        token = auth.issue_token(tx, user)
    assert token.startswith("sat_")
    assert auth.authenticate_token(uow, token=token, client_ip="10.0.0.1").id == user.id
    with pytest.raises(AuthenticationFailed):
        auth.authenticate_token(uow, token=token + "x", client_ip=None)
    assert auth.revoke_tokens(uow, account_id=user.id) == 1
    with pytest.raises(AuthenticationFailed):
        auth.authenticate_token(uow, token=token, client_ip=None)


def test_a_password_change_revokes_every_token(uow: UnitOfWork) -> None:
    user = factories.user(uow)
    with uow.write() as tx:
        tokens = [auth.issue_token(tx, user) for _ in range(3)]
    with uow.write() as tx:
        auth.set_password(uow, tx, user, "new-password")
    for token in tokens:
        with pytest.raises(AuthenticationFailed):
            auth.authenticate_token(uow, token=token, client_ip=None)


def test_api_keys_check_their_own_and_their_owners_ip_ranges(uow: UnitOfWork) -> None:
    customer = factories.customer(uow)
    key = factories.client_key(
        uow, customer, rights=frozenset({"user.create"}), allowed_ips="10.0.0.0/8"
    )
    api_key, owner = auth.authenticate_api_key(uow, key=key, client_ip="10.1.2.3")
    assert owner.id == customer.id
    assert api_key.rights == {"user.create"}
    auth.require_right(api_key, "user.create")
    with pytest.raises(AccessDenied):
        auth.require_right(api_key, "user.delete")
    with pytest.raises(AccessDenied):
        auth.authenticate_api_key(uow, key=key, client_ip="192.168.0.1")
    accounts.update(uow, actor=customer, account_id=customer.id, changes={"iprange": "10.1.0.0/16"})
    with pytest.raises(AccessDenied):
        auth.authenticate_api_key(uow, key=key, client_ip="10.2.0.1")
    with pytest.raises(AuthenticationFailed):
        auth.authenticate_api_key(uow, key="sak_unknown", client_ip="10.1.2.3")


def test_a_user_token_is_refused_from_outside_the_users_iprange(uow: UnitOfWork) -> None:
    user = factories.user(uow, iprange="192.0.2.0/24")
    with uow.write() as tx:
        token = auth.issue_token(tx, user)
    assert auth.authenticate_token(uow, token=token, client_ip="192.0.2.7").id == user.id
    with pytest.raises(AccessDenied):
        auth.authenticate_token(uow, token=token, client_ip="198.51.100.1")


def test_a_deleted_owner_kills_its_keys(uow: UnitOfWork) -> None:
    """Its keys are revoked: they answer exactly like keys that never existed."""
    customer = factories.customer(uow)
    user = factories.user(uow, parent=customer)
    key = factories.user_key(uow, user)
    accounts.delete(uow, actor=customer, account_id=user.id)
    with pytest.raises(AuthenticationFailed) as refused:
        auth.authenticate_api_key(uow, key=key, client_ip=None)
    assert refused.value.code is ErrorCode.API_KEY_INVALID
