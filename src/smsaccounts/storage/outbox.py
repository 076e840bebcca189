"""The outbox (SMS, and alerts by webhook or e-mail): rows written in the caller's
transaction, claimed by the delivery worker."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, or_, select, update

from smsaccounts.domain.outbox import EXPIRED, PENDING, QUEUED, SENDING, OutboxMessage
from smsaccounts.storage import rows
from smsaccounts.storage.tables import outbox


def _due(now: dt.datetime) -> ColumnElement[bool]:
    """Queued with its time come, or being sent under a claim that ran out (the worker
    died); and not expired."""
    waiting = (outbox.c.status == QUEUED) & (outbox.c.next_attempt_at <= now)
    abandoned = (outbox.c.status == SENDING) & (outbox.c.claimed_until <= now)
    return or_(waiting, abandoned) & or_(outbox.c.expires_at.is_(None), outbox.c.expires_at > now)


class OutboxRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        *,
        to_msisdn: str,
        text: str,
        body: str,
        purpose: str,
        account_id: int | None,
        now: dt.datetime,
        expires_at: dt.datetime | None = None,
        channel: str = "sms",
        destination: str | None = None,
        sender: str | None = None,
    ) -> int:
        row = self.conn.execute(
            insert(outbox)
            .values(
                to_msisdn=to_msisdn,
                text=text,
                body=body,
                purpose=purpose,
                account_id=account_id,
                status=QUEUED,
                next_attempt_at=now,
                expires_at=expires_at,
                created_at=now,
                channel=channel,
                destination=destination,
                sender=sender,
            )
            .returning(outbox.c.id)
        ).one()
        return int(row.id)

    def messages(self, *, to_msisdn: str | None = None, limit: int = 1000) -> list[OutboxMessage]:
        query = select(outbox).order_by(outbox.c.id).limit(limit)
        if to_msisdn is not None:
            query = query.where(outbox.c.to_msisdn == to_msisdn)
        return [rows.outbox_message(row._mapping) for row in self.conn.execute(query)]

    def due_ids(self, now: dt.datetime, limit: int) -> list[int]:
        """Queued rows whose time has come, and sends whose lease ran out (a crashed worker)."""
        found = self.conn.execute(
            select(outbox.c.id).where(_due(now)).order_by(outbox.c.id).limit(limit)
        ).all()
        return [row.id for row in found]

    def claim(
        self, message_id: int, now: dt.datetime, lease_until: dt.datetime, *, worker: str
    ) -> OutboxMessage | None:
        """Take one message for delivery until `lease_until`; None when another worker holds
        it (or it is no longer due)."""
        row = self.conn.execute(
            update(outbox)
            .where(outbox.c.id == message_id, _due(now))
            .values(
                status=SENDING,
                claimed_until=lease_until,
                claimed_by=worker,
                attempts=outbox.c.attempts + 1,
            )
            .returning(*outbox.c)
        ).first()
        return rows.outbox_message(row._mapping) if row else None

    def finish(self, message_id: int, *, worker: str, **values: Any) -> bool:
        """Settle a message this worker still holds (its claim dropped); False when the
        claim was lost (it ran out and another worker took the message)."""
        result = self.conn.execute(
            update(outbox)
            .where(
                outbox.c.id == message_id,
                outbox.c.status == SENDING,
                outbox.c.claimed_by == worker,
            )
            .values(claimed_until=None, claimed_by=None, **values)
        )
        return result.rowcount == 1

    def mark(self, message_id: int, **values: Any) -> None:
        self.conn.execute(update(outbox).where(outbox.c.id == message_id).values(**values))

    def depth(self) -> int:
        """How many messages may still go out (queued or being sent)."""
        return int(
            self.conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.status.in_(PENDING))
            ).scalar_one()
        )

    def expire(self, now: dt.datetime) -> int:
        """Drop the body of every pending message whose time ran out; how many there were."""
        result = self.conn.execute(
            update(outbox)
            .where(outbox.c.status.in_(PENDING), outbox.c.expires_at <= now)
            .values(status=EXPIRED, body=None, claimed_until=None, claimed_by=None)
        )
        return result.rowcount
