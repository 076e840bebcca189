"""The migrated database holds exactly the admin root, on every backend."""

from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories


def test_a_fresh_database_holds_only_the_admin_root(uow: UnitOfWork) -> None:
    with uow.read() as tx:
        admin = tx.accounts.get(ADMIN_ID)
        assert admin is not None
        assert (admin.kind, admin.name, admin.path) == (Kind.ADMIN, "admin", "1")
        assert tx.accounts.list_subtree(admin) == [admin]


def test_ids_restart_for_each_test(uow: UnitOfWork) -> None:
    assert factories.reseller(uow).id == 2
