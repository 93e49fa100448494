"""The BSON type names the corrections quote in their error messages: the names of
``typeName(BSONType)`` (src/mongo/bson/bsontypes.cpp), which the manual's ``$type`` table lists
("Available Types": double, string, object, array, binData, undefined, objectId, bool, date, null,
regex, javascript, int, timestamp, long, decimal, minKey, maxKey), for a value of every type as
pymongo decodes it and as mongoeco holds it.
"""

from __future__ import annotations

import datetime
import re
import uuid

import bson
import pytest
from bson.code import Code
from bson.codec_options import CodecOptions
from bson.max_key import MaxKey
from bson.min_key import MinKey
from mongoeco import types as mongoeco_types
from mongoeco.core.bson_scalars import BsonDecimal128, BsonDouble, BsonInt32, BsonInt64
from pymongo.errors import OperationFailure

from django_mongo_backend.embedded.corrections.bson_types import type_name

#: One value of each BSON type (by its ``$type`` name), as a document pymongo encodes (it has no
#: "undefined": that one is checked as mongoeco holds it, below).
EVERY_TYPE = {
    "double": 1.5,
    "string": "text",
    "object": {"a": 1},
    "array": [1],
    "binData": bson.Binary(b"\x00", 0),
    "objectId": bson.ObjectId(),
    "bool": True,
    "date": datetime.datetime(2026, 1, 1),
    "null": None,
    "regex": bson.Regex("^a", "i"),
    "javascript": Code("1"),
    "int": 2**31 - 1,
    "timestamp": bson.Timestamp(1, 1),
    "long": bson.Int64(2**31),
    "decimal": bson.Decimal128("1.5"),
    "minKey": MinKey(),
    "maxKey": MaxKey(),
}


@pytest.mark.parametrize("expected", sorted(EVERY_TYPE))
def test_every_type_as_pymongo_decodes_it(expected):
    decoded = bson.decode(bson.encode({"v": EVERY_TYPE[expected]}))["v"]
    assert type_name(decoded) == expected
    # The same document decoded as the wire server may (UUIDs as standard, no bson.Binary):
    options = CodecOptions(uuid_representation=bson.binary.UuidRepresentation.STANDARD)
    decoded = bson.decode(bson.encode({"v": EVERY_TYPE[expected]}, codec_options=options), options)
    assert type_name(decoded["v"]) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (BsonInt32(5), "int"),
        (BsonInt64(5), "long"),
        (BsonDouble(5.0), "double"),
        (BsonDecimal128(bson.Decimal128("5")), "decimal"),
        (mongoeco_types.UndefinedType(), "undefined"),
        (mongoeco_types.ObjectId(), "objectId"),
        (mongoeco_types.Timestamp(1, 1), "timestamp"),
        (uuid.UUID(int=1), "binData"),
        (re.compile("^a"), "regex"),
        (-(2**31), "int"),
        (-(2**31) - 1, "long"),
        (2**31, "long"),
        (False, "bool"),
    ],
    ids=repr,
)
def test_values_as_the_engine_holds_them(value, expected):
    assert type_name(value) == expected


def test_a_value_no_bson_type_holds_is_not_given_a_made_up_name():
    with pytest.raises(TypeError, match="no BSON type holds a set"):
        type_name({1})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(bson.ObjectId("0" * 24), "objectId"), (bson.Int64(3), "long"), ({"a": 1}, "object")],
    ids=["objectId", "long", "object"],
)
def test_a_message_names_the_type_mongod_names(mongo_db, value, expected):
    """``$arrayElemAt`` on a non-array fails with 28689 "$arrayElemAt's first argument must be an
    array, but is <typeName>" (ExpressionArrayElemAt, src/mongo/db/pipeline/expression.cpp); the
    name used to read "unknown" for an objectId or a long."""
    mongo_db.c.insert_one({"_id": 1, "v": value})
    with pytest.raises(OperationFailure) as raised:
        list(mongo_db.c.aggregate([{"$project": {"x": {"$arrayElemAt": ["$v", 0]}}}]))
    assert raised.value.code == 28689
    assert raised.value.details["errmsg"].endswith(f"but is {expected}")
