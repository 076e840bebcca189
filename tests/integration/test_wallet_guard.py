"""storage's SQL guard is the domain's floor rule: on every case both allow the same changes."""

import itertools

from smsaccounts.domain import wallet_rules
from smsaccounts.domain.models import Asset, BillingType
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

LIMITS = (None, 0, 100, -5)
STARTS = (-150, -100, 0, 5)
AMOUNTS = (-200, -101, -100, -6, -5, -1, 0, 1)


def test_the_sql_guard_allows_exactly_what_the_domain_rule_allows(uow: UnitOfWork) -> None:
    account = factories.user(uow)
    cases = itertools.product(BillingType, LIMITS, Asset, STARTS, AMOUNTS)
    disagreements = []
    with uow.write() as tx:
        for billing_type, limit, asset, start, amount in cases:
            tx.wallets.set_terms(
                account.id, billing_type=billing_type, credit_limit=limit, **{asset.value: start}
            )
            terms = tx.wallets.get(account.id)
            assert terms is not None
            allowed = wallet_rules.allows(terms, asset, amount)
            resulting = tx.wallets.apply(account.id, asset, amount)
            if resulting != (start + amount if allowed else None):
                disagreements.append((billing_type, limit, asset, start, amount, resulting))
    assert disagreements == []
