"""Benchmarks: each script prints figures and ratios against a side-by-side baseline."""
