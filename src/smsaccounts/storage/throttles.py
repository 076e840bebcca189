"""Throttle state rows (login lockouts, PIN check blocks, PIN SMS and reset spacing).

A service reads a row only through `lock`, which holds it until the transaction ends, and
writes it back with `put` in the same transaction: concurrent requests for one key queue
on the row and each sees what the one before it wrote (SQLite writers are serialized by
BEGIN IMMEDIATE anyway; PostgreSQL's READ COMMITTED would otherwise let two of them read
the same count and both write it back one higher).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from smsaccounts.domain.throttle import State
from smsaccounts.storage.tables import throttles

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class ThrottlesRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._insert = _INSERTS[conn.dialect.name]

    def get(self, key: str) -> State:
        """The state as last committed, without a lock (for reports and tests)."""
        row = self.conn.execute(select(throttles).where(throttles.c.key == key)).first()
        return State() if row is None else state_of(row._mapping)

    def lock(self, key: str) -> State:
        """The state of `key`, its row locked until the transaction ends.

        One statement: an upsert that creates the row if it is missing and otherwise takes
        the existing row's lock (waiting for a concurrent holder to commit), and returns the
        row as the last holder left it.
        """
        insert = self._insert(throttles).values(key=key, failures=0)
        statement = insert.on_conflict_do_update(
            index_elements=[throttles.c.key], set_={"failures": throttles.c.failures}
        ).returning(*throttles.c)
        return state_of(self.conn.execute(statement).one()._mapping)

    def put(self, key: str, state: State) -> None:
        """Write the state of a key this transaction `lock`ed."""
        values = {
            "failures": state.failures,
            "window_start": state.window_start,
            "blocked_until": state.blocked_until,
            "last_at": state.last_at,
        }
        self.conn.execute(update(throttles).where(throttles.c.key == key).values(values))


def state_of(row: Any) -> State:
    """A throttle row (its columns by name) as its `State`."""
    return State(
        failures=row["failures"],
        window_start=row["window_start"],
        blocked_until=row["blocked_until"],
        last_at=row["last_at"],
    )
