"""The console's ledger chart: steps through each row's resulting value, oldest to newest."""

from __future__ import annotations

import datetime as dt

from smsaccounts.console import chart
from smsaccounts.domain.models import Asset, LedgerEntry

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def entry(entry_id: int, asset: Asset, amount: int, resulting: int, minutes: int) -> LedgerEntry:
    return LedgerEntry(
        id=entry_id, account_id=2, asset=asset, amount=amount, resulting=resulting,
        reason="test", actor_id=None, idempotency_key=None,
        created_at=T0 + dt.timedelta(minutes=minutes),
    )  # fmt: skip


def test_no_rows_draw_no_chart() -> None:
    assert chart.build([]) is None


def test_each_asset_is_one_series_from_its_rows_in_ledger_order() -> None:
    rows = [
        entry(3, Asset.CREDITS, -40, 60, 60),
        entry(1, Asset.CREDITS, 100, 100, 0),
        entry(2, Asset.BALANCE, 15_000_000, 15_000_000, 30),
    ]
    drawn = chart.build(rows)
    assert drawn is not None
    credits, money = drawn.series
    assert (credits.asset, credits.low, credits.high, credits.last) == ("credits", "0", "100", "60")
    assert (money.asset, money.last) == ("balance", "1.5000000")
    xs = [float(p.split(",")[0]) for p in credits.points.split()]
    assert xs == sorted(xs)
    assert xs[0] == chart.PAD
    assert xs[-1] == chart.WIDTH - chart.PAD
    ys = [float(p.split(",")[1]) for p in credits.points.split()]
    assert min(ys) == chart.PAD  # the highest value (100) at the top
    assert ys[0] == chart.HEIGHT - chart.PAD  # starting from 0 at the bottom


def test_rows_of_one_moment_are_spread_out() -> None:
    rows = [entry(i, Asset.CREDITS, 10, 10 * i, 0) for i in range(1, 4)]
    drawn = chart.build(rows)
    assert drawn is not None
    xs = {float(p.split(",")[0]) for p in drawn.series[0].points.split()}
    assert len(xs) == 3
