"""Deterministic traffic with its expected outcome (the oracle), per workload."""
