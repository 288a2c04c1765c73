"""Contributor tasks: routed leases with a server-owned expiry, a fencing epoch and heartbeats."""
