"""The benchmark's bulk seeder writes what the services would: paths, wallets, credentials."""

from __future__ import annotations

from bench import layout
from bench.seed import seed
from sqlalchemy import func, select

from smsaccounts.domain.models import Asset
from smsaccounts.domain.phone import parse_msisdn
from smsaccounts.domain.tree import ADMIN_ID, child_path
from smsaccounts.services import auth, charging
from smsaccounts.storage.tables import accounts, api_keys, auth_tokens, ledger, wallets
from smsaccounts.storage.unit_of_work import UnitOfWork

LAYOUT = layout.Layout(200, resellers=3, customers=10, link_below=20, debit_accounts=5)
KIND_OF_PARENT = {"reseller": "admin", "customer": "reseller", "user": ("customer", "user")}


def test_seeded_tree_has_materialized_paths_wallets_equal_to_ledgers_and_valid_msisdns(
    db_url: str, uow: UnitOfWork
) -> None:
    report = seed(db_url, LAYOUT)
    assert report.rows["accounts"] == LAYOUT.total_accounts - 1  # the admin is the migration's
    with uow.read() as tx:
        rows = {r.id: r for r in tx.conn.execute(select(accounts))}
        sums = {
            (r.account_id, r.asset): r.total
            for r in tx.conn.execute(
                select(
                    ledger.c.account_id, ledger.c.asset, func.sum(ledger.c.amount).label("total")
                ).group_by(ledger.c.account_id, ledger.c.asset)
            )
        }
        walleted = {r.account_id: r for r in tx.conn.execute(select(wallets))}
    assert len(rows) == LAYOUT.total_accounts
    assert set(walleted) == set(rows)
    assert sum(r.kind == "user" for r in rows.values()) == LAYOUT.users
    for row in rows.values():
        if row.id == ADMIN_ID:
            continue
        parent = rows[row.parent_id]
        assert row.path == child_path(parent.path, row.id)
        assert parent.kind in KIND_OF_PARENT[row.kind]
        assert len(row.object_id) == 24
        assert int(row.object_id, 16) > 0
        if row.kind == "user":
            assert parse_msisdn(row.msisdn).valid
        for asset in Asset:
            assert getattr(walleted[row.id], asset.value) == sums.get((row.id, asset.value), 0)
    assert rows[ADMIN_ID].mor_secret == layout.MOR_SECRET
    link_root = rows[LAYOUT.link_root]
    below = [r for r in rows.values() if r.path.startswith(link_root.path + ".")]
    assert len(below) == LAYOUT.link_below
    assert link_root.acl_admin


def test_seeded_credentials_authenticate_through_the_services(db_url: str, uow: UnitOfWork) -> None:
    seed(db_url, LAYOUT)
    user_id = LAYOUT.regular_user_id(7)
    customer = LAYOUT.customer_of_user_id(user_id)
    assert (
        auth.authenticate_token(uow, token=layout.auth_token(user_id), client_ip=None).id == user_id
    )
    key, owner = auth.authenticate_api_key(uow, key=layout.client_key(customer), client_ip=None)
    assert key.purpose == "client"
    assert owner.id == LAYOUT.customer_id(customer)
    assert owner.id == auth.authenticate_token(uow, token=layout.auth_token(user_id),
                                               client_ip=None).parent_id  # fmt: skip
    _, link_owner = auth.authenticate_api_key(
        uow, key=layout.user_key(LAYOUT.link_root), client_ip=None
    )
    assert link_owner.id == LAYOUT.link_root
    gateway = charging.authenticate_gateway(uow, key=layout.gateway_key(), client_ip=None)
    assert gateway.id == ADMIN_ID
    with uow.read() as tx:
        account = tx.accounts.get(user_id)
        tokens = tx.conn.execute(select(func.count()).select_from(auth_tokens)).scalar_one()
        keys = tx.conn.execute(select(func.count()).select_from(api_keys)).scalar_one()
    assert account is not None
    assert uow.passwords.verify(account.password_hash, layout.PASSWORD)
    assert tokens == LAYOUT.users
    assert keys == LAYOUT.customers + 2  # the client keys, the LINK root's, the gateway's
