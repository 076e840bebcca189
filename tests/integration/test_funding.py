"""Who pays: a user spends the wallet of the nearest account at or above it that pays for
itself, and every balance read shows that wallet; free SMS grants are one ledger entry."""

from __future__ import annotations

from typing import Any

import pytest

from smsaccounts.domain.credentials import secret_hash
from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.errors import ForbiddenField
from smsaccounts.services import accounts, auth, funding, subusers, wallet
from smsaccounts.services.provisioning import NewUser, create_user
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories


def _pool(uow: UnitOfWork, credits: int = 100) -> tuple[Account, Account]:
    """A pre-paid customer holding `credits`, and its reseller."""
    reseller = factories.reseller(uow)
    customer = factories.customer(uow, parent=reseller, billing_type=BillingType.PRE_PAID)
    wallet.credit(uow, account_id=customer.id, asset=Asset.CREDITS, amount=credits, reason="t")
    return reseller, customer


def _token(uow: UnitOfWork, user: Account) -> str:
    with uow.write() as tx:
        return auth.issue_token(tx, user)


def test_a_parent_funded_user_reads_its_customers_pool_on_the_hot_path_and_the_normal_one(
    uow: UnitOfWork,
) -> None:
    """The hot read (mysms balance/get) and the services' read answer the same figures."""
    _reseller, customer = _pool(uow, 100)
    pays = factories.user(uow, parent=customer, funding="parent")
    own = factories.user(uow, parent=customer)
    sub = factories.user(uow, parent=pays, funding="parent")  # two levels up to the pool
    wallet.credit(uow, account_id=own.id, asset=Asset.CREDITS, amount=7, reason="t")
    wallet.credit(uow, account_id=pays.id, asset=Asset.FREE_SMS, amount=3, reason="t")
    key = secret_hash(factories.client_key(uow, customer))
    expected = {pays.id: (3, 100), own.id: (0, 7), sub.id: (0, 100)}
    for user in (pays, own, sub):
        hot = uow.hot.key_session(key, secret_hash(_token(uow, user)))
        assert hot is not None
        with uow.read() as tx:
            normal = funding.spendable(tx, user)
        assert (hot.free_sms, hot.credits) == (normal.free_sms, normal.credits)
        assert (hot.free_sms, hot.credits) == expected[user.id]


def test_a_customers_free_sms_grant_gives_each_new_user_one_ledger_entry(
    uow: UnitOfWork,
) -> None:
    _reseller, customer = _pool(uow)
    admin = accounts.get(uow, actor=customer, account_id=customer.id)
    accounts.update(uow, actor=admin, account_id=customer.id, changes={"free_sms_grant": 5})
    user = factories.user(uow, parent=customer)
    entries = wallet.entries(uow, account_id=user.id)
    assert [(e.asset, e.amount, e.reason) for e in entries] == [
        (Asset.FREE_SMS, 5, accounts.FREE_SMS_GRANT_REASON)
    ]
    assert wallet.get(uow, account_id=user.id).free_sms == 5


def test_a_resellers_grant_applies_when_the_customer_grants_none(uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow, free_sms_grant=2)
    customer = factories.customer(uow, parent=reseller)
    assert wallet.get(uow, account_id=factories.user(uow, parent=customer).id).free_sms == 2
    assert wallet.get(uow, account_id=customer.id).free_sms == 0  # users only


def test_reseller_api_users_spend_the_customers_pool_unless_created_with_own_funding(
    uow: UnitOfWork,
) -> None:
    reseller, customer = _pool(uow)
    base: dict[str, Any] = {"password": "pw-123456", "customer_id": customer.object_id,
                            "email": "u@example.com", "phone_number": ""}  # fmt: skip
    default = create_user(uow, reseller=reseller, new=NewUser(username="rs-a", **base))
    own = create_user(uow, reseller=reseller, new=NewUser(username="rs-b", funding="own", **base))
    assert (default.funding, own.funding) == ("parent", "own")
    assert customer.funding == reseller.funding == "own"


def test_link_sub_users_spend_their_parents_credits_and_show_them(uow: UnitOfWork) -> None:
    _reseller, customer = _pool(uow)
    root = factories.user(uow, parent=customer, acl_admin=True)  # pays for itself
    wallet.credit(uow, account_id=root.id, asset=Asset.CREDITS, amount=40, reason="t")
    kid, _key = subusers.create(uow, actor=root, changes={"name": "kid-a"})
    own, _key = subusers.create(uow, actor=root, changes={"name": "kid-b", "funding": "own"})
    assert (kid.account.funding, own.account.funding) == ("parent", "own")
    assert (kid.spends.credits, own.spends.credits) == (40, 0)
    assert kid.wallet.credits == 0  # nothing moved: the kid spends root's wallet


def test_mor_user_details_show_the_wallet_the_user_spends_from(uow: UnitOfWork) -> None:
    _reseller, customer = _pool(uow, 10)
    wallet.credit(uow, account_id=customer.id, asset=Asset.BALANCE, amount=25_000_000,
                  reason="t")  # fmt: skip
    user = factories.user(uow, parent=customer, funding="parent")
    with uow.read() as tx:
        own, paying = funding.wallets(tx, user)
    assert (own.account_id, paying.account_id, paying.balance) == (user.id, customer.id,
                                                                   25_000_000)  # fmt: skip


def test_a_user_cannot_switch_itself_onto_its_parents_pool(uow: UnitOfWork) -> None:
    """Only an account above may say who pays; sending one's own funding back unchanged is
    fine (a LINK client PUTs back the user it read)."""
    _reseller, customer = _pool(uow)
    root = factories.user(uow, parent=customer, acl_admin=True)
    with pytest.raises(ForbiddenField):
        subusers.update(uow, actor=root, account_id=root.id, changes={"funding": "parent"})
    subusers.update(uow, actor=root, account_id=root.id, changes={"funding": "own"})
    kid, _key = subusers.create(uow, actor=root, changes={"name": "kid-s"})
    changed = subusers.update(uow, actor=root, account_id=kid.account.id,
                              changes={"funding": "own"})  # fmt: skip
    assert changed.account.funding == "own"
