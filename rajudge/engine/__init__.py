"""Inference backends: the contract (base) and its implementations."""
