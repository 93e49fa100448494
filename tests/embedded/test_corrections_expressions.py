"""More corrections of mongoeco's expression evaluator, found by running the operations a
Django compiler emits; each test states MongoDB's documented behaviour (and passes on MongoDB).
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from bson import Binary, Decimal128, Int64, ObjectId
from pymongo.errors import OperationFailure

from .test_corrections import project, safe_ids, same


def test_missing_compares_below_null_in_expressions(mongo_db):
    """Aggregation comparisons order a missing field below null (BSON comparison order), so
    ``$eq: [null, "$missing"]`` is false, ``$gt`` of them true, ``$lt: ["$missing", null]`` true;
    both compare below every number, and ``$lte: [x, null]`` holds for null and missing."""
    expression = {
        "eq": {"$eq": ["$x", "$missing"]},
        "gt": {"$gt": ["$x", "$missing"]},
        "lt": {"$lt": ["$missing", None]},
        "lte": {"$lte": ["$missing", None]},
        "ne": {"$ne": ["$missing", None]},
        "cmp": {"$cmp": ["$missing", None]},
        "below_numbers": {"$lt": ["$x", 0]},
        "missing_below_numbers": {"$lt": ["$missing", -1]},
        "both_missing": {"$eq": ["$missing", "$other"]},
        "numbers": {"$eq": [1, 1.0]},
    }
    assert project(mongo_db.c, expression, x=None) == {
        "eq": False,
        "gt": True,
        "lt": True,
        "lte": True,
        "ne": True,
        "cmp": -1,
        "below_numbers": True,
        "missing_below_numbers": True,
        "both_missing": True,
        "numbers": True,
    }


def test_in_expression_with_null_and_missing(mongo_db):
    """``$in`` matches null against null, never a missing value; its second argument must be an
    array (null is error 40081)."""
    expression = {
        "null": {"$in": ["$x", [None]]},
        "missing": {"$in": ["$missing", [None]]},
        "numbers": {"$in": [1, [1.0, 2]]},
    }
    assert project(mongo_db.c, expression, x=None) == {
        "null": True,
        "missing": False,
        "numbers": True,
    }
    with pytest.raises(OperationFailure) as failure:
        project(mongo_db.c, {"$in": [1, "$x"]}, x=None)
    assert failure.value.code == 40081


@pytest.mark.parametrize(
    "zero", [0, Int64(0), 0.0, Decimal128("0"), Decimal128("-0.00")], ids=safe_ids
)
def test_every_numeric_zero_is_false(mongo_db, zero):
    """$cond/$and/$or (and ``$expr``) treat null, undefined, false and any numeric zero (int,
    long, double, decimal) as false."""
    expression = {
        "cond": {"$cond": ["$z", "t", "f"]},
        "and": {"$and": ["$z"]},
        "or": {"$or": ["$z"]},
    }
    assert project(mongo_db.c, expression, z=zero) == {"cond": "f", "and": False, "or": False}
    assert mongo_db.c.count_documents({"$expr": "$z"}) == 0


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"$pow": [5, 0]}, 1),
        ({"$pow": [5, 2]}, 25),
        ({"$pow": [5, -2]}, 0.04),
        ({"$pow": [2, 40]}, Int64(2**40)),
        ({"$pow": [Int64(2), 3]}, Int64(8)),
        ({"$pow": [2.0, 3]}, 8.0),
        ({"$pow": [2, 0.5]}, 2**0.5),
        ({"$pow": [Decimal128("2"), 3]}, Decimal128("8")),
        ({"$pow": [-1, -3]}, -1),
        ({"$pow": [None, 2]}, None),
    ],
    ids=safe_ids,
)
def test_pow_result_type(mongo_db, expression, expected):
    """$pow returns the wider input type (int, long, double, decimal), promoting an int result
    that overflows to a long; the documented examples: [5, 0] is 1, [5, 2] is 25, [5, -2] 0.04."""
    value = project(mongo_db.c, expression)
    if isinstance(expected, float):
        assert type(value) is float and abs(value - expected) < 1e-12
    else:
        assert value == expected and type(value) is type(expected)


def test_pow_of_zero_to_a_negative_exponent_fails(mongo_db):
    """You cannot raise 0 to a negative exponent."""
    with pytest.raises(OperationFailure) as failure:
        project(mongo_db.c, {"$pow": [0, -1]})
    assert failure.value.code == 28764


def test_decimal128_arithmetic_keeps_34_digits(mongo_db):
    """Decimal128 holds 34 significant decimal digits: $divide, $add, $sum, $avg and the $inc
    update operator keep all of them (1.10 / 3 is 0.3666666666666666666666666666666667)."""
    tiny = Decimal128("0.000000000000000000000000000001")
    expression = {
        "divide": {"$divide": ["$d", 3]},
        "add": {"$add": ["$d", tiny]},
        "sum": {"$sum": ["$d", tiny]},
    }
    assert project(mongo_db.c, expression, d=Decimal128("1.10")) == {
        "divide": Decimal128("0.3666666666666666666666666666666667"),
        "add": Decimal128("1.100000000000000000000000000001"),
        "sum": Decimal128("1.100000000000000000000000000001"),
    }
    mongo_db.c.update_one({}, {"$inc": {"d": tiny}})
    assert mongo_db.c.find_one()["d"] == Decimal128("1.100000000000000000000000000001")
    (total,) = mongo_db.c.aggregate([{"$group": {"_id": None, "s": {"$sum": "$d"}}}])
    assert total["s"] == Decimal128("1.100000000000000000000000000001")
    mongo_db.c.insert_one({"d": Decimal128("1")})
    for extra in ({}, {"set": {"$addToSet": "$d"}}):  # both of mongoeco's $group paths
        (mean,) = mongo_db.c.aggregate([{"$group": {"_id": None, "a": {"$avg": "$d"}, **extra}}])
        assert mean["a"] == Decimal128("1.0500000000000000000000000000005")


def test_converting_a_decimal128(mongo_db):
    """$toDouble, $toInt, $toLong, $toBool and $convert accept a Decimal128: int and long
    truncate toward zero, bool is false only for zero."""
    expression = {
        "double": {"$toDouble": "$d"},
        "int": {"$toInt": "$n"},
        "long": {"$toLong": "$d"},
        "bool": {"$toBool": "$zero"},
        "convert": {"$convert": {"input": "$d", "to": "double"}},
    }
    value = project(
        mongo_db.c, expression, d=Decimal128("1.10"), n=Decimal128("-5.9"), zero=Decimal128("0")
    )
    assert same(value["double"], 1.1)
    assert same(value["int"], -5)
    assert value["long"] == 1
    assert value["bool"] is False
    assert same(value["convert"], 1.1)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ({"year": 2024, "month": 14, "day": 1}, datetime.datetime(2025, 2, 1)),
        ({"year": 2024, "month": 2, "day": 30}, datetime.datetime(2024, 3, 1)),
        ({"year": 2024, "day": 0}, datetime.datetime(2023, 12, 31)),
        ({"year": 2024, "hour": 25}, datetime.datetime(2024, 1, 2, 1)),
        ({"year": 2024, "minute": -1}, datetime.datetime(2023, 12, 31, 23, 59)),
        (
            {"year": 2024, "month": 7, "day": 4, "hour": 12, "timezone": "America/New_York"},
            datetime.datetime(2024, 7, 4, 16),
        ),
        (
            {"year": 2024, "month": 1, "day": 1, "timezone": "+05:30"},
            datetime.datetime(2023, 12, 31, 18, 30),
        ),
        ({"isoWeekYear": 2024, "isoWeek": 1, "isoDayOfWeek": 1}, datetime.datetime(2024, 1, 1)),
        ({"year": 2024, "month": None}, None),
    ],
    ids=safe_ids,
)
def test_date_from_parts_carries_out_of_range_parts(mongo_db, parts, expected):
    """Since MongoDB 4.4, $dateFromParts carries a part outside its range into the larger parts
    (month 14 of 2024 is February 2025, day 0 the last day of the previous month); a null part
    gives null; ``timezone`` says in which zone the parts are read."""
    assert project(mongo_db.c, {"$dateFromParts": parts}) == expected


def test_last_array_expression(mongo_db):
    """``$last`` (expression) returns an array's last element, null for null or missing."""
    expression = {"last": {"$last": "$a"}, "null": {"$last": "$missing"}}
    assert project(mongo_db.c, expression, a=[1, 2, 3]) == {"last": 3, "null": None}


def test_first_and_last_of_an_empty_array_are_missing(mongo_db):
    """``$first``/``$last`` (expressions) of an empty array return no value (manual, $first
    (array operator): "If the operand is an empty array, $first does not return a value"), so
    ``$project`` leaves the field out; a non-array is error 28689."""
    mongo_db.c.insert_one({"_id": 1, "a": [], "b": [1, 2]})
    stage = {
        "_id": 0,
        "first_empty": {"$first": "$a"},
        "last_empty": {"$last": "$a"},
        "first": {"$first": "$b"},
        "null": {"$first": "$missing"},
    }
    assert list(mongo_db.c.aggregate([{"$project": stage}])) == [{"first": 1, "null": None}]
    with pytest.raises(OperationFailure) as failure:
        list(mongo_db.c.aggregate([{"$project": {"x": {"$first": 5}}}]))
    assert failure.value.code == 28689


def test_push_and_add_to_set_skip_missing_and_remove(mongo_db):
    """$push and $addToSet add nothing for a missing value or ``$$REMOVE`` (which is how a
    conditional leaves a value out); null is a value and is added. This is what a distinct count
    (``$addToSet`` of ``$cond: [<not null>, value, "$$REMOVE"]``, then ``$size``) relies on."""
    mongo_db.g.insert_many([{"k": 1, "x": None}, {"k": 1}, {"k": 1, "x": 5}, {"k": 2, "x": 5}])
    not_null = {"$cond": [{"$gt": ["$x", None]}, "$x", "$$REMOVE"]}
    pipeline = [
        {
            "$group": {
                "_id": "$k",
                "set": {"$addToSet": not_null},
                "pushed": {"$push": not_null},
                "raw": {"$push": "$x"},
                "raw_set": {"$addToSet": "$x"},
            }
        },
        {"$sort": {"_id": 1}},
    ]
    first, second = mongo_db.g.aggregate(pipeline)
    assert first["set"] == [5] and first["pushed"] == [5]
    assert sorted(first["raw"], key=str) == [5, None]  # $push follows the unordered input
    assert sorted(first["raw_set"], key=str) == [5, None]
    assert second["set"] == [5] and second["raw"] == [5]


def test_date_to_string_format_specifiers(mongo_db):
    """$dateToString knows %j (day of year), %w (day of week, 1 = Sunday), %U (week of year,
    Sunday first), %Z (minutes offset: +04:45 is +285) and %% (a literal percent sign)."""
    date = datetime.datetime(2021, 1, 3, 4, 5, 6, 789000)  # a Sunday
    spec = {"date": "$t", "format": "%Y-%m-%d %H:%M:%S.%L %j %w %u %U %V %G %%"}
    assert project(mongo_db.c, {"$dateToString": spec}, t=date) == (
        "2021-01-03 04:05:06.789 003 1 7 01 53 2020 %"
    )
    offset = {"date": "$t", "format": "%H:%M %z %Z", "timezone": "+04:45"}
    assert project(mongo_db.c, {"$dateToString": offset}, t=date) == "08:50 +0445 +285"


def test_math_operators_accept_decimal128(mongo_db):
    """$sqrt, $exp, $ln, $log10, $log and $abs take a Decimal128 and return one; for int, long
    and double input $sqrt/$exp/$ln/$log10/$log return a double and $abs keeps the type."""
    expression = {
        "sqrt": {"$sqrt": Decimal128("2")},
        "ln": {"$ln": Decimal128("10")},
        "log10": {"$log10": Decimal128("1000")},
        "exp": {"$exp": Decimal128("1")},
        "abs": {"$abs": Decimal128("-1.5")},
        "log": {"$log": [Decimal128("8"), 2]},
        "sqrt_int": {"$sqrt": 4},
        "log_int": {"$log": [8, 2]},
        "abs_int": {"$abs": -3},
        "abs_long": {"$abs": Int64(-3)},
        "null": {"$sqrt": None},
    }
    value = project(mongo_db.c, expression)
    assert value["sqrt"] == Decimal128("1.414213562373095048801688724209698")
    assert value["ln"] == Decimal128("2.302585092994045684017991454684364")
    assert value["log10"] == Decimal128("3")
    assert value["exp"] == Decimal128("2.718281828459045235360287471352662")
    assert same(value["abs"], Decimal128("1.5"))
    assert isinstance(value["log"], Decimal128) and value["log"].to_decimal() == 3
    assert same(value["sqrt_int"], 2.0) and same(value["log_int"], 3.0)
    assert same(value["abs_int"], 3) and same(value["abs_long"], Int64(3))
    assert value["null"] is None


def test_math_operators_outside_their_domain_fail(mongo_db):
    """$sqrt of a negative number (28714) and $ln of zero (28766) are errors."""
    for expression, code in [({"$sqrt": -1}, 28714), ({"$ln": 0}, 28766)]:
        with pytest.raises(OperationFailure) as failure:
            project(mongo_db.c, expression)
        assert failure.value.code == code


@pytest.mark.parametrize(
    "constant",
    [
        datetime.datetime(2020, 1, 1),
        Binary.from_uuid(uuid.UUID(int=1)),
        ObjectId("65a1b2c3d4e5f60718293a4b"),
        Decimal128("1.5"),
    ],
    ids=["date", "uuid", "objectid", "decimal128"],
)
def test_group_inside_facet_takes_any_constant(mongo_db, constant):
    """Constants of any BSON type are values in every expression ($literal returns its argument
    unparsed); mongoeco's $group code generator used to write them as Python source."""
    mongo_db.consts.insert_many([{"_id": 1, "b": None}, {"_id": 2}])
    pipeline = [
        {
            "$facet": {
                "g": [
                    {
                        "$group": {
                            "_id": None,
                            "m": {"$min": {"$ifNull": ["$b", {"$literal": constant}]}},
                        }
                    }
                ]
            }
        }
    ]
    (result,) = mongo_db.consts.aggregate(pipeline)
    assert result["g"] == [{"_id": None, "m": constant}]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"$bitAnd": [12, 10]}, 8),
        ({"$bitOr": [12, 10]}, 14),
        ({"$bitXor": [12, 10]}, 6),
        ({"$bitAnd": [-1, Int64(2**40 + 3)]}, Int64(2**40 + 3)),
        ({"$bitAnd": []}, -1),
        ({"$bitOr": []}, 0),
        ({"$bitAnd": [12, None]}, None),
        ({"$bitOr": ["$missing", 1]}, None),
        ({"$bitXor": [1, "$x"]}, None),
    ],
    ids=safe_ids,
)
def test_bitwise_operators(mongo_db, expression, expected):
    """$bitAnd/$bitOr/$bitXor (MongoDB 6.3+): int and long operands; an empty list gives -1
    for AND and 0 for OR; if any operand is null (or missing) the result is null."""
    value = project(mongo_db.c, expression, x=None)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("operand", ["a", 1.5, Decimal128("1")], ids=safe_ids)
def test_bitwise_operators_refuse_other_types(mongo_db, operand):
    with pytest.raises(OperationFailure):
        project(mongo_db.c, {"$bitAnd": [1, operand]}, x=None)


def test_date_minus_a_long_is_a_date(mongo_db):
    """$subtract: a date minus a number (int, long or double) is the date that many
    milliseconds earlier, whatever produced the number ($toLong here)."""
    moment = datetime.datetime(2020, 1, 10, 12, 0)
    value = project(mongo_db.c, {"$subtract": ["$d", {"$toLong": 86_400_000}]}, d=moment)
    assert value == datetime.datetime(2020, 1, 9, 12, 0)
    matched = mongo_db.c.aggregate(
        [{"$match": {"$expr": {"$lt": [{"$subtract": ["$d", {"$toLong": 1000}]}, "$d"]}}}]
    )
    assert len(list(matched)) == 1


def test_date_part_operator_takes_an_expression_object(mongo_db):
    """$month (and the other date parts) take any date expression, an expression object such
    as $let included, besides the {date, timezone} document."""
    moment = datetime.datetime(2020, 3, 10, 12, 0)
    expression = {"$month": {"$let": {"vars": {"d": "$d"}, "in": "$$d"}}}
    assert project(mongo_db.c, expression, d=moment) == 3
    matched = mongo_db.c.aggregate([{"$match": {"$expr": {"$eq": [expression, 3]}}}])
    assert len(list(matched)) == 1


@pytest.mark.parametrize(
    ("arguments", "replace_all", "replace_one"),
    [
        (("albatross", "ross", "rachel"), "albatrachel", "albatrachel"),
        (
            ("albatross", "", "one "),
            "one aone lone bone aone tone rone oone sone sone ",
            "one albatross",
        ),
        (("albatross", "", ""), "albatross", "albatross"),
        (("", "", "foo"), "foo", "foo"),
        (("an antelope is an animal", "an", ""), " telope is  imal", " antelope is an animal"),
        (("a", "", None), None, None),
        ((None, "", "x"), None, None),
    ],
    ids=safe_ids,
)
def test_replace_with_an_empty_search_string(mongo_db, arguments, replace_all, replace_one):
    """An empty ``find`` matches at every position: ``$replaceAll`` puts the replacement before
    each character and at the end, ``$replaceOne`` once at the start; a null argument gives null
    (jstests/aggregation/expressions/replace_all.js and replace_one.js). Not SQL's REPLACE,
    which returns the input: the compiler does not hand MongoDB an empty search."""
    text, find, replacement = arguments
    document = {"input": text, "find": find, "replacement": replacement}
    expression = {"input": "$input", "find": "$find", "replacement": "$replacement"}
    assert project(mongo_db.c, {"$replaceAll": expression}, **document) == replace_all
    assert project(mongo_db.c, {"$replaceOne": expression}, **document) == replace_one
