"""Strings holding NUL characters are matched and sorted whole, as MongoDB 7.0 does.

A BSON string carries its length and may hold NUL. MongoDB compares whole strings: for
equality ``ComparisonMatchExpressionBase::compare`` (``src/mongo/db/matcher/
expression_leaf.cpp``) first compares the values' sizes, and strings sort by the simple binary
comparison (manual, "Comparison/Sort Order"), so ``"a" < "a\\x00" < "a\\x00b" < "b"``. The
embedded server read such strings cut at the first NUL in its SQL (``"a\\x00b"`` as ``"a"``).
"""

from __future__ import annotations

import pytest

#: _id -> s; the NUL strings among plain ones.
STRINGS = {1: "a\x00b", 2: "a", 3: "a\x00", 4: "b", 5: "ab"}
ORDER = [2, 3, 1, 5, 4]  # a < a\0 < a\0b < ab < b


def fill(collection, indexed):
    if indexed:
        collection.create_index("s")
    collection.insert_many([{"_id": key, "s": value} for key, value in STRINGS.items()])


def ids(cursor):
    return sorted(document["_id"] for document in cursor)


@pytest.mark.parametrize("indexed", [False, True], ids=["unindexed", "indexed"])
def test_strings_holding_nul_match_whole(mongo_db, indexed):
    """Equality, ``$in``, ``$ne`` and ranges see the whole string, in find, count, $match,
    updates and deletes alike."""
    fill(mongo_db.c, indexed)
    for key, value in STRINGS.items():
        assert ids(mongo_db.c.find({"s": value})) == [key], repr(value)
        assert ids(mongo_db.c.aggregate([{"$match": {"s": value}}])) == [key], repr(value)
        assert ids(mongo_db.c.find({"s": {"$in": [value, "zz"]}})) == [key], repr(value)
        assert mongo_db.c.count_documents({"s": {"$ne": value}}) == len(STRINGS) - 1
    assert ids(mongo_db.c.find({"s": {"$gt": "a", "$lt": "ab"}})) == [1, 3]
    assert ids(mongo_db.c.find({"s": {"$gt": "a\x00"}})) == [1, 4, 5]
    assert mongo_db.c.update_many({"s": "a"}, {"$set": {"t": 1}}).modified_count == 1
    assert ids(mongo_db.c.find({"t": 1})) == [2]
    assert mongo_db.c.delete_one({"s": "a\x00"}).deleted_count == 1
    assert ids(mongo_db.c.find({"s": {"$regex": "^a"}})) == [1, 2, 5]


@pytest.mark.parametrize("indexed", [False, True], ids=["unindexed", "indexed"])
def test_strings_holding_nul_sort_by_binary_comparison(mongo_db, indexed):
    """A string sorts after its prefixes, NUL being the lowest character."""
    fill(mongo_db.c, indexed)
    assert [d["_id"] for d in mongo_db.c.find().sort("s", 1)] == ORDER
    assert [d["_id"] for d in mongo_db.c.find().sort("s", -1)] == ORDER[::-1]
    pipeline = [{"$sort": {"s": 1}}]
    assert [d["_id"] for d in mongo_db.c.aggregate(pipeline)] == ORDER


def test_nested_and_array_strings_holding_nul(mongo_db):
    """The same in embedded documents, arrays and ``$lookup`` joins."""
    mongo_db.c.insert_many(
        [
            {"_id": 1, "d": {"s": "x\x00y"}, "tags": ["x\x00"]},
            {"_id": 2, "d": {"s": "x"}, "tags": ["x"]},
        ]
    )
    assert ids(mongo_db.c.find({"d.s": "x"})) == [2]
    assert ids(mongo_db.c.find({"d": {"s": "x\x00y"}})) == [1]
    assert ids(mongo_db.c.find({"tags": "x"})) == [2]
    assert ids(mongo_db.c.find({"tags": "x\x00"})) == [1]
    mongo_db.keys.insert_many([{"_id": "k1", "s": "x"}, {"_id": "k2", "s": "x\x00y"}])
    joined = mongo_db.keys.aggregate(
        [
            {"$lookup": {"from": "c", "localField": "s", "foreignField": "d.s", "as": "m"}},
            {"$project": {"m": "$m._id"}},
        ]
    )
    assert {d["_id"]: d["m"] for d in joined} == {"k1": [2], "k2": [1]}
