"""The audit log: one row per change, in the change's own transaction.

Where a change comes from (the door: cli, or a dialect's name; the client IP; the
authenticated account) is set once per request or command in a context variable (`begin`,
`note_actor`), so no service passes it along and every door is covered by the services it
calls.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from smsaccounts.domain.audit import AuditEntry, NewAuditEntry, diff
from smsaccounts.services.ports import AtOnce, Tx, UnitOfWork


@dataclasses.dataclass(slots=True)
class Origin:
    door: str
    client_ip: str | None = None
    actor_id: int | None = None


_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar(
    "smsaccounts_audit_origin", default=None
)


def begin(door: str, client_ip: str | None = None) -> Origin:
    """Changes made from here on in this context come through `door` from `client_ip`."""
    origin = Origin(door, client_ip)
    _origin.set(origin)
    return origin


def note_actor(account_id: int) -> None:
    """The authenticated account of the current request, if one is being served."""
    origin = _origin.get()
    if origin is not None:
        origin.actor_id = account_id


def record(
    tx: Tx,
    action: str,
    target_id: int | None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Append one row for a change (`before`/`after`: the fields it touched)."""
    tx.audit.add(entry(tx, action, target_id, before=before, after=after))


def entry(
    tx: AtOnce,
    action: str,
    target_id: int | None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> NewAuditEntry:
    """The row `record` appends, for a repository that writes it along with its own (a
    wallet change's, with its ledger entry)."""
    origin = _origin.get() or Origin("internal")
    return NewAuditEntry(
        created_at=tx.now,
        door=origin.door,
        client_ip=origin.client_ip,
        actor_id=origin.actor_id,
        action=action,
        target_id=target_id,
        changes=diff(before or {}, after or {}),
    )


def entries(
    uow: UnitOfWork,
    *,
    target_id: int | None = None,
    actor_id: int | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    with uow.read() as tx:
        return tx.audit.entries(target_id=target_id, actor_id=actor_id, since=since, limit=limit)
