"""Contributor submissions: signed, idempotent per (account, submission id), single or in batches."""
