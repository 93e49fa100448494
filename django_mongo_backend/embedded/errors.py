"""Errors raised by mongoeco, turned into the errors MongoDB documents for the same case."""

from __future__ import annotations

from mongoeco.errors import OperationFailure


def server_error(code, code_name, message):
    """An error the wire server reports as mongod would: ``code``, ``codeName``, ``errmsg``."""
    return OperationFailure(message, code=code, details={"codeName": code_name})


def correct_error(error, context):
    """Return the exception the client should see for ``error`` raised while running ``context``."""
    return error
