"""One factory per kind of record, so tests say what they need and nothing more."""

from __future__ import annotations

import secrets
from typing import Any

from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.services import accounts, auth, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork

PASSWORD = "secret-pw"


def _name(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def reseller(
    uow: UnitOfWork,
    *,
    name: str | None = None,
    credits: int = 0,
    billing_type: BillingType = BillingType.PRE_PAID,
    **attrs: Any,
) -> Account:
    account = accounts.create(
        uow,
        kind=Kind.RESELLER,
        name=name or _name("reseller"),
        parent_id=ADMIN_ID,
        password=PASSWORD,
        billing_type=billing_type,
        **attrs,
    )
    if credits:
        wallet.credit(
            uow, account_id=account.id, asset=Asset.CREDITS, amount=credits, reason="test"
        )
    return account


def customer(
    uow: UnitOfWork,
    *,
    parent: Account | None = None,
    name: str | None = None,
    billing_type: BillingType = BillingType.POST_PAID,
    **attrs: Any,
) -> Account:
    parent = parent or reseller(uow)
    return accounts.create(
        uow,
        kind=Kind.CUSTOMER,
        name=name or _name("customer"),
        parent_id=parent.id,
        billing_type=billing_type,
        **attrs,
    )


def user(
    uow: UnitOfWork,
    *,
    parent: Account | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    billing_type: BillingType = BillingType.PRE_PAID,
    **attrs: Any,
) -> Account:
    parent = parent or customer(uow)
    return accounts.create(
        uow,
        kind=Kind.USER,
        name=name or _name("user"),
        parent_id=parent.id,
        password=password,
        billing_type=billing_type,
        **attrs,
    )


def user_key(uow: UnitOfWork, account: Account) -> str:
    """The user's own API key (LINK's `apikey`)."""
    return auth.create_api_key(uow, owner_id=account.id, name=account.name, purpose="user")[1]


def client_key(
    uow: UnitOfWork, owner: Account, *, rights: frozenset[str] = frozenset(), allowed_ips: str = ""
) -> str:
    """A client application's key, owned by a customer (mysms's `apiKey`)."""
    return auth.create_api_key(
        uow, owner_id=owner.id, name=_name("app"), rights=rights, allowed_ips=allowed_ips
    )[1]


def gateway_key(uow: UnitOfWork, *, name: str = "jasmin") -> str:
    """A gateway's key, owned by the admin (the charging API's)."""
    return auth.create_api_key(uow, owner_id=ADMIN_ID, name=name, purpose="gateway")[1]


def prepaid_customer(uow: UnitOfWork, *, credits: int) -> Account:
    """A pre-paid customer (under a new reseller) holding `credits` SMS credits."""
    customer_ = customer(uow, parent=reseller(uow), billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=customer_.id, asset=Asset.CREDITS, amount=credits, reason="t")
    return customer_
