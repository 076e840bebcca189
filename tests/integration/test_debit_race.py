"""32 concurrent workers, 100 debits each, against a pre-paid wallet that covers half.

Every debit is also resent by a second worker with the same idempotency key at the same
time. Exactly half apply, none is lost or applied twice, the wallet never goes negative
and equals its ledger sum: on SQLite and on PostgreSQL.
"""

import random
import threading
from collections import Counter

from sqlalchemy import func, select

from smsaccounts.config import Settings
from smsaccounts.domain.clock import SystemClock
from smsaccounts.domain.models import Asset, BillingType
from smsaccounts.errors import InsufficientFunds
from smsaccounts.services import wallet
from smsaccounts.storage.database import make_engine
from smsaccounts.storage.tables import ledger
from tests import factories
from tests.conftest import make_uow

WORKERS, DEBITS = 32, 100


def test_concurrent_debits_apply_exactly_what_the_wallet_covers(settings: Settings) -> None:
    engine = (
        make_engine(settings, pool_size=WORKERS, max_overflow=0)
        if not settings.is_sqlite
        else make_engine(settings)
    )
    uow = make_uow(settings, engine, SystemClock())
    user = factories.user(uow, billing_type=BillingType.PRE_PAID)
    covered = WORKERS * DEBITS // 2
    wallet.credit(uow, account_id=user.id, asset=Asset.CREDITS, amount=covered, reason="seed")

    own = {w: [f"w{w}-d{i}" for i in range(DEBITS)] for w in range(WORKERS)}
    results: Counter[str] = Counter()
    applied_ids: dict[str, set[int]] = {}
    lock = threading.Lock()
    start = threading.Barrier(WORKERS)

    def worker(w: int) -> None:
        # Each worker sends its own 100 debits and resends its partner's 100.
        keys = own[w] + own[w ^ 1]
        random.Random(w).shuffle(keys)
        start.wait()
        for key in keys:
            try:
                entry = wallet.debit(
                    uow,
                    account_id=user.id,
                    asset=Asset.CREDITS,
                    amount=1,
                    reason="race",
                    idempotency_key=key,
                )
            except InsufficientFunds:
                with lock:
                    results["refused"] += 1
                continue
            with lock:
                results["replayed" if entry.replayed else "applied"] += 1
                applied_ids.setdefault(key, set()).add(entry.id)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert results["applied"] == covered
    assert results["applied"] + results["replayed"] + results["refused"] == 2 * WORKERS * DEBITS
    assert all(len(ids) == 1 for ids in applied_ids.values())  # a resend answers the same entry
    with uow.read() as tx:
        balance = tx.wallets.get(user.id).credits  # type: ignore[union-attr]
        assert balance == 0
        assert tx.wallets.ledger_sum(user.id, Asset.CREDITS) == balance
        debit_rows = tx.conn.execute(
            select(func.count(), func.count(func.distinct(ledger.c.idempotency_key))).where(
                ledger.c.account_id == user.id, ledger.c.reason == "race"
            )
        ).one()
        assert tuple(debit_rows) == (covered, covered)
        lowest = tx.conn.execute(
            select(func.min(ledger.c.resulting)).where(ledger.c.account_id == user.id)
        ).scalar_one()
        assert lowest == 0
    engine.dispose()
