"""The server layer's corrections of mongoeco: each test states MongoDB's documented behaviour.

They run against the embedded server, or against real MongoDB when MONGODB_URI is set, and
assert what MongoDB does, so they pass on both.
"""

from __future__ import annotations

import asyncio
import datetime
import math

import pytest
from bson import Decimal128
from pymongo.errors import BulkWriteError, CursorNotFound, DuplicateKeyError, OperationFailure

UTC = datetime.UTC


def project(collection, expression, **document):
    """The value of ``expression`` over one document holding ``document``."""
    collection.delete_many({})
    collection.insert_one(document)
    (result,) = collection.aggregate([{"$project": {"_id": 0, "v": expression}}])
    return result.get("v", "<missing>")


def safe_ids(value):
    """Parameter ids without the characters database names forbid (the fixture names one after
    the test)."""
    return "".join(char if char.isalnum() or char in "-_" else "_" for char in str(value))


def same(value, expected):
    """Equal and of the same BSON type as pymongo decodes it (int, float, Decimal128...)."""
    return type(value) is type(expected) and value == expected


# -- commands ----------------------------------------------------------------------------------


def test_build_info_answers_server_info(mongo_client):
    """``buildInfo`` reports the server's version; pymongo's ``server_info()`` is that command."""
    info = mongo_client.server_info()
    assert info["ok"] == 1.0
    assert isinstance(info["version"], str)
    assert info["versionArray"][:2] == [int(part) for part in info["version"].split(".")[:2]]


def test_coll_mod_changes_the_enforced_validator(mongo_db):
    """collMod replaces ``validator``, ``validationLevel`` and ``validationAction``; writes are
    then validated against the new validator (code 121 DocumentValidationFailure)."""
    mongo_db.create_collection("people", validator={"$jsonSchema": {"required": ["name"]}})
    mongo_db.people.insert_one({"name": "a"})
    reply = mongo_db.command(
        "collMod",
        "people",
        validator={"$jsonSchema": {"required": ["age"]}},
        validationLevel="strict",
        validationAction="error",
    )
    assert reply["ok"] == 1.0
    with pytest.raises(OperationFailure) as failure:
        mongo_db.people.insert_one({"name": "b"})
    assert failure.value.code == 121
    mongo_db.people.insert_one({"age": 3})
    options = mongo_db.people.options()
    assert options["validator"] == {"$jsonSchema": {"required": ["age"]}}
    assert options["validationLevel"] == "strict"
    assert options["validationAction"] == "error"


def test_coll_mod_validation_action_warn_accepts_invalid_documents(mongo_db):
    """``validationAction: "warn"`` logs violations but accepts the write."""
    mongo_db.create_collection("people", validator={"$jsonSchema": {"required": ["name"]}})
    mongo_db.command("collMod", "people", validationAction="warn")
    mongo_db.people.insert_one({"other": 1})
    assert mongo_db.people.count_documents({}) == 1


def test_coll_mod_validator_on_a_collection_created_implicitly(mongo_db):
    """collMod adds a validator to a collection created by its first insert."""
    mongo_db.things.insert_one({"n": 1})
    mongo_db.command("collMod", "things", validator={"n": {"$type": "int"}})
    with pytest.raises(OperationFailure) as failure:
        mongo_db.things.insert_one({"n": "text"})
    assert failure.value.code == 121


def test_coll_mod_of_a_missing_collection_is_namespace_not_found(mongo_db):
    """collMod on a collection that does not exist fails with code 26 NamespaceNotFound."""
    with pytest.raises(OperationFailure) as failure:
        mongo_db.command("collMod", "missing", validator={})
    assert failure.value.code == 26


def test_rename_collection_with_full_namespaces(mongo_db):
    """``Collection.rename`` sends ``{renameCollection: "db.a", to: "db.b"}`` to ``admin``."""
    mongo_db.a.insert_one({"x": 1})
    mongo_db.a.create_index("x")
    mongo_db.a.rename("b")
    assert mongo_db.list_collection_names() == ["b"]
    assert [doc["x"] for doc in mongo_db.b.find()] == [1]
    assert "x_1" in mongo_db.b.index_information()


def test_rename_collection_onto_an_existing_one_is_namespace_exists(mongo_db):
    """Without ``dropTarget`` renaming onto an existing collection fails: code 48
    NamespaceExists; with ``dropTarget: true`` the target is dropped first."""
    mongo_db.a.insert_one({"from": "a"})
    mongo_db.b.insert_one({"from": "b"})
    with pytest.raises(OperationFailure) as failure:
        mongo_db.a.rename("b")
    assert failure.value.code == 48
    mongo_db.a.rename("b", dropTarget=True)
    assert mongo_db.list_collection_names() == ["b"]
    assert [doc["from"] for doc in mongo_db.b.find()] == ["a"]


def test_rename_of_a_missing_collection_is_namespace_not_found(mongo_db):
    """Renaming a collection that does not exist fails with code 26 NamespaceNotFound."""
    mongo_db.other.insert_one({})
    with pytest.raises(OperationFailure) as failure:
        mongo_db.missing.rename("b")
    assert failure.value.code == 26


def test_get_more_on_a_killed_cursor_is_cursor_not_found(mongo_client, mongo_db):
    """``getMore`` after ``killCursors`` fails with code 43 CursorNotFound."""
    mongo_db.items.insert_many([{"i": i} for i in range(10)])
    with mongo_client.start_session() as session:
        cursor = mongo_db.items.find(batch_size=2, session=session)
        next(cursor)
        cursor_id = cursor.cursor_id
        killed = mongo_db.command("killCursors", "items", cursors=[cursor_id], session=session)
        assert killed["cursorsKilled"] == [cursor_id]
        with pytest.raises(CursorNotFound) as failure:
            mongo_db.command("getMore", cursor_id, collection="items", session=session)
        assert failure.value.code == 43


def test_get_more_still_pages_through_live_cursors(mongo_db):
    """A cursor read in batches returns every document once."""
    mongo_db.items.insert_many([{"i": i} for i in range(7)])
    assert [doc["i"] for doc in mongo_db.items.find(batch_size=2).sort("i")] == list(range(7))


def test_unknown_command_is_command_not_found(mongo_db):
    """An unknown command fails with code 59 CommandNotFound."""
    with pytest.raises(OperationFailure) as failure:
        mongo_db.command("noSuchCommandAnywhere")
    assert failure.value.code == 59
    assert failure.value.details["codeName"] == "CommandNotFound"


# -- write errors ------------------------------------------------------------------------------


def test_duplicate_key_is_code_11000(mongo_db):
    """A unique index violation is E11000 (code 11000): ``DuplicateKeyError`` for single writes,
    a write error with code 11000 inside ``BulkWriteError`` for ``insert_many``."""
    mongo_db.u.create_index("a", unique=True)
    mongo_db.u.insert_one({"a": 1})
    with pytest.raises(DuplicateKeyError) as failure:
        mongo_db.u.insert_one({"a": 1})
    assert failure.value.code == 11000
    with pytest.raises(BulkWriteError) as bulk:
        mongo_db.u.insert_many([{"a": 2}, {"a": 1}])
    assert [error["code"] for error in bulk.value.details["writeErrors"]] == [11000]
    assert bulk.value.details["nInserted"] == 1
    with pytest.raises(DuplicateKeyError):
        mongo_db.u.update_one({"a": 2}, {"$set": {"a": 1}})
    with pytest.raises(DuplicateKeyError):
        mongo_db.u.find_one_and_update({"a": 2}, {"$set": {"a": 1}})


def test_document_validation_failure_is_code_121(mongo_db):
    """A document failing the collection's validator is code 121, on insert and on update."""
    mongo_db.create_collection("v", validator={"$jsonSchema": {"required": ["name"]}})
    with pytest.raises(OperationFailure) as failure:
        mongo_db.v.insert_one({"x": 1})
    assert failure.value.code == 121
    mongo_db.v.insert_one({"name": "n"})
    with pytest.raises(OperationFailure) as failure:
        mongo_db.v.update_one({}, {"$unset": {"name": ""}})
    assert failure.value.code == 121


# -- rounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("$ceil", 2.5, 3.0),
        ("$ceil", -2.5, -2.0),
        ("$floor", 2.5, 2.0),
        ("$floor", -2.5, -3.0),
        ("$ceil", 7, 7),
        ("$floor", 7, 7),
        ("$ceil", Decimal128("2.1"), Decimal128("3")),
        ("$floor", Decimal128("-2.1"), Decimal128("-3")),
        ("$trunc", 2.7, 2.0),
        ("$trunc", -2.7, -2.0),
        ("$trunc", 9, 9),
        ("$trunc", Decimal128("2.7"), Decimal128("2")),
        ("$round", 2.5, 2.0),
        ("$round", 3.5, 4.0),
        ("$round", 9, 9),
        ("$round", Decimal128("2.5"), Decimal128("2")),
    ],
    ids=safe_ids,
)
def test_rounding_keeps_the_input_type(mongo_db, operator, value, expected):
    """$ceil/$floor/$trunc/$round return a value of the input's type: an int stays an int, a
    double a double, a Decimal128 a Decimal128. $trunc and $round accept a lone argument."""
    assert same(project(mongo_db.n, {operator: "$x"}, x=value), expected)


@pytest.mark.parametrize("operator", ["$ceil", "$floor", "$trunc", "$round"], ids=safe_ids)
def test_rounding_of_null_or_missing_is_null(mongo_db, operator):
    """Rounding operators return null for a null or missing argument."""
    assert project(mongo_db.n, {operator: "$x"}, x=None) is None
    assert project(mongo_db.n, {operator: "$missing"}) is None


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"$trunc": [1.2345, 2]}, 1.23),
        ({"$trunc": [-1.2345, 2]}, -1.23),
        ({"$trunc": [1234.5, -2]}, 1200.0),
        ({"$trunc": [1234, -2]}, 1200),
        ({"$round": [19.25, 1]}, 19.2),
        ({"$round": [28.73, 1]}, 28.7),
        ({"$round": [-45.39, 1]}, -45.4),
        ({"$round": [10.5, 0]}, 10.0),
        ({"$round": [11.5, 0]}, 12.0),
        ({"$round": [-12.5, 0]}, -12.0),
        ({"$round": [1250, -2]}, 1200),
        ({"$round": [1350, -2]}, 1400),
        ({"$round": [Decimal128("1.255"), 2]}, Decimal128("1.26")),
        ({"$round": [1.5, None]}, None),
    ],
    ids=safe_ids,
)
def test_trunc_and_round_with_a_place(mongo_db, expression, expected):
    """$trunc/$round take ``[number, place]``; $round rounds half to even (the documented
    examples: 19.25 -> 19.2, 10.5 -> 10, 11.5 -> 12, -12.5 -> -12); a null place gives null."""
    assert same(project(mongo_db.n, expression), expected)


# -- $count ------------------------------------------------------------------------------------


def test_count_stage_on_empty_input_returns_no_document(mongo_db):
    """``$count`` is ``$group`` + ``$project``: with no input documents it outputs nothing."""
    mongo_db.c.insert_many([{"a": 1}, {"a": 2}])
    assert list(mongo_db.c.aggregate([{"$match": {"a": 9}}, {"$count": "n"}])) == []
    assert list(mongo_db.c.aggregate([{"$count": "n"}])) == [{"n": 2}]
    (faceted,) = mongo_db.c.aggregate(
        [{"$facet": {"none": [{"$match": {"a": 9}}, {"$count": "n"}], "all": [{"$count": "n"}]}}]
    )
    assert faceted == {"none": [], "all": [{"n": 2}]}
    assert list(mongo_db.empty.aggregate([{"$count": "n"}])) == []


# -- dates -------------------------------------------------------------------------------------

INSTANT = datetime.datetime(2024, 3, 10, 1, 30, 15)  # UTC: 2024-03-09 20:30:15 in New York


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"unit": "day", "timezone": "America/New_York"}, datetime.datetime(2024, 3, 9, 5)),
        ({"unit": "day", "timezone": "+05:30"}, datetime.datetime(2024, 3, 9, 18, 30)),
        ({"unit": "day", "timezone": "-0300"}, datetime.datetime(2024, 3, 9, 3)),
        ({"unit": "day"}, datetime.datetime(2024, 3, 10)),
        ({"unit": "hour", "timezone": "+05:30"}, datetime.datetime(2024, 3, 10, 1, 30)),
        ({"unit": "month", "timezone": "America/New_York"}, datetime.datetime(2024, 3, 1, 5)),
        ({"unit": "year", "timezone": "Asia/Tokyo"}, datetime.datetime(2023, 12, 31, 15)),
        ({"unit": "week", "timezone": "America/New_York"}, datetime.datetime(2024, 3, 3, 5)),
        (
            {"unit": "week", "startOfWeek": "monday", "timezone": "America/New_York"},
            datetime.datetime(2024, 3, 4, 5),
        ),
        ({"unit": "year", "binSize": 10}, datetime.datetime(2020, 1, 1)),
        ({"unit": "day", "binSize": 7}, datetime.datetime(2024, 3, 9)),
        ({"unit": "minute", "binSize": 15}, datetime.datetime(2024, 3, 10, 1, 30)),
    ],
    ids=safe_ids,
)
def test_date_trunc_with_timezone_and_bins(mongo_db, spec, expected):
    """$dateTrunc truncates in ``timezone`` (an Olson name or a UTC offset) and counts bins from
    2000-01-01 (weeks from the first ``startOfWeek``, default Sunday, of 2000)."""
    value = project(mongo_db.d, {"$dateTrunc": {"date": "$t", **spec}}, t=INSTANT)
    assert value == expected


def test_date_trunc_of_null_is_null(mongo_db):
    """$dateTrunc returns null when ``date`` (or ``unit``, ``binSize``, ``timezone``) is null."""
    assert project(mongo_db.d, {"$dateTrunc": {"date": "$t", "unit": "day"}}, t=None) is None


def test_date_parts_in_a_timezone(mongo_db):
    """$dateToString, $dateToParts and $year..$minute read the date in ``timezone``."""
    expression = {
        "s": {
            "$dateToString": {
                "date": "$t",
                "format": "%Y-%m-%d %H:%M",
                "timezone": "America/New_York",
            }
        },
        "parts": {"$dateToParts": {"date": "$t", "timezone": "+05:30"}},
        "hour": {"$hour": {"date": "$t", "timezone": "-03:00"}},
        "day": {"$dayOfMonth": {"date": "$t", "timezone": "America/New_York"}},
        "year": {"$year": {"date": "$t", "timezone": "Pacific/Auckland"}},
    }
    value = project(mongo_db.d, expression, t=INSTANT)
    assert value["s"] == "2024-03-09 20:30"
    assert value["parts"] == {
        "year": 2024,
        "month": 3,
        "day": 10,
        "hour": 7,
        "minute": 0,
        "second": 15,
        "millisecond": 0,
    }
    assert (value["hour"], value["day"], value["year"]) == (22, 9, 2024)


# -- trigonometry ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("$sin", 0.5, math.sin(0.5)),
        ("$cos", 1, math.cos(1)),
        ("$tan", 0.5, math.tan(0.5)),
        ("$asin", 0.5, math.asin(0.5)),
        ("$acos", 0.5, math.acos(0.5)),
        ("$atan", 2, math.atan(2)),
        ("$sinh", 0.5, math.sinh(0.5)),
        ("$cosh", 0.5, math.cosh(0.5)),
        ("$tanh", 0.5, math.tanh(0.5)),
        ("$asinh", 0.5, math.asinh(0.5)),
        ("$acosh", 3, math.acosh(3)),
        ("$atanh", 0.5, math.atanh(0.5)),
        ("$degreesToRadians", 180, math.pi),
        ("$radiansToDegrees", math.pi, 180.0),
    ],
    ids=safe_ids,
)
def test_trigonometric_operators_return_doubles(mongo_db, operator, value, expected):
    """Trigonometric operators return a double for int or double input, null for null/missing."""
    result = project(mongo_db.t, {operator: "$x"}, x=value)
    assert type(result) is float
    assert math.isclose(result, expected, rel_tol=1e-12)
    assert project(mongo_db.t, {operator: "$x"}, x=None) is None
    assert project(mongo_db.t, {operator: "$missing"}) is None


def test_trigonometric_operators_keep_decimal128(mongo_db):
    """A Decimal128 input gives a Decimal128 result; the documented example: $radiansToDegrees
    of $acosh of NumberDecimal("3") is NumberDecimal("100.9979734210524228844295260083432")."""
    expression = {"$radiansToDegrees": {"$acosh": "$x"}}
    result = project(mongo_db.t, expression, x=Decimal128("3"))
    assert same(result, Decimal128("100.9979734210524228844295260083432"))
    sine = project(mongo_db.t, {"$sin": "$x"}, x=Decimal128("0.5"))
    assert isinstance(sine, Decimal128)
    assert math.isclose(float(sine.to_decimal()), math.sin(0.5), rel_tol=1e-15)


def test_trigonometric_operators_outside_their_domain_fail(mongo_db):
    """$acos/$asin need [-1, 1], $acosh [1, inf]: other values are an error; NaN gives NaN."""
    for operator, value in [("$acos", 2), ("$asin", -1.5), ("$acosh", 0)]:
        with pytest.raises(OperationFailure):
            project(mongo_db.t, {operator: "$x"}, x=value)
    assert math.isnan(project(mongo_db.t, {"$sin": "$x"}, x=math.nan))


def test_atan2(mongo_db):
    """$atan2 [y, x] is the angle of (x, y); null if either argument is null."""
    assert math.isclose(project(mongo_db.t, {"$atan2": [1, -1]}), 3 * math.pi / 4)
    assert project(mongo_db.t, {"$atan2": ["$x", 1]}, x=None) is None


# -- $not --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, False),
        (False, True),
        (None, True),
        (0, True),
        (0.0, True),
        (Decimal128("0"), True),
        (1, False),
        (-2.5, False),
        ([], False),
        ("", False),
        ({}, False),
    ],
    ids=safe_ids,
)
def test_not_expression(mongo_db, value, expected):
    """$not returns the boolean opposite of its argument; null, 0, false and undefined (so a
    missing field) count as false, every other value (arrays, strings too) as true."""
    assert project(mongo_db.b, {"$not": ["$x"]}, x=value) is expected
    assert project(mongo_db.b, {"$not": "$x"}, x=value) is expected


def test_not_of_a_missing_field_is_true(mongo_db):
    """A missing field is undefined, which $not treats as false."""
    assert project(mongo_db.b, {"$not": ["$missing"]}) is True
    assert project(mongo_db.b, {"$not": [{"$gt": ["$x", 1]}]}, x=5) is False


# -- large aggregations ------------------------------------------------------------------------


def test_blocking_stages_beyond_the_materialization_budget():
    """MongoDB has no document-count budget: since 6.0 blocking stages spill to disk by default.

    mongoeco's SQLite engine refuses $group/$count/$sort over more than its budget (50,000
    documents) unless it may spill. ``engine_options()`` lets it spill instead; inserting more
    than 50,000 documents takes minutes on this engine, so this checks the engine configured with
    those options, with a lower spill threshold, over more documents than the threshold.
    """
    from mongoeco.api import AsyncMongoClient
    from mongoeco.engines.sqlite import SQLiteEngine

    from django_mongo_backend.embedded.corrections.engine_options import engine_options

    async def run():
        options = {**engine_options(), "aggregation_spill_threshold": 200}
        engine = SQLiteEngine(":memory:", **options)
        await engine.connect()
        try:
            collection = AsyncMongoClient(engine).get_database("db").get_collection("big")
            await collection.insert_many([{"i": i, "g": i % 3} for i in range(1000)])
            pipelines = {
                "count_documents": [{"$match": {}}, {"$group": {"_id": 1, "n": {"$sum": 1}}}],
                "group": [{"$group": {"_id": "$g", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}],
                "sort": [{"$sort": {"i": -1}}, {"$limit": 1}, {"$project": {"_id": 0, "i": 1}}],
            }
            return {
                name: await collection.aggregate(pipeline).to_list()
                for name, pipeline in pipelines.items()
            }
        finally:
            await engine.disconnect()

    results = asyncio.run(run())
    assert results["count_documents"] == [{"_id": 1, "n": 1000}]
    assert [group["n"] for group in results["group"]] == [334, 333, 333]
    assert results["sort"] == [{"i": 999}]


@pytest.mark.slow
def test_count_and_group_over_100000_documents(mongo_db):
    """``count_documents`` (an aggregate ``$group``), ``$group`` and ``$count`` over 100,000
    documents answer: MongoDB has no document-count budget (mongoeco's engine refused more than
    50,000 documents in a blocking stage unless built with ``engine_options()``)."""
    total = 100_000
    for start in range(0, total, 25_000):
        mongo_db.many.insert_many([{"i": i, "g": i % 4} for i in range(start, start + 25_000)])
    assert mongo_db.many.count_documents({}) == total
    assert mongo_db.many.count_documents({"i": {"$gte": 40_000}}) == 60_000
    groups = mongo_db.many.aggregate([{"$group": {"_id": "$g", "n": {"$sum": 1}}}])
    assert sorted((group["_id"], group["n"]) for group in groups) == [
        (g, total // 4) for g in range(4)
    ]
    assert list(mongo_db.many.aggregate([{"$count": "n"}])) == [{"n": total}]
