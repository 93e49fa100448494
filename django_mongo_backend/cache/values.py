"""How a cached value is stored in its document, and read back with its exact Python type.

Three formats, named by the document's ``format`` field:

- none (the field is absent): the value is stored as BSON, as it is. Used when BSON gives
  back exactly the same value and type: ``None``, ``bool``, ``int`` (64-bit), ``float``,
  ``str``, ``bytes``, ``uuid.UUID``, ``ObjectId``, naive ``datetime`` with millisecond
  precision, and lists and dicts of those (dict keys plain strings without ``$`` at the start,
  ``.`` or NUL). Anyone reading the collection sees the value itself, and ``incr()`` works on
  integers in place.
- ``"json"``: the value as text in ``tagged_json``'s format (tuples, sets, ``Decimal``,
  aware or microsecond datetimes, dates, ``HttpResponse``...). Safe to read whoever wrote it.
- ``"pickle"``: only with ``OPTIONS["SERIALIZER"] = "pickle"``, for what JSON cannot hold
  (model instances, arbitrary objects); signed (``signed_pickle``).
"""

from __future__ import annotations

import datetime
import uuid

from bson import Binary, Int64, ObjectId

from . import signed_pickle, tagged_json

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Deeper nesting goes through JSON: MongoDB refuses documents nested beyond 100 levels.
MAX_NATIVE_DEPTH = 50

SERIALIZERS = ("json", "pickle")

#: Exact types stored as BSON scalars that pymongo gives back unchanged (with the cache's codec
#: options: naive datetimes, standard UUIDs, plain dicts; int64 becomes int in ``_plain``).
_SCALARS = frozenset({type(None), bool, float, bytes, uuid.UUID, ObjectId})


class UnsupportedValue(TypeError):
    """The value cannot be cached with the configured serializer."""


def is_native(value, depth=0):
    """Whether BSON stores ``value`` so that it reads back equal and of the same types."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is int:
        return INT64_MIN <= value <= INT64_MAX
    if kind is str:
        return _utf8(value)
    if kind is datetime.datetime:
        return value.tzinfo is None and value.microsecond % 1000 == 0 and not value.fold
    if depth >= MAX_NATIVE_DEPTH:
        return False
    if kind is list:
        return all(is_native(item, depth + 1) for item in value)
    if kind is dict:
        return all(
            type(key) is str and _field_name(key) and is_native(item, depth + 1)
            for key, item in value.items()
        )
    return False


def _utf8(text):
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field_name(key):
    """A key that is plain data as a BSON field name (no operator-like or dotted names)."""
    return not key.startswith("$") and "." not in key and "\x00" not in key and _utf8(key)


def encode(value, key, serializer):
    """The document fields (``value`` and, unless native, ``format``/``signature``)."""
    if is_native(value):
        return {"value": value}
    try:
        text = tagged_json.dumps(value, responses_as_data=serializer != "pickle")
    except tagged_json.Unsupported as unsupported:
        if serializer != "pickle":
            raise UnsupportedValue(
                f"The MongoDB cache stores data types only (see docs/cache.rst), not "
                f"{unsupported} (in {type(value).__qualname__} value for key {key!r}). Cache "
                "plain data instead, or set OPTIONS['SERIALIZER'] to 'pickle' if nobody "
                "else can write to the cache collection."
            ) from None
        data, signature = signed_pickle.dumps(value, key)
        return {"value": Binary(data), "format": "pickle", "signature": signature}
    return {"value": text, "format": "json"}


def decode(document, key, collection):
    """``(value, True)``, or ``(None, False)`` when the entry must read as a miss."""
    form = document.get("format")
    if form is None:
        return _plain(document.get("value")), True
    if form == "json":
        return tagged_json.loads(document["value"]), True
    if form == "pickle":
        return signed_pickle.loads(document["value"], document.get("signature"), key, collection)
    raise ValueError(f"cache entry {key!r} in {collection!r} has an unknown format {form!r}")


def _plain(value):
    """A BSON value as stored: int64 read back as ``int`` (pymongo gives ``Int64``)."""
    kind = type(value)
    if kind is Int64:
        return int(value)
    if kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        return {name: _plain(item) for name, item in value.items()}
    return value
