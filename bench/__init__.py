"""Benchmarks: run with the commands in the README, not part of the test suite."""
