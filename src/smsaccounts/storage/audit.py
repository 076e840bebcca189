"""The append-only audit log (the database refuses UPDATE and DELETE on it)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from smsaccounts.domain.audit import AuditEntry
from smsaccounts.storage.prepared import Prepared
from smsaccounts.storage.tables import audit_log

_ADD = Prepared(insert(audit_log).values({c: bindparam(c.key) for c in audit_log.c
                                           if c.key != "id"}))  # fmt: skip


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        *,
        now: dt.datetime,
        door: str,
        client_ip: str | None,
        actor_id: int | None,
        action: str,
        target_id: int | None,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> None:
        _ADD.run(self.conn, {
            "created_at": now, "door": door, "client_ip": client_ip, "actor_id": actor_id,
            "action": action, "target_id": target_id,
            "changes": json.dumps({k: list(v) for k, v in changes.items()}, default=str),
        })  # fmt: skip

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
