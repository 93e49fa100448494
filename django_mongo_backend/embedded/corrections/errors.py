"""Errors raised by mongoeco, turned into the errors MongoDB documents for the same case."""

from __future__ import annotations

import re

from mongoeco.errors import CollectionInvalid, OperationFailure


def server_error(code, code_name, message):
    """An error the wire server reports as mongod would: ``code``, ``codeName``, ``errmsg``."""
    return OperationFailure(message, code=code, details={"codeName": code_name})


#: (command, error type, message pattern) -> (code, codeName, errmsg template). mongoeco raises
#: these without a code; drivers and the backend key on MongoDB's codes.
CORRECTIONS = {
    ("create", CollectionInvalid, re.compile(r"collection '(?P<name>.+)' already exists")): (
        48,
        "NamespaceExists",
        "Collection {db}.{name} already exists.",
    ),
}


def correct_error(error, context):
    """Return the exception the client should see for ``error`` raised while running ``context``."""
    command_name = getattr(context, "command_name", None)
    for (command, error_type, pattern), (code, code_name, template) in CORRECTIONS.items():
        if command_name != command or not isinstance(error, error_type):
            continue
        match = pattern.fullmatch(str(error))
        if match:
            message = template.format(db=context.db_name, **match.groupdict())
            return server_error(code, code_name, message)
    return error
