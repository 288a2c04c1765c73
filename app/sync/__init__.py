"""Sync with the coordinator: the wire contract, sign-in (EIP-4361) and payload signatures."""
