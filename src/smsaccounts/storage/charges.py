"""Charges: one row per (caller, reference); a refund is one conditional UPDATE."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from smsaccounts.domain.charging import Charge, ChargeTaken, Split
from smsaccounts.storage.prepared import Prepared
from smsaccounts.storage.tables import charges

_GET = Prepared(select(charges).where(charges.c.caller_id == bindparam("caller_id"),
                                      charges.c.reference == bindparam("reference")))  # fmt: skip
_ADD = Prepared(insert(charges).values({c: bindparam(c.key) for c in charges.c
                                        if c.key != "id"}).returning(*charges.c))  # fmt: skip


class ChargesRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, caller_id: int, reference: str) -> Charge | None:
        found = _GET.first(self.conn, {"caller_id": caller_id, "reference": reference})
        return Charge(**found) if found else None

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
        values = {"caller_id": caller_id, "reference": reference, "account_id": account_id,
                  "payer_id": payer_id, "message_class": message_class,
                  "recipients": recipients, "parts": parts, "refunded_parts": None,
                  "created_at": now, **dataclasses.asdict(paid)}  # fmt: skip
        try:
            found = _ADD.first(self.conn, values)
        except IntegrityError as error:
            raise ChargeTaken(caller_id, reference) from error
        assert found is not None  # an INSERT ... RETURNING answers its row
        return Charge(**found)

    def refund(self, charge_id: int, parts: int) -> bool:
        """Mark `parts` refunded, once: False when the charge was refunded already."""
        found = self.conn.execute(
            update(charges)
            .where(charges.c.id == charge_id, charges.c.refunded_parts.is_(None))
            .values(refunded_parts=parts)
        )
        return found.rowcount == 1
