"""Alembic environment: runs on the connection that `app.store.migrate` hands over."""

from __future__ import annotations

from alembic import context

from app.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
)
with context.begin_transaction():
    context.run_migrations()
