"""Throttle state rows (login lockouts, PIN check blocks, reset spacing), keyed by purpose."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from smsaccounts.domain.throttle import State
from smsaccounts.storage.tables import throttles


class ThrottlesRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, key: str) -> State:
        row = self.conn.execute(select(throttles).where(throttles.c.key == key)).first()
        if row is None:
            return State()
        return State(
            failures=row.failures,
            window_start=row.window_start,
            blocked_until=row.blocked_until,
            last_at=row.last_at,
        )

    def put(self, key: str, state: State) -> None:
        values = {
            "failures": state.failures,
            "window_start": state.window_start,
            "blocked_until": state.blocked_until,
            "last_at": state.last_at,
        }
        result = self.conn.execute(update(throttles).where(throttles.c.key == key).values(values))
        if result.rowcount == 0:
            self.conn.execute(insert(throttles).values(key=key, **values))
