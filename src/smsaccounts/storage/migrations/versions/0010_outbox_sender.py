"""outbox sender

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

An SMS may name its own sender (LINK's `sender`, a mysms user's own number): `sender` holds
it, and the transport sends from it. NULL, as for every message queued before this
revision (PINs, passwords, alerts), sends from SMSACCOUNTS_SMS_SENDER.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("sender")
