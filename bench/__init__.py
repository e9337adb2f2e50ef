"""Benchmarks of knoll against Dagster: run ``bench/run`` (see bench/README.md)."""
