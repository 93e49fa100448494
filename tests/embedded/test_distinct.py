"""``distinct`` as MongoDB 7.0 answers it.

The ``distinct`` command (``src/mongo/db/commands/distinct.cpp``) takes from each matching
document the elements ``extractAllElementsAlongPath`` finds along the key: nothing from a
document without the field, an array's elements one level down (an array inside it is one
value), an explicit null as a value; each value once, by BSON comparison (``BSONElementSet``).
Manual, distinct: "If the value of the specified field is an array, distinct considers each
element of the array as a separate value."
"""

from __future__ import annotations


def test_distinct_skips_documents_without_the_key(mongo_db):
    mongo_db.c.insert_many([{"a": 1}, {"b": 1}, {"a": 2}, {}])
    assert sorted(mongo_db.c.distinct("a")) == [1, 2]
    assert mongo_db.c.distinct("a", {"b": 1}) == []
    assert mongo_db.c.distinct("missing") == []
    mongo_db.c.insert_one({"a": None})
    assert sorted(mongo_db.c.distinct("a"), key=repr) == [1, 2, None]


def test_distinct_unwinds_arrays_one_level(mongo_db):
    mongo_db.c.insert_many(
        [{"a": [1, 2, [3]]}, {"a": []}, {"a": 2.0}, {"a": [[3]]}, {"a": {"x": 1}}]
    )
    values = mongo_db.c.distinct("a")
    assert len(values) == 4  # 1, 2 (2.0 is the same number), [3] and {x: 1}
    assert sorted((v for v in values if isinstance(v, int | float)), key=float) == [1, 2]
    assert [3] in values and {"x": 1} in values
    assert values.count([3]) == 1


def test_distinct_on_a_dotted_key(mongo_db):
    mongo_db.c.insert_many(
        [
            {"a": {"x": 1}},
            {"a": [{"x": 5}, {"y": 1}]},
            {"a": 1},
            {"a": None},
            {"a": {"x": [6, 7]}},
            {"b": 1},
        ]
    )
    assert sorted(mongo_db.c.distinct("a.x")) == [1, 5, 6, 7]
