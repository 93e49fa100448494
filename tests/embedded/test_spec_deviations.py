"""Deviations MongoDB's driver specification tests found in the embedded server, fixed.

Each test names the rule it checks (manual page, server source or the spec test that found
it); every one also holds against a real MongoDB 7.0 replica set (``MONGODB_URI``).
"""

from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure
from pymongo.read_concern import ReadConcern

TRANSIENT = "TransientTransactionError"


def assert_code(raised, code, code_name):
    assert raised.value.code == code, raised.value.details
    assert raised.value.details["codeName"] == code_name


# -- collections and indexes created in a transaction -----------------------------------------
# Manual, "Create Collections and Indexes in a Transaction" (4.4+): explicit ``create`` and
# ``createIndexes`` on a new collection run in a transaction and take effect at commit; spec
# tests transactions/create-collection and create-index.


def test_create_collection_in_a_transaction_appears_at_commit(mongo_db):
    client = mongo_db.client
    with client.start_session() as session:
        session.start_transaction()
        mongo_db.create_collection("fresh", session=session, validator={"n": {"$type": "int"}})
        mongo_db.fresh.insert_one({"_id": 1, "n": 1}, session=session)
        assert mongo_db.fresh.find_one({}, session=session) == {"_id": 1, "n": 1}
        assert "fresh" not in mongo_db.list_collection_names()  # not before the commit
        session.commit_transaction()
    assert mongo_db.fresh.options() == {"validator": {"n": {"$type": "int"}}}
    assert list(mongo_db.fresh.find()) == [{"_id": 1, "n": 1}]


def test_aborted_transaction_creates_nothing(mongo_db):
    with mongo_db.client.start_session() as session:
        session.start_transaction()
        mongo_db.create_collection("never", session=session)
        mongo_db.never.create_index("x", session=session)
        session.abort_transaction()
    assert "never" not in mongo_db.list_collection_names()


def test_create_index_on_new_collections_in_a_transaction(mongo_db):
    """On a collection that does not exist (created implicitly) or that the transaction
    created and has not written to yet (``runCreateIndexesOnNewCollection``)."""
    with mongo_db.client.start_session() as session:
        session.start_transaction()
        assert mongo_db.implicit.create_index([("y", -1)], name="y_desc", session=session) == (
            "y_desc"
        )
        mongo_db.create_collection("explicit", session=session)
        mongo_db.explicit.create_index("x", session=session)
        mongo_db.explicit.insert_one({"x": 1}, session=session)
        session.commit_transaction()
    assert [index["name"] for index in mongo_db.implicit.list_indexes()] == ["_id_", "y_desc"]
    assert [index["name"] for index in mongo_db.explicit.list_indexes()] == ["_id_", "x_1"]


def test_create_existing_collection_in_a_transaction_fails_and_aborts(mongo_db):
    """jstests/core/txns/create_collection.js: NamespaceExists, and the transaction is gone."""
    mongo_db.old.insert_one({"_id": 1})
    with mongo_db.client.start_session() as session:
        session.start_transaction()
        with pytest.raises(OperationFailure) as raised:
            mongo_db.create_collection("old", session=session)
        assert_code(raised, 48, "NamespaceExists")
        with pytest.raises(OperationFailure) as raised:
            mongo_db.old.find_one({}, session=session)
        assert_code(raised, 251, "NoSuchTransaction")


def test_new_index_on_existing_collection_is_refused_in_a_transaction(mongo_db):
    """``create_indexes.cpp``: an index that does not exist yet on a collection that existed
    before the transaction needs an exclusive lock: 263."""
    mongo_db.old.insert_one({"_id": 1})
    with mongo_db.client.start_session() as session:
        session.start_transaction()
        with pytest.raises(OperationFailure) as raised:
            mongo_db.old.create_index("z", session=session)
        assert_code(raised, 263, "OperationNotSupportedInTransaction")
        assert raised.value.details["errmsg"] == (
            f"Cannot create new indexes on existing collection {mongo_db.name}.old in a "
            "multi-document transaction."
        )


def test_index_on_a_collection_written_in_the_transaction_is_refused(mongo_db):
    with mongo_db.client.start_session() as session:
        session.start_transaction()
        mongo_db.written.insert_one({"a": 1}, session=session)
        with pytest.raises(OperationFailure) as raised:
            mongo_db.written.create_index("a", session=session)
        assert_code(raised, 263, "OperationNotSupportedInTransaction")
        assert "non-empty collection" in raised.value.details["errmsg"]


def test_creating_in_a_transaction_needs_read_concern_local(mongo_db):
    """jstests/core/txns/create_collection_and_index_disallowed_with_readconcern.js:
    InvalidOptions, and the transaction is aborted."""
    with mongo_db.client.start_session() as session:
        session.start_transaction(read_concern=ReadConcern("snapshot"))
        with pytest.raises(OperationFailure) as raised:
            mongo_db.create_collection("snap", session=session)
        assert_code(raised, 72, "InvalidOptions")
        with pytest.raises(OperationFailure) as raised:
            mongo_db.other.find_one({}, session=session)
        assert_code(raised, 251, "NoSuchTransaction")
    assert "snap" not in mongo_db.list_collection_names()


def test_two_transactions_creating_one_namespace_conflict(mongo_db):
    """The catalog refuses a namespace another open transaction created: WriteConflict,
    labelled for a retry ("Collection namespace ... is already in use")."""
    client = mongo_db.client
    with client.start_session() as first, client.start_session() as second:
        first.start_transaction()
        second.start_transaction()
        mongo_db.create_collection("contested", session=first)
        with pytest.raises(OperationFailure) as raised:
            mongo_db.create_collection("contested", session=second)
        assert_code(raised, 112, "WriteConflict")
        assert raised.value.has_error_label(TRANSIENT)
        first.commit_transaction()
    assert "contested" in mongo_db.list_collection_names()


# -- Atlas Search index management ------------------------------------------------------------
# MongoDB 7.0 without a search index management host (any server outside Atlas) refuses the
# search index commands with CommandNotSupported before anything else
# (``throwIfNotRunningWithRemoteSearchIndexManagement``, ``search_index_commands.cpp``) and the
# ``$listSearchIndexes`` stage with 6047401; spec tests index-management/*SearchIndex*.

SEARCH_INDEX_COMMANDS = [
    {"createSearchIndexes": "coll", "indexes": [{"definition": {"mappings": {}}}]},
    {"updateSearchIndex": "coll", "name": "x", "definition": {}},
    {"dropSearchIndex": "coll", "name": "x"},
]


@pytest.mark.parametrize("command", SEARCH_INDEX_COMMANDS, ids=lambda command: next(iter(command)))
def test_search_index_commands_are_atlas_only(mongo_db, command):
    with pytest.raises(OperationFailure) as raised:
        mongo_db.command(command)
    assert_code(raised, 115, "CommandNotSupported")
    assert raised.value.details["errmsg"] == "Search index commands are only supported with Atlas."


def test_list_search_indexes_stage_is_atlas_only(mongo_db):
    mongo_db.coll.insert_one({})
    with pytest.raises(OperationFailure) as raised:
        list(mongo_db.coll.list_search_indexes())
    assert raised.value.code == 6047401
    assert "only allowed on MongoDB Atlas" in raised.value.details["errmsg"]


# -- $out ---------------------------------------------------------------------------------------
# Manual, "$out": the results replace the target collection (same or another database), whose
# indexes stay; a failure leaves the target as it was. Spec tests crud/aggregate-out*.


@pytest.fixture
def source(mongo_db):
    mongo_db.source.insert_many([{"_id": i, "n": i % 2} for i in range(4)])
    return mongo_db.source


def test_out_replaces_the_target_and_keeps_its_indexes(mongo_db, source):
    mongo_db.target.insert_one({"_id": "old"})
    mongo_db.target.create_index("n")
    assert list(source.aggregate([{"$match": {"n": 1}}, {"$out": "target"}])) == []
    assert sorted(document["_id"] for document in mongo_db.target.find()) == [1, 3]
    assert [index["name"] for index in mongo_db.target.list_indexes()] == ["_id_", "n_1"]


def test_out_to_another_database(mongo_db, source):
    other = mongo_db.client[mongo_db.name + "_out"]
    try:
        source.aggregate([{"$out": {"db": other.name, "coll": "copy"}}])
        assert other.copy.count_documents({}) == 4
    finally:
        mongo_db.client.drop_database(other.name)


def test_out_failure_leaves_the_target_alone(mongo_db, source):
    """A duplicate _id among the results fails the insert into the temporary collection."""
    mongo_db.target.insert_one({"_id": "old"})
    with pytest.raises(OperationFailure) as raised:
        source.aggregate([{"$project": {"_id": "$n"}}, {"$out": "target"}])
    assert_code(raised, 11000, "DuplicateKey")
    assert list(mongo_db.target.find()) == [{"_id": "old"}]
    assert sorted(mongo_db.list_collection_names()) == ["source", "target"]


@pytest.mark.parametrize(
    ("pipeline", "code"),
    [
        ([{"$out": "target"}, {"$match": {}}], 40601),
        ([{"$facet": {"f": [{"$out": "target"}]}}], 40600),
        ([{"$lookup": {"from": "x", "pipeline": [{"$out": "target"}], "as": "y"}}], 51047),
        ([{"$out": {"db": "admin", "coll": "target"}}], 31321),
    ],
    ids=["not-last", "in-facet", "in-lookup", "internal-database"],
)
def test_out_placement_and_target_rules(source, pipeline, code):
    """Server source: ``Pipeline::validateCommon`` (40601), ``$facet`` (40600), ``$lookup``'s
    ``lookupPipeValidator`` (51047), ``DocumentSourceOut`` (31321)."""
    with pytest.raises(OperationFailure) as raised:
        source.aggregate(pipeline)
    assert raised.value.code == code


def test_out_refuses_linearizable_read_concern(source):
    """``DocumentSourceOut``'s ``supportsReadConcern``; spec test crud/aggregate-out-readConcern."""
    with pytest.raises(OperationFailure) as raised:
        source.with_options(read_concern=ReadConcern("linearizable")).aggregate(
            [{"$out": "target"}]
        )
    assert_code(raised, 72, "InvalidOptions")


# -- $merge whenMatched: "fail" -----------------------------------------------------------------


def test_merge_when_matched_fail_is_a_duplicate_key_error(mongo_db):
    """Spec test crud/aggregate-merge-errorResponse: code 11000 with keyPattern and keyValue."""
    mongo_db.test.insert_many([{"_id": 1, "x": 1}, {"_id": 2, "x": 1}])
    with pytest.raises(OperationFailure) as raised:
        mongo_db.aggregate(
            [
                {"$documents": [{"_id": 3}, {"_id": 2, "x": 1}]},
                {"$merge": {"into": "test", "whenMatched": "fail"}},
            ]
        )
    assert_code(raised, 11000, "DuplicateKey")
    assert raised.value.details["keyPattern"] == {"_id": 1}
    assert raised.value.details["keyValue"] == {"_id": 2}
    assert mongo_db.test.count_documents({}) == 3  # the document before the match stays


# -- let ----------------------------------------------------------------------------------------


def test_let_values_are_expressions_evaluated_once(mongo_db):
    """Manual, ``aggregate``'s ``let`` (each value "can be any valid expression"); spec tests
    crud/aggregate-let and updateMany-let."""
    mongo_db.coll.insert_many([{"_id": 1}, {"_id": 2}])
    results = list(
        mongo_db.coll.aggregate(
            [{"$project": {"_id": 0, "y": "$$y", "sum": "$$sum", "r": "$$r"}}],
            let={"y": {"$literal": "$bar"}, "sum": {"$add": [1, 2]}, "r": {"$rand": {}}},
        )
    )
    assert [(result["y"], result["sum"]) for result in results] == [("$bar", 3)] * 2
    assert results[0]["r"] == results[1]["r"]  # once per command, not per document
    mongo_db.coll.update_many({}, [{"$set": {"x": "$$x"}}], let={"x": {"$literal": "$y"}})
    assert {document["x"] for document in mongo_db.coll.find()} == {"$y"}


# -- $listLocalSessions -------------------------------------------------------------------------


def test_list_local_sessions_lists_the_callers_session(mongo_db):
    """Manual, "$listLocalSessions": a database-level aggregate over the server's sessions;
    spec test crud/db-aggregate."""
    with mongo_db.client.start_session() as session:
        sessions = list(mongo_db.aggregate([{"$listLocalSessions": {}}], session=session))
        assert session.session_id["id"] in [listed["_id"]["id"] for listed in sessions]
        assert all(set(listed) >= {"_id", "lastUse"} for listed in sessions)


# -- _id storage validation ---------------------------------------------------------------------


@pytest.mark.parametrize("_id", [{"$a": 1}, {"a": {"$b": 1}}, {"a": [{"$c": 1}]}])
def test_id_with_a_dollar_prefixed_field_is_refused(mongo_db, _id):
    """``storageValidIdField`` (server ``storage_validation.cpp``): DollarPrefixedFieldName (52)
    at any depth of an embedded ``_id``; spec test crud/insertOne-dots_and_dollars."""
    with pytest.raises(OperationFailure) as raised:
        mongo_db.coll.insert_one({"_id": _id})
    assert raised.value.code == 52
    assert "_id fields may not contain '$'-prefixed fields" in str(raised.value)
    with pytest.raises(OperationFailure) as raised:
        mongo_db.coll.replace_one({"x": 1}, {"_id": _id, "x": 1}, upsert=True)
    assert raised.value.code == 52
    assert mongo_db.coll.count_documents({}) == 0


def test_id_may_be_a_dbref(mongo_db):
    from bson.dbref import DBRef

    mongo_db.coll.insert_one({"_id": DBRef("other", 1)})
    assert mongo_db.coll.count_documents({}) == 1
