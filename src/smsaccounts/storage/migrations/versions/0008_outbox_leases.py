"""outbox leases

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-02

A message being sent is claimed by one worker (`claimed_by`) until `claimed_until`: a
worker that dies mid-delivery leaves a claim that runs out, and another worker sends the
message; a worker whose claim ran out can no longer mark the message as its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=32), nullable=True))
    # A message claimed before this revision was leased until its next_attempt_at.
    op.execute(
        "UPDATE outbox SET claimed_until = next_attempt_at, claimed_by = 'before-0008' "
        "WHERE status = 'sending'"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_until")
