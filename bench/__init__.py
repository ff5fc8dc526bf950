"""Benchmarks: `python -m bench [--lines N] [--out bench/results/latest.json]`."""
