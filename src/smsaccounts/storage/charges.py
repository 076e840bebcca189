"""Charges: one row per (caller, reference); a refund is one conditional UPDATE."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from smsaccounts.domain.charging import Charge, ChargeTaken, Split
from smsaccounts.storage.tables import charges


class ChargesRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, caller_id: int, reference: str) -> Charge | None:
        row = self.conn.execute(
            select(charges).where(
                charges.c.caller_id == caller_id, charges.c.reference == reference
            )
        ).first()
        return Charge(**row._mapping) if row else None

    def add(
        self,
        *,
        caller_id: int,
        reference: str,
        account_id: int,
        payer_id: int,
        message_class: str,
        recipients: int,
        parts: int,
        paid: Split,
        now: dt.datetime,
    ) -> Charge:
        """ChargeTaken when the caller already has a charge under `reference`."""
        statement = (
            insert(charges)
            .values(
                caller_id=caller_id,
                reference=reference,
                account_id=account_id,
                payer_id=payer_id,
                message_class=message_class,
                recipients=recipients,
                parts=parts,
                created_at=now,
                **dataclasses.asdict(paid),
            )
            .returning(*charges.c)
        )
        try:
            row = self.conn.execute(statement).one()
        except IntegrityError as error:
            raise ChargeTaken(caller_id, reference) from error
        return Charge(**row._mapping)

    def refund(self, charge_id: int, parts: int) -> bool:
        """Mark `parts` refunded, once: False when the charge was refunded already."""
        found = self.conn.execute(
            update(charges)
            .where(charges.c.id == charge_id, charges.c.refunded_parts.is_(None))
            .values(refunded_parts=parts)
        )
        return found.rowcount == 1
