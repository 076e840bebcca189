"""Who closes the event loop's connections: whoever opened them, once."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine

from smsaccounts.storage.awaited import AwaitedConnections
from smsaccounts.storage.hotpath import HotReads

pytest.importorskip("psycopg")


class _Counted(AwaitedConnections):
    closed = 0

    def close(self) -> None:
        self.closed += 1
        super().close()


def _engine() -> Engine:
    # Never connected: building HotReads and closing it opens no connection.
    return create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_hot_reads_leave_connections_handed_in_to_their_owner() -> None:
    engine = _engine()
    shared = _Counted(engine)
    reads = HotReads(engine, awaited=shared)
    reads.close()
    assert shared.closed == 0


def test_hot_reads_close_the_connections_they_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("smsaccounts.storage.hotpath.AwaitedConnections", _Counted)
    reads = HotReads(_engine())
    assert isinstance(reads.awaited, _Counted)
    reads.close()
    assert reads.awaited.closed == 1
