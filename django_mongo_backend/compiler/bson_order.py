"""MongoDB's comparison order of BSON values, as Python keys for rows read back from the server.

Only the combined querysets run inside a transaction (``combinators``) compare values in
Python: ``$unionWith`` is refused there, so their parts' rows are combined here and must
compare as ``$group`` and ``$sort`` would (manual, "Comparison/Sort Order"):

- types order as MinKey < null < numbers < strings < objects < arrays < binData < ObjectId <
  bool < date < timestamp < regex < MaxKey; a missing field is null;
- numbers compare by value across int, long, double and decimal (``1 == 1.0``, NaN equals NaN
  and sorts below every other number); a bool is not a number;
- strings compare by their UTF-8 bytes (no collation), which is code point order;
- objects compare field by field in stored order (the value's type, then the name, then the
  value); arrays element by element; a shorter prefix sorts first;
- binData by length, then subtype, then bytes.

``value_key`` is the equality/ordering key of a whole value ($group, set operations).
``sort_key`` is what ``$sort`` compares: an array sorts by its smallest element ascending, by
its largest descending, and an empty array below null.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
import uuid

from bson import Binary, Decimal128, MaxKey, MinKey, ObjectId, Regex, Timestamp

MIN_KEY, NULL, NUMBER, STRING, OBJECT, ARRAY, BINARY = 1, 2, 3, 4, 5, 6, 7
OBJECT_ID, BOOLEAN, DATE, TIMESTAMP, REGEX, MAX_KEY = 8, 9, 10, 11, 12, 14
#: Below null: where ``$sort`` puts an empty array.
EMPTY_ARRAY = 0


def _number(value):
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, float) and math.isnan(value):
        return (NUMBER, 0, 0)
    if isinstance(value, decimal.Decimal) and value.is_nan():
        return (NUMBER, 0, 0)
    return (NUMBER, 1, value)


def _binary(data, subtype):
    return (BINARY, len(data), subtype, bytes(data))


def _field(name, key):
    return (key[0], name, key)


def value_key(value):
    """A hashable key: equal for values BSON compares equal, ordered as BSON orders them."""
    if value is None:
        return (NULL,)
    if isinstance(value, bool):
        return (BOOLEAN, value)
    if isinstance(value, int | float | Decimal128 | decimal.Decimal):
        return _number(value)
    if isinstance(value, str):
        return (STRING, value)
    if isinstance(value, dict):
        return (OBJECT, tuple(_field(name, value_key(item)) for name, item in value.items()))
    if isinstance(value, list | tuple):
        return (ARRAY, tuple(value_key(item) for item in value))
    if isinstance(value, uuid.UUID):
        return _binary(value.bytes, 4)
    if isinstance(value, Binary):
        return _binary(value, value.subtype)
    if isinstance(value, bytes):
        return _binary(value, 0)
    if isinstance(value, ObjectId):
        return (OBJECT_ID, value.binary)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return (DATE, value)
    if isinstance(value, Timestamp):
        return (TIMESTAMP, value.time, value.inc)
    if isinstance(value, Regex | re.Pattern):
        flags = value.flags if isinstance(value.flags, str) else str(value.flags)
        return (REGEX, value.pattern, flags)
    if isinstance(value, MinKey):
        return (MIN_KEY,)
    if isinstance(value, MaxKey):
        return (MAX_KEY,)
    raise TypeError(f"no BSON order known for {type(value).__name__} values")


def sort_key(value, descending=False):
    """The key ``$sort`` compares for ``value`` (arrays by their smallest/largest element)."""
    if isinstance(value, list | tuple):
        if not value:
            return (EMPTY_ARRAY,)
        keys = [value_key(item) for item in value]
        return max(keys) if descending else min(keys)
    return value_key(value)
