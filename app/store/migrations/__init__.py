"""Alembic scripts for the workspace database; applied by `app.store.migrate`."""
