"""MongoDB 7.0's size and shape limits, with mongod's error codes (``embedded.corrections.limits``).

Sources: the manual's "MongoDB Limits and Thresholds" (BSON document size 16 MiB, nesting depth,
at most 32 sort keys) and the server source: ``src/mongo/bson/bson_depth.h`` (maxBSONDepth 200,
20 levels fewer for stored documents), ``bson_validate.cpp`` (command depth, 15 Overflow),
``db/ops/insert.cpp`` and ``db/update/storage_validation.cpp`` (stored depth),
``db/exec/update_stage.cpp`` (17419), ``bson/bsonobj.cpp`` (10334 past BSONObjMaxInternalSize),
``bson/ordering.h`` (13103 "too many compound keys"), ``db/pipeline/accumulator_push.cpp`` and
``accumulator_add_to_set.cpp`` (146 ExceededMemoryLimit, internalQueryMaxPushBytes /
internalQueryMaxAddToSetBytes) and ``document_source_facet.cpp`` (4031700,
internalQueryFacetMaxOutputDocSizeBytes).
"""

from __future__ import annotations

import pymongo
import pytest
from pymongo.errors import OperationFailure, WriteError

from django_mongo_backend.embedded import launcher
from django_mongo_backend.embedded.corrections import limits


def _nested(levels, leaf=1):
    """A value nested ``levels`` documents deep: ``{"a": {"a": ... leaf}}``."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


# --- command depth: bson_validate.cpp, maxBSONDepth 200 below the command's top level ---------


def test_a_command_nested_deeper_than_200_levels_is_refused_with_overflow(mongo_db):
    # {find, filter: F}: F is one level below the command, so F nested 201 deep is too deep.
    with pytest.raises(OperationFailure) as raised:
        mongo_db.command("find", "rows", filter=_nested(201))
    assert raised.value.code == 15
    assert raised.value.details["codeName"] == "Overflow"
    assert raised.value.details["errmsg"].startswith("BSONObj exceeds maximum nested object depth")


def test_a_command_nested_200_levels_deep_runs(mongo_db):
    # filter (1) -> {"$ne": ...} (2) -> 198 levels: the innermost document is 200 deep.
    mongo_db.rows.insert_one({"_id": 1})
    reply = mongo_db.command("find", "rows", filter={"_id": 1, "x": {"$ne": _nested(198)}})
    assert reply["cursor"]["firstBatch"] == [{"_id": 1}]


def test_arrays_count_as_levels_too(mongo_db):
    deep = 1
    for _ in range(201):
        deep = [deep]
    with pytest.raises(OperationFailure) as raised:
        mongo_db.command("find", "rows", filter={"x": {"$in": deep}})
    assert raised.value.code == 15


# --- stored depth: insert.cpp / storage_validation.cpp, 180 levels counting the document -----


def test_an_inserted_document_may_be_180_levels_deep(mongo_db):
    # The document itself is the first level (insert_test.cpp: makeNestedObject(180) passes).
    mongo_db.rows.insert_one({"_id": 1, "a": _nested(179)})
    assert mongo_db.rows.count_documents({}) == 1


def test_an_inserted_document_deeper_than_180_levels_is_a_write_error(mongo_db):
    with pytest.raises(WriteError) as raised:
        mongo_db.rows.insert_one({"_id": 1, "a": _nested(180)})
    assert raised.value.code == 15
    assert raised.value.details["errmsg"] == (
        "cannot insert document because it exceeds 180 levels of nesting"
    )
    assert mongo_db.rows.count_documents({}) == 0


def test_empty_sub_documents_do_not_count_towards_the_stored_depth(mongo_db):
    mongo_db.rows.insert_one({"_id": 1, "a": _nested(179, leaf={})})
    assert mongo_db.rows.count_documents({}) == 1


def test_an_ordered_insert_stores_the_documents_before_the_too_deep_one(mongo_db):
    documents = [{"_id": 1}, {"_id": 2, "a": _nested(180)}, {"_id": 3}]
    with pytest.raises(pymongo.errors.BulkWriteError) as raised:
        mongo_db.rows.insert_many(documents)
    assert [error["code"] for error in raised.value.details["writeErrors"]] == [15]
    assert [document["_id"] for document in mongo_db.rows.find()] == [1]


def test_an_update_nesting_deeper_than_180_levels_is_a_write_error(mongo_db):
    mongo_db.rows.insert_one({"_id": 1})
    mongo_db.rows.update_one({"_id": 1}, {"$set": {"a": _nested(179)}})
    with pytest.raises(WriteError) as raised:
        mongo_db.rows.update_one({"_id": 1}, {"$set": {"a": _nested(180)}})
    assert raised.value.code == 15
    assert raised.value.details["errmsg"] == "Document exceeds maximum nesting depth of 180"
    assert mongo_db.rows.find_one({"_id": 1}) == {"_id": 1, "a": _nested(179)}


# --- document size: update_stage.cpp (17419), bsonobj.cpp (10334) -----------------------------

#: Two strings of this length make a document just over 16 MiB and under 16 MiB + 16 KiB.
_HALF_OVER_USER_SIZE = 8_390_000


def test_an_update_building_a_document_over_16_mib_is_refused_with_17419(mongo_db):
    mongo_db.rows.insert_one({"_id": 1, "a": "x" * _HALF_OVER_USER_SIZE})
    with pytest.raises(WriteError) as raised:
        mongo_db.rows.update_one({"_id": 1}, {"$set": {"b": "y" * _HALF_OVER_USER_SIZE}})
    assert raised.value.code == 17419
    assert raised.value.details["errmsg"] == (
        "Resulting document after update is larger than 16777216"
    )
    assert "b" not in mongo_db.rows.find_one({"_id": 1}, {"a": 0})


def test_an_update_building_a_document_past_the_internal_size_is_bson_object_too_large(mongo_db):
    mongo_db.rows.insert_one({"_id": 1, "a": "x" * 9_000_000})
    with pytest.raises(WriteError) as raised:
        mongo_db.rows.update_one({"_id": 1}, {"$set": {"b": "y" * 9_000_000}})
    assert raised.value.code == 10334
    assert "Size must be between 0 and 16793600(16MB)" in raised.value.details["errmsg"]


def test_an_aggregation_result_document_over_the_limit_is_bson_object_too_large(mongo_db):
    """The manual, Aggregation Pipeline Limits: each result document is held to the BSON
    document size limit; mongod's message is BSONObj's own (limit 16 MiB + 16 KiB)."""
    chunk = "z" * 1_000_000
    mongo_db.rows.insert_many([{"_id": i, "s": chunk} for i in range(17)])
    with pytest.raises(OperationFailure) as raised:
        list(mongo_db.rows.aggregate([{"$group": {"_id": None, "all": {"$push": "$s"}}}]))
    assert raised.value.code == 10334
    assert raised.value.details["codeName"] == "BSONObjectTooLarge"
    assert "BSONObj size: " in raised.value.details["errmsg"]
    assert (
        "Size must be between 0 and 16793600(16MB) First element: _id: null"
        in (raised.value.details["errmsg"])
    )


def test_an_aggregation_result_under_the_limit_is_returned(mongo_db):
    chunk = "z" * 1_000_000
    mongo_db.rows.insert_many([{"_id": i, "s": chunk} for i in range(15)])
    (result,) = mongo_db.rows.aggregate([{"$group": {"_id": None, "all": {"$push": "$s"}}}])
    assert len(result["all"]) == 15


# --- sort keys: ordering.h, "You can sort on a maximum of 32 keys" ---------------------------


def _sort_pattern(keys):
    return {f"f{i}": 1 for i in range(keys)}


def test_find_sorting_on_33_keys_is_too_many_compound_keys(mongo_db):
    mongo_db.rows.insert_one({"_id": 1})
    with pytest.raises(OperationFailure) as raised:
        mongo_db.command("find", "rows", sort=_sort_pattern(33))
    assert raised.value.code == 13103
    assert raised.value.details["errmsg"] == "too many compound keys"


def test_sort_stage_on_33_keys_is_too_many_compound_keys(mongo_db):
    mongo_db.rows.insert_one({"_id": 1})
    with pytest.raises(OperationFailure) as raised:
        list(mongo_db.rows.aggregate([{"$sort": _sort_pattern(33)}]))
    assert raised.value.code == 13103
    with pytest.raises(OperationFailure) as raised:
        list(mongo_db.rows.aggregate([{"$facet": {"f": [{"$sort": _sort_pattern(33)}]}}]))
    assert raised.value.code == 13103


def test_sorting_on_32_keys_runs(mongo_db):
    mongo_db.rows.insert_many([{"_id": 1, "f0": 2}, {"_id": 2, "f0": 1}])
    found = mongo_db.rows.find(sort=list(_sort_pattern(32).items()))
    assert [document["_id"] for document in found] == [2, 1]
    aggregated = mongo_db.rows.aggregate([{"$sort": _sort_pattern(32)}])
    assert [document["_id"] for document in aggregated] == [2, 1]


# --- memory limits, lowered with server parameters (mongod: --setParameter) ------------------


@pytest.fixture(scope="module")
def small_limits_db(tmp_path_factory):
    """A server of its own, started with the memory limits lowered (as agg_configurable_memory
    _limits.js lowers them with setParameter), so that a few strings pass them."""
    dbpath = tmp_path_factory.mktemp("limits")
    parameters = ",".join(
        [
            "internalQueryMaxPushBytes=100",
            "internalQueryMaxAddToSetBytes=100",
            "internalQueryFacetMaxOutputDocSizeBytes=1000",
        ]
    )
    patch = pytest.MonkeyPatch()
    patch.setenv(limits.ENVIRONMENT_VARIABLE, parameters)
    try:
        info = launcher.ensure_server(dbpath)
    finally:
        patch.undo()
    client = pymongo.MongoClient(launcher.uri_for(info), serverSelectionTimeoutMS=10_000)
    database = client.limits
    database.rows.insert_many(
        [{"_id": i, "y": ["string 1", "string 2", "string 3", f"string {i}"]} for i in range(30)]
    )
    yield database
    client.close()
    launcher.stop_server(dbpath)


def _strings(operator):
    return [{"$unwind": "$y"}, {"$group": {"_id": None, "strings": {operator: "$y"}}}]


def test_push_past_its_memory_limit_is_exceeded_memory_limit(small_limits_db):
    with pytest.raises(OperationFailure) as raised:
        list(small_limits_db.rows.aggregate(_strings("$push")))
    assert raised.value.code == 146
    assert raised.value.details["codeName"] == "ExceededMemoryLimit"
    assert raised.value.details["errmsg"] == (
        "$push used too much memory and cannot spill to disk. Memory limit: 100 bytes"
    )


def test_add_to_set_past_its_memory_limit_is_exceeded_memory_limit(small_limits_db):
    with pytest.raises(OperationFailure) as raised:
        list(small_limits_db.rows.aggregate(_strings("$addToSet")))
    assert raised.value.code == 146
    assert raised.value.details["errmsg"].startswith("$addToSet used too much memory")


def test_the_accumulator_limits_hold_per_group(small_limits_db):
    """Each group has its own accumulator: 4 short strings per group stay under 100 bytes."""
    pipeline = [{"$unwind": "$y"}, {"$group": {"_id": "$_id", "strings": {"$push": "$y"}}}]
    assert len(list(small_limits_db.rows.aggregate(pipeline))) == 30


def test_add_to_set_counts_distinct_values_only(small_limits_db):
    pipeline = [
        {"$match": {"_id": {"$lt": 3}}},
        {"$unwind": "$y"},
        {"$match": {"y": {"$in": ["string 1", "string 2"]}}},
        {"$group": {"_id": None, "strings": {"$addToSet": "$y"}}},
    ]
    (result,) = small_limits_db.rows.aggregate(pipeline)
    assert sorted(result["strings"]) == ["string 1", "string 2"]


def test_facet_output_past_its_limit_is_refused_with_4031700(small_limits_db):
    with pytest.raises(OperationFailure) as raised:
        list(small_limits_db.rows.aggregate([{"$facet": {"all": [{"$match": {}}]}}]))
    assert raised.value.code == 4031700
    assert raised.value.details["errmsg"].startswith("document constructed by $facet is ")
    assert raised.value.details["errmsg"].endswith(", which exceeds the limit of 1000 bytes")


def test_facet_output_under_its_limit_is_returned(small_limits_db):
    (result,) = small_limits_db.rows.aggregate([{"$facet": {"one": [{"$limit": 1}]}}])
    assert len(result["one"]) == 1


# --- the measure and the parameters ----------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"a": 1, "b": 2**40, "c": 1.5, "d": "héllo", "e": None, "f": True},
        {"a": [1, [2, {"b": "c"}]], "bin": b"\x00\x01"},
    ],
)
def test_bson_size_is_the_encoded_size(document):
    import bson

    assert limits.bson_size(document) == len(bson.encode(document))


def test_unknown_or_out_of_range_parameters_are_refused():
    with pytest.raises(ValueError, match="unknown server parameter"):
        limits.set_parameters(["internalQueryMaxPushByte=1"])
    with pytest.raises(ValueError, match="between 5 and 1000"):
        limits.set_parameters(["maxBSONDepth=4"])


def test_parameters_come_from_the_environment_variable():
    environ = {limits.ENVIRONMENT_VARIABLE: " internalQueryMaxPushBytes=5 , maxBSONDepth=50"}
    assert limits.parameters_from_environment(environ) == [
        "internalQueryMaxPushBytes=5",
        "maxBSONDepth=50",
    ]
