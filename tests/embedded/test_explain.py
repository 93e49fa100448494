"""``explain`` in MongoDB 7.0's layout (corrections/explain.py, corrections/explain_plans.py).

The layout is the manual's ("Explain Results": ``queryPlanner`` with ``namespace``,
``indexFilterSet``, ``parsedQuery``, ``winningPlan`` as a tree of ``stage``/``inputStage``,
``rejectedPlans``; ``executionStats`` with ``nReturned``, ``executionTimeMillis``,
``totalKeysExamined``, ``totalDocsExamined``, ``executionStages``; ``serverInfo``;
``explainVersion``), with the classic engine's stages (COLLSCAN, IXSCAN, FETCH, IDHACK, EOF,
SORT, SKIP, LIMIT, PROJECTION_SIMPLE / PROJECTION_DEFAULT, COUNT, RECORD_STORE_FAST_COUNT,
UPDATE, DELETE). An aggregate with stages after its cursor answers ``stages: [{$cursor:
{queryPlanner}}, ...]`` (``jstests/aggregation/explain_per_stage_exec_stats.js``). The command's
refusals are its IDL parser's (``explain.idl``; the server's ``ExplainTest`` unit tests:
TypeMismatch for a verbosity that is not a string, BadValue for an unknown one, 40414, 40415)
and ``jstests/aggregation/explain_writing_aggs.js`` ($out / $merge never run by explain).

Against a real ``mongod`` (``MONGODB_URI``) the aggregate tests set
``internalQueryFrameworkControl: "forceClassicEngine"``, the engine whose layout this server
answers in; finds run in the classic engine by default in 7.0.
"""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest
from pymongo.errors import OperationFailure

from django_mongo_backend.embedded.corrections import explain_plans

DOCUMENTS = 30


@pytest.fixture
def collection(mongo_db):
    """30 documents (``a`` unique per document, ``b`` in three groups), indexed on ``a``."""
    collection = mongo_db["c"]
    collection.insert_many([{"_id": i, "a": i, "b": i % 3} for i in range(DOCUMENTS)])
    collection.create_index("a")
    return collection


@pytest.fixture
def classic_engine(mongo_client):
    """The classic engine on a real mongod (this server has no other)."""
    if not os.environ.get("MONGODB_URI"):
        yield
        return
    admin = mongo_client.admin
    was = admin.command("setParameter", 1, internalQueryFrameworkControl="forceClassicEngine")
    yield
    admin.command("setParameter", 1, internalQueryFrameworkControl=was["was"])


def explain(collection, command, verbosity=None):
    options = {} if verbosity is None else {"verbosity": verbosity}
    return collection.database.command("explain", command, **options)


def stage_names(plan):
    """The stages of a winning plan, root first (the first input of each)."""
    names = []
    while isinstance(plan, dict):
        names.append(plan["stage"])
        plan = plan.get("inputStage") or (plan.get("inputStages") or [None])[0]
    return names


def leaf(plan):
    while plan.get("inputStage"):
        plan = plan["inputStage"]
    return plan


# -- the layout --------------------------------------------------------------------------------


def test_find_on_an_indexed_field_is_fetch_over_ixscan(collection):
    explained = explain(collection, {"find": "c", "filter": {"a": 5}}, "queryPlanner")
    assert explained["explainVersion"] == "1"
    planner = explained["queryPlanner"]
    assert planner["namespace"] == f"{collection.database.name}.c"
    assert planner["indexFilterSet"] is False
    assert planner["parsedQuery"] == {"a": {"$eq": 5}}
    assert planner["rejectedPlans"] == []
    fetch = planner["winningPlan"]
    assert stage_names(fetch) == ["FETCH", "IXSCAN"]
    scan = fetch["inputStage"]
    assert scan["indexName"] == "a_1" and scan["keyPattern"] == {"a": 1}
    assert scan["isMultiKey"] is False and scan["isUnique"] is False
    assert explained["command"]["find"] == "c" and explained["command"]["filter"] == {"a": 5}
    assert explained["command"]["$db"] == collection.database.name
    server = explained["serverInfo"]
    assert server["version"].startswith("7.0") and server["host"] and server["port"]
    assert "serverParameters" in explained
    assert explained["ok"] == 1


def test_the_server_parameters_name_the_classic_engine(collection):
    """The layout is the classic engine's, and the reply says so as 7.0's does."""
    if os.environ.get("MONGODB_URI"):
        pytest.skip("a real mongod reports its own framework control")
    explained = explain(collection, {"find": "c", "filter": {"a": 5}}, "queryPlanner")
    parameters = explained["serverParameters"]
    assert parameters["internalQueryFrameworkControl"] == "forceClassicEngine"
    assert parameters["internalQueryMaxBlockingSortMemoryUsageBytes"] == 100 * 1024 * 1024


def test_an_unindexed_filter_is_a_collection_scan(collection):
    """An index on another field is not claimed: the index named is the one read."""
    explained = explain(collection, {"find": "c", "filter": {"b": 1, "x": {"$gt": 2}}})
    plan = explained["queryPlanner"]["winningPlan"]
    assert stage_names(plan) == ["COLLSCAN"]
    assert plan["direction"] == "forward"
    assert plan["filter"] == {"$and": [{"b": {"$eq": 1}}, {"x": {"$gt": 2}}]}


def test_an_id_equality_is_idhack_and_an_id_list_reads_the_id_index(collection):
    explained = explain(collection, {"find": "c", "filter": {"_id": 7}})
    assert stage_names(explained["queryPlanner"]["winningPlan"]) == ["IDHACK"]
    explained = explain(collection, {"find": "c", "filter": {"_id": {"$in": [1, 2]}}})
    plan = explained["queryPlanner"]["winningPlan"]
    assert stage_names(plan) == ["FETCH", "IXSCAN"]
    assert plan["inputStage"]["indexName"] == "_id_"


def test_a_missing_collection_is_eof(mongo_db):
    explained = explain(mongo_db["missing"], {"find": "missing", "filter": {"a": 1}})
    assert explained["queryPlanner"]["winningPlan"] == {"stage": "EOF"}
    assert explained["executionStats"]["nReturned"] == 0


def test_sort_skip_limit_and_projection_stages(collection):
    command = {"find": "c", "filter": {"b": 1}, "sort": {"b": -1}, "skip": 2, "limit": 3}
    plan = explain(collection, command)["queryPlanner"]["winningPlan"]
    assert stage_names(plan) == ["SKIP", "SORT", "COLLSCAN"]
    assert plan["skipAmount"] == 2
    sort = plan["inputStage"]
    assert sort["sortPattern"] == {"b": -1} and sort["limitAmount"] == 5
    plan = explain(collection, {"find": "c", "filter": {"b": 1}, "limit": 3})["queryPlanner"]
    assert stage_names(plan["winningPlan"]) == ["LIMIT", "COLLSCAN"]
    assert plan["winningPlan"]["limitAmount"] == 3
    included = explain(collection, {"find": "c", "projection": {"a": 1}})
    assert stage_names(included["queryPlanner"]["winningPlan"])[0] == "PROJECTION_SIMPLE"
    excluded = explain(collection, {"find": "c", "projection": {"a": 0}})
    assert stage_names(excluded["queryPlanner"]["winningPlan"])[0] == "PROJECTION_DEFAULT"


def test_fetch_filters_what_the_index_does_not_answer(collection):
    explained = explain(collection, {"find": "c", "filter": {"a": {"$lt": 9}, "b": 0}})
    fetch = explained["queryPlanner"]["winningPlan"]
    assert stage_names(fetch) == ["FETCH", "IXSCAN"]
    assert fetch["filter"] == {"b": {"$eq": 0}}


# -- verbosity and execution -------------------------------------------------------------------


def test_query_planner_verbosity_runs_nothing(collection):
    explained = explain(collection, {"find": "c", "filter": {"b": 1}}, "queryPlanner")
    assert "executionStats" not in explained


def test_execution_stats_count_what_the_read_examined(collection):
    scan = explain(collection, {"find": "c", "filter": {"b": 1}}, "executionStats")
    stats = scan["executionStats"]
    assert stats["nReturned"] == DOCUMENTS // 3
    assert (stats["totalKeysExamined"], stats["totalDocsExamined"]) == (0, DOCUMENTS)
    assert isinstance(stats["executionTimeMillis"], int)
    stages = stats["executionStages"]
    assert stages["stage"] == "COLLSCAN" and stages["nReturned"] == DOCUMENTS // 3
    assert stages["docsExamined"] == DOCUMENTS
    assert "allPlansExecution" not in stats
    indexed = explain(collection, {"find": "c", "filter": {"a": {"$lt": 4}}}, "executionStats")
    stats = indexed["executionStats"]
    assert (stats["nReturned"], stats["totalKeysExamined"], stats["totalDocsExamined"]) == (
        4,
        4,
        4,
    )
    assert stats["executionStages"]["inputStage"]["keysExamined"] == 4


def test_the_default_verbosity_is_all_plans_execution(collection):
    """``explain.idl``: ``verbosity`` defaults to ``allPlansExecution``."""
    stats = explain(collection, {"find": "c", "filter": {"a": 3}})["executionStats"]
    assert stats["nReturned"] == 1
    assert isinstance(stats["allPlansExecution"], list)


def test_an_aggregate_with_stages_after_its_cursor(collection, classic_engine):
    pipeline = [{"$match": {"b": 1}}, {"$group": {"_id": "$b", "n": {"$sum": 1}}}]
    command = {"aggregate": "c", "pipeline": pipeline, "cursor": {}}
    explained = explain(collection, command, "executionStats")
    assert explained["explainVersion"] == "1"
    cursor, group = explained["stages"]
    planner = cursor["$cursor"]["queryPlanner"]
    assert planner["parsedQuery"] == {"b": {"$eq": 1}}
    assert leaf(planner["winningPlan"])["stage"] == "COLLSCAN"
    assert cursor["nReturned"] == DOCUMENTS // 3
    assert "$group" in group and group["nReturned"] == 1
    assert explained["command"]["pipeline"] == pipeline


def test_an_aggregate_read_by_its_cursor_alone_is_a_query_plan(collection, classic_engine):
    command = {"aggregate": "c", "pipeline": [{"$match": {"a": 5}}], "cursor": {}}
    explained = explain(collection, command, "executionStats")
    assert "stages" not in explained
    assert stage_names(explained["queryPlanner"]["winningPlan"]) == ["FETCH", "IXSCAN"]
    assert explained["executionStats"]["nReturned"] == 1


def test_count_distinct_update_and_delete(collection):
    counted = explain(collection, {"count": "c", "query": {"b": 2}})
    assert stage_names(counted["queryPlanner"]["winningPlan"]) == ["COUNT", "COLLSCAN"]
    assert counted["executionStats"]["executionStages"]["nCounted"] == DOCUMENTS // 3
    everything = explain(collection, {"count": "c"}, "queryPlanner")
    assert stage_names(everything["queryPlanner"]["winningPlan"]) == ["RECORD_STORE_FAST_COUNT"]
    distinct = explain(collection, {"distinct": "c", "key": "b", "query": {"a": 1}})
    assert "IXSCAN" in stage_names(distinct["queryPlanner"]["winningPlan"])
    update = {"q": {"b": 0}, "u": {"$set": {"x": 1}}, "multi": True}
    updated = explain(collection, {"update": "c", "updates": [update]})
    assert stage_names(updated["queryPlanner"]["winningPlan"]) == ["UPDATE", "COLLSCAN"]
    assert updated["executionStats"]["executionStages"]["nMatched"] == DOCUMENTS // 3
    deleted = explain(collection, {"delete": "c", "deletes": [{"q": {"_id": 4}, "limit": 1}]})
    assert stage_names(deleted["queryPlanner"]["winningPlan"]) == ["DELETE", "IDHACK"]
    assert deleted["executionStats"]["executionStages"]["nWouldDelete"] == 1
    # Explain describes the writes; it makes none.
    assert collection.count_documents({"x": 1}) == 0
    assert collection.count_documents({}) == DOCUMENTS


# -- refusals ----------------------------------------------------------------------------------


def refused(database, command):
    with pytest.raises(OperationFailure) as raised:
        database.command(command)
    return raised.value


def test_unknown_verbosity_is_bad_value(collection):
    database = collection.database
    error = refused(database, {"explain": {"find": "c"}, "verbosity": "loud"})
    assert error.code == 2 and "'loud'" in str(error)
    assert refused(database, {"explain": {"find": "c"}, "verbosity": 1}).code == 14
    assert refused(database, {"explain": {"find": "c"}, "deep": True}).code == 40415
    assert refused(database, {"explain": 1}).code == 40414
    # Generic arguments are not explain's fields, and pass.
    assert database.command({"explain": {"find": "c"}, "comment": "x", "maxTimeMS": 5000})["ok"]


def test_commands_that_cannot_be_explained_are_refused(collection):
    database = collection.database
    error = refused(database, {"explain": {"insert": "c", "documents": [{"_id": "new"}]}})
    assert error.code == 20 and "Cannot explain cmd: insert" in str(error)
    error = refused(database, {"explain": {"frobnicate": "c"}})
    assert error.code == 59 and "unknown command" in str(error)
    assert refused(database, {"explain": {"explain": {"find": "c"}}}).code == 20
    assert collection.count_documents({"_id": "new"}) == 0


@pytest.mark.parametrize("stage", [{"$out": "target"}, {"$merge": {"into": "target"}}])
def test_explain_never_runs_a_writing_stage(collection, stage):
    command = {"aggregate": "c", "pipeline": [stage], "cursor": {}}
    for verbosity in ("executionStats", "allPlansExecution"):
        error = refused(collection.database, {"explain": command, "verbosity": verbosity})
        assert error.code in (51029, 51184)
    explain(collection, command, "queryPlanner")
    assert collection.database["target"].count_documents({}) == 0


def test_a_read_of_a_view_explains_the_aggregation_on_its_source(collection):
    """A read of a view runs the view's pipeline on its source (manual, "Views"), and explain
    describes that: the source's namespace, the view's filter with the read's."""
    database = collection.database
    database.create_collection("recent", viewOn="c", pipeline=[{"$match": {"a": {"$gte": 20}}}])
    explained = explain(database["recent"], {"find": "recent", "filter": {"b": 1}})
    planner = explained["queryPlanner"]
    assert planner["namespace"] == f"{database.name}.c"
    assert planner["parsedQuery"] == {"$and": [{"b": {"$eq": 1}}, {"a": {"$gte": 20}}]}
    assert explained["executionStats"]["nReturned"] == 3  # 22, 25, 28
    update = {"q": {}, "u": {"$set": {"x": 1}}}
    error = refused(database, {"explain": {"update": "recent", "updates": [update]}})
    assert error.code == 166


# -- the engine's side -------------------------------------------------------------------------


def test_the_engines_own_plan_is_reported(collection):
    if os.environ.get("MONGODB_URI"):
        pytest.skip("the embedded server's own field")
    plan = explain(collection, {"find": "c", "filter": {"a": 5}})["mongoecoPlan"]
    assert plan["strategy"] == "sql"
    assert "scalar_index_entries" in plan["sql"]
    assert plan["sqlitePlan"]


class _ReadOnlyEngine:
    """What ``explain_plans`` asks of mongoeco's engine, over the server's data file."""

    def __init__(self, connection):
        self._lock = threading.Lock()
        self._connection = connection

    def _require_connection(self, _context):
        return self._connection

    def _collection_exists_sync(self, _connection, _db_name, _coll_name):
        return True


def test_an_index_holding_arrays_is_multikey(mongo_db, embedded_dbpath):
    """``isMultiKey``: true once a document stored an array under the index's key."""
    if os.environ.get("MONGODB_URI"):
        pytest.skip("reads the embedded server's data file")
    collection = mongo_db["m"]
    collection.insert_many([{"_id": 1, "s": 1, "m": 1}, {"_id": 2, "s": 2, "m": [2, 3]}])
    collection.create_index("s")
    collection.create_index("m")
    path = embedded_dbpath / "mongo.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        engine = _ReadOnlyEngine(connection)
        exists, _, multikey = explain_plans._catalog_sync(engine, mongo_db.name, "m")
    assert exists
    assert multikey == {"s_1": False, "m_1": True}


def test_parsed_query_orders_clauses_as_mongodb():
    """``MatchExpression::sortTree``: by match type (EQ before LT before GT before IN), then
    path; a value alone is ``$eq``, ``$ne`` a ``$not`` of ``$eq``."""
    parsed = explain_plans.parsed_query({"z": {"$in": [1]}, "y": {"$gt": 1}, "x": 1, "w": 2})
    assert parsed == {
        "$and": [
            {"w": {"$eq": 2}},
            {"x": {"$eq": 1}},
            {"y": {"$gt": 1}},
            {"z": {"$in": [1]}},
        ]
    }
    assert explain_plans.parsed_query({"a": {"$ne": 1}}) == {"a": {"$not": {"$eq": 1}}}
    assert explain_plans.parsed_query({"$and": [{"a": 1}]}) == {"a": {"$eq": 1}}
    assert explain_plans.parsed_query({}) == {}


def test_pymongo_cursor_explain_reads_the_layout(collection):
    """What drivers call: ``Cursor.explain()`` (verbosity allPlansExecution)."""
    explained = collection.find({"a": 3}).explain()
    assert stage_names(explained["queryPlanner"]["winningPlan"]) == ["FETCH", "IXSCAN"]
    assert explained["executionStats"]["nReturned"] == 1
