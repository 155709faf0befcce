"""Benchmarks and reliability tooling: a synthetic organisation generator and the benchmark runner."""
