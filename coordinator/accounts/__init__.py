"""Accounts: roles, tier, languages and skills (set by an administrator)."""
