"""Reseller API test helpers: a pre-paid reseller with a pool, a way to call and to count."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from smsaccounts.domain.models import Account, BillingType
from smsaccounts.storage.tables import accounts, ledger
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.factories import PASSWORD

BASE = "/services/rest"


class Api:
    """Speaks only the contract: POST a form, read the JSON answer (always HTTP 200)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.client.post(f"{BASE}/{path}", data=params)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        body: dict[str, Any] = response.json()
        return body

    def as_reseller(self, reseller: Account, path: str, **params: Any) -> dict[str, Any]:
        """A create call with the reseller's credentials (resellerName/resellerPassword)."""
        return self.post(path, resellerName=reseller.name, resellerPassword=PASSWORD, **params)

    def as_admin(self, reseller: Account, path: str, **params: Any) -> dict[str, Any]:
        """An admin/* call with the reseller's credentials (reseller/password)."""
        return self.post(f"admin/{path}", reseller=reseller.name, password=PASSWORD, **params)


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


@pytest.fixture
def pool_reseller(uow: UnitOfWork) -> Account:
    """A pre-paid reseller with 1000 credits in its pool, 50 free credits per new customer."""
    return factories.reseller(
        uow,
        credits=1000,
        billing_type=BillingType.PRE_PAID,
        default_customer_billing_type="PRE_PAID",
        free_credits=50,
    )


def count(uow: UnitOfWork, table: Any = accounts) -> int:
    with uow.read() as tx:
        return int(tx.conn.execute(select(func.count()).select_from(table)).scalar_one())


def counts(uow: UnitOfWork) -> tuple[int, int]:
    """Accounts and ledger rows: what must not change when a call is refused."""
    return count(uow, accounts), count(uow, ledger)


def by_object_id(uow: UnitOfWork, object_id: str) -> Account:
    with uow.read() as tx:
        found = tx.accounts.get_by_object_id(object_id)
    assert found is not None
    return found


def credits_of(uow: UnitOfWork, account: Account) -> int:
    with uow.read() as tx:
        found = tx.wallets.get(account.id)
    assert found is not None
    return found.credits
