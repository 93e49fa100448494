"""Harness running Django's own test suite against this backend (see run.py); not pytest tests."""
