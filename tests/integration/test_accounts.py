"""Accounts on the real databases: the tree, names, the subtree rule, delete = deactivate."""

import pytest

from smsaccounts.domain.models import BillingType
from smsaccounts.domain.tree import ADMIN_ID, Kind, base36
from smsaccounts.errors import (
    AlreadyExists,
    AuthenticationFailed,
    ErrorCode,
    ForbiddenField,
    InvalidField,
    NotFound,
)
from smsaccounts.services import accounts, auth
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories


def admin(uow: UnitOfWork) -> object:
    with uow.read() as tx:
        return tx.accounts.get(ADMIN_ID)


def test_paths_follow_the_tree_in_base36(uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow)
    customer = factories.customer(uow, parent=reseller)
    user = factories.user(uow, parent=customer)
    sub = factories.user(uow, parent=user)
    assert reseller.path == f"1.{base36(reseller.id)}"
    assert sub.path == f"{user.path}.{base36(sub.id)}"
    assert (sub.parent_id, user.parent_id, customer.parent_id) == (
        user.id,
        customer.id,
        reseller.id,
    )
    assert len(reseller.object_id) == 24
    assert int(reseller.object_id, 16) >= 0


def test_every_account_gets_an_empty_wallet_of_its_billing_type(uow: UnitOfWork) -> None:
    customer = factories.customer(uow, billing_type=BillingType.POST_PAID)
    with uow.read() as tx:
        wallet = tx.wallets.get(customer.id)
    assert wallet is not None
    assert (wallet.credits, wallet.free_sms, wallet.balance) == (0, 0, 0)
    assert wallet.billing_type is BillingType.POST_PAID
    assert wallet.currency == "EUR"


def test_a_kind_cannot_be_placed_under_the_wrong_parent(uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow)
    with pytest.raises(InvalidField) as error:
        accounts.create(uow, kind=Kind.USER, name="u", parent_id=reseller.id)
    assert error.value.field == "parent"


def test_names_are_unique_per_kind_but_may_repeat_across_kinds(uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow, name="shop")
    factories.customer(uow, parent=reseller, name="shop")
    with pytest.raises(AlreadyExists):
        factories.reseller(uow, name="shop")


def test_a_deleted_account_keeps_its_data_and_frees_its_name_and_msisdn(uow: UnitOfWork) -> None:
    customer = factories.customer(uow)
    user = factories.user(uow, parent=customer, name="alice", msisdn="436761234567")
    token_owner = user
    with uow.write() as tx:
        token = auth.issue_token(tx, token_owner)
    deleted = accounts.delete(uow, actor=customer, account_id=user.id)
    assert deleted.deactivated is not None
    assert not deleted.enabled
    assert deleted.name == "alice"
    assert deleted.msisdn == "436761234567"
    with pytest.raises(AuthenticationFailed) as error:
        auth.authenticate_token(uow, token=token, client_ip="127.0.0.1")
    assert error.value.code is ErrorCode.TOKEN_INVALID
    again = factories.user(uow, parent=customer, name="alice", msisdn="436761234567")
    assert again.id != user.id


def test_outside_the_subtree_is_the_same_as_missing(uow: UnitOfWork) -> None:
    mine, theirs = factories.customer(uow), factories.customer(uow)
    their_user = factories.user(uow, parent=theirs)
    for target in (their_user.id, 999_999):
        with pytest.raises(NotFound) as error:
            accounts.get(uow, actor=mine, account_id=target)
        assert (error.value.message, error.value.code) == (
            "account not found",
            ErrorCode.ACCOUNT_NOT_FOUND,
        )
    with pytest.raises(NotFound):
        accounts.update(uow, actor=mine, account_id=their_user.id, changes={"company": "x"})
    with pytest.raises(NotFound):
        accounts.get(uow, actor=factories.user(uow, parent=mine), account_id=mine.id)


def test_the_subtree_listing_holds_exactly_the_actor_and_its_descendants(uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow)
    customers = [factories.customer(uow, parent=reseller) for _ in range(3)]
    users = [factories.user(uow, parent=c) for c in customers for _ in range(4)]
    factories.user(uow)  # someone else's tree
    listed = accounts.list_subtree(uow, actor=reseller, limit=1000)
    assert {a.id for a in listed} == {
        reseller.id,
        *(c.id for c in customers),
        *(u.id for u in users),
    }
    # Keyset pages of 5 concatenate to the same list, in path order.
    pages, after = [], None
    while page := accounts.list_subtree(uow, actor=reseller, after_path=after, limit=5):
        pages.extend(page)
        after = page[-1].path
    assert [a.id for a in pages] == [a.id for a in listed]
    assert [a.path for a in listed] == sorted(a.path for a in listed)


def test_fields_outside_the_settable_set_are_refused_and_nothing_changes(uow: UnitOfWork) -> None:
    customer = factories.customer(uow)
    user = factories.user(uow, parent=customer, company="before")
    for field in ("credits", "balance", "parent_id", "kind", "path", "password_hash"):
        with pytest.raises(ForbiddenField) as error:
            accounts.update(
                uow, actor=customer, account_id=user.id, changes={"company": "after", field: 1}
            )
        assert error.value.field == field
    assert accounts.get(uow, actor=customer, account_id=user.id).company == "before"


def test_iprange_is_validated_on_write(uow: UnitOfWork) -> None:
    customer = factories.customer(uow)
    user = factories.user(uow, parent=customer)
    with pytest.raises(InvalidField) as error:
        accounts.update(uow, actor=customer, account_id=user.id, changes={"iprange": "10.0.0.999"})
    assert error.value.field == "iprange"
    updated = accounts.update(
        uow, actor=customer, account_id=user.id, changes={"iprange": "10.0.0.0/8, 127.0.0.1"}
    )
    assert updated.iprange == "10.0.0.0/8,127.0.0.1"


def test_disable_revokes_tokens_and_enable_does_not_bring_them_back(uow: UnitOfWork) -> None:
    customer = factories.customer(uow)
    user = factories.user(uow, parent=customer)
    with uow.write() as tx:
        token = auth.issue_token(tx, user)
    accounts.disable(uow, actor=customer, account_id=user.id)
    accounts.enable(uow, actor=customer, account_id=user.id)
    with pytest.raises(AuthenticationFailed) as error:
        auth.authenticate_token(uow, token=token, client_ip=None)
    assert error.value.code is ErrorCode.TOKEN_INVALID
