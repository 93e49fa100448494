"""Unique-index checks that read the documents a new key could equal, not the whole collection.

Before it writes a document, mongoeco checks each unique index. For a compound index, a numeric
value or a collation it does so by reading and decoding every document of the collection and
comparing keys in Python (``_validate_document_against_unique_indexes``), so filling a
collection of n documents with a unique compound index costs n²/2 decodes: Django's
``auth_permission`` (``unique_together`` content type and codename) took 45 s for 864 rows, and
every many-to-many table has such an index.

A stored document can hold a key equal to the new one only if, for each top-level field of the
index, its value is one MongoDB could find equal to the new value. mongoeco stores documents as
JSON with plain numbers, strings, booleans and null, and every other BSON type as a JSON object
(``{"$mongoeco": {"type": ...}}``); numbers compare by value across types, and no other type
ever equals a number or a string. So for a new value that is

- a number (not a decimal, not NaN): stored numbers equal to it, and objects (other numeric
  types);
- a string: the same string, and objects;
- a boolean: the same boolean, and objects;
- an ObjectId, a date, a UUID or an embedded document: objects only,

and arrays in every case (their elements are keys). ``install()`` has mongoeco's check read only
the documents matching the union of those conditions over the document's unique indexes (and its
``_id``), through ``_load_documents``; it reads every document as before when any index has a
collation, a dotted field, or a new value of any other kind (null, missing, an array, a
decimal, NaN, mongoeco's own numeric wrappers...).
mongoeco's comparison still decides; ``tests/embedded/test_unique_checks.py`` compares outcomes.
"""

from __future__ import annotations

import datetime
import math
import threading
import uuid
from collections.abc import Mapping

from bson import Int64, ObjectId
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.engines.sqlite_query import json_path_for_field

from .. import registry

_TESTS = "tests/embedded/test_unique_checks.py"
_INT64 = (-(2**63), 2**63 - 1)
_CONTAINERS = "json_type(document, ?) IN ('object', 'array')"
#: Types that equal only values of their own type, which mongoeco stores as JSON objects.
_STORED_AS_OBJECTS = (ObjectId, datetime.datetime, uuid.UUID, dict)

#: Per thread: (engine, db_name, coll_name, where SQL, parameters) of the check under way.
_narrowing = threading.local()


def value_condition(field, document):
    """``(sql, parameters)`` true for every stored document whose ``field`` may equal the new
    document's, or None when that is not known."""
    if "." in field or field not in document:
        return None
    value = document[field]
    path = json_path_for_field(field)
    if type(value) is Int64:
        value = int(value)
    if type(value) is bool:
        kind = "'true'" if value else "'false'"
        return f"json_type(document, ?) IN ({kind}, 'object', 'array')", [path]
    number = type(value) is int and _INT64[0] <= value <= _INT64[1]
    if number or (type(value) is float and math.isfinite(value)):
        kinds = "('integer', 'real')"
    elif type(value) is str:
        kinds = "('text')"
    elif type(value) in _STORED_AS_OBJECTS:
        return _CONTAINERS, [path]
    else:
        return None
    return (
        f"((json_type(document, ?) IN {kinds} AND json_extract(document, ?) = ?) OR {_CONTAINERS})",
        [path, path, value, path],
    )


def candidates_condition(indexes, document, check_id):
    """The condition a stored document must meet to possibly conflict with ``document`` on one
    of ``indexes`` (or on ``_id`` when ``check_id``), or None to read every document."""
    alternatives = []
    parameters = []
    if check_id:
        condition = value_condition("_id", document)
        if condition is None:
            return None
        alternatives.append(condition[0])
        parameters.extend(condition[1])
    for index in indexes:
        if not index.get("unique"):
            continue
        if index.get("collation") is not None:
            return None
        conjuncts = [value_condition(field, document) for field in index["fields"]]
        conjuncts = [conjunct for conjunct in conjuncts if conjunct is not None]
        if not conjuncts:
            return None
        alternatives.append("(" + " AND ".join(sql for sql, _ in conjuncts) + ")")
        for _, values in conjuncts:
            parameters.extend(values)
    if not alternatives:
        return None
    return " OR ".join(alternatives), parameters


def _validate(original):
    def validate(self, db_name, coll_name, document, **kwargs):
        condition = None
        if isinstance(document, Mapping):
            condition = candidates_condition(
                self._load_indexes(db_name, coll_name),
                document,
                check_id=not kwargs.get("skip_id_check", False),
            )
        previous = getattr(_narrowing, "check", None)
        _narrowing.check = None if condition is None else (self, db_name, coll_name, *condition)
        try:
            return original(self, db_name, coll_name, document, **kwargs)
        finally:
            _narrowing.check = previous

    return validate


def _load_documents(original):
    def load_documents(self, db_name, coll_name):
        check = getattr(_narrowing, "check", None)
        if check is None or check[0] is not self or check[1:3] != (db_name, coll_name):
            return original(self, db_name, coll_name)
        return _candidates(self, db_name, coll_name, check[3], check[4])

    return load_documents


def _candidates(engine, db_name, coll_name, where, parameters):
    cursor = engine._require_connection().execute(
        "SELECT storage_key, document FROM documents "
        f"WHERE db_name = ? AND coll_name = ? AND ({where})",
        (db_name, coll_name, *parameters),
    )
    try:
        for storage_key, payload in cursor:
            yield storage_key, engine._deserialize_document(payload)
    finally:
        cursor.close()


def install():
    """Read only possible duplicates in mongoeco's unique-index checks (idempotent); after
    ``fastpaths``, whose ``_id`` check this wraps."""
    rule = "a unique-index check reads the stored documents whose keys may equal the new one"
    registry.replace(
        SQLiteEngine,
        "_validate_document_against_unique_indexes",
        wrap=_validate,
        rule=rule,
        test=f"{_TESTS}::test_unique_checks_refuse_as_the_full_scan",
        kind=registry.PERFORMANCE,
    )
    registry.replace(
        SQLiteEngine,
        "_load_documents",
        wrap=_load_documents,
        rule=rule,
        test=f"{_TESTS}::test_unique_checks_refuse_as_the_full_scan",
        kind=registry.PERFORMANCE,
    )
