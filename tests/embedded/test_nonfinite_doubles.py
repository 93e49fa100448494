"""NaN, Infinity and -Infinity doubles: stored, matched and sorted as MongoDB 7.0 does.

MongoDB stores any IEEE 754 double. Its query comparison treats NaN as equal to NaN and as
satisfying no ``$lt``/``$gt`` (only ``$lte``/``$gte`` NaN): ``ComparisonMatchExpressionBase::
compare`` in ``src/mongo/db/matcher/expression_leaf.cpp``. Its sort order puts NaN below every
other number (``compareDoubles`` in ``src/mongo/base/compare_numbers.h``), and numbers of every
type compare by value (manual, "Comparison/Sort Order"), so -Infinity comes next and Infinity
after every finite number. The embedded server once failed every query of a collection holding
such a double with "malformed JSON" (its SQLite engine stores documents as JSON text).
"""

from __future__ import annotations

import math

import pytest
from pymongo.errors import DuplicateKeyError

NAN, INF = float("nan"), float("inf")
#: _id -> x, with the three non-finite doubles among finite numbers and a string.
DOCUMENTS = {1: -5, 2: 1.5, 3: NAN, 4: INF, 5: -INF, 6: "text", 7: 0}


def fill(collection):
    collection.insert_many([{"_id": key, "x": value} for key, value in DOCUMENTS.items()])


def ids(cursor):
    return sorted(document["_id"] for document in cursor)


def same(value, expected):
    return (math.isnan(value) and math.isnan(expected)) or value == expected


def test_nonfinite_doubles_are_stored_in_a_collection_with_documents(mongo_db):
    """A collection that already holds documents stores and returns each non-finite double,
    and reads by a filter work afterwards (the engine's SQL failed with 'malformed JSON')."""
    mongo_db.c.insert_many([{"_id": 0, "x": 1.0}, {"_id": -1, "x": "a"}])
    for key, value in ((1, NAN), (2, INF), (3, -INF)):
        mongo_db.c.insert_one({"_id": key, "x": value, "nested": {"list": [value, 1]}})
        stored = mongo_db.c.find_one({"_id": key})
        assert type(stored["x"]) is float and same(stored["x"], value)
        assert same(stored["nested"]["list"][0], value)
    assert mongo_db.c.count_documents({"x": {"$type": "double"}}) == 4
    mongo_db.c.update_one({"_id": 0}, {"$set": {"y": NAN}, "$inc": {"x": INF}})
    stored = mongo_db.c.find_one({"_id": 0})
    assert math.isnan(stored["y"]) and stored["x"] == INF


@pytest.mark.parametrize("indexed", [False, True], ids=["unindexed", "indexed"])
def test_nan_equals_nan_and_is_in_no_range(mongo_db, indexed):
    """Equality matches NaN with NaN; ``$gt``/``$lt`` never match NaN (nor does anything
    match ``$lt``/``$gt`` NaN); ``$gte``/``$lte`` NaN match NaN only; the infinities are in
    the ranges their value puts them in (expression_leaf.cpp)."""
    if indexed:
        mongo_db.c.create_index("x")
    fill(mongo_db.c)
    find = mongo_db.c.find
    assert ids(find({"x": NAN})) == [3]
    assert ids(find({"x": {"$in": [NAN, 0]}})) == [3, 7]
    assert ids(find({"x": {"$ne": NAN}})) == [1, 2, 4, 5, 6, 7]
    assert ids(find({"x": INF})) == [4]
    assert ids(find({"x": -INF})) == [5]
    assert ids(find({"x": {"$gt": 0}})) == [2, 4]
    assert ids(find({"x": {"$lt": 0}})) == [1, 5]
    assert ids(find({"x": {"$gte": -INF}})) == [1, 2, 4, 5, 7]
    assert ids(find({"x": {"$lt": NAN}})) == []
    assert ids(find({"x": {"$gt": NAN}})) == []
    assert ids(find({"x": {"$gte": NAN}})) == [3]
    assert ids(find({"x": {"$lte": NAN}})) == [3]
    assert ids(mongo_db.c.aggregate([{"$match": {"x": NAN}}])) == [3]
    assert mongo_db.c.count_documents({"x": {"$lte": INF}}) == 5
    assert mongo_db.c.delete_many({"x": NAN}).deleted_count == 1
    assert ids(find({"x": {"$type": "double"}})) == [2, 4, 5]


@pytest.mark.parametrize("indexed", [False, True], ids=["unindexed", "indexed"])
def test_nonfinite_doubles_sort_as_numbers(mongo_db, indexed):
    """NaN sorts before every number, -Infinity next, Infinity after the finite numbers, and
    every number before a string (compare_numbers.h, "Comparison/Sort Order")."""
    if indexed:
        mongo_db.c.create_index("x")
    fill(mongo_db.c)
    ascending = [3, 5, 1, 7, 2, 4, 6]
    assert [d["_id"] for d in mongo_db.c.find().sort("x", 1)] == ascending
    assert [d["_id"] for d in mongo_db.c.find().sort("x", -1)] == ascending[::-1]
    pipeline = [{"$sort": {"x": 1}}, {"$project": {"_id": 1}}]
    assert [d["_id"] for d in mongo_db.c.aggregate(pipeline)] == ascending
    numbers = [d["_id"] for d in mongo_db.c.find({"x": {"$type": "number"}}).sort("x", 1)]
    assert numbers == [3, 5, 1, 7, 2, 4]


def test_nonfinite_doubles_in_indexed_fields(mongo_db):
    """Non-finite doubles are index keys like any number: a unique index refuses a second NaN
    (NaN equals NaN) or a second Infinity (E11000), and an array of them is indexed too."""
    mongo_db.u.create_index("x", unique=True)
    mongo_db.u.insert_many([{"x": NAN}, {"x": INF}, {"x": -INF}, {"x": 2}])
    for value in (NAN, INF, -INF):
        with pytest.raises(DuplicateKeyError):
            mongo_db.u.insert_one({"x": value})
    assert mongo_db.u.count_documents({}) == 4
    mongo_db.m.create_index("tags")
    mongo_db.m.insert_many([{"_id": 1, "tags": [NAN, 1]}, {"_id": 2, "tags": [INF, -1]}])
    assert ids(mongo_db.m.find({"tags": NAN})) == [1]
    assert ids(mongo_db.m.find({"tags": {"$gt": 5}})) == [2]
    assert ids(mongo_db.m.find({"tags": {"$lt": 0}})) == [2]
