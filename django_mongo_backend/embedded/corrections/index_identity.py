"""Which indexes MongoDB 7.0 lets coexist, and what ``createIndexes`` answers when they cannot.

MongoDB compares a requested index with each existing one (``IndexDescriptor::
compareIndexOptions`` in ``src/mongo/db/index/index_descriptor.cpp``; the catalog's
``_doesSpecConflictWithExisting`` acts on the result):

- **different**: the key pattern, ``unique``, ``sparse``, the collation or the
  ``partialFilterExpression`` (compared as normalized filters) differs (since FCV 5.0 all of
  them identify an index; before, only the key pattern and the collation did). Such indexes
  coexist, so two partial unique indexes on one field with distinct filters are fine, as
  Django's conditional ``UniqueConstraint``\\s need;
- **equivalent**: none of those differ, but another option does (``expireAfterSeconds``...);
- **identical**: no option differs (the name, ``v`` and ``background`` aside).

An index of the requested name that is *different* is 86 ``IndexKeySpecsConflict``, one that is
*equivalent* 85 ``IndexOptionsConflict``, and an identical one makes the request a no-op. An
index of another name that is *equivalent* or *identical* is 85 ``IndexOptionsConflict``.

mongoeco refuses any second index on a key pattern whose options differ in any way ("Conflicting
index definition"): ``install()`` lets its index build ignore the same-key indexes of other names
once ``check_index_request`` has applied MongoDB's rule. Each partial unique index then enforces
uniqueness among the documents its own filter selects (the engine's ``document_in_virtual_index``).
"""

from __future__ import annotations

import threading

from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.types import default_index_name, normalize_index_keys

from .. import registry
from .errors import server_error

#: Options that, with the key pattern, tell two indexes apart (compared each its own way).
IDENTIFYING = ("unique", "sparse", "collation", "partialFilterExpression", "wildcardProjection")
#: Fields of an index specification that are no option at all for this comparison.
NOT_OPTIONS = frozenset(
    {
        "key",
        "name",
        "ns",
        "v",
        "textIndexVersion",
        "2dsphereIndexVersion",
        "background",
        "dropDups",
        # Not compared in 5.0's index_descriptor.cpp; later sources compare it (7.0 unconfirmed).
        "hidden",
    }
)

DIFFERENT, EQUIVALENT, IDENTICAL = "different", "equivalent", "identical"


# -- values as MongoDB compares them -----------------------------------------------------------


def _canonical(value):
    """A hashable form of a BSON value under which MongoDB's equal values are equal (numbers
    by value, never equal to booleans; documents ordered)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if hasattr(value, "to_decimal"):  # Decimal128
        return ("number", float(value.to_decimal()))
    if isinstance(value, dict):
        return ("document", tuple((key, _canonical(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return ("array", tuple(_canonical(item) for item in value))
    return (type(value).__name__, repr(value))


def _key_pattern(spec):
    return tuple(
        (field, _canonical(direction)) for field, direction in dict(spec.get("key") or {}).items()
    )


def _conjuncts(expression):
    """A filter as the set of its conjuncts: ``{a: 1}`` and ``{a: {$eq: 1}}``, or ``{$and: [x,
    y]}`` and ``{y..., x...}``, are one filter (MatchExpression normalization, simplified)."""
    found = set()
    for field, condition in dict(expression).items():
        if field == "$and" and isinstance(condition, list):
            for clause in condition:
                found |= _conjuncts(clause)
        elif field.startswith("$"):
            found.add((field, _canonical(condition)))
        elif (
            isinstance(condition, dict)
            and condition
            and all(str(operator).startswith("$") for operator in condition)
        ):
            for operator, operand in condition.items():
                found.add((field, operator, _canonical(operand)))
        else:
            found.add((field, "$eq", _canonical(condition)))
    return frozenset(found)


def _collation(value):
    """None for the simple collation (absent, or ``{locale: "simple"}``)."""
    if not value or dict(value).get("locale") == "simple":
        return None
    return _canonical(dict(value))


_IDENTITY = {
    "unique": bool,
    "sparse": bool,
    "collation": _collation,
    "partialFilterExpression": lambda value: None if value is None else _conjuncts(value),
    "wildcardProjection": lambda value: None if value is None else _canonical(dict(value)),
}


def _other_options(spec):
    return {
        option: _canonical(value)
        for option, value in spec.items()
        if option not in NOT_OPTIONS and option not in _IDENTITY and value is not None
    }


def compare(requested, existing):
    """``DIFFERENT``, ``EQUIVALENT`` or ``IDENTICAL`` (see the module)."""
    if _key_pattern(requested) != _key_pattern(existing):
        return DIFFERENT
    for option, normalize in _IDENTITY.items():
        if normalize(requested.get(option)) != normalize(existing.get(option)):
            return DIFFERENT
    return IDENTICAL if _other_options(requested) == _other_options(existing) else EQUIVALENT


# -- createIndexes -----------------------------------------------------------------------------


def check_index_request(spec, existing_indexes):
    """Raise MongoDB's error when ``spec`` cannot be created beside ``existing_indexes``
    (index documents as ``listIndexes`` gives them); return normally otherwise."""
    name = spec.get("name")
    for index in existing_indexes:
        if index.get("name") != name:
            continue
        outcome = compare(spec, index)
        if outcome == DIFFERENT:
            message = (
                "An existing index has the same name as the requested index. "
                f"Requested index: {spec}, existing index: {index}"
            )
            raise server_error(86, "IndexKeySpecsConflict", message)
        if outcome == EQUIVALENT:
            message = (
                "An equivalent index already exists with the same name but different options. "
                f"Requested index: {spec}, existing index: {index}"
            )
            raise server_error(85, "IndexOptionsConflict", message)
        return  # identical: nothing to build
    for index in existing_indexes:
        outcome = compare(spec, index)
        if outcome == EQUIVALENT:
            message = (
                "An equivalent index already exists with a different name and options. "
                f"Requested index: {spec}, existing index: {index}"
            )
            raise server_error(85, "IndexOptionsConflict", message)
        if outcome == IDENTICAL:
            message = f"Index already exists with a different name: {index['name']}"
            raise server_error(85, "IndexOptionsConflict", message)


# -- the engine --------------------------------------------------------------------------------

_building = threading.local()
_original_create_index_sync = SQLiteEngine._create_index_sync
_original_load_indexes = SQLiteEngine._load_indexes


def _create_index_sync(self, db_name, coll_name, keys, unique, name, *args, **kwargs):
    """The engine's index build, not comparing the new index with same-key indexes of other
    names (``check_index_request`` decided already that they may coexist)."""
    normalized = normalize_index_keys(keys)
    _building.index = (db_name, coll_name, name or default_index_name(normalized), normalized)
    try:
        return _original_create_index_sync(
            self, db_name, coll_name, keys, unique, name, *args, **kwargs
        )
    finally:
        _building.index = None


def _load_indexes(self, db_name, coll_name, *args, **kwargs):
    indexes = _original_load_indexes(self, db_name, coll_name, *args, **kwargs)
    building = getattr(_building, "index", None)
    if building is None or building[:2] != (db_name, coll_name):
        return indexes
    _, _, name, key = building
    return [index for index in indexes if index["name"] == name or index["key"] != key]


def install():
    """Patch the engine's index build (idempotent)."""
    rule = (
        "indexes of one key pattern coexist when unique, sparse, collation or partial filter "
        "differ (IndexDescriptor::compareIndexOptions)"
    )
    test = "tests/embedded/test_index_identity.py"
    for name, replacement in (
        ("_create_index_sync", _create_index_sync),
        ("_load_indexes", _load_indexes),
    ):
        registry.replace(
            SQLiteEngine,
            name,
            replacement,
            rule=rule,
            test=f"{test}::test_partial_indexes_with_distinct_filters_share_a_key_pattern",
        )
