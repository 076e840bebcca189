"""Reads on PostgreSQL in autocommit (storage/database.py `_snapshot_per_statement`): at
READ COMMITTED each statement of a read transaction reads its own snapshot anyway, so a
read sends no BEGIN and no COMMIT, and its connection goes back to the pool in
transactions, for the writes that need them."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from smsaccounts.errors import ServiceUnavailable
from smsaccounts.services import wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

pytestmark = pytest.mark.only_backend("postgresql")


def test_a_read_is_no_transaction_block_and_its_connection_goes_back_transactional(
    uow: UnitOfWork,
) -> None:
    user = factories.user(uow)
    with uow.read() as tx:
        server = tx.conn.connection.driver_connection
        assert server is not None
        first = tx.conn.execute(text("SELECT now()")).scalar_one()
        time.sleep(0.01)
        second = tx.conn.execute(text("SELECT now()")).scalar_one()
        assert tx.wallets.get(user.id) is not None
    # now() is the start of the transaction: in one, both statements would read the same.
    assert second > first
    assert server.autocommit is False

    def change_then_fail() -> None:
        with uow.write() as tx:
            tx.wallets.set_terms(user.id, credit_limit=7)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert wallet.get(uow, account_id=user.id).credit_limit is None  # all or nothing still


def test_a_read_whose_server_connection_dies_answers_unavailable_and_the_next_one_reads(
    uow: UnitOfWork,
) -> None:
    """Putting a dead connection back in transactions fails too: it is dropped from the
    pool, and the read's own error (the outage) is what the caller sees."""
    with pytest.raises(ServiceUnavailable), uow.read() as tx:
        tx.conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
    with uow.read() as tx:
        assert tx.conn.execute(text("SELECT 1")).scalar_one() == 1
