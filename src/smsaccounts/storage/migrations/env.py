"""Alembic environment: runs on the connection handed over by smsaccounts.storage.migrate."""

from __future__ import annotations

from alembic import context

from smsaccounts.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through storage.migrate
    raise RuntimeError("run migrations with `smsaccounts db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
