"""An outgoing SMS as the outbox holds it, the states it moves through, and what of it is
kept once it is done.

A PIN or a generated password is a secret: the outbox keeps the text to send (`body`) only
while the message may still go out. What anyone can read (`text`, shown by `outbox list`)
has the secret masked from the start, and once the message is sent, given up or expired
the body is dropped, so no table, dump or backup holds the secret afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

# queued -> sending (claimed, leased) -> sent | queued again (retry) | failed (gave up)
# queued | sending -> expired (its secret lapsed before it could be delivered)
QUEUED, SENDING, SENT, FAILED, EXPIRED = "queued", "sending", "sent", "failed", "expired"
PENDING = (QUEUED, SENDING)  # may still go out: the only states that keep a body
MASK = "******"


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    account_id: int | None
    to_msisdn: str
    text: str  # as shown: any secret masked
    body: str | None  # what the transport sends; None once sent, failed or expired
    purpose: str  # pin | password | ...
    status: str  # QUEUED | SENDING | SENT | FAILED | EXPIRED
    attempts: int
    next_attempt_at: dt.datetime
    expires_at: dt.datetime | None  # after this it is dropped unsent (a PIN's lifetime)
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    claimed_until: dt.datetime | None = None  # while sending: when the worker's claim ends
    claimed_by: str | None = None  # while sending: the worker that claimed it
    channel: str = "sms"  # sms | webhook | email
    destination: str | None = None  # webhook URL or e-mail address; None for SMS
    sender: str | None = None  # an SMS's own sender; None: the configured one

    @property
    def to(self) -> str:
        """Where it goes: the msisdn, URL or e-mail address."""
        return self.destination if self.destination is not None else self.to_msisdn


def masked(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced by MASK."""
    if secret is None:
        return text
    if not secret or secret not in text:
        raise ValueError("the secret to mask is not in the text")
    return text.replace(secret, MASK)
