"""Benchmarks: `python -m bench [NAME] [--quick]`; each prints measured / target / baseline."""
