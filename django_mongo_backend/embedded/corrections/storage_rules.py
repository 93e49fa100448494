"""The ``_id`` storage rule MongoDB applies to every stored document and mongoeco lacks.

MongoDB validates a document's ``_id`` before storing it (``storageValidIdField`` in the
server's ``storage_validation.cpp``): besides arrays and regular expressions (which mongoeco
refuses too), an embedded document as ``_id`` may hold no ``$``-prefixed field name at any
depth (DBRef's ``$ref``/``$id``/``$db`` excepted), else the write fails with
``DollarPrefixedFieldName`` (52): "_id fields may not contain '$'-prefixed fields: $a is not
valid for storage." (spec test crud/insertOne-dots_and_dollars). mongoeco stored such an
``_id``. ``install`` wraps mongoeco's ``assert_valid_root_document_id`` wherever it is bound,
so inserts, replacements, upserts and ``$merge`` all check it.
"""

from __future__ import annotations

import importlib

from mongoeco.core import identity
from mongoeco.errors import WriteError

from .. import registry

DOLLAR_PREFIXED_FIELD_NAME = 52
#: Field names a DBRef may carry although they start with ``$``.
DBREF_FIELDS = frozenset({"$ref", "$id", "$db"})
#: mongoeco modules that bind the check by name (imported so that ``install`` finds them).
CHECKING_MODULES = (
    "mongoeco.engines._sqlite_write_ops",
    "mongoeco.engines.sqlite",
    "mongoeco.api._async._collection_insert",
    "mongoeco.api._async._collection_bulk",
    "mongoeco.api._async.collection",
    "mongoeco.api._async.aggregation_cursor",
)


def dollar_prefixed_field(value):
    """The first ``$``-prefixed field name inside ``value`` (documents and arrays), or None."""
    if isinstance(value, dict):
        is_dbref = "$ref" in value and "$id" in value
        for name, item in value.items():
            dollar = isinstance(name, str) and name.startswith("$")
            if dollar and not (is_dbref and name in DBREF_FIELDS):
                return name
            found = dollar_prefixed_field(item)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = dollar_prefixed_field(item)
            if found is not None:
                return found
    return None


def _checking_dollars(original):
    def assert_valid_root_document_id(value):
        original(value)
        name = dollar_prefixed_field(value) if isinstance(value, dict) else None
        if name is not None:
            message = (
                f"_id fields may not contain '$'-prefixed fields: {name} is not valid for storage."
            )
            raise WriteError(message, code=DOLLAR_PREFIXED_FIELD_NAME)

    return assert_valid_root_document_id


def install():
    """Check every stored ``_id`` (idempotent)."""
    for module_name in CHECKING_MODULES:
        importlib.import_module(module_name)
    registry.rebind(
        identity,
        "assert_valid_root_document_id",
        _checking_dollars(identity.assert_valid_root_document_id),
        rule="an _id document holds no $-prefixed field at any depth, DBRef's aside "
        "(storageValidIdField): 52 DollarPrefixedFieldName",
        test="tests/embedded/test_spec_deviations.py::test_id_with_a_dollar_prefixed_field_is_refused",
    )
