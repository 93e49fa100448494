"""Read-only views, as MongoDB 7.0 serves them.

Manual, "Views" and ``listCollections``: a view is created with ``viewOn`` and ``pipeline``,
listed with ``type: "view"``, ``options: {viewOn, pipeline}`` and ``info: {readOnly: true}``,
and read (find, aggregate, count, distinct) by running its pipeline on its source; a view on
a view resolves to the collection below. Writes to a view fail with CommandNotSupportedOnView
(166): "Namespace <db>.<view> is a view, not a collection" (``db_raii.cpp``), "Cannot create
indexes on a view" for createIndexes. ``find`` on a view is the aggregation
``asAggregationCommand`` (``query_request_helper.cpp``) builds, which refuses the find options
aggregation lacks with InvalidPipelineOperator (168).
"""

from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure, WriteError

ADULTS = [{"$match": {"age": {"$gte": 18}}}]


@pytest.fixture
def people(mongo_db):
    mongo_db.people.insert_many(
        [
            {"_id": 1, "name": "ann", "age": 30, "tags": ["a", "b"]},
            {"_id": 2, "name": "bob", "age": 12, "tags": ["c"]},
            {"_id": 3, "name": "cid", "age": 45, "tags": None},
            {"_id": 4, "name": "dee", "age": 18},
            {"_id": 5, "name": "eve", "age": 20, "tags": []},
        ]
    )
    mongo_db.create_collection("adults", viewOn="people", pipeline=ADULTS)
    mongo_db.create_collection("names", viewOn="adults", pipeline=[{"$project": {"name": 1}}])
    return mongo_db


def test_views_are_listed_as_views(people):
    infos = {info["name"]: info for info in people.list_collections()}
    assert infos["adults"]["type"] == "view"
    assert infos["adults"]["options"] == {"viewOn": "people", "pipeline": ADULTS}
    assert infos["adults"]["info"]["readOnly"] is True
    assert infos["people"]["type"] == "collection"
    assert infos["people"]["info"]["readOnly"] is False
    views = {info["name"] for info in people.list_collections(filter={"type": "view"})}
    assert views == {"adults", "names"}
    assert {"adults", "names", "people"} <= set(people.list_collection_names())


def test_find_runs_the_views_pipeline_on_its_source(people):
    assert [d["_id"] for d in people.adults.find().sort("_id", 1)] == [1, 3, 4, 5]
    found = people.adults.find({"age": {"$lt": 40}}, {"name": 1}, sort=[("age", -1)], skip=1)
    assert list(found) == [{"_id": 5, "name": "eve"}, {"_id": 4, "name": "dee"}]
    assert [d["_id"] for d in people.adults.find(batch_size=1).sort("_id", 1)] == [1, 3, 4, 5]
    assert people.adults.find_one({}, sort=[("age", 1)])["_id"] == 4
    assert list(people.names.find({"_id": 3})) == [{"_id": 3, "name": "cid"}]
    with pytest.raises(OperationFailure) as refused:
        people.adults.find(min={"_id": 1}, hint={"_id": 1}).to_list()
    assert refused.value.code == 168


def test_aggregate_count_and_distinct_read_through_the_view(people):
    assert list(people.adults.aggregate([{"$count": "n"}])) == [{"n": 4}]
    assert list(people.names.aggregate([{"$match": {"name": "ann"}}])) == [
        {"_id": 1, "name": "ann"}
    ]
    assert people.adults.count_documents({"age": {"$gt": 18}}) == 3
    assert people.adults.estimated_document_count() == 4
    assert people.names.estimated_document_count() == 4
    assert sorted(people.adults.distinct("tags"), key=repr) == ["a", "b", None]
    assert sorted(people.adults.distinct("name", {"age": {"$lt": 25}})) == ["dee", "eve"]


def test_writes_to_a_view_are_refused(people):
    message = f"Namespace {people.name}.adults is a view, not a collection"
    for write in (
        lambda: people.adults.insert_one({"age": 50}),
        lambda: people.adults.update_one({}, {"$set": {"x": 1}}),
        lambda: people.adults.delete_many({}),
    ):
        with pytest.raises(WriteError) as refused:
            write()
        assert refused.value.code == 166 and refused.value.details["errmsg"] == message
    with pytest.raises(OperationFailure) as refused:
        people.adults.find_one_and_update({}, {"$set": {"x": 1}})
    assert refused.value.code == 166
    with pytest.raises(OperationFailure) as refused:
        people.adults.create_index("age")
    assert refused.value.code == 166
    assert people.people.count_documents({}) == 5
    assert people.people.count_documents({"x": {"$exists": True}}) == 0


def test_dropping_a_view_leaves_its_source(people):
    people.names.drop()
    people.adults.drop()
    assert set(people.list_collection_names()) == {"people"}
    assert people.people.count_documents({}) == 5
    people.create_collection("adults", viewOn="people", pipeline=[{"$match": {"age": 12}}])
    assert [d["_id"] for d in people.adults.find()] == [2]
