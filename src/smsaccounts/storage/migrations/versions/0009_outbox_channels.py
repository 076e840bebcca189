"""outbox channels

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

An outbox message goes by SMS (to `to_msisdn`, as before), by webhook or by e-mail: its
`channel` says which, and `destination` holds the URL or address (NULL for SMS). Every
message queued before this revision is an SMS.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=8), nullable=False, server_default="sms")
        )
        batch_op.add_column(sa.Column("destination", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("destination")
        batch_op.drop_column("channel")
