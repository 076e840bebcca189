"""The installation the mysms clients are pointed at: a customer with a client application
key (the wrappers' `apiKey`) and a registered user with a password."""

from __future__ import annotations

import dataclasses

from smsaccounts.domain.models import Asset
from smsaccounts.services import wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

MSISDN = "436761234567"
PASSWORD = "user-pw-1"


@dataclasses.dataclass(frozen=True)
class Tenant:
    api_key: str
    user_id: int


def make_tenant(uow: UnitOfWork) -> Tenant:
    customer = factories.customer(uow)
    key = factories.client_key(uow, customer, rights=frozenset({"user.create", "user.delete"}))
    user = factories.user(uow, parent=customer, name=MSISDN, msisdn=MSISDN, country="AT",
                          password=PASSWORD)  # fmt: skip
    wallet.credit(uow, account_id=user.id, asset=Asset.CREDITS, amount=42, reason="test")
    return Tenant(key, user.id)
