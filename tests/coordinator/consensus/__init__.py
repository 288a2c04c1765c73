"""Tests of the label aggregation engine (pure numpy/scipy; no service, no database)."""
