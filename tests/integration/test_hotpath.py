"""The hot read sees every change at once: its memo is keyed by the columns it read."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from smsaccounts.domain.credentials import secret_hash
from smsaccounts.domain.models import Asset
from smsaccounts.services import auth, wallet
from smsaccounts.storage.hotpath import HotReads
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


def test_a_read_that_joins_the_ancestors_named_last_time_answers_what_two_reads_answer(
    uow: UnitOfWork,
) -> None:
    """A key's second read joins the ancestors its first read named into one statement; it
    answers exactly what a read without that guess answers (two statements), after its
    ancestors' state and pool change, and for a user deeper than the guess."""
    reseller = factories.reseller(uow)
    customer = factories.customer(uow, parent=reseller)
    wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=50, reason="t")
    pays = factories.user(uow, parent=customer, funding="parent")
    own = factories.user(uow, parent=customer)
    sub = factories.user(uow, parent=pays, funding="parent")
    key = secret_hash(factories.client_key(uow, customer))
    with uow.write() as tx:
        tokens = [secret_hash(auth.issue_token(tx, u)) for u in (pays, own, sub)] + [None]

    def same_as_without_the_guess() -> None:
        for token in (*tokens, tokens[0], tokens[2], tokens[2], None):
            fresh = HotReads(uow.db.engine)
            try:
                assert uow.hot.key_session(key, token) == fresh.key_session(key, token)
            finally:
                fresh.close()

    same_as_without_the_guess()
    assert uow.hot.key_session(key, tokens[0]).credits == 50  # type: ignore[union-attr]
    wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=5, reason="t")
    assert uow.hot.key_session(key, tokens[0]).credits == 55  # type: ignore[union-attr]
    same_as_without_the_guess()
    with uow.write() as tx:  # the middle user: only the sub-user's read must see it
        tx.conn.execute(update(accounts).where(accounts.c.id == pays.id).values(enabled=False))
    same_as_without_the_guess()
    with uow.write() as tx:
        tx.conn.execute(update(accounts).where(accounts.c.id == reseller.id).values(enabled=False))
    disabled = uow.hot.key_session(key, tokens[1])
    assert disabled is not None
    assert disabled.user is not None
    assert (disabled.owner.active, disabled.user.active) == (False, False)
    same_as_without_the_guess()


def test_a_keys_second_read_is_one_statement(uow: UnitOfWork) -> None:
    """What the guess is for: the ancestors come with the key, token and wallet."""
    if uow.db.engine.dialect.name != "sqlite":
        pytest.skip("counts the statements of a SQLite connection")
    customer = factories.customer(uow, parent=factories.reseller(uow))
    user = factories.user(uow, parent=customer)
    key = secret_hash(factories.client_key(uow, customer))
    with uow.write() as tx:
        token = secret_hash(auth.issue_token(tx, user))
    reads = HotReads(uow.db.engine)
    statements: list[str] = []
    try:
        reads.key_session(key, token)
        for conn in reads._idle:
            conn.set_trace_callback(statements.append)
        first = reads.key_session(key, token)
        assert len(statements) == 1
        assert first == uow.hot.key_session(key, token)
    finally:
        reads.close()


def test_a_pool_spender_read_after_an_own_funded_user_of_the_key_sees_the_pool(
    uow: UnitOfWork,
) -> None:
    """The next read of a key joins the ancestors' wallets only if its last user spent a
    pool: a pool spender read after an own-funded user still answers the pool's figures,
    and each read equals one without any guess."""
    customer = factories.customer(uow, parent=factories.reseller(uow))
    wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=50, reason="t")
    pays = factories.user(uow, parent=customer, funding="parent")
    own = factories.user(uow, parent=customer)
    key = secret_hash(factories.client_key(uow, customer))
    with uow.write() as tx:
        pays_token, own_token = (secret_hash(auth.issue_token(tx, u)) for u in (pays, own))
    reads = HotReads(uow.db.engine)
    try:
        for token in (own_token, own_token, pays_token, pays_token, own_token, pays_token):
            fresh = HotReads(uow.db.engine)
            try:
                read = reads.key_session(key, token)
                assert read == fresh.key_session(key, token)
            finally:
                fresh.close()
            assert read is not None
            assert read.credits == (50 if token == pays_token else 0)
    finally:
        reads.close()
