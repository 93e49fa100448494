"""``performance/switch_lookup.py``: an equality ``$switch`` answers as mongoeco's own scan.

MongoDB's manual ($switch): the branches are evaluated in order and the first whose ``case`` is
true gives the result, else ``default``. Aggregation ``$eq`` compares numbers by value across
types (``1``, ``Int64(1)`` and ``1.0`` are equal), never equals a number to a boolean or a
string, and does not look inside arrays. Each update below runs once with the branches as
Django's ``bulk_update()`` writes them (``{$and: [{$eq: ["$k", {$literal: c}]}]}``, which the
lookup serves) and once with each ``$eq``'s operands swapped (the same test, which mongoeco
evaluates itself); the documents must come out the same.
"""

from __future__ import annotations

import pytest
from bson import Decimal128, Int64, ObjectId

from django_mongo_backend.embedded.performance import switch_lookup

OID = ObjectId("65a1b2c3d4e5f60718293a4b")

#: Constants of the branches: duplicates (the first wins), numbers of several types, strings.
CONSTANTS = [1, 2, 2, "a", "b", OID, 3, 4, 1, 7, -5, 2**40, "2"]

#: Values of ``k`` in the documents updated.
VALUES = [
    1,
    1.0,
    Int64(2),
    2.5,
    "a",
    "A",
    "2",
    OID,
    ObjectId(),
    True,
    False,
    None,
    [1],
    {"x": 1},
    Decimal128("3"),
    float("nan"),
    float("inf"),
    2**40,
    float(2**40),
    -5,
    99,
]


def branches(swapped):
    def case(constant):
        operands = ["$k", {"$literal": constant}]
        return {"$and": [{"$eq": operands[::-1] if swapped else operands}]}

    return [{"case": case(c), "then": {"$literal": i}} for i, c in enumerate(CONSTANTS)]


def run(collection, switch):
    collection.delete_many({})
    collection.insert_many([{"_id": i, "k": v} for i, v in enumerate(VALUES)])
    collection.insert_one({"_id": "missing"})
    collection.update_many({}, [{"$set": {"r": {"$switch": switch}}}])
    return {d["_id"]: d.get("r", "unset") for d in collection.find()}


@pytest.mark.parametrize("default", [True, False], ids=["default", "no_default"])
def test_a_lookup_switch_answers_as_the_scan(mongo_db, default):
    collection = mongo_db["c"]
    results = []
    for swapped in (False, True):
        switch = {"branches": branches(swapped)}
        if default:
            switch["default"] = "none"
        assert (switch_lookup.plan_for(switch) is not None) is not swapped
        if default:
            results.append(run(collection, switch))
        else:  # no default: a document no branch selects fails the update, as MongoDB does
            # whatever mongoeco raises, the lookup must raise the same: compared below
            with pytest.raises(Exception) as error:  # noqa: PT011
                run(collection, switch)
            results.append(type(error.value))
    assert results[0] == results[1]
    if default:
        assert results[0][0] == 0  # 1 -> the first branch of 1
        assert results[0][1] == 0  # 1.0 equals 1
        assert results[0][2] == 1  # Int64(2): the first of the two branches of 2
        assert results[0][9] == "none"  # True is not 1
        assert results[0]["missing"] == "none"


def test_a_collation_goes_to_the_scan(mongo_db):
    collection = mongo_db["c"]
    collection.insert_many([{"_id": 1, "k": "A"}, {"_id": 2, "k": "b"}])
    switch = {"branches": branches(False), "default": "none"}
    collection.update_many(
        {}, [{"$set": {"r": {"$switch": switch}}}], collation={"locale": "en", "strength": 2}
    )
    assert {d["_id"]: d["r"] for d in collection.find()} == {1: 3, 2: 4}  # "a", "b" by collation


def test_the_lookup_serves_the_shapes_bulk_update_writes():
    """In-process: values of the covered types never reach mongoeco's scan; others do."""
    scanned = []

    def scan(operator, document, spec, variables, **kwargs):
        scanned.append(document["k"])
        return "scanned"

    evaluate = switch_lookup._evaluate_control_object_expression(scan)
    switch = {"branches": branches(False), "default": {"$literal": "none"}}
    kwargs = {
        "evaluate_expression": lambda document, expression, variables: expression["$literal"],
        "evaluate_expression_with_missing": lambda document, path, variables: document["k"],
    }
    answers = [
        evaluate("$switch", {"k": value}, switch, None, **kwargs)
        for value in (1, 1.0, Int64(4), "b", OID, 12345, "zz")
    ]
    assert answers == [0, 0, 7, 4, 5, "none", "none"]
    assert scanned == []
    for value in (True, None, [1], Decimal128("1"), float("nan")):
        assert evaluate("$switch", {"k": value}, switch, None, **kwargs) == "scanned"
    assert scanned == [True, None, [1], Decimal128("1"), scanned[-1]]
