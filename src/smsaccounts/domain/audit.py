"""An audit record: who changed what, through which door, with before and after values;
never a secret (a password, hash, key or MOR secret shows only that it changed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

SECRET_FIELDS = frozenset(
    ("password", "password_hash", "login_key_hash", "mor_secret", "key_hash", "secret", "pin")
)
HIDDEN = "[secret]"


@dataclasses.dataclass(frozen=True, slots=True)
class NewAuditEntry:
    """An audit row to write: an `AuditEntry` before the database numbers it."""

    created_at: dt.datetime
    door: str
    client_ip: str | None
    actor_id: int | None
    action: str
    target_id: int | None
    changes: Mapping[str, tuple[Any, Any]]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry(NewAuditEntry):
    """An audit row as stored: numbered by the database."""

    id: int


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose value differs, as (before, after); secrets as a marker only."""
    changed = {}
    for field in after:
        old, new = before.get(field), after[field]
        if old != new:
            changed[field] = (HIDDEN, HIDDEN) if field in SECRET_FIELDS else (old, new)
    return changed
