"""Rewrites of command documents before mongoeco executes them."""

from __future__ import annotations


def rewrite_command(body):
    """Return the command document mongoeco should execute in place of ``body``."""
    return body
