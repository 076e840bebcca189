"""An outgoing SMS as the outbox holds it, and the states it moves through."""

from __future__ import annotations

import dataclasses
import datetime as dt

# queued -> sending (claimed, leased) -> sent | queued again (retry) | failed (gave up)
QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    account_id: int | None
    to_msisdn: str
    text: str
    purpose: str  # pin | password | ...
    status: str  # QUEUED | SENDING | SENT | FAILED
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
