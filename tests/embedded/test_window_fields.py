"""``$setWindowFields`` as MongoDB 7.0 parses and evaluates it (corrections/window_fields.py).

The codes are the server's (``window_function_expression.cpp``, ``window_bounds.cpp``,
``partition_iterator.cpp``) and those its jstest ``set_window_fields_parse_errors`` (every
window function x window x sort combination) expects; ``$shift``'s default per the manual
("$shift ... default: must evaluate to a constant").
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128
from pymongo.errors import OperationFailure

RUNNING = {"documents": ["unbounded", "current"]}


@pytest.fixture
def coll(mongo_db):
    coll = mongo_db.w
    coll.insert_many(
        [
            {"_id": 1, "a": 2, "b": 1},
            {"_id": 2, "a": 2, "b": 2},
            {"_id": 3, "a": 5, "b": 1},
            {"_id": 4, "a": 9, "b": 2},
        ]
    )
    return coll


def window_values(coll, stage):
    """Each document's ``x``; a ``$push`` array sorted (the order of ties is unspecified)."""
    rows = coll.aggregate([{"$setWindowFields": stage}, {"$sort": {"_id": 1}}])
    return [sorted(row["x"]) if isinstance(row.get("x"), list) else row.get("x") for row in rows]


def code_of(coll, stage):
    with pytest.raises(OperationFailure) as raised:
        window_values(coll, stage)
    return raised.value.code


@pytest.mark.parametrize(
    ("stage", "code"),
    [
        # Rank style functions: one sort field (5371602), no window (5371601).
        ({"output": {"x": {"$rank": {}}}}, 5371602),
        ({"sortBy": {"a": 1, "b": 1}, "output": {"x": {"$denseRank": {}}}}, 5371602),
        ({"sortBy": {"a": 1, "b": 1}, "output": {"x": {"$documentNumber": {}}}}, 5371602),
        ({"sortBy": {"a": 1}, "output": {"x": {"$rank": {}, "window": RUNNING}}}, 5371601),
        # $shift: a sort, no window, a constant default (FailedToParse).
        ({"output": {"x": {"$shift": {"output": "$a", "by": 1}}}}, 9),
        ({"sortBy": {"a": 1}, "output": {"x": {"$shift": {"output": "$a"}, "window": RUNNING}}}, 9),
        ({"sortBy": {"a": 1}, "output": {"x": {"$shift": {"output": "$a", "default": "$b"}}}}, 9),
        # A partition key is never an array (TypeMismatch), constant or read.
        ({"partitionBy": {"$literal": [1]}, "output": {"x": {"$sum": 1}}}, 14),
        ({"partitionBy": ["$a"], "output": {"x": {"$sum": 1}}}, 14),
        # Document windows need a sort (5339901), range windows one sort field (5339902).
        ({"output": {"x": {"$sum": 1, "window": RUNNING}}}, 5339901),
        ({"output": {"x": {"$sum": 1, "window": {"range": ["unbounded", "current"]}}}}, 5339902),
        (
            {
                "sortBy": {"a": 1, "b": 1},
                "output": {"x": {"$sum": 1, "window": {"range": [-1, 1]}}},
            },
            5339902,
        ),
    ],
)
def test_parse_errors_have_mongodb_codes(coll, stage, code):
    assert code_of(coll, stage) == code


def test_an_array_read_as_partition_key_is_refused(coll):
    coll.insert_one({"_id": 5, "a": [1, 2]})
    assert code_of(coll, {"partitionBy": "$a", "output": {"x": {"$sum": 1}}}) == 14


def test_multi_field_sort_is_accepted_by_other_functions(coll):
    stage = {"sortBy": {"a": 1, "b": -1}, "output": {"x": {"$sum": 1, "window": RUNNING}}}
    assert window_values(coll, stage) == [2, 1, 3, 4]


def test_shift_default_is_an_evaluated_constant(coll):
    stage = {
        "sortBy": {"_id": 1},
        "output": {"x": {"$shift": {"output": "$a", "by": -1, "default": {"$literal": -1}}}},
    }
    assert window_values(coll, stage) == [-1, 2, 2, 5]
    stage["output"]["x"]["$shift"]["default"] = {"$add": [1, 2]}
    assert window_values(coll, stage) == [3, 2, 2, 5]


def test_ranks_tie_and_document_numbers_do_not(coll):
    stage = {
        "sortBy": {"a": 1},
        "output": {"x": {"$rank": {}}, "d": {"$denseRank": {}}, "n": {"$documentNumber": {}}},
    }
    rows = list(coll.aggregate([{"$setWindowFields": stage}, {"$sort": {"_id": 1}}]))
    assert [row["x"] for row in rows] == [1, 1, 3, 4]
    assert [row["d"] for row in rows] == [1, 1, 2, 3]
    assert sorted(row["n"] for row in rows) == [1, 2, 3, 4]


def test_range_windows_over_any_number(mongo_db):
    """partition_iterator.cpp: the current value must be ``numeric()`` (an infinity and a
    decimal are), the offsets are added to it; others than the current document that are no
    number fall outside every range."""
    coll = mongo_db.r
    coll.insert_many(
        [
            {"_id": 1, "k": -math.inf},
            {"_id": 2, "k": -math.inf},
            {"_id": 3, "k": 1},
            {"_id": 4, "k": Decimal128(Decimal("2.5"))},
            {"_id": 5, "k": 4.0},
        ]
    )
    stage = {
        "sortBy": {"k": 1},
        "output": {"x": {"$push": "$_id", "window": {"range": [-2, 0]}}},
    }
    assert window_values(coll, stage) == [[1, 2], [1, 2], [3], [3, 4], [4, 5]]
    stage["output"]["x"]["window"] = {"range": ["current", "unbounded"]}
    assert window_values(coll, stage) == [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [3, 4, 5], [4, 5], [5]]
    coll.insert_one({"_id": 6, "k": None})
    with pytest.raises(OperationFailure) as raised:
        window_values(coll, stage)
    assert raised.value.code == 5429414
    assert "Expected the sortBy field to be a number, but it was null" in str(raised.value)


def test_max_and_min_of_an_array_of_any_type(mongo_db):
    """Manual, "$max (aggregation)": a single array operand is traversed, null and missing
    skipped, the rest compared in BSON order (numbers < strings)."""
    coll = mongo_db.m
    coll.insert_one({"_id": 1, "a": ["b", None, "a", 3]})
    row = coll.aggregate(
        [
            {
                "$project": {
                    "max": {"$max": "$a"},
                    "min": {"$min": {"$map": {"input": "$a", "in": "$$this"}}},
                    "none": {"$max": {"$literal": [None]}},
                    "listed": {"$max": ["b", "a"]},
                }
            }
        ]
    ).next()
    assert (row["max"], row["min"], row["none"], row["listed"]) == ("b", 3, None, "b")


def test_ranks_tell_missing_from_null(mongo_db):
    """Manual, $rank (7.0): documents with a null or a missing sortBy value are ranked by the
    BSON comparison order; "Starting in MongoDB 8.0, null and missing field values ... are
    treated the same": in 7.0 a missing value and a null are not peers."""
    coll = mongo_db.n
    coll.insert_many([{"_id": 1}, {"_id": 3, "a": None}, {"_id": 4, "a": 1}])
    stage = {"sortBy": {"a": 1}, "output": {"x": {"$rank": {}}, "d": {"$denseRank": {}}}}
    rows = {row["_id"]: row for row in coll.aggregate([{"$setWindowFields": stage}])}
    # $sort leaves the order of a null and a missing value unspecified: either comes first.
    assert {rows[1]["x"], rows[3]["x"]} == {1, 2}
    assert {rows[1]["d"], rows[3]["d"]} == {1, 2}
    assert (rows[4]["x"], rows[4]["d"]) == (3, 3)
