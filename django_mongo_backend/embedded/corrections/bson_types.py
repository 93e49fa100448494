"""The BSON type name of a value, as mongod's error messages spell it.

mongod names a value's type with ``typeName(BSONType)`` (src/mongo/bson/bsontypes.cpp): the same
names ``$type`` answers and accepts — "double", "string", "object", "array", "binData",
"undefined", "objectId", "bool", "date", "null", "regex", "dbPointer", "javascript", "symbol",
"javascriptWithScope", "int", "timestamp", "long", "decimal", "minKey", "maxKey". The corrections
quote it in the messages they raise ("$arrayElemAt's first argument must be an array, but is
string", "can't convert from BSON type binData to String", "BSON field 'explain.verbosity' is
the wrong type 'int'"), so they all ask this one table.

Values reach the corrections in two families: mongoeco's own (its ``Bson*`` number wrappers and
``mongoeco.types``) inside the engine, pymongo's ``bson`` classes where the wire server decoded
a command. Both are listed; a Python ``int`` is "int" or "long" by its range, as the driver
encodes it.
"""

from __future__ import annotations

import datetime
import decimal
import re
import uuid

import bson
from bson.code import Code
from bson.dbref import DBRef
from bson.max_key import MaxKey
from bson.min_key import MinKey
from mongoeco import types as mongoeco_types
from mongoeco.core.bson_scalars import BsonDecimal128, BsonDouble, BsonInt32, BsonInt64

_INT32 = range(-(2**31), 2**31)

#: Python class -> BSON type name; a value's class is looked up along its MRO, so ``bool``
#: (an ``int``) and ``bson.Int64`` (an ``int`` too) find their own entry first.
TYPE_NAMES = {
    type(None): "null",
    bool: "bool",
    float: "double",
    str: "string",
    dict: "object",
    list: "array",
    tuple: "array",
    bytes: "binData",
    bytearray: "binData",
    uuid.UUID: "binData",
    datetime.datetime: "date",
    decimal.Decimal: "decimal",
    re.Pattern: "regex",
    BsonInt32: "int",
    BsonInt64: "long",
    BsonDouble: "double",
    BsonDecimal128: "decimal",
    bson.Int64: "long",
    bson.Binary: "binData",
    bson.ObjectId: "objectId",
    bson.Timestamp: "timestamp",
    bson.Decimal128: "decimal",
    bson.Regex: "regex",
    Code: "javascript",
    DBRef: "object",
    MinKey: "minKey",
    MaxKey: "maxKey",
    mongoeco_types.Binary: "binData",
    mongoeco_types.ObjectId: "objectId",
    mongoeco_types.Timestamp: "timestamp",
    mongoeco_types.Decimal128: "decimal",
    mongoeco_types.Regex: "regex",
    mongoeco_types.DBRef: "object",
    mongoeco_types.UndefinedType: "undefined",
}


def type_name(value) -> str:
    """MongoDB's name for ``value``'s BSON type ("int", "string", "objectId"...).

    A class no BSON type holds raises ``TypeError``: a message naming a made-up type would
    not be mongod's."""
    if type(value) is int:
        return "int" if value in _INT32 else "long"
    for cls in type(value).__mro__:
        name = TYPE_NAMES.get(cls)
        if name is not None:
            return name
    if isinstance(value, int):
        return "int" if value in _INT32 else "long"
    raise TypeError(f"no BSON type holds a {type(value).__name__}")
