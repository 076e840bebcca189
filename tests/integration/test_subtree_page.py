"""A LINK page's reads (`list_subtree_wallets`, `count_subtree`: statements built once,
rows built by position) answer what the general subtree read (`list_subtree`, built per
call, rows by name) and the wallet lookup answer, for every root, cursor and size."""

from __future__ import annotations

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
