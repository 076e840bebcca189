"""The append-only audit log (the database refuses UPDATE and DELETE on it)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from smsaccounts.domain.audit import AuditEntry, NewAuditEntry
from smsaccounts.storage.prepared import Prepared
from smsaccounts.storage.tables import audit_log

_ADD = Prepared(insert(audit_log).values({c: bindparam(c.key) for c in audit_log.c
                                           if c.key != "id"}))  # fmt: skip


def values(entry: NewAuditEntry, prefix: str = "") -> dict[str, Any]:
    """The audit row's columns as the INSERT binds them (`prefix` + column name)."""
    return {
        f"{prefix}created_at": entry.created_at, f"{prefix}door": entry.door,
        f"{prefix}client_ip": entry.client_ip, f"{prefix}actor_id": entry.actor_id,
        f"{prefix}action": entry.action, f"{prefix}target_id": entry.target_id,
        f"{prefix}changes": json.dumps({k: list(v) for k, v in entry.changes.items()},
                                       default=str),
    }  # fmt: skip


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, entry: NewAuditEntry) -> None:
        _ADD.run(self.conn, values(entry))

    def entries(
        self,
        *,
        target_id: int | None = None,
        actor_id: int | None = None,
        since: dt.datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        query = select(audit_log)
        if target_id is not None:
            query = query.where(audit_log.c.target_id == target_id)
        if actor_id is not None:
            query = query.where(audit_log.c.actor_id == actor_id)
        if since is not None:
            query = query.where(audit_log.c.created_at >= since)
        rows = self.conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))
        return [
            AuditEntry(
                id=r.id, created_at=r.created_at, door=r.door, client_ip=r.client_ip,
                actor_id=r.actor_id, action=r.action, target_id=r.target_id,
                changes={k: (v[0], v[1]) for k, v in json.loads(r.changes).items()},
            )
            for r in rows
        ]  # fmt: skip
