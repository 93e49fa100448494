"""MigrationError, and pymongo's errors mapped onto Django's database errors.

Django code catches ``django.db.IntegrityError``, ``OperationalError`` and friends; a raw
pymongo traceback would bypass every such handler. ``translate`` picks the Django class by the
server's error code first (codes are stable across drivers and server versions), then by the
pymongo exception class.
"""

from __future__ import annotations

from bson import errors as bson_errors
from django.db import utils as django_errors
from pymongo import errors as mongo_errors


class MigrationError(django_errors.DatabaseError):
    """Stored data does not match the models (for example a document lacks a model field)."""

    def __init__(self, collection, document_id, field):
        self.collection = collection
        self.document_id = document_id
        self.field = field
        super().__init__(
            f"document {document_id!r} in collection {collection!r} has no field {field!r}: "
            "run the migration that adds it, or set ENFORCE_SCHEMA to False to read missing "
            "fields as None"
        )


#: Server error codes -> the Django error class that describes them.
ERROR_CODES = {
    11000: django_errors.IntegrityError,  # DuplicateKey
    11001: django_errors.IntegrityError,  # DuplicateKey (legacy)
    121: django_errors.IntegrityError,  # DocumentValidationFailure
    18: django_errors.OperationalError,  # AuthenticationFailed
    10334: django_errors.DataError,  # BSONObjectTooLarge: a document over 16 MB
    2: django_errors.ProgrammingError,  # BadValue
    9: django_errors.ProgrammingError,  # FailedToParse
    14: django_errors.ProgrammingError,  # TypeMismatch
    26: django_errors.ProgrammingError,  # NamespaceNotFound
    48: django_errors.ProgrammingError,  # NamespaceExists
    59: django_errors.NotSupportedError,  # CommandNotFound
    85: django_errors.ProgrammingError,  # IndexOptionsConflict
    86: django_errors.ProgrammingError,  # IndexKeySpecsConflict
    112: django_errors.OperationalError,  # WriteConflict
    168: django_errors.NotSupportedError,  # InvalidPipelineOperator
    251: django_errors.OperationalError,  # NoSuchTransaction
}

#: pymongo exception classes -> Django error classes, most specific first.
ERROR_CLASSES = (
    (mongo_errors.DuplicateKeyError, django_errors.IntegrityError),
    (mongo_errors.InvalidDocument, django_errors.DataError),
    (mongo_errors.DocumentTooLarge, django_errors.DataError),
    (mongo_errors.ConfigurationError, django_errors.InterfaceError),
    (mongo_errors.InvalidOperation, django_errors.InterfaceError),
    (mongo_errors.ConnectionFailure, django_errors.OperationalError),
    (mongo_errors.ServerSelectionTimeoutError, django_errors.OperationalError),
    (mongo_errors.ExecutionTimeout, django_errors.OperationalError),
    (mongo_errors.OperationFailure, django_errors.DatabaseError),
    (mongo_errors.PyMongoError, django_errors.DatabaseError),
    (bson_errors.BSONError, django_errors.DataError),  # a value BSON cannot encode
    (OverflowError, django_errors.DataError),  # an int beyond 64 bits
    (UnicodeEncodeError, django_errors.DataError),  # a string with a lone surrogate
)


#: MongoDB's AuthenticationFailed.
AUTHENTICATION_FAILED = 18
NO_SUCH_TRANSACTION = 251
WRITE_CONFLICT = 112


def error_code(error):
    """The server's error code; for a bulk write, the code of its first failed operation."""
    if isinstance(error, mongo_errors.BulkWriteError):
        write_errors = (error.details or {}).get("writeErrors") or []
        if write_errors:
            return write_errors[0].get("code")
    return getattr(error, "code", None)


def django_error_class(error):
    """The Django error class for a pymongo error, or None if it is not a database error."""
    code = error_code(error)
    if code in ERROR_CODES:
        return ERROR_CODES[code]
    for mongo_class, django_class in ERROR_CLASSES:
        if isinstance(error, mongo_class):
            return django_class
    return None


def translate(error, *, address=None, collection=None):
    """The Django error to raise for ``error``; the original stays chained as the cause.

    ``address`` (``host:port``) is named when the server cannot be reached; ``collection``
    (the model's table) when a value of the command cannot be encoded as BSON.
    """
    django_class = django_error_class(error)
    if django_class is None:
        return error
    message = str(error)
    if isinstance(error, mongo_errors.BulkWriteError) and error.details.get("writeErrors"):
        message = error.details["writeErrors"][0].get("errmsg", message)
    if isinstance(error, bson_errors.BSONError | OverflowError | UnicodeEncodeError):
        where = f" for collection {collection!r}" if collection else ""
        message = f"a value of the command{where} cannot be encoded as BSON: {message}"
    if address and isinstance(error, mongo_errors.ConnectionFailure):
        message = f"MongoDB server {address} is unreachable: {_connection_detail(error, address)}"
    elif address and error_code(error) == AUTHENTICATION_FAILED:
        reason = (getattr(error, "details", None) or {}).get("errmsg") or message
        message = f"MongoDB server {address} refused authentication: {reason}"
    translated = django_class(message)
    translated.mongo_error = error
    translated.code = error_code(error)
    translated.details = getattr(error, "details", None)
    return translated


def _connection_detail(error, address):
    """pymongo's reason for a connection failure, on one line and without repeating ``address``.

    A server selection timeout appends the whole topology description (every server's state,
    ids, round-trip times); that stays on the chained cause, the message keeps the reason and
    the timeout.
    """
    detail = str(error).split(", Topology Description: ", 1)[0]
    if detail.startswith(f"{address}: "):
        detail = detail[len(address) + 2 :]
    return " ".join(detail.split())
