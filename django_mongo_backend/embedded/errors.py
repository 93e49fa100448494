"""Errors raised by mongoeco, turned into the errors MongoDB documents for the same case."""

from __future__ import annotations


def correct_error(error, context):
    """Return the exception the client should see for ``error`` raised while running ``context``."""
    return error
