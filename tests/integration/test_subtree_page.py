"""A LINK page's reads (`list_subtree_wallets`, `listed_page`, `count_subtree`:
statements built once, rows built by position) answer what the general subtree read
(`list_subtree`, built per call, rows by name) and the wallet lookup answer, for every
root, cursor and size."""

from __future__ import annotations

from smsaccounts.domain.models import Account, Wallet
from smsaccounts.domain.subusers import ListedAccount, ListedWallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests.integration.test_lookups import _tree


def test_the_page_reads_answer_what_the_general_reads_answer(uow: UnitOfWork) -> None:
    made = _tree(uow)
    with uow.read() as tx:
        for root in made:
            everything = tx.accounts.list_subtree(root, limit=10**6)
            for after in [None, *(a.path for a in everything)]:
                below = tx.accounts.list_subtree(root, after_path=after, limit=10**6)
                for limit in (1, 2, 100):
                    expected = [(a, tx.wallets.get(a.id)) for a in below[:limit]]
                    page = tx.accounts.list_subtree_wallets(root, after_path=after, limit=limit)
                    assert page == expected
                for at_most in (None, 1, 2, 100):
                    want = len(below) if at_most is None else min(len(below), at_most)
                    counted = tx.accounts.count_subtree(root, after_path=after, at_most=at_most)
                    assert counted == want


def test_the_listing_read_answers_the_whole_accounts_listed_columns(uow: UnitOfWork) -> None:
    """`listed_page` (a LINK page's read) holds, for every root, cursor and size, the very
    values `list_subtree_wallets` reads for the account and wallet columns a listing shows,
    and the count `count_subtree` makes from the page's start."""
    made = _tree(uow)
    with uow.write() as tx:  # a value no other column holds: any shift or swap shows
        for account in made:
            texts = ("company", "integration_id", "integration", "defaultsender", "prefixes")
            tx.accounts.update(account.id, {name: f"{name}-{account.id}" for name in texts})
            tx.accounts.update(account.id, {"acl_hlr": account.id % 2 == 0})
            n = account.id
            tx.wallets.set_terms(n, credits=1000 + n, free_sms=2000 + n, balance=3000 + n,
                                 use_currency=n % 2 == 1, messages_sent=4000 + n,
                                 max_messages=None if n % 3 else 5000 + n)  # fmt: skip
    with uow.read() as tx:
        for root in made:
            everything = tx.accounts.list_subtree(root, limit=10**6)
            for after in [None, *(a.path for a in everything)]:
                for limit, at_most in ((1, 1), (2, 3), (100, 2), (100, 1000)):
                    whole = tx.accounts.list_subtree_wallets(root, after_path=after, limit=limit)
                    listed, ahead = tx.accounts.listed_page(
                        root, after_path=after, limit=limit, at_most=at_most
                    )
                    assert listed == [(_listed(a), _figures(w)) for a, w in whole]
                    counted = tx.accounts.count_subtree(root, after_path=after, at_most=at_most)
                    assert ahead == counted


def _listed(account: Account) -> ListedAccount:
    return ListedAccount(**{name: getattr(account, name) for name in ListedAccount._fields})


def _figures(wallet: Wallet) -> ListedWallet:
    return ListedWallet(**{name: getattr(wallet, name) for name in ListedWallet._fields})


def test_the_chains_of_many_accounts_are_each_ones_chain(uow: UnitOfWork) -> None:
    """One read of many chains (a page's payers) answers what `chain` answers for each."""
    made = _tree(uow)
    with uow.read() as tx:
        for some in (made, made[3:], made[-1:], []):
            chains = tx.accounts.chains(some)
            assert chains == {account.id: tx.accounts.chain(account) for account in some}
        listed, _ahead = tx.accounts.listed_page(made[0], limit=100, at_most=1)
        chains = tx.accounts.chains([account for account, _ in listed])
        assert chains == {a.id: tx.accounts.chain(a) for a in tx.accounts.list_subtree(made[0])}
