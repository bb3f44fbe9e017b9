"""Benchmarks measure; they assert nothing about speed (run with `make bench`)."""
