"""The check of a pooled PostgreSQL connection before use (storage/database.py
`_found_dead`): a connection the server has closed is replaced before a statement runs on
it, and a live one is handed out without a round trip of its own (the pre-ping's)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

pytestmark = pytest.mark.only_backend("postgresql")


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement psycopg's (sync) cursors send, the pool's pings included."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    return sent


def test_a_live_pooled_connection_is_handed_out_without_a_statement_of_its_own(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # the pool now holds a connection
    sent = _counting(monkeypatch)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 2")).scalar_one() == 2
    assert sent == ["SELECT 2"]


def test_a_pooled_connection_the_server_closed_is_replaced_before_use(engine: Engine) -> None:
    with engine.connect() as first, engine.connect() as second:
        dead = first.execute(text("SELECT pg_backend_pid()")).scalar_one()
        first.rollback()
        first.close()  # back to the pool, then its server process is ended
        second.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})
        for _ in range(500):  # until the server process is gone (and its socket closed)
            gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"
            if second.execute(text(gone), {"pid": dead}).scalar_one() == 0:
                break
            time.sleep(0.01)
        second.rollback()
    for _ in range(2):  # both pooled connections, the dead one among them, in turn
        with engine.connect() as conn, conn.begin():
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != dead
