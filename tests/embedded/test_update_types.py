"""An update that changes only a value's BSON type modifies the document (MongoDB stores BSON:
``5`` as int32 and ``5.0`` as double are different bytes, so the write happens and counts)."""

from __future__ import annotations

import pytest
from bson import Decimal128

CHANGES = [
    pytest.param(2**40, "$toDouble", float(2**40), "double", id="long-to-double"),
    pytest.param(5, "$toDouble", 5.0, "double", id="int-to-double"),
    pytest.param(5.0, "$toInt", 5, "int", id="double-to-int"),
    pytest.param(5, "$toDecimal", Decimal128("5"), "decimal", id="int-to-decimal"),
]


@pytest.mark.parametrize(("stored", "operator", "expected", "bson_type"), CHANGES)
def test_pipeline_update_changing_the_type_is_written(
    mongo_db, stored, operator, expected, bson_type
):
    collection = mongo_db["update_types"]
    collection.insert_one({"_id": 1, "v": stored, "nested": {"n": [1, stored]}})
    result = collection.update_many({}, [{"$set": {"v": {operator: "$v"}}}])
    assert result.modified_count == 1
    value = collection.find_one()["v"]
    assert type(value) is type(expected) and value == expected
    assert collection.aggregate([{"$project": {"t": {"$type": "$v"}}}]).next()["t"] == bson_type


def test_set_operator_changing_the_type_counts_as_modified(mongo_db):
    collection = mongo_db["update_types"]
    collection.insert_one({"_id": 1, "v": 5, "arr": [1, 2]})
    result = collection.update_one({"_id": 1}, {"$set": {"v": 5.0, "arr.1": 2.0}})
    assert result.modified_count == 1
    document = collection.find_one()
    assert isinstance(document["v"], float) and isinstance(document["arr"][1], float)


def test_same_value_same_type_is_not_modified(mongo_db):
    collection = mongo_db["update_types"]
    collection.insert_one({"_id": 1, "v": 5.0, "s": "x"})
    assert collection.update_one({"_id": 1}, {"$set": {"v": 5.0, "s": "x"}}).modified_count == 0
    assert collection.update_one({"_id": 1}, [{"$set": {"v": 5.0}}]).modified_count == 0
