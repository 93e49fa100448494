"""The indexed paths of ``performance/fastpaths.py`` answer exactly what the engine's slow paths do.

Each query runs the fast way (``find``, or a leading ``$match``, which the engine pushes down to
SQL) and a reference way: the same filter after an ``$addFields`` stage, which the engine
evaluates in Python over every document. MongoDB's documentation (Comparison/Sort Order) has
int, long, double and decimal compare by value, so ``_id: 5`` matches ``5``, ``Int64(5)`` and
``5.0`` alike, and a duplicate ``_id`` of another numeric type violates the ``_id`` index.
"""

from __future__ import annotations

import pytest
from bson import Decimal128, Int64, ObjectId
from pymongo.errors import BulkWriteError

from django_mongo_backend.embedded.performance import fastpaths, joins

OIDS = [ObjectId() for _ in range(3)]

DOCUMENTS = [
    {"_id": 1, "a": 3, "s": "x"},
    {"_id": Int64(2), "a": None},
    {"_id": 3.0, "a": 1, "s": "y"},
    {"_id": 3.5, "a": 2},
    {"_id": 2**40, "a": 5},
    {"_id": -0.0},
    {"_id": "k1", "a": 3, "s": "z"},
    {"_id": "k2", "a": 1},
    {"_id": OIDS[0], "a": 4, "s": "w"},
    {"_id": OIDS[1]},
    {"_id": {"n": 1}, "a": 0},
]

QUERIES = [
    {"_id": 1},
    {"_id": 1.0},
    {"_id": Int64(1)},
    {"_id": 2},
    {"_id": 2.0},
    {"_id": 3},
    {"_id": Int64(3)},
    {"_id": 3.5},
    {"_id": 2**40},
    {"_id": float(2**40)},
    {"_id": 0},
    {"_id": 99},
    {"_id": "k1"},
    {"_id": "nope"},
    {"_id": OIDS[0]},
    {"_id": OIDS[2]},
    {"_id": {"n": 1}},
    {"_id": {"$in": [1, 2.0, "k2", OIDS[1], 77]}},
    {"_id": {"$in": []}},
    {"_id": 1, "a": 3},
    {"_id": 1, "a": 4},
    {"$or": [{"_id": 3}, {"a": 4}]},
    {"_id": {"$in": [1, 3, "k1", "k2"]}, "a": {"$gte": 1}},
    {"$nor": [{"_id": 1}]},
]

#: Stages after the match: sort (with ties and missing values), skip, limit, projection.
TAILS = [
    [],
    [{"$limit": 21}],
    [{"$sort": {"a": 1, "_id": 1}}, {"$skip": 1}, {"$limit": 2}],
    [{"$sort": {"s": -1}}, {"$project": {"s": 1}}],
    [{"$project": {"_id": 0, "a": 1}}],
]


@pytest.fixture(params=[False, True], ids=["no_index", "index"])
def collection(mongo_db, request):
    collection = mongo_db["c"]
    collection.insert_many(DOCUMENTS)
    if request.param:
        collection.create_index("a")
    return collection


def reference(collection, query, tail):
    pipeline = [{"$addFields": {"_z": 1}}, {"$match": query}, {"$project": {"_z": 0}}, *tail]
    return list(collection.aggregate(pipeline))


def find(collection, query, tail):
    """``tail`` as ``find`` options (sort, skip, limit, projection)."""
    options = {}
    for stage in tail:
        ((name, spec),) = stage.items()
        key = {"$sort": "sort", "$skip": "skip", "$limit": "limit", "$project": "projection"}
        options[key[name]] = list(spec.items()) if name == "$sort" else spec
    return list(collection.find(query, **options))


def canonical(documents, tail):
    """Documents in order when the tail sorts on a unique key, else as a multiset."""
    if any("$sort" in stage and "_id" in stage["$sort"] for stage in tail):
        return [repr(document) for document in documents]
    return sorted(repr(document) for document in documents)


@pytest.mark.parametrize("tail", TAILS, ids=range(len(TAILS)))
@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_id_matches_answer_like_the_python_path(collection, query, tail):
    expected = canonical(reference(collection, query, tail), tail)
    assert canonical(list(collection.aggregate([{"$match": query}, *tail])), tail) == expected
    assert canonical(find(collection, query, tail), tail) == expected


def pushdown(collection, command):
    """The engine's strategy and SQL statement (``mongoecoPlan``, corrections/explain.py)."""
    plan = collection.database.command("explain", command)["mongoecoPlan"]
    return plan["strategy"], plan.get("sql", "")


@pytest.mark.parametrize(
    "value", [5, Int64(5), 5.0, "k", OIDS[0]], ids=["int", "long", "double", "str", "oid"]
)
def test_id_equality_uses_the_primary_key(mongo_db, value):
    collection = mongo_db["c"]
    collection.insert_many([{"_id": i} for i in range(50)] + [{"_id": "k"}, {"_id": OIDS[0]}])
    for command in (
        {"find": "c", "filter": {"_id": value}, "limit": 21},
        {"find": "c", "filter": {"_id": {"$in": [value, 7]}}, "sort": {"_id": 1}},
        {
            "aggregate": "c",
            "pipeline": [{"$match": {"_id": value}}, {"$limit": 21}],
            "cursor": {},
        },
    ):
        strategy, sql = pushdown(collection, command)
        assert strategy == "sql"
        assert "storage_key IN" in sql


def test_a_decimal_id_still_matches_by_value(mongo_db):
    collection = mongo_db["c"]
    collection.insert_many([{"_id": 1}, {"_id": Decimal128("2.0")}, {"_id": "x"}])
    assert list(collection.find({"_id": 2})) == [{"_id": Decimal128("2.0")}]
    assert list(collection.find({"_id": {"$in": [1, 2]}}).sort("_id", 1)) == [
        {"_id": 1},
        {"_id": Decimal128("2.0")},
    ]


@pytest.mark.parametrize(
    ("stored", "duplicate"),
    [(5, 5.0), (5, Int64(5)), (5.0, 5), (Int64(7), 7.0), ("s", "s"), (OIDS[0], OIDS[0])],
)
def test_a_duplicate_id_of_another_numeric_type_is_refused(mongo_db, stored, duplicate):
    collection = mongo_db["c"]
    collection.insert_one({"_id": stored})
    with pytest.raises(BulkWriteError) as raised:
        collection.insert_many([{"_id": "new"}, {"_id": duplicate}])
    assert raised.value.details["nInserted"] == 1
    assert raised.value.details["writeErrors"][0]["code"] == 11000
    assert raised.value.details["writeErrors"][0]["index"] == 1
    with pytest.raises(Exception, match="E11000"):
        collection.insert_one({"_id": duplicate})
    assert collection.count_documents({}) == 2


def test_a_decimal_id_is_a_duplicate_of_the_same_number(mongo_db):
    collection = mongo_db["c"]
    collection.insert_one({"_id": Decimal128("8.00")})
    with pytest.raises(Exception, match="E11000"):
        collection.insert_one({"_id": 8})
    with pytest.raises(BulkWriteError):
        collection.insert_many([{"_id": 9}, {"_id": 8.0}])


@pytest.mark.parametrize("ordered", [True, False])
def test_a_batch_insert_reports_like_single_inserts(mongo_db, ordered):
    """One insert command of many documents ends like inserting them one command each."""
    batch = [{"_id": 1}, {"_id": 2}, {"_id": 1.0}, {"_id": "a"}, {"_id": 2}, {"_id": 3}]

    def insert(collection, documents):
        try:
            return collection.database.command(
                {"insert": collection.name, "documents": documents, "ordered": ordered}
            )
        except Exception as error:  # pragma: no cover - the reply carries write errors
            return repr(error)

    batched = insert(mongo_db["batched"], batch)
    singles = {"n": 0, "errors": []}
    for index, document in enumerate(batch):
        reply = insert(mongo_db["single"], [document])
        singles["n"] += reply["n"]
        for error in reply.get("writeErrors", []):
            singles["errors"].append({**error, "index": index})
        if ordered and reply.get("writeErrors"):
            break
    assert batched["n"] == singles["n"]
    batched_errors = [
        {**error, "errmsg": error["errmsg"].replace(".batched ", ".single ")}
        for error in batched.get("writeErrors", [])
    ]
    assert batched_errors == singles["errors"]
    by_id = [("_id", 1)]
    assert list(mongo_db["batched"].find(sort=by_id)) == list(mongo_db["single"].find(sort=by_id))


def test_a_batch_insert_inside_a_transaction_rolls_back(mongo_client, mongo_db):
    collection = mongo_db["c"]
    collection.insert_one({"_id": 0})
    with mongo_client.start_session() as session:
        session.start_transaction()
        collection.insert_many([{"_id": i} for i in range(1, 20)], session=session)
        assert collection.count_documents({}, session=session) == 20
        session.abort_transaction()
    assert list(collection.find()) == [{"_id": 0}]


LOCAL = [
    {"_id": 1, "k": 1},
    {"_id": 2, "k": 2.0},
    {"_id": 3, "k": None},
    {"_id": 4},
    {"_id": 5, "k": "s"},
    {"_id": 6, "k": [1, 2]},
    {"_id": 7, "k": {"x": 1}},
    {"_id": 8, "k": OIDS[0]},
    {"_id": 9, "k": Decimal128("1.0")},
]

FOREIGN = [
    {"_id": 10, "f": 1, "v": "a"},
    {"_id": 11, "f": Int64(2), "v": "b"},
    {"_id": 12, "f": None, "v": "c"},
    {"_id": 13, "v": "d"},
    {"_id": 14, "f": "s", "v": "e"},
    {"_id": 15, "f": [1, 2], "v": "f"},
    {"_id": 16, "f": {"x": 1}, "v": "g"},
    {"_id": 17, "f": OIDS[0], "v": "h"},
    {"_id": 18, "f": 1.0, "v": "i"},
    {"_id": 19, "f": [1], "v": "j"},
    {"_id": 20, "f": True, "v": "k"},
]


def correlated(equality, tail=()):
    return [
        {
            "$lookup": {
                "from": "foreign",
                "let": {"key": "$k"},
                "pipeline": [{"$match": {"$expr": equality}}, *tail],
                "as": "joined",
            }
        },
        {"$sort": {"_id": 1}},
    ]


def joins_as_sets(documents):
    """``documents`` with each ``joined`` array in a fixed order: MongoDB does not specify the
    order of a ``$lookup``'s array (the embedded server shuffles it when asked to)."""
    return [{**document, "joined": sorted(document["joined"], key=repr)} for document in documents]


@pytest.mark.parametrize(
    "tail",
    [[], [{"$project": {"v": 1, "_id": 0}}], [{"$sort": {"v": -1}}, {"$limit": 1}]],
    ids=["plain", "project", "sort_limit"],
)
@pytest.mark.parametrize("operands", [["$f", "$$key"], ["$$key", "$f"]], ids=["ab", "ba"])
def test_a_correlated_lookup_joins_like_the_nested_loop(mongo_db, tail, operands):
    mongo_db["local"].insert_many(LOCAL)
    mongo_db["foreign"].insert_many(FOREIGN)
    fast = list(mongo_db["local"].aggregate(correlated({"$eq": operands}, tail)))
    # {$and: [...]} is the same predicate in a shape the fast path does not recognise.
    slow = list(mongo_db["local"].aggregate(correlated({"$and": [{"$eq": operands}]}, tail)))
    assert joins_as_sets(fast) == joins_as_sets(slow)
    assert fast[0]["joined"]  # local 1 joins foreign 1 and 1.0


def test_a_field_lookup_joins_like_the_nested_loop(mongo_db):
    mongo_db["local"].insert_many(LOCAL)
    mongo_db["foreign"].insert_many(FOREIGN)
    mongo_db["foreign"].create_index("f")
    stage = {"from": "foreign", "localField": "k", "foreignField": "f", "as": "joined"}
    fast = list(mongo_db["local"].aggregate([{"$lookup": stage}, {"$sort": {"_id": 1}}]))
    slow = list(
        mongo_db["local"].aggregate(
            [{"$lookup": {**stage, "let": {}, "pipeline": []}}, {"$sort": {"_id": 1}}]
        )
    )
    assert joins_as_sets(fast) == joins_as_sets(slow)
    assert sorted(document["_id"] for document in fast[0]["joined"]) == [10, 15, 18, 19]


def test_the_compilers_correlated_subquery_shape_is_recognised():
    """The shape ``Subquery``/``Exists`` compile to (``$match`` of ``$expr`` ``$eq``)."""
    spec = {
        "from": "b",
        "let": {"outer": "$_id"},
        "pipeline": [{"$match": {"$expr": {"$eq": ["$a_id", "$$outer"]}}}, {"$limit": 1}],
        "as": "x",
    }
    assert joins._correlated_equality(spec) == ("$a_id", "outer")
    assert joins._correlated_equality({**spec, "localField": "a"}) is None
    assert joins._correlated_equality({**spec, "pipeline": spec["pipeline"][1:]}) is None


def explain_plan(collection, command):
    """The engine's strategy, SQLite's plan for its statement and the statement."""
    plan = collection.database.command("explain", command)["mongoecoPlan"]
    return plan["strategy"], plan.get("sqlitePlan", []), plan.get("sql", "")


PAGES = [
    ({"g": 7}, {"g": 1}),
    ({"g": {"$gte": 7, "$lt": 9}}, {"g": -1}),
    ({"g": {"$in": [3, 7.0]}}, {"g": 1}),
    ({"s": {"$in": ["s7", "s8"]}}, {"s": 1}),
]


@pytest.mark.parametrize(("query", "sort"), PAGES, ids=range(len(PAGES)))
def test_an_indexed_page_reads_its_matches_not_the_collection(mongo_db, query, sort):
    """A selective indexed filter with a one-field sort: the filter's index, then a sort."""
    collection = mongo_db["c"]
    collection.insert_many(
        [{"_id": f"{i:05}", "g": i % 50, "s": f"s{i % 50}"} for i in range(3000)]
    )
    collection.create_index("g")
    collection.create_index("s")
    tail = [{"$sort": {**sort, "_id": 1}}, {"$skip": 5}, {"$limit": 50}]
    expected = reference(collection, query, tail)
    assert len(expected) == 50
    page = [{"$match": query}, {"$sort": sort}, {"$skip": 5}, {"$limit": 50}]
    ((field, direction),) = sort.items()
    found = collection.find(query).sort(field, direction).skip(5).limit(50)
    for result in (list(collection.aggregate(page)), list(found)):
        # The same sort keys page by page; which of the tied documents fill a page is
        # unspecified (MongoDB, "Sort Consistency"), so only that they match is checked.
        assert [document[field] for document in result] == [d[field] for d in expected]
        found_ids = [document["_id"] for document in result]
        assert len(set(found_ids)) == 50
        assert collection.count_documents({"$and": [query, {"_id": {"$in": found_ids}}]}) == 50
    for command in (
        {"aggregate": "c", "pipeline": page, "cursor": {}},
        {"find": "c", "filter": query, "sort": sort, "skip": 5, "limit": 50},
    ):
        strategy, details, sql = explain_plan(collection, command)
        assert strategy == "sql"
        assert "scalar_index_entries" not in sql
        assert any(detail.startswith("SEARCH documents USING INDEX idx_") for detail in details)


def test_an_unselective_page_keeps_the_index_walk(mongo_db):
    collection = mongo_db["c"]
    collection.insert_many(
        [{"_id": i, "g": i % 2} for i in range(fastpaths.SORT_MATCHES_LIMIT * 2 + 10)]
    )
    collection.create_index("g")
    command = {"find": "c", "filter": {"g": 1}, "sort": {"g": 1}, "limit": 5}
    assert "scalar_index_entries" in explain_plan(collection, command)[2]
    assert len(list(collection.find({"g": 1}).sort("g", 1).limit(5))) == 5


@pytest.mark.parametrize(
    "values", [[1, 2.0, 3], ["x", "s"], [1, "x"], [1, None], [Int64(1)], [3.5, 2**40]]
)
def test_an_in_answers_like_the_python_path(collection, values):
    query = {"a": {"$in": values}}
    expected = canonical(reference(collection, query, []), [])
    assert canonical(list(collection.find(query)), []) == expected
    query = {"s": {"$in": values}}
    assert canonical(list(collection.find(query)), []) == canonical(
        reference(collection, query, []), []
    )
