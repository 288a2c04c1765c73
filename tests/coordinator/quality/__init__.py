"""Consensus on wire labels, gold scoring, review."""
