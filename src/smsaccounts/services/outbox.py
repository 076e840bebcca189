"""Outgoing SMS: queued in the caller's transaction, delivered by the worker with backoff."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog

from smsaccounts.domain.outbox import FAILED, QUEUED, SENT, OutboxMessage
from smsaccounts.services import msisdns
from smsaccounts.services.ports import Tx, UnitOfWork
from smsaccounts.transports import Transport

log = structlog.get_logger(__name__)
LEASE = dt.timedelta(seconds=60)


def queue(tx: Tx, *, to_msisdn: str, text: str, purpose: str, account_id: int | None) -> int:
    """Write one SMS in the caller's transaction: it exists only if the change commits."""
    return tx.outbox.add(
        to_msisdn=to_msisdn, text=text, purpose=purpose, account_id=account_id, now=tx.now
    )


def list_messages(uow: UnitOfWork, *, to_msisdn: Any = None) -> list[OutboxMessage]:
    """Every message, or those to one number (in any spelling `parse_number` accepts)."""
    to = None if to_msisdn is None else msisdns.parse_number(to_msisdn, field="to").digits
    with uow.read() as tx:
        return tx.outbox.messages(to_msisdn=to)


def deliver_due(uow: UnitOfWork, transport: Transport, *, limit: int = 50) -> int:
    """Deliver what is due; each message claimed first so two workers never send it twice."""
    with uow.read() as tx:
        due = tx.outbox.due_ids(tx.now, limit)
    delivered = 0
    for message_id in due:
        with uow.write() as tx:
            message = tx.outbox.claim(message_id, tx.now, tx.now + LEASE)
        if message is None:
            continue
        delivered += _deliver(uow, transport, message)
    return delivered


def _deliver(uow: UnitOfWork, transport: Transport, message: OutboxMessage) -> int:
    settings = uow.settings
    try:
        transport.send(to=message.to_msisdn, text=message.text, sender=settings.sms_sender)
    except Exception as error:  # noqa: BLE001 - any transport failure is retried
        attempts = message.attempts
        final = attempts >= settings.outbox_max_attempts
        delay = settings.outbox_backoff_seconds * 2 ** (attempts - 1)
        with uow.write() as tx:
            tx.outbox.mark(
                message.id,
                status=FAILED if final else QUEUED,
                last_error=_describe(error),
                next_attempt_at=tx.now + dt.timedelta(seconds=min(delay, 3600)),
            )
        log.warning("sms delivery failed", outbox_id=message.id, attempts=attempts, final=final)
        return 0
    with uow.write() as tx:
        tx.outbox.mark(message.id, status=SENT, sent_at=tx.now, last_error=None)
    log.info("sms delivered", outbox_id=message.id, transport=transport.name)
    return 1


def _describe(error: Exception) -> str:
    """The error's type and message; transports never put the SMS text into their errors."""
    return f"{type(error).__name__}: {error}"[:500]
