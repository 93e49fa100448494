"""Expressions evaluated as MongoDB 7.0 evaluates them where Python or SQL would answer otherwise:
number formatting, ASCII-only case mapping, and missing values kept apart from null. Each test
names the server source or manual page that states the rule, and passes on MongoDB.
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from bson import Binary, Decimal128
from pymongo.errors import OperationFailure

from .test_corrections import project, safe_ids

# -- numbers as strings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.14159265, "3.14159"),
        (1234567.0, "1.23457e+06"),
        (100000.0, "100000"),
        (2.5, "2.5"),
        (0.1, "0.1"),
        (1e300, "1e+300"),
        (1.5e-7, "1.5e-07"),
        (-0.0, "-0"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
    ],
    ids=safe_ids,
)
def test_to_string_of_a_double_is_printf_g(mongo_db, value, expected):
    """``$toString``/``$convert`` to string of a double: ``performFormatDouble``
    (src/mongo/db/pipeline/expression.cpp) names Infinity, -Infinity, NaN and -0, and streams
    any other double into mongo's StringBuilder, whose ``operator<<(double)`` is
    ``snprintf("%g")`` (src/mongo/bson/util/builder.h): six significant digits, not Python's
    shortest round-trip repr."""
    expression = {
        "to_string": {"$toString": "$x"},
        "convert": {"$convert": {"input": "$x", "to": "string"}},
    }
    assert project(mongo_db.c, expression, x=value) == {
        "to_string": expected,
        "convert": expected,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.50", "1.50"),
        ("1E+3", "1E+3"),
        ("0.0000001", "1E-7"),
        ("-0", "-0"),
        ("123456789012345678901234567890.5", "123456789012345678901234567890.5"),
        ("-NaN", "NaN"),
        ("-Infinity", "-Infinity"),
    ],
    ids=safe_ids,
)
def test_to_string_of_a_decimal(mongo_db, value, expected):
    """A Decimal128 as ``Decimal128::toString`` (src/mongo/platform/decimal128.cpp) writes it:
    every digit and the exponent kept, scientific notation when the exponent is positive or the
    adjusted exponent is below -6, any NaN spelled ``NaN``."""
    assert project(mongo_db.c, {"$toString": "$x"}, x=Decimal128(value)) == expected


#: double -> the text of its Decimal128 (15 significant digits, trailing zeros kept).
DOUBLE_TO_DECIMAL = [
    (2.5, "2.50000000000000"),
    (-2.5, "-2.50000000000000"),
    (0.1, "0.100000000000000"),
    (0.1 + 0.2, "0.300000000000000"),
    (1 / 3, "0.333333333333333"),
    (1.234567890123456, "1.23456789012346"),
    (1.234567890123455, "1.23456789012345"),
    (0.9999999999999994, "0.999999999999999"),
    (0.9999999999999996, "1.00000000000000"),
    (9.999999999999998e15, "1.00000000000000E+16"),
    (float(2**53), "9.00719925474099E+15"),
    (1e21, "1.00000000000000E+21"),
    (100000.0, "100000.000000000"),
    (1e-6, "0.00000100000000000000"),
    (1e-7, "1.00000000000000E-7"),
    (5e-324, "4.94065645841247E-324"),
    (1.7976931348623157e308, "1.79769313486232E+308"),
    (0.0, "0"),
    (-0.0, "-0"),
    (float("inf"), "Infinity"),
    (float("-inf"), "-Infinity"),
    (float("nan"), "NaN"),
]


@pytest.mark.parametrize(("value", "expected"), DOUBLE_TO_DECIMAL, ids=safe_ids)
def test_to_decimal_of_a_double_keeps_15_significant_digits(mongo_db, value, expected):
    """``$toDecimal``/``$convert`` to decimal of a double is ``Decimal128(double)``, whose
    default precision is ``kRoundTo15Digits`` (src/mongo/platform/decimal128.cpp): the double
    quantized to exactly 15 significant digits, ties to even, trailing zeros kept; zeros,
    infinities and NaN as they are. The manual's $toDecimal table: ``{$toDecimal: 2.5}`` ->
    ``Decimal128("2.50000000000000")``. ``$toString`` of it is ``Decimal128::toString``
    (scientific notation when the exponent is positive or the adjusted exponent below -6)."""
    expression = {
        "to_decimal": {"$toDecimal": "$x"},
        "convert": {"$convert": {"input": "$x", "to": "decimal"}},
        "text": {"$toString": {"$toDecimal": "$x"}},
    }
    result = project(mongo_db.c, expression, x=value)
    assert {name: str(value) for name, value in result.items()} == {
        "to_decimal": expected,
        "convert": expected,
        "text": expected,
    }
    assert isinstance(result["to_decimal"], Decimal128)


def test_to_decimal_of_a_date_is_its_milliseconds(mongo_db):
    """The manual's $toDecimal table: a date converts to the number of milliseconds since the
    epoch (jstests/aggregation/expressions/convert.js: 1970-01-01T00:00:00.123Z -> "123")."""
    when = datetime.datetime(1970, 1, 1, 0, 0, 0, 123000)
    assert project(mongo_db.c, {"$toDecimal": "$d"}, d=when) == Decimal128("123")


def test_convert_to_decimal_by_number_with_on_null_and_on_error(mongo_db):
    """``$convert``'s ``to`` may name the type by its number (19 is decimal); ``onNull``
    answers a null or missing input and ``onError`` a failed conversion (manual: $convert)."""
    expression = {
        "by_number": {"$convert": {"input": "$x", "to": 19}},
        "string": {"$convert": {"input": "1.50", "to": "decimal"}},
        "on_null": {"$convert": {"input": "$nothing", "to": "decimal", "onNull": "none"}},
        "on_error": {"$convert": {"input": "abc", "to": "decimal", "onError": "bad"}},
    }
    assert project(mongo_db.c, expression, x=0.5) == {
        "by_number": Decimal128("0.500000000000000"),
        "string": Decimal128("1.50"),
        "on_null": "none",
        "on_error": "bad",
    }
    with pytest.raises(OperationFailure) as raised:
        project(mongo_db.c, {"$convert": {"input": "abc", "to": "decimal"}})
    assert raised.value.code == 241


def test_arithmetic_with_a_decimal_converts_doubles_to_15_digits(mongo_db):
    """Once an operand is a Decimal128, $add, $subtract, $multiply, $divide and $mod compute in
    Decimal128, each double converted by ``Value::coerceToDecimal`` = ``Decimal128(double)``
    (15 significant digits; src/mongo/db/pipeline/expression.cpp and
    src/mongo/db/exec/document_value/value.cpp): 1 + 0.1 is 1.100000000000000, not 1.1."""
    expression = {
        "add": {"$add": ["$d", "$x"]},
        "add_doubles_first": {"$add": ["$x", "$x", "$d"]},
        "subtract": {"$subtract": ["$d", "$x"]},
        "multiply": {"$multiply": ["$x", "$d"]},
        "divide": {"$divide": ["$x", "$d"]},
        "mod": {"$mod": ["$x", "$d"]},
    }
    result = project(mongo_db.c, expression, d=Decimal128("1"), x=0.1)
    assert {name: str(value) for name, value in result.items()} == {
        "add": "1.100000000000000",
        "add_doubles_first": "1.200000000000000",
        "subtract": "0.900000000000000",
        "multiply": "0.100000000000000",
        "divide": "0.100000000000000",
        "mod": "0.100000000000000",
    }


def test_string_operators_coerce_a_double_with_printf_g(mongo_db):
    """``$toLower``/``$toUpper`` take any value ``Value::coerceToString``
    (src/mongo/db/exec/document_value/value.cpp) takes: a double goes through the same ``%g``
    stream, without ``$toString``'s names for the special values; null is ""."""
    expression = {
        "double": {"$toLower": "$x"},
        "inf": {"$toUpper": "$inf"},
        "int": {"$toLower": "$n"},
        "null": {"$toUpper": "$nothing"},
    }
    document = {"x": 1234567.0, "inf": float("inf"), "n": 42}
    assert project(mongo_db.c, expression, **document) == {
        "double": "1.23457e+06",
        "inf": "INF",
        "int": "42",
        "null": "",
    }


# -- binData has no string ------------------------------------------------------------------------

#: A UUID as pymongo sends a ``uuid.UUID`` with uuidRepresentation="standard": binData subtype 4.
A_UUID = Binary(uuid.UUID("867dee52-c331-484e-92d1-c56479b8e67e").bytes, 4)
UNSUPPORTED = "Unsupported conversion from binData to {} in $convert with no onError value"


def test_bin_data_does_not_convert_to_a_string(mongo_db):
    """MongoDB 7.0 has no binData -> string conversion: ``$toString`` is ``$convert`` to
    "string", whose ``ConversionTable`` (src/mongo/db/pipeline/expression.cpp) has no binData
    row but bool, so ``findConversionFunc`` raises ConversionFailure (241) "Unsupported
    conversion from binData to string in $convert with no onError value"; ``onError`` answers
    it and ``onNull`` a null input. The manual's $convert lists binData among the inputs
    converted to string from 8.0 ("Changed in version 8.0"; jstests/aggregation/expressions/
    convert_bindata.js: "BinData $convert was added in v8.0")."""
    for expression, document in [
        ({"$toString": "$u"}, {"u": A_UUID}),
        ({"$convert": {"input": "$u", "to": "string"}}, {"u": A_UUID}),
        ({"$toString": "$b"}, {"b": Binary(b"abc", 0)}),
    ]:
        with pytest.raises(OperationFailure) as raised:
            project(mongo_db.c, expression, **document)
        assert raised.value.code == 241
        assert UNSUPPORTED.format("string") in str(raised.value)
    expression = {
        "uuid": {"$convert": {"input": "$u", "to": "string", "onError": "no text"}},
        "generic": {"$convert": {"input": "$b", "to": "string", "onError": None}},
        "null": {"$convert": {"input": "$none", "to": "string", "onNull": "null", "onError": 0}},
    }
    result = project(mongo_db.c, expression, u=A_UUID, b=Binary(b"abc", 0), none=None)
    assert result == {"uuid": "no text", "generic": None, "null": "null"}


@pytest.mark.parametrize(
    ("shorthand", "target"),
    [
        ("$toInt", "int"),
        ("$toLong", "long"),
        ("$toDouble", "double"),
        ("$toDecimal", "decimal"),
        ("$toDate", "date"),
        ("$toObjectId", "objectId"),
    ],
    ids=safe_ids,
)
def test_bin_data_converts_to_bool_only(mongo_db, shorthand, target):
    """The one binData conversion of MongoDB 7.0's ``ConversionTable``
    (src/mongo/db/pipeline/expression.cpp) is to bool, always true
    (jstests/aggregation/expressions/convert.js: BinData -> bool is true); to any other type
    ``$convert`` and its shorthands (``$toInt``... are ``$convert`` without onError) fail with
    ConversionFailure (241) naming both types, which ``onError`` answers."""
    for expression in ({shorthand: "$u"}, {"$convert": {"input": "$u", "to": target}}):
        with pytest.raises(OperationFailure) as raised:
            project(mongo_db.c, expression, u=A_UUID)
        assert raised.value.code == 241
        assert UNSUPPORTED.format(target) in str(raised.value)
    expression = {
        "bool": {"$toBool": "$u"},
        "convert": {"$convert": {"input": "$u", "to": "bool"}},
        "on_error": {"$convert": {"input": "$u", "to": target, "onError": "E"}},
    }
    assert project(mongo_db.c, expression, u=A_UUID) == {
        "bool": True,
        "convert": True,
        "on_error": "E",
    }


def test_string_operators_refuse_bin_data(mongo_db):
    """``$toLower``/``$toUpper`` take a string through ``Value::coerceToString``
    (src/mongo/db/exec/document_value/value.cpp), which has no case for binData: error 16007
    "can't convert from BSON type binData to String", a UUID included."""
    for value in (A_UUID, Binary(b"abc", 0)):
        with pytest.raises(OperationFailure) as raised:
            project(mongo_db.c, {"$toLower": "$u"}, u=value)
        assert raised.value.code == 16007
        assert "can't convert from BSON type binData to String" in str(raised.value)


# -- ASCII-only case mapping -----------------------------------------------------------------------


def test_to_lower_and_to_upper_map_ascii_letters_only(mongo_db):
    """``$toLower``/``$toUpper`` apply ``boost::to_lower``/``to_upper`` to the UTF-8 bytes
    (src/mongo/db/pipeline/expression.cpp); the manual: "only has a well-defined behavior for
    strings of ASCII characters". Non-ASCII letters stay as they are."""
    expression = {"lower": {"$toLower": "$s"}, "upper": {"$toUpper": "$s"}}
    assert project(mongo_db.c, expression, s="ÉLAN élan Straße") == {
        "lower": "Élan élan straße",
        "upper": "ÉLAN éLAN STRAßE",
    }


def test_strcasecmp_folds_ascii_letters_only(mongo_db):
    """``$strcasecmp`` compares the ASCII-uppercased UTF-8 bytes (``boost::to_upper_copy`` then
    ``std::string::compare``): "abc" equals "ABC", but "é" is not "É" (0xC3 0xA9 sorts after
    0xC3 0x89)."""
    expression = {
        "ascii": {"$strcasecmp": ["abc", "ABC"]},
        "accented": {"$strcasecmp": ["é", "É"]},
        "reversed": {"$strcasecmp": ["É", "é"]},
        "null": {"$strcasecmp": ["$nothing", ""]},
    }
    assert project(mongo_db.c, expression) == {
        "ascii": 0,
        "accented": 1,
        "reversed": -1,
        "null": 0,
    }


# -- missing is not null ---------------------------------------------------------------------------


def test_group_by_compound_id_keeps_missing_apart_from_null(mongo_db):
    """A ``$group`` ``_id`` document with several fields is a vector of their values
    (``computeGroupKey``, src/mongo/db/pipeline/group_processor_base.cpp): a missing value is not
    null, so ``{b: 1}`` and ``{a: null, b: 1}`` are two groups, and the missing field is left out
    of the output ``_id`` (``expandId``)."""
    mongo_db.c.insert_many([{"_id": 1, "b": 1}, {"_id": 2, "a": None, "b": 1}])
    groups = mongo_db.c.aggregate(
        [{"$group": {"_id": {"a": "$a", "b": "$b"}, "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]
    )
    assert [group["_id"] for group in groups] == [{"a": None, "b": 1}, {"b": 1}]


def test_group_by_one_expression_makes_missing_null(mongo_db):
    """With ONE ``_id`` expression, a field path or a one-field document, a missing value is
    null (``computeGroupKey``: ``retValue.missing() ? Value(BSONNULL)``): one group, whose
    ``_id`` is null or ``{a: null}``."""
    mongo_db.c.insert_many([{"_id": 1, "b": 1}, {"_id": 2, "a": None, "b": 1}])
    scalar = list(mongo_db.c.aggregate([{"$group": {"_id": "$a", "n": {"$sum": 1}}}]))
    document = list(mongo_db.c.aggregate([{"$group": {"_id": {"a": "$a"}, "n": {"$sum": 1}}}]))
    assert scalar == [{"_id": None, "n": 2}]
    assert document == [{"_id": {"a": None}, "n": 2}]


def test_add_to_set_of_documents_keeps_missing_apart_from_null(mongo_db):
    """``$addToSet: {a: "$a", b: "$b"}`` adds the documents the object expression builds
    (``ExpressionObject`` leaves a missing field out): ``{b: 1}`` and ``{a: null, b: 1}`` are two
    elements."""
    mongo_db.c.insert_many([{"_id": 1, "b": 1}, {"_id": 2, "a": None, "b": 1}])
    (result,) = mongo_db.c.aggregate(
        [{"$group": {"_id": None, "s": {"$addToSet": {"a": "$a", "b": "$b"}}}}]
    )
    assert sorted(result["s"], key=len) == [{"b": 1}, {"a": None, "b": 1}]


def test_object_expression_leaves_missing_fields_out(mongo_db):
    """An object expression has no field for an expression that is missing (manual, $project:
    "if the expression evaluates to $$REMOVE, the field is excluded"; a missing field path is the
    same missing value), in ``$project``, ``$addFields`` and ``$replaceRoot`` alike."""
    mongo_db.c.insert_one({"_id": 1, "b": 1})
    spec = {"k": "$missing", "r": "$$REMOVE", "b": "$b", "n": {"$literal": None}}
    projected = mongo_db.c.aggregate([{"$project": {"_id": 0, "o": spec}}])
    added = mongo_db.c.aggregate([{"$addFields": {"o": spec}}])
    replaced = mongo_db.c.aggregate([{"$replaceRoot": {"newRoot": spec}}])
    assert list(projected) == [{"o": {"b": 1, "n": None}}]
    assert list(added) == [{"_id": 1, "b": 1, "o": {"b": 1, "n": None}}]
    assert list(replaced) == [{"b": 1, "n": None}]


def test_array_to_object_refuses_a_pair_whose_value_is_missing(mongo_db):
    """``[{k: "x", v: "$missing"}]`` builds ``{k: "x"}``, which ``$arrayToObject`` refuses with
    error 40392, "requires an object keys of 'k' and 'v'. Found incorrect number of keys:1"
    (``ExpressionArrayToObject``, src/mongo/db/pipeline/expression.cpp)."""
    mongo_db.c.insert_one({"_id": 1})
    with pytest.raises(OperationFailure) as failure:
        list(
            mongo_db.c.aggregate(
                [{"$project": {"o": {"$arrayToObject": [[{"k": "x", "v": "$missing"}]]}}}]
            )
        )
    assert failure.value.code == 40392
    assert "Found incorrect number of keys:1" in str(failure.value)
    (result,) = mongo_db.c.aggregate(
        [{"$project": {"_id": 0, "o": {"$arrayToObject": [[{"k": "x", "v": None}]]}}}]
    )
    assert result == {"o": {"x": None}}


def test_array_elem_at_past_the_end_is_missing(mongo_db):
    """``$arrayElemAt`` past either end of its array returns a missing value (manual: "If the
    idx exceeds the array bounds, $arrayElemAt does not return a result"), so ``$project`` has
    no field; ``$$REMOVE`` likewise; a null array is null."""
    mongo_db.c.insert_one({"_id": 1})
    (result,) = mongo_db.c.aggregate(
        [
            {
                "$project": {
                    "_id": 0,
                    "past_end": {"$arrayElemAt": [[1], 5]},
                    "before_start": {"$arrayElemAt": [[1], -2]},
                    "last": {"$arrayElemAt": [[1, 2], -1]},
                    "remove": "$$REMOVE",
                    "null_array": {"$arrayElemAt": ["$nothing", 0]},
                    "in_object": {"x": {"$arrayElemAt": [[], 0]}, "y": {"$literal": 1}},
                }
            }
        ]
    )
    assert result == {"last": 2, "null_array": None, "in_object": {"y": 1}}
