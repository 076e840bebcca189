"""A `Prepared` statement's rows are what `Connection.execute` answers for it: every
column's value and type (a boolean, not 0 or 1; an aware time; NULLs), whole or cut into
records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from smsaccounts.domain.subusers import ListedAccount, ListedWallet
from smsaccounts.storage import rows
from smsaccounts.storage.prepared import Prepared
from smsaccounts.storage.tables import accounts, api_keys, wallets
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.integration.test_lookups import _tree


def _typed(values: Any) -> list[tuple[type, Any]]:
    return [(type(value), value) for value in values]


def test_a_prepared_read_answers_what_sqlalchemy_answers(uow: UnitOfWork) -> None:
    """Disabled and deleted accounts, NULL and set times, accounts without a wallet."""
    made = _tree(uow)
    factories.user_key(uow, made[4])
    whole = [
        select(accounts).order_by(accounts.c.id),
        select(accounts, wallets).select_from(
            accounts.outerjoin(wallets, wallets.c.account_id == accounts.c.id)
        ).order_by(accounts.c.id),
        select(api_keys).order_by(api_keys.c.id),
    ]  # fmt: skip
    with uow.read() as tx:
        for statement in whole:
            expected = [_typed(row) for row in tx.conn.execute(statement)]
            assert [_typed(row) for row in Prepared(statement).run(tx.conn, {}).rows] == expected
            assert any(value is None for row in expected for _, value in row)


def test_a_prepared_read_cut_into_records_answers_sqlalchemys_row_in_them(
    uow: UnitOfWork,
) -> None:
    made = _tree(uow)
    listed = select(
        *(accounts.c[name] for name in rows.LISTED_COLUMNS),
        *(wallets.c[name].label(f"w_{name}") for name in rows.LISTED_WALLET_COLUMNS),
    ).join(wallets, wallets.c.account_id == accounts.c.id).order_by(accounts.c.id)  # fmt: skip
    cut = len(ListedAccount._fields)
    with uow.read() as tx:
        expected = [(ListedAccount(*row[:cut]), ListedWallet(*row[cut:]))
                    for row in tx.conn.execute(listed)]  # fmt: skip
        found = Prepared(listed, records=(ListedAccount, ListedWallet)).run(tx.conn, {}).rows
    assert len(found) == len(expected) >= len(made)
    for (account, wallet), (want_account, want_wallet) in zip(found, expected, strict=True):
        assert (type(account), type(wallet)) == (ListedAccount, ListedWallet)
        assert _typed(account) == _typed(want_account)
        assert _typed(wallet) == _typed(want_wallet)
