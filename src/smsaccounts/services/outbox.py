"""Outgoing SMS: queued in the caller's transaction, delivered by the worker with backoff.

A message carrying a secret (a PIN, a generated password) is stored with the secret masked
in the text everyone reads, and with the text to send only until it is sent, given up or
expired: then the body is dropped (`domain.outbox`).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from smsaccounts import metrics
from smsaccounts.domain.outbox import FAILED, QUEUED, SENT, OutboxMessage, masked
from smsaccounts.services import msisdns
from smsaccounts.services.ports import Tx, UnitOfWork
from smsaccounts.transports import Transport

log = structlog.get_logger(__name__)


def queue(
    tx: Tx,
    *,
    to_msisdn: str,
    text: str,
    purpose: str,
    account_id: int | None,
    secret: str | None = None,
    expires_at: dt.datetime | None = None,
    sender: str | None = None,
) -> int:
    """Write one SMS in the caller's transaction: it exists only if the change commits.

    `secret` (a part of `text`) is masked in what is kept for reading; `expires_at` is when
    the message is no use any more (a PIN's end) and is dropped unsent; `sender` is whom
    it is from (None: SMSACCOUNTS_SMS_SENDER).
    """
    return tx.outbox.add(
        to_msisdn=to_msisdn,
        text=masked(text, secret),
        body=text,
        purpose=purpose,
        account_id=account_id,
        now=tx.now,
        expires_at=expires_at,
        sender=sender,
    )


def list_messages(uow: UnitOfWork, *, to_msisdn: Any = None) -> list[OutboxMessage]:
    """Every message, or those to one number (in any spelling `parse_number` accepts)."""
    to = None if to_msisdn is None else msisdns.parse_number(to_msisdn, field="to").digits
    with uow.read() as tx:
        return tx.outbox.messages(to_msisdn=to)


def expire(uow: UnitOfWork) -> int:
    """Drop every pending message whose time ran out, body and all; how many there were."""
    with uow.write() as tx:
        return tx.outbox.expire(tx.now)


def worker_name() -> str:
    """This process's name in the claims it takes: host, pid and a random tail (a pid is
    reused across restarts and hosts)."""
    return f"{socket.gethostname()[:14]}-{os.getpid()}-{secrets.token_hex(4)}"[:32]


def deliver_due(
    uow: UnitOfWork,
    transport: Transport,
    *,
    limit: int = 50,
    worker: str | None = None,
    stopping: Callable[[], bool] = lambda: False,
    channels: Mapping[str, Transport] | None = None,
) -> int:
    """Deliver what is due; each message claimed first so two workers never send it twice.

    A claim holds for `SMSACCOUNTS_OUTBOX_LEASE_SECONDS`: if this worker dies mid-delivery,
    the claim runs out and another worker sends the message. `stopping` is asked before
    each message, so a stopping worker finishes the one it is sending and takes no other.
    Expired messages are dropped first: a PIN that can no longer be used is never sent, and
    its text is not kept.

    `transport` sends SMS and `channels` every other message by its channel (webhook,
    email), with the same claims, retries and backoff; a channel without a transport fails
    like a transport error, and is retried.
    """
    worker = worker or worker_name()
    lease = dt.timedelta(seconds=uow.settings.outbox_lease_seconds)
    expire(uow)
    with uow.read() as tx:
        due = tx.outbox.due_ids(tx.now, limit)
    delivered = 0
    for message_id in due:
        if stopping():
            break
        with uow.write() as tx:
            message = tx.outbox.claim(message_id, tx.now, tx.now + lease, worker=worker)
        if message is None or message.body is None:
            continue
        chosen = transport if message.channel == "sms" else (channels or {}).get(message.channel)
        delivered += _deliver(uow, chosen, message, message.body, worker)
    with uow.read() as tx:
        metrics.OUTBOX_DEPTH.set(tx.outbox.depth())
    return delivered


def _deliver(
    uow: UnitOfWork, transport: Transport | None, message: OutboxMessage, body: str, worker: str
) -> int:
    settings = uow.settings
    try:
        if transport is None:
            raise LookupError(f"no transport for {message.channel} (is it configured?)")
        transport.send(to=message.to, text=body, sender=message.sender or settings.sms_sender)
    except Exception as error:  # noqa: BLE001 - any transport failure is retried
        attempts = message.attempts
        final = attempts >= settings.outbox_max_attempts
        delay = settings.outbox_backoff_seconds * 2 ** (attempts - 1)
        with uow.write() as tx:
            tx.outbox.finish(
                message.id,
                worker=worker,
                status=FAILED if final else QUEUED,
                last_error=_describe(error),
                next_attempt_at=tx.now + dt.timedelta(seconds=min(delay, 3600)),
                **({"body": None} if final else {}),  # given up: the secret goes too
            )
        metrics.OUTBOX_FAILURES.labels("true" if final else "false").inc()
        log.warning("delivery failed", outbox_id=message.id, channel=message.channel,
                    attempts=attempts, final=final)  # fmt: skip
        return 0
    with uow.write() as tx:
        kept = tx.outbox.finish(
            message.id, worker=worker, status=SENT, sent_at=tx.now, last_error=None, body=None
        )
    metrics.OUTBOX_DELIVERIES.inc()
    if not kept:  # the claim ran out while the transport took longer than the lease
        log.warning("message delivered after its claim ran out", outbox_id=message.id)
    log.info("message delivered", outbox_id=message.id, transport=transport.name)
    return 1


def _describe(error: Exception) -> str:
    """The error's type and message; transports never put the SMS text into their errors."""
    return f"{type(error).__name__}: {error}"[:500]
