"""More command corrections, found running the commands the backend's schema editor,
introspection and compiler send; each test states MongoDB's documented behaviour."""

from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure


def test_create_of_an_existing_collection_is_namespace_exists(mongo_db):
    """``create`` of an existing collection fails with code 48 NamespaceExists."""
    mongo_db.create_collection("a")
    with pytest.raises(OperationFailure) as failure:
        mongo_db.command("create", "a")
    assert failure.value.code == 48


def test_index_on_an_indexed_key_pattern_under_another_name_is_refused(mongo_db):
    """An index whose key pattern an index of another name already has is refused with code 85
    IndexOptionsConflict ("Index already exists with a different name"); asking again for the
    same index under the same name is a no-op."""
    mongo_db.a.create_index("n", name="by_n")
    with pytest.raises(OperationFailure) as failure:
        mongo_db.a.create_index("n", name="other")
    assert failure.value.code == 85
    assert mongo_db.a.create_index("n", name="by_n") == "by_n"
    assert sorted(mongo_db.a.index_information()) == ["_id_", "by_n"]


def test_index_with_an_existing_name_and_other_options_is_refused(mongo_db):
    """Re-creating an index under its name with other options is refused: 86
    IndexKeySpecsConflict when an identifying option differs (here ``unique``, part of an
    index's identity since 5.0: ``IndexDescriptor::compareIndexOptions``), 85
    IndexOptionsConflict when only another option does (here ``expireAfterSeconds``); see
    ``test_index_identity.py``."""
    mongo_db.a.create_index("q", name="by_q")
    with pytest.raises(OperationFailure) as failure:
        mongo_db.a.create_index("q", name="by_q", unique=True)
    assert failure.value.code == 86
    mongo_db.a.create_index("t", name="by_t", expireAfterSeconds=60)
    with pytest.raises(OperationFailure) as failure:
        mongo_db.a.create_index("t", name="by_t", expireAfterSeconds=5)
    assert failure.value.code == 85


def test_list_indexes_documents(mongo_db):
    """``listIndexes`` returns ``{v, key, name}`` plus the options set: no ``ns`` (dropped in
    4.4), ``unique`` only on unique indexes, and the ``_id`` index without ``unique``."""
    mongo_db.a.create_index("n", unique=True)
    mongo_db.a.create_index("m")
    indexes = {index["name"]: index for index in mongo_db.a.list_indexes()}
    assert dict(indexes["_id_"]) == {"v": 2, "key": {"_id": 1}, "name": "_id_"}
    assert dict(indexes["n_1"]) == {"v": 2, "key": {"n": 1}, "name": "n_1", "unique": True}
    assert dict(indexes["m_1"]) == {"v": 2, "key": {"m": 1}, "name": "m_1"}


def test_database_aggregate_over_documents(mongo_db):
    """A database-level aggregate (``aggregate: 1``) may start with ``$documents``; its cursor
    is on ``<db>.$cmd.aggregate`` and pages like any other."""
    documents = [{"x": i} for i in range(7)]
    pipeline = [{"$documents": documents}, {"$match": {"x": {"$gte": 2}}}, {"$project": {"x": 1}}]
    assert [doc["x"] for doc in mongo_db.aggregate(pipeline, batchSize=2)] == [2, 3, 4, 5, 6]
    reply = mongo_db.command({"aggregate": 1, "pipeline": pipeline[:1], "cursor": {}})
    assert reply["cursor"]["ns"] == f"{mongo_db.name}.$cmd.aggregate"
    assert mongo_db.list_collection_names() == []


def test_list_indexes_of_a_missing_collection_is_namespace_not_found(mongo_db):
    """``listIndexes`` on a collection that does not exist fails with code 26
    NamespaceNotFound (which pymongo's ``list_indexes`` turns into an empty result)."""
    with pytest.raises(OperationFailure) as failure:
        mongo_db.command("listIndexes", "missing")
    assert failure.value.code == 26
    assert list(mongo_db.missing.list_indexes()) == []
