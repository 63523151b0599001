"""Benchmarks of s2sgrad against hand-written NumPy gradients (see bench/README.md)."""
