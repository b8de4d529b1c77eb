"""Bare endpoints for benchmarks/gate.py: the floor the product's API is compared with."""
