"""The raw-connection lookups (`uow.lookups()`, storage/lookups.py) answer exactly what the
repositories inside `uow.read()` answer, record for record, and a MOR details call decides
the same through either."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from smsaccounts.domain.models import Account, Asset
from smsaccounts.domain.tree import NAME_ORDER
from smsaccounts.errors import DomainError
from smsaccounts.services import accounts, auth, balances, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

SECRET = "lookup-secret"


def _tree(uow: UnitOfWork) -> list[Account]:
    """Two resellers, customers, users; one disabled, one deleted, one with a wallet change."""
    with uow.read() as tx:
        admin = tx.accounts.get(1)
    assert admin is not None
    auth.set_mor_secret(uow, account_id=admin.id, secret=SECRET)
    made: list[Account] = [admin]
    for r in range(2):
        reseller = factories.reseller(uow, name=f"res{r}", credits=10 + r)
        customer = factories.customer(uow, parent=reseller, name=f"cus{r}")
        made += [reseller, customer]
        made += [factories.user(uow, parent=customer, name=f"usr{r}{u}") for u in range(3)]
    accounts.disable(uow, actor=admin, account_id=made[3].id)  # reseller 0's customer
    accounts.delete(uow, actor=admin, account_id=made[-1].id)  # a user of reseller 1
    with uow.write() as tx:
        wallet.apply(tx, account_id=made[4].id, asset=Asset.BALANCE, amount=12345,
                     reason="test", actor_id=admin.id)  # fmt: skip
    return made


def test_every_lookup_returns_the_repositorys_record(uow: UnitOfWork) -> None:
    made = _tree(uow)
    names = [a.name for a in made] + ["nobody"]
    ids = [a.id for a in made] + [10**6]
    with uow.read() as tx, uow.lookups() as quick:
        for account_id in ids:
            assert quick.accounts.get(account_id) == tx.accounts.get(account_id)
            assert quick.wallets.get(account_id) == tx.wallets.get(account_id)
        for name in names:
            for kind in NAME_ORDER:
                assert quick.accounts.get_by_name(kind, name) == tx.accounts.get_by_name(kind, name)
        for account in made:
            assert quick.accounts.chain(account) == tx.accounts.chain(account)
    with uow.lookups() as quick:
        assert [quick.accounts.get(a.id) for a in made].count(None) == 0


def _outcome(uow: UnitOfWork, **call: Any) -> object:
    try:
        return balances.user_details(uow, **call)
    except DomainError as error:
        return (type(error).__name__, error.code)


@contextlib.contextmanager
def _through_repositories(uow: UnitOfWork) -> Iterator[None]:
    """`uow.lookups()` served by the normal read transaction, for the same calls."""
    original = uow.lookups
    uow.lookups = uow.read  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        uow.lookups = original  # type: ignore[method-assign]


@pytest.mark.parametrize("password", [None, factories.PASSWORD, "wrong-password"])
def test_a_mor_details_call_decides_the_same_through_either(
    uow: UnitOfWork, password: str | None
) -> None:
    made = _tree(uow)
    targets = [str(a.id) for a in made] + ["999999", "x"]
    cases = []
    for caller in ("admin", "res0", "res1", "cus1", "usr10", "nobody"):
        for target in targets:
            digest = hashlib.sha1(f"{target}{SECRET}".encode()).hexdigest()  # noqa: S324
            for sent_hash in (digest, "0" * 40):
                creds = balances.Credentials(caller, password, sent_hash, "127.0.0.1")
                cases.append({"credentials": creds, "user_id": target, "username": None})
    quick = [_outcome(uow, **case) for case in cases]
    with _through_repositories(uow):
        normal = [_outcome(uow, **case) for case in cases]
    assert quick == normal
    failures = {o[0] for o in quick if isinstance(o, tuple) and isinstance(o[0], str)}
    assert "AuthenticationFailed" in failures
    if password != "wrong-password":
        assert "NotFound" in failures
        assert any(isinstance(o, tuple) and isinstance(o[0], Account) for o in quick)
