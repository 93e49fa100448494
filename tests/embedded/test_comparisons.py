"""Query comparison operators and MongoDB's type bracketing (``corrections/comparisons.py``).

MongoDB's documentation (Comparison Query Operators, "Comparison/Sort Order"): "For most data
types, comparison operators only perform comparisons on fields where the BSON type matches the
query value's type"; int32, int64, double and decimal128 are one numeric type for comparison and
compare by value. ``{field: {$lte: null}}`` and ``{$gte: null}`` match documents where the field
is null or missing, like ``{field: null}``; ``$lt``/``$gt`` null match nothing. An array field
matches when one of its elements satisfies the comparison.

Every query runs through ``find``, a leading ``$match`` and a ``$match`` after another stage
(which the engine evaluates in Python), with and without an index on the field, so each of the
engine's paths (SQL translation, index scans, the Python matcher) is held to the same rule.
"""

from __future__ import annotations

import datetime

import pytest
from bson import Decimal128, Int64, MaxKey, ObjectId

MIXED = [
    {"_id": 1, "a": None},
    {"_id": 2},
    {"_id": 3, "a": 5},
    {"_id": 4, "a": "s"},
    {"_id": 5, "a": Int64(-(2**40))},
    {"_id": 6, "a": Decimal128("9.99")},
    {"_id": 7, "a": Decimal128("10.5")},
    {"_id": 8, "a": 7.5},
]

WAYS = ["find", "match", "late_match"]


def run(collection, way, query, field="a"):
    """The ``_id``s matching ``query``, read one of three ways."""
    if way == "find":
        cursor = collection.find(query)
    elif way == "match":
        cursor = collection.aggregate([{"$match": query}])
    else:
        cursor = collection.aggregate([{"$addFields": {"_later": 1}}, {"$match": query}])
    return sorted(document["_id"] for document in cursor)


@pytest.fixture(params=[False, True], ids=["no_index", "index"])
def make(mongo_db, request):
    """Create a collection of ``documents``, indexed on ``a`` or not."""

    def make(documents, name="c", field="a"):
        collection = mongo_db[name]
        collection.insert_many(documents)
        if request.param:
            collection.create_index(field)
        return collection

    return make


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Numbers of every type compare by value; null, missing and strings never match.
        ({"a": {"$lt": 40}}, [3, 5, 6, 7, 8]),
        ({"a": {"$gte": 0}}, [3, 6, 7, 8]),
        ({"a": {"$lt": 0}}, [5]),
        ({"a": {"$gt": Decimal128("9.99")}}, [7]),
        ({"a": {"$lte": Int64(5)}}, [3, 5]),
        # Strings compare with strings only.
        ({"a": {"$lt": "z"}}, [4]),
        ({"a": {"$gt": ""}}, [4]),
        # $lte/$gte null match null and missing; $lt/$gt null match nothing.
        ({"a": {"$lte": None}}, [1, 2]),
        ({"a": {"$gte": None}}, [1, 2]),
        ({"a": {"$lt": None}}, []),
        ({"a": {"$gt": None}}, []),
        # $not inverts the bracketed comparison, so it keeps null, missing and other types.
        ({"a": {"$not": {"$lt": 40}}}, [1, 2, 4]),
        ({"a": {"$gt": 1, "$lt": 8}}, [3, 8]),
    ],
)
def test_comparisons_only_match_values_of_the_query_values_type(make, way, query, expected):
    collection = make(MIXED)
    assert run(collection, way, query) == expected


NUMBERS = [
    {"_id": 1, "a": 5},
    {"_id": 2, "a": Int64(-(2**40))},
    {"_id": 3, "a": Int64(2**62)},
    {"_id": 4, "a": 2**40},  # pymongo sends an int64
    {"_id": 5, "a": 7.5},
    {"_id": 6, "a": -0.5},
    {"_id": 7, "a": None},
    {"_id": 8, "a": "9"},
    {"_id": 9},
]


@pytest.mark.parametrize("decimals", [False, True], ids=["no_decimals", "decimals"])
@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"a": {"$lt": 0}}, [2, 6]),
        ({"a": {"$gt": 6}}, [3, 4, 5]),
        ({"a": {"$gte": 2**40}}, [3, 4]),
        ({"a": {"$gt": Int64(2**62 - 1)}}, [3]),
        ({"a": {"$gt": float(2**62)}}, []),
        ({"a": {"$gte": float(2**62)}}, [3]),
        ({"a": {"$lte": -(2**40)}}, [2]),
        ({"a": {"$lt": -(2**40) + 0.5}}, [2]),
        ({"a": {"$gt": 5, "$lt": 8}}, [5]),
        ({"a": {"$lt": Decimal128("7.5")}}, [1, 2, 6]),
        ({"a": {"$lte": Decimal128("7.5")}}, [1, 2, 5, 6]),
        ({"a": {"$gt": Decimal128("-1E+30")}}, [1, 2, 3, 4, 5, 6]),
    ],
)
def test_int_long_double_and_decimal_compare_by_value(make, decimals, way, query, expected):
    documents = list(NUMBERS)
    if decimals:
        documents.append({"_id": 10, "a": Decimal128("-2")})
        if all(_holds(-2, operator, bound) for operator, bound in query["a"].items()):
            expected = sorted([*expected, 10])
    assert run(make(documents), way, query) == expected


def _holds(number, operator, bound):
    bound = bound.to_decimal() if isinstance(bound, Decimal128) else bound
    return {
        "$lt": number < bound,
        "$lte": number <= bound,
        "$gt": number > bound,
        "$gte": number >= bound,
    }[operator]


@pytest.mark.parametrize("way", WAYS)
def test_a_decimal_and_a_double_of_the_same_digits_are_different_numbers(make, way):
    # MongoDB's Decimal128 documentation: NumberDecimal("9.99") and the double 9.99 (which is
    # 9.9900000000000002131...) are not equal; each query matches only its own value.
    collection = make([{"_id": 1, "a": Decimal128("9.99")}, {"_id": 2, "a": 9.99}])
    assert run(collection, way, {"a": 9.99}) == [2]
    assert run(collection, way, {"a": Decimal128("9.99")}) == [1]
    assert run(collection, way, {"a": {"$lt": 9.99}}) == [1]
    assert run(collection, way, {"a": {"$gt": Decimal128("9.99")}}) == [2]


EQUAL_FIVES = [
    {"_id": 1, "a": 5},
    {"_id": 2, "a": Int64(5)},
    {"_id": 3, "a": 5.0},
    {"_id": 4, "a": [Int64(5), 9]},
    {"_id": 5, "a": 6},
    {"_id": 6, "a": "5"},
    {"_id": 7},
]


@pytest.mark.parametrize("decimals", [False, True], ids=["no_decimals", "decimals"])
@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("five", [5, Int64(5), 5.0, Decimal128("5")], ids=repr)
def test_equal_numbers_of_different_types_are_equal(make, decimals, way, five):
    # "Comparison/Sort Order": numeric types compare by value, so 5, NumberLong(5), 5.0 and
    # NumberDecimal("5") are equal for $eq, $in, $ne and $nin.
    documents = list(EQUAL_FIVES)
    fives = [1, 2, 3, 4]
    if decimals:
        documents.append({"_id": 8, "a": Decimal128("5.00")})
        fives.append(8)
    collection = make(documents)
    others = sorted({d["_id"] for d in documents} - set(fives))
    assert run(collection, way, {"a": five}) == fives
    assert run(collection, way, {"a": {"$in": [five, 7]}}) == fives
    assert run(collection, way, {"a": {"$ne": five}}) == others
    assert run(collection, way, {"a": {"$nin": [five]}}) == others
    assert run(collection, way, {"a": {"$elemMatch": {"$gte": five}}}) == [4]


DATES = [
    {"_id": 1, "a": datetime.datetime(2020, 1, 1)},
    {"_id": 2, "a": datetime.datetime(2020, 1, 1, 0, 0, 0, 1000)},
    {"_id": 3, "a": datetime.datetime(2021, 6, 1, 12)},
    {"_id": 4, "a": "2020-06-01"},
    {"_id": 5, "a": 1_600_000_000_000},
    {"_id": 6, "a": None},
    {"_id": 7, "a": ObjectId("5f0000000000000000000000")},
    {"_id": 8, "a": [datetime.datetime(2019, 1, 1), "x"]},
]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"a": {"$gt": datetime.datetime(2020, 1, 1)}}, [2, 3]),
        ({"a": {"$gte": datetime.datetime(2020, 1, 1)}}, [1, 2, 3]),
        ({"a": {"$lt": datetime.datetime(2020, 1, 1, 0, 0, 0, 1000)}}, [1, 8]),
        ({"a": {"$lt": datetime.datetime(2100, 1, 1)}}, [1, 2, 3, 8]),
        ({"a": {"$gt": ObjectId("000000000000000000000000")}}, [7]),
        ({"a": {"$gt": 0}}, [5]),
        ({"a": {"$lt": "2021"}}, [4]),
        ({"a": {"$gte": "x"}}, [8]),
    ],
)
def test_dates_compare_with_dates_only(make, way, query, expected):
    assert run(make(DATES), way, query) == expected


ARRAYS = [
    {"_id": 1, "a": [1, "x", Int64(50)]},
    {"_id": 2, "a": [Decimal128("45"), None]},
    {"_id": 3, "a": ["a", "b"]},
    {"_id": 4, "a": []},
    {"_id": 5, "a": 42},
    {"_id": 6, "a": [[100]]},  # a nested array is one (array) value, not a number
]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"a": {"$gt": 40}}, [1, 2, 5]),
        ({"a": {"$gt": 46}}, [1]),
        ({"a": {"$lt": 2}}, [1]),
        ({"a": {"$gte": "b"}}, [1, 3]),
        ({"a": {"$lte": None}}, [2]),
        ({"a": {"$gt": 40, "$lt": 44}}, [1, 5]),  # each bound met by some element
        ({"a": {"$elemMatch": {"$gt": 40, "$lt": 44}}}, []),
        ({"a": {"$elemMatch": {"$gt": 40}, "$size": 3}}, [1]),
    ],
)
def test_an_array_matches_when_one_element_satisfies_the_comparison(make, way, query, expected):
    assert run(make(ARRAYS), way, query) == expected


EMBEDDED = [
    {"_id": 1, "a": {"b": 5}},
    {"_id": 2, "a": {"b": "5"}},
    {"_id": 3, "a": {"b": None}},
    {"_id": 4, "a": {"c": 1}},
    {"_id": 5, "a": [{"b": Int64(70)}, {"b": "z"}]},
    {"_id": 6, "a": {"b": [Decimal128("-3")]}},
]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"a.b": {"$lt": 40}}, [1, 6]),
        ({"a.b": {"$gt": 40}}, [5]),
        ({"a.b": {"$gt": "1"}}, [2, 5]),
        ({"a.b": {"$gte": None}}, [3, 4]),
        ({"a.b": {"$lt": None}}, []),
    ],
)
def test_dotted_paths_are_bracketed_too(make, way, query, expected):
    assert run(make(EMBEDDED, field="a.b"), way, query) == expected


def test_max_key_bounds_every_type(mongo_db):
    # MongoDB's matcher: $lt/$lte MaxKey match a value of any type.
    mongo_db.c.insert_many([{"_id": 1, "a": 1}, {"_id": 2, "a": "s"}, {"_id": 3, "a": None}])
    assert run(mongo_db.c, "find", {"a": {"$lt": MaxKey()}}) == [1, 2, 3]
    assert run(mongo_db.c, "find", {"a": {"$gt": MaxKey()}}) == []


def test_sort_interleaves_numeric_types_in_bson_order(make):
    # "Comparison/Sort Order": MinKey < null (and missing) < numbers < strings < objects <
    # arrays < BinData < ObjectId < bool < date < ... < MaxKey; numbers of every type by value.
    collection = make(
        [
            {"_id": "date", "a": datetime.datetime(2020, 1, 1)},
            {"_id": "true", "a": True},
            {"_id": "oid", "a": ObjectId("5f0000000000000000000000")},
            {"_id": "str", "a": "s"},
            {"_id": "obj", "a": {"x": 1}},
            {"_id": "long", "a": Int64(-(2**40))},
            {"_id": "dec", "a": Decimal128("9.99")},
            {"_id": "int", "a": 5},
            {"_id": "double", "a": 7.5},
            {"_id": "null", "a": None},
            {"_id": "big", "a": Int64(2**62)},
        ]
    )
    order = [document["_id"] for document in collection.find({}, {"_id": 1}).sort("a", 1)]
    assert order == [
        "null",
        "long",
        "int",
        "double",
        "dec",
        "big",
        "str",
        "obj",
        "oid",
        "true",
        "date",
    ]


def test_writes_after_a_query_are_seen_by_the_next_one(mongo_db):
    # The engine caches what types a field holds; a decimal inserted later must still match.
    collection = mongo_db.c
    collection.insert_many([{"_id": 1, "a": 1}, {"_id": 2, "a": 3}])
    collection.create_index("a")
    assert run(collection, "find", {"a": {"$lt": 2}}) == [1]
    collection.insert_many([{"_id": 3, "a": Decimal128("1.5")}, {"_id": 4, "a": Int64(0)}])
    assert run(collection, "find", {"a": {"$lt": 2}}) == [1, 3, 4]
    collection.insert_one({"_id": 5, "a": [Int64(-1)]})
    assert run(collection, "find", {"a": {"$lt": 2}}) == [1, 3, 4, 5]


def test_counts_updates_and_deletes_use_the_same_rule(mongo_db):
    collection = mongo_db.c
    collection.insert_many(MIXED)
    assert collection.count_documents({"a": {"$lt": 40}}) == 5
    assert collection.update_many({"a": {"$gte": 0}}, {"$set": {"hit": True}}).modified_count == 4
    assert run(collection, "find", {"hit": True}) == [3, 6, 7, 8]
    assert collection.delete_many({"a": {"$lt": "z"}}).deleted_count == 1
    assert collection.find_one({"a": {"$lt": 0}})["_id"] == 5
