"""Reusable apps' own test suites run against this backend (run.py)."""
