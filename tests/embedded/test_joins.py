"""Equality ``$lookup`` through the foreign collection's indexes joins exactly as the engine did.

``embedded/performance/joins.py`` reads only the foreign documents a join can match (``$in``
of the local join values). The reference is the engine's own join: the same pipeline with a
``$unionWith`` of the foreign collection that adds nothing, which makes the cursor load that
collection whole up front (the engine's path). MongoDB's ``$lookup`` documentation: an array
``localField`` matches on any element, and a null or missing ``localField`` matches foreign
documents whose ``foreignField`` is null or missing; numbers compare by value across types.
"""

from __future__ import annotations

import asyncio

import pytest
from bson import Decimal128, Int64, ObjectId

from django_mongo_backend.embedded.performance import joins

OID = ObjectId()

LOCAL = [
    {"_id": 1, "k": 1},
    {"_id": 2, "k": 2.0},
    {"_id": 3, "k": None},
    {"_id": 4},
    {"_id": 5, "k": "s"},
    {"_id": 6, "k": [1, 2]},
    {"_id": 7, "k": {"x": 1}},
    {"_id": 8, "k": OID},
    {"_id": 9, "k": Decimal128("1.0")},
    {"_id": 10, "k": Int64(3), "sub": {"k": "s"}},
    {"_id": 11, "k": True},
    {"_id": 12, "k": [], "sub": [{"k": 1}, {"k": "t"}]},
]

FOREIGN = [
    {"_id": "a", "f": 1, "v": 1},
    {"_id": "b", "f": Int64(2), "v": 2},
    {"_id": "c", "f": None, "v": 3},
    {"_id": "d", "v": 4},
    {"_id": "e", "f": "s", "v": 5},
    {"_id": "f", "f": [1, 2], "v": 6},
    {"_id": "g", "f": {"x": 1}, "v": 7},
    {"_id": "h", "f": OID, "v": 8},
    {"_id": 5, "f": 1.0, "v": 9},
    {"_id": 2.5, "f": [1], "v": 10},
    {"_id": OID, "f": True, "v": 11},
    {"_id": 7, "f": 3.0, "v": 12, "sub": {"f": "t"}},
    {"_id": Int64(1), "f": "t", "v": 13},
]

NEVER = {"$unionWith": {"coll": "foreign", "pipeline": [{"$match": {"_never": 1}}]}}


@pytest.fixture
def db(mongo_db, request):
    mongo_db["local"].insert_many(LOCAL)
    mongo_db["foreign"].insert_many(FOREIGN)
    if getattr(request, "param", False):
        mongo_db["foreign"].create_index("f")
    return mongo_db


def canonical(documents):
    """``documents`` with each joined array, at any depth, as a multiset.

    The order within ``as`` is unspecified in MongoDB; the engine's own follows whichever
    SQLite index its full read happens to use, the routed join primary-key order, and both
    come shuffled when the server shuffles unordered results.
    """
    if isinstance(documents, list):
        return [canonical(document) for document in documents]
    if not isinstance(documents, dict):
        return documents
    return {
        key: sorted(map(repr, canonical(value)))
        if key in ("j", "back") and isinstance(value, list)
        else canonical(value)
        for key, value in documents.items()
    }


def joined(db, pipeline):
    """The pipeline routed, and as the engine joins it."""
    fast = list(db["local"].aggregate(pipeline))
    slow = list(db["local"].aggregate([*pipeline, NEVER]))
    assert canonical(fast) == canonical(slow)
    return fast


def field_join(local_field, foreign_field, **extra):
    return {
        "$lookup": {
            "from": "foreign",
            "localField": local_field,
            "foreignField": foreign_field,
            "as": "j",
            **extra,
        }
    }


@pytest.mark.parametrize("db", [False, True], ids=["no_index", "index"], indirect=True)
@pytest.mark.parametrize(
    ("local_field", "foreign_field"),
    [("k", "f"), ("k", "_id"), ("_id", "_id"), ("sub.k", "f"), ("k", "sub.f"), ("_id", "f")],
    ids=["k-f", "k-id", "id-id", "subk-f", "k-subf", "id-f"],
)
def test_a_field_lookup_joins_like_the_engine(db, local_field, foreign_field):
    result = joined(db, [field_join(local_field, foreign_field), {"$sort": {"_id": 1}}])
    if (local_field, foreign_field) == ("k", "f"):
        by_id = {document["_id"]: [item["_id"] for item in document["j"]] for document in result}
        assert sorted(by_id[1], key=repr) == sorted([2.5, 5, "a", "f"], key=repr)  # all numbers
        assert sorted(by_id[4]) == ["c", "d"]  # missing joins null and missing
        assert "f" in by_id[6]  # array local value


def test_the_compilers_join_shape_is_unchanged(db):
    """``$match`` + ``$lookup``/``$unwind`` pairs, as the backend compiles joins."""
    pipeline = [
        {"$match": {"_id": {"$lte": 10}}},
        field_join("k", "f"),
        {"$unwind": {"path": "$j", "preserveNullAndEmptyArrays": True}},
        {
            "$lookup": {
                "from": "foreign",
                "localField": "j.v",
                "foreignField": "_id",
                "as": "j2",
            }
        },
        {"$unwind": {"path": "$j2", "preserveNullAndEmptyArrays": True}},
        {"$sort": {"_id": 1, "j._id": 1}},
    ]
    assert joined(db, pipeline)


def correlated(equality, tail=(), let=None):
    return {
        "$lookup": {
            "from": "foreign",
            "let": let or {"key": "$k"},
            "pipeline": [{"$match": {"$expr": equality}}, *tail],
            "as": "j",
        }
    }


@pytest.mark.parametrize("db", [False, True], ids=["no_index", "index"], indirect=True)
@pytest.mark.parametrize(
    "tail",
    [[], [{"$project": {"v": 1, "_id": 0}}], [{"$sort": {"v": -1}}, {"$limit": 1}]],
    ids=["plain", "project", "sort_limit"],
)
@pytest.mark.parametrize("operands", [["$f", "$$key"], ["$$key", "$f"]], ids=["ab", "ba"])
def test_a_correlated_lookup_joins_like_the_nested_loop(db, tail, operands):
    fast = joined(db, [correlated({"$eq": operands}, tail), {"$sort": {"_id": 1}}])
    # {$and: [...]} is the same predicate in a shape no fast path recognises.
    slow = list(
        db["local"].aggregate(
            [correlated({"$and": [{"$eq": operands}]}, tail), {"$sort": {"_id": 1}}, NEVER]
        )
    )
    assert canonical(fast) == canonical(slow)
    assert fast[0]["j"]


def test_a_correlated_subquery_nesting_lookups(db):
    """A correlated ``$lookup`` whose sub-pipeline joins again, also on its own collection."""
    inner = [
        field_join("v", "_id"),
        {
            "$lookup": {
                "from": "local",
                "let": {"f": "$f"},
                "pipeline": [{"$match": {"$expr": {"$eq": ["$k", "$$f"]}}}],
                "as": "back",
            }
        },
    ]
    pipeline = [correlated({"$eq": ["$f", "$$key"]}, inner), {"$sort": {"_id": 1}}]
    fast = list(db["local"].aggregate(pipeline))
    slow = list(db["local"].aggregate([*pipeline, NEVER]))
    assert canonical(fast) == canonical(slow)
    assert any(document["j"] and document["j"][0]["back"] for document in fast)


def test_a_lookup_in_a_transaction_sees_its_own_writes(mongo_client, db):
    with mongo_client.start_session() as session:
        session.start_transaction()
        db["foreign"].insert_one({"_id": "new", "f": "s", "v": 99}, session=session)
        result = list(
            db["local"].aggregate([{"$match": {"_id": 5}}, field_join("k", "f")], session=session)
        )
        assert sorted(item["_id"] for item in result[0]["j"]) == ["e", "new"]
        session.abort_transaction()
    result = list(db["local"].aggregate([{"$match": {"_id": 5}}, field_join("k", "f")]))
    assert [item["_id"] for item in result[0]["j"]] == ["e"]


def test_a_join_reads_only_the_documents_it_can_match(monkeypatch):
    """The path: the foreign side is read by ``$in`` of the join values, never whole."""
    from mongoeco import AsyncMongoClient

    from django_mongo_backend.embedded.server import wire  # noqa: F401 - installs the corrections
    from django_mongo_backend.embedded.server.engine import create_engine

    reads = []
    matching = joins.LazyCollection.matching

    def recording_matching(self, path, values):
        documents = matching(self, path, values)
        reads.append((self.name, path, len(documents)))
        return documents

    def refuse_all(self):
        raise AssertionError(f"{self.name} was read whole")

    monkeypatch.setattr(joins.LazyCollection, "matching", recording_matching)
    monkeypatch.setattr(joins.LazyCollection, "all", refuse_all)

    async def run():
        client = AsyncMongoClient(create_engine(None))
        async with client:
            db = client["t"]
            await db["big"].insert_many([{"_id": i, "g": i % 500} for i in range(2000)])
            await db["big"].create_index("g")
            await db["small"].insert_many([{"_id": i} for i in range(3)])
            by_field = (
                await db["small"]
                .aggregate([{"$lookup": {**field_join("_id", "g")["$lookup"], "from": "big"}}])
                .to_list()
            )
            by_id = (
                await db["small"]
                .aggregate([{"$lookup": {**field_join("_id", "_id")["$lookup"], "from": "big"}}])
                .to_list()
            )
            correlated_join = (
                await db["small"]
                .aggregate(
                    [
                        {
                            "$lookup": {
                                "from": "big",
                                "let": {"p": "$_id"},
                                "pipeline": [{"$match": {"$expr": {"$eq": ["$g", "$$p"]}}}],
                                "as": "j",
                            }
                        }
                    ]
                )
                .to_list()
            )
        return by_field, by_id, correlated_join

    by_field, by_id, correlated_join = asyncio.run(run())
    assert [len(document["j"]) for document in by_field] == [4, 4, 4]
    assert [len(document["j"]) for document in by_id] == [1, 1, 1]
    assert sorted(canonical(by_field), key=repr) == sorted(canonical(correlated_join), key=repr)
    assert reads == [("big", "g", 12), ("big", "_id", 3), ("big", "g", 12)]
