"""Two resellers' trees side by side, a way to snapshot every table a request could change,
and an app over this test's database with changed settings."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from smsaccounts.domain.models import Account, BillingType
from smsaccounts.services import auth
from smsaccounts.storage import tables
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

RIGHTS = frozenset({"user.create", "user.delete"})
SNAPSHOT_TABLES = (
    tables.accounts,
    tables.wallets,
    tables.ledger,
    tables.api_keys,
    tables.auth_tokens,
    tables.outbox,
    tables.sms_routes,
)


@dataclasses.dataclass(frozen=True)
class Tree:
    """reseller > customer > (mysms user, LINK root > LINK sub-user), with every secret."""

    label: str
    reseller: Account
    secret: str  # the reseller's MOR secret
    customer: Account
    client_key: str  # the customer's mysms client application key
    user: Account
    msisdn: str
    password: str
    token: str
    link_root: Account
    link_key: str
    sub: Account
    sub_key: str


def grow_tree(uow: UnitOfWork, label: str, msisdn: str) -> Tree:
    reseller = factories.reseller(uow, credits=1000, billing_type=BillingType.PRE_PAID)
    secret = f"mor-secret-{label}-{reseller.id}"
    auth.set_mor_secret(uow, account_id=reseller.id, secret=secret)
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    password = f"pw-{label}-4711"
    user = factories.user(uow, parent=customer, password=password, msisdn=msisdn, country="AT")
    with uow.write() as tx:
        token = auth.issue_token(tx, user)
    root = factories.user(uow, parent=customer, acl_admin=True)
    sub = factories.user(uow, parent=root)
    return Tree(
        label, reseller, secret, customer, factories.client_key(uow, customer, rights=RIGHTS),
        user, msisdn, password, token, root, factories.user_key(uow, root), sub,
        factories.user_key(uow, sub),
    )  # fmt: skip


@pytest.fixture
def tree_a(uow: UnitOfWork) -> Tree:
    return grow_tree(uow, "a", "436761234567")


@pytest.fixture
def tree_b(uow: UnitOfWork) -> Tree:
    return grow_tree(uow, "b", "436761234568")


def snapshot(uow: UnitOfWork) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a request could change, in primary key order."""
    with uow.read() as tx:
        return {
            table.name: [
                tuple(row)
                for row in tx.conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in SNAPSHOT_TABLES
        }


def mor_hash(*values: str) -> str:
    return hashlib.sha1("".join(values).encode()).hexdigest()  # noqa: S324 - MOR fixes SHA1


@pytest.fixture
def http(make_http: Any) -> TestClient:
    client: TestClient = make_http()
    return client
