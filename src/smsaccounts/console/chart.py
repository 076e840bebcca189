"""A chart of an account's credits and money over time, drawn from its ledger as SVG.

Server-rendered: no script runs in the browser (the console's Content-Security-Policy
allows none inline). Each ledger row carries the value it left (`resulting`), so the
series are the rows themselves, oldest to newest, as steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from smsaccounts.domain import money
from smsaccounts.domain.models import Asset, LedgerEntry

WIDTH, HEIGHT, PAD = 640, 220, 40


@dataclasses.dataclass(frozen=True, slots=True)
class Series:
    asset: str
    points: str  # an SVG polyline's points
    low: str
    high: str
    last: str


@dataclasses.dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    pad: int
    series: list[Series]
    start: str
    end: str


def _label(asset: Asset, value: int) -> str:
    return money.format_amount(value) if asset is Asset.BALANCE else str(value)


def build(entries: Sequence[LedgerEntry]) -> Chart | None:
    """The chart of `entries` (any order), or None when there is nothing to draw."""
    ordered = sorted(entries, key=lambda e: e.id)
    if not ordered:
        return None
    t0 = ordered[0].created_at.timestamp()
    span = ordered[-1].created_at.timestamp() - t0
    # x: the moment of each row; rows all of one moment are spread out in ledger order.
    place = {
        e.id: (e.created_at.timestamp() - t0) / span if span else i / max(len(ordered) - 1, 1)
        for i, e in enumerate(ordered)
    }
    series = []
    for asset in (Asset.CREDITS, Asset.BALANCE):
        rows = [e for e in ordered if e.asset is asset]
        if rows:
            series.append(_series(asset, rows, place))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        pad=PAD,
        series=series,
        start=ordered[0].created_at.strftime("%Y-%m-%d %H:%M"),
        end=ordered[-1].created_at.strftime("%Y-%m-%d %H:%M"),
    )


def _series(asset: Asset, rows: list[LedgerEntry], place: dict[int, float]) -> Series:
    values = [0, *(e.resulting for e in rows)]
    low, high = min(values), max(values)
    scale = (HEIGHT - 2 * PAD) / max(high - low, 1)
    inner = WIDTH - 2 * PAD

    def y(value: int) -> float:
        return HEIGHT - PAD - (value - low) * scale

    points: list[str] = []
    previous = rows[0].resulting - rows[0].amount
    for entry in rows:
        x = PAD + place[entry.id] * inner
        points.append(f"{x:.1f},{y(previous):.1f}")  # a step: the value held until now
        points.append(f"{x:.1f},{y(entry.resulting):.1f}")
        previous = entry.resulting
    points.append(f"{WIDTH - PAD:.1f},{y(previous):.1f}")
    return Series(
        asset=asset.value,
        points=" ".join(points),
        low=_label(asset, low),
        high=_label(asset, high),
        last=_label(asset, rows[-1].resulting),
    )
