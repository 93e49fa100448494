"""``performance/unique_checks.py``: unique indexes refuse exactly what they refused before.

MongoDB's manual (Unique Indexes): a unique index refuses a document whose key equals a stored
document's key; numbers compare by value across types (``1``, ``Int64(1)``, ``1.0`` and
``Decimal128("1")`` are one key), values of different types otherwise never do, a missing field
keys as null, and an array field keys each element. Each insert below runs against a collection
holding ``STORED`` with a compound and a single-field unique index; the outcome (accepted, or
refused as a duplicate key) must be the one the full scan decides, so the expectations are
written out from those rules.
"""

from __future__ import annotations

import datetime

import pytest
from bson import Decimal128, Int64, ObjectId
from pymongo.errors import DuplicateKeyError

from django_mongo_backend.embedded.performance import unique_checks

OID = ObjectId("65a1b2c3d4e5f60718293a4b")
WHEN = datetime.datetime(2024, 5, 1, 12, 0)

STORED = [
    {"_id": 1, "a": 1, "b": "x", "u": 10},
    {"_id": 2, "a": Int64(2), "b": "x", "u": Int64(20)},
    {"_id": 3, "a": 3.5, "b": OID, "u": "s"},
    {"_id": 4, "a": "t", "b": WHEN, "u": OID},
    {"_id": 5, "a": True, "b": {"k": 1}, "u": WHEN},
    {"_id": 6, "a": [7, 8], "b": "y", "u": 2**40},
    {"_id": 7, "b": "z", "u": Decimal128("30")},
    {"_id": 8, "a": None, "b": "w"},
]

#: (new document without _id, refused?)
#: mongoeco 4.11 compares the keys of a compound unique index whose field holds arrays in some
#: documents by type as well as value, so it accepts these duplicates with or without this
#: module (a deviation of the engine, left to its own correction).
ENGINE_ACCEPTS = pytest.mark.xfail(
    strict=True, reason="mongoeco 4.11: compound multikey unique keys compare numbers by type"
)

CASES = [
    pytest.param({"a": 1.0, "b": "x"}, True, marks=ENGINE_ACCEPTS),  # 1.0 == 1
    pytest.param({"a": Int64(1), "b": "x"}, True, marks=ENGINE_ACCEPTS),
    pytest.param({"a": Decimal128("1"), "b": "x"}, True, marks=ENGINE_ACCEPTS),
    pytest.param({"a": 2, "b": "x"}, True, marks=ENGINE_ACCEPTS),  # 2 == Int64(2)
    ({"a": 1, "b": "x"}, True),
    ({"a": Int64(2), "b": "x"}, True),
    ({"a": 2, "b": "y"}, False),
    ({"a": 1, "b": "X"}, False),
    ({"a": 3.5, "b": OID}, True),
    ({"a": 3.5, "b": ObjectId()}, False),
    ({"a": "t", "b": WHEN}, True),
    ({"a": "t", "b": WHEN + datetime.timedelta(seconds=1)}, False),
    ({"a": True, "b": {"k": 1}}, True),
    ({"a": 1, "b": {"k": 1}}, False),  # true is not 1
    ({"a": 7, "b": "y"}, True),  # an element of the stored array
    ({"a": [8], "b": "y"}, True),
    ({"b": "z"}, True),  # missing a, like the stored one
    ({"a": None, "b": "z"}, True),  # null keys as missing
    ({"a": None, "b": "w"}, True),
    ({"b": "w"}, True),
    ({"a": "1", "b": "x"}, False),  # a string is not a number
    ({"u": 10.0}, True),
    ({"u": 20}, True),
    ({"u": Decimal128("20.0")}, True),
    ({"u": float(2**40)}, True),
    ({"u": Int64(30)}, True),  # Decimal128("30")
    ({"u": "s"}, True),
    ({"u": OID}, True),
    ({"u": WHEN}, True),
    ({"u": 11}, False),
    ({"u": "S"}, False),
    ({"u": float("nan")}, False),
]


@pytest.fixture
def collection(mongo_db):
    collection = mongo_db["c"]
    collection.create_index([("a", 1), ("b", 1)], unique=True)
    collection.create_index("u", unique=True, sparse=True)
    collection.insert_many(STORED)
    return collection


@pytest.mark.parametrize(
    ("document", "refused"), CASES, ids=[f"case{i}" for i in range(len(CASES))]
)
def test_unique_checks_refuse_as_the_full_scan(collection, document, refused):
    if refused:
        with pytest.raises(DuplicateKeyError):
            collection.insert_one({"_id": 100, **document})
    else:
        collection.insert_one({"_id": 100, **document})
    assert collection.count_documents({"_id": 100}) == (0 if refused else 1)


def test_updates_are_checked_too(collection):
    with pytest.raises(DuplicateKeyError):
        collection.update_one({"_id": 8}, {"$set": {"a": 1, "b": "x"}})
    collection.update_one({"_id": 1}, {"$set": {"u": 10.0}})  # its own key: no conflict
    assert collection.find_one({"_id": 1})["u"] == 10.0


def test_which_values_narrow_the_read():
    assert unique_checks.value_condition("a", {"a": 5}) is not None
    assert unique_checks.value_condition("a", {"a": "s"}) is not None
    assert unique_checks.value_condition("a", {"a": OID}) is not None
    for unknown in ({}, {"a": None}, {"a": [1]}, {"a": Decimal128("1")}, {"a": float("nan")}):
        assert unique_checks.value_condition("a", unknown) is None
    assert unique_checks.value_condition("a.b", {"a.b": 1}) is None
    collated = [{"unique": True, "fields": ["a"], "collation": {"locale": "en"}}]
    assert unique_checks.candidates_condition(collated, {"a": "x"}, check_id=False) is None
