"""The hot read sees every change at once: its memo is keyed by the columns it read."""

from __future__ import annotations

from sqlalchemy import update

from smsaccounts.domain.credentials import secret_hash
from smsaccounts.domain.models import Asset
from smsaccounts.services import auth, wallet
from smsaccounts.storage.tables import accounts, api_keys
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories


def test_a_changed_key_owner_token_or_wallet_reads_changed_on_the_next_call(
    uow: UnitOfWork,
) -> None:
    customer = factories.customer(uow)
    user = factories.user(uow, parent=customer)
    key = secret_hash(factories.client_key(uow, customer))
    with uow.write() as tx:
        token = secret_hash(auth.issue_token(tx, user))

    first = uow.hot.key_session(key, token)
    assert first is not None
    assert first.user is not None
    assert (first.key.active, first.owner.active, first.user.active) == (True, True, True)
    assert uow.hot.key_session(key, token) == first  # served from the memo, equal

    with uow.write() as tx:
        tx.conn.execute(update(api_keys).where(api_keys.c.key_hash == key).values(enabled=False))
        tx.conn.execute(
            update(accounts).where(accounts.c.id == customer.id).values(iprange="10.0.0.1")
        )
        tx.conn.execute(update(accounts).where(accounts.c.id == user.id).values(enabled=False))
    changed = uow.hot.key_session(key, token)
    assert changed is not None
    assert changed.user is not None
    assert not changed.key.active
    assert changed.owner.iprange == "10.0.0.1"
    assert not changed.user.active

    wallet.credit(uow, account_id=user.id, asset=Asset.CREDITS, amount=7, reason="test")
    assert uow.hot.key_session(key, token).credits == first.credits + 7  # type: ignore[union-attr]

    auth.revoke_tokens(uow, account_id=user.id)
    revoked = uow.hot.key_session(key, token)
    assert revoked is not None
    assert revoked.user is None


def test_users_at_different_depths_under_one_key_read_their_own_ancestors(
    uow: UnitOfWork,
) -> None:
    """The ancestors' read is kept per parent path: a user below another user has the
    middle one among its ancestors, a direct user of the customer does not."""
    customer = factories.customer(uow)
    direct = factories.user(uow, parent=customer)
    middle = factories.user(uow, parent=customer)
    below = factories.user(uow, parent=middle)
    key = secret_hash(factories.client_key(uow, customer))
    with uow.write() as tx:
        tokens = {u.id: secret_hash(auth.issue_token(tx, u)) for u in (direct, middle, below)}
    for user in (direct, below, middle):  # each read once, so each chain is kept
        assert uow.hot.key_session(key, tokens[user.id]).user.active  # type: ignore[union-attr]

    with uow.write() as tx:
        tx.conn.execute(update(accounts).where(accounts.c.id == middle.id).values(enabled=False))
    assert not uow.hot.key_session(key, tokens[below.id]).user.active  # type: ignore[union-attr]
    assert uow.hot.key_session(key, tokens[direct.id]).user.active  # type: ignore[union-attr]
