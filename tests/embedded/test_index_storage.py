"""``performance/index_storage.py``: each collection's indexes hold that collection only.

The server's data file is read directly (SQLite allows readers beside the server's writer in WAL
mode) to see the physical indexes; every query goes through pymongo and must answer as MongoDB
does, with the index hinted (``hint``: MongoDB's manual, cursor.hint(), runs the query through
the named index) and without.
"""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
from pymongo import ASCENDING, DESCENDING

from django_mongo_backend.embedded.performance import index_storage


@pytest.fixture
def storage(embedded_dbpath):
    """A read-only view of the embedded server's data file."""
    connection = sqlite3.connect(f"file:{embedded_dbpath / 'mongo.sqlite3'}?mode=ro", uri=True)
    yield connection
    connection.close()


def sqlite_indexes(storage, table):
    rows = storage.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
    )
    return dict(rows)


def physical_name(storage, db_name, coll_name, index_name):
    return storage.execute(
        "SELECT physical_name FROM indexes WHERE db_name = ? AND coll_name = ? AND name = ?",
        (db_name, coll_name, index_name),
    ).fetchone()[0]


def fill(collection):
    collection.insert_many(
        [{"_id": i, "a": i % 3, "b": f"v{i % 4}", "tags": [i, i + 1]} for i in range(12)]
    )


def test_entries_tables_keep_one_index_whatever_the_collections(mongo_db, storage):
    for name in ("one", "two", "three"):
        fill(mongo_db[name])
        mongo_db[name].create_index("a")
        mongo_db[name].create_index("tags")
    before = {table: set(sqlite_indexes(storage, table)) for table in index_storage.SHARED_INDEXES}
    for name in ("four", "five"):
        fill(mongo_db[name])
        mongo_db[name].create_index("a")
        mongo_db[name].create_index("tags")
    for table, shared in index_storage.SHARED_INDEXES.items():
        names = set(sqlite_indexes(storage, table))
        assert shared in names
        assert names == before[table]  # two more collections, no more SQLite indexes
    for name in ("one", "four"):
        collection = mongo_db[name]
        assert sorted(d["_id"] for d in collection.find({"a": 1}).hint("a_1")) == [1, 4, 7, 10]
        assert sorted(d["_id"] for d in collection.find({"tags": 5}).hint("tags_1")) == [4, 5]
        assert [d["_id"] for d in collection.find({"a": {"$gt": 1}}).sort("_id", 1)] == [
            2,
            5,
            8,
            11,
        ]


def test_dropping_an_index_or_a_collection_keeps_the_shared_indexes(mongo_db, storage):
    for name in ("kept", "dropped"):
        fill(mongo_db[name])
        mongo_db[name].create_index("a")
        mongo_db[name].create_index("tags")
    mongo_db["kept"].drop_index("a_1")
    mongo_db["dropped"].drop()
    for table, shared in index_storage.SHARED_INDEXES.items():
        assert shared in sqlite_indexes(storage, table)
    kept = mongo_db["kept"]
    assert sorted(d["_id"] for d in kept.find({"tags": 3}).hint("tags_1")) == [2, 3]
    kept.insert_one({"_id": 99, "tags": [3]})
    assert sorted(d["_id"] for d in kept.find({"tags": 3}).hint("tags_1")) == [2, 3, 99]


def test_an_expression_index_holds_its_collection_only(mongo_db, storage):
    for name in ("left", "right"):
        fill(mongo_db[name])
        mongo_db[name].create_index([("a", ASCENDING), ("b", DESCENDING)])
    db_name = mongo_db.name
    documents_indexes = sqlite_indexes(storage, "documents")
    for name in ("left", "right"):
        physical = physical_name(storage, db_name, name, "a_1_b_-1")
        condition = index_storage.namespace_condition(db_name, name)
        assert documents_indexes[physical].endswith(f" WHERE {condition}")
        quoted = '"' + physical + '"'
        counted = storage.execute(
            f"SELECT count(*) FROM documents INDEXED BY {quoted} WHERE {condition}"
        ).fetchone()[0]
        assert counted == 12
    left = mongo_db["left"]
    query = {"a": 2, "b": {"$in": ["v1", "v3"]}}
    expected = [5, 11]
    assert sorted(d["_id"] for d in left.find(query)) == expected
    assert sorted(d["_id"] for d in left.find(query).hint("a_1_b_-1")) == expected
    ordered = left.find({}).sort([("a", 1), ("b", -1), ("_id", 1)]).limit(3)
    assert [d["_id"] for d in ordered] == [3, 6, 9]  # a: 0, b: v3, v2, v1


def test_a_renamed_collection_keeps_using_its_indexes(mongo_db, storage):
    fill(mongo_db["before"])
    mongo_db["before"].create_index([("a", ASCENDING), ("b", ASCENDING)])
    mongo_db["before"].rename("after")
    physical = physical_name(storage, mongo_db.name, "after", "a_1_b_1")
    sql = sqlite_indexes(storage, "documents")[physical]
    assert sql.endswith(f" WHERE {index_storage.namespace_condition(mongo_db.name, 'after')}")
    after = mongo_db["after"]
    assert sorted(d["_id"] for d in after.find({"a": 0, "b": "v0"}).hint("a_1_b_1")) == [0]
    after.insert_one({"_id": 100, "a": 0, "b": "v0"})
    assert sorted(d["_id"] for d in after.find({"a": 0, "b": "v0"}).hint("a_1_b_1")) == [0, 100]


def test_writes_touch_only_their_collections_indexes():
    """The statement rewrite: a namespace given as parameters becomes literals, counted past
    ``?`` inside string literals and quoted names, and other statements stay as they are."""
    sql = (
        "SELECT document FROM documents WHERE db_name = ? AND coll_name = ? "
        'AND json_extract(document, \'$."a?"\') = ? AND "x?" = ?'
    )
    rewritten, parameters = index_storage.inline_namespace(sql, ("d'b", "c", 1, 2))
    assert rewritten == (
        "SELECT document FROM documents WHERE db_name IS 'd''b' AND coll_name IS 'c' "
        'AND json_extract(document, \'$."a?"\') = ? AND "x?" = ?'
    )
    assert parameters == (1, 2)
    joined = "SELECT 1 FROM t JOIN documents ON documents.db_name = ? AND documents.coll_name = ?"
    assert index_storage.inline_namespace(joined, ("d", "c")) == (joined, ("d", "c"))
    numbered = "SELECT 1 FROM documents WHERE db_name = ? AND coll_name = ? AND x = ?1"
    assert index_storage.inline_namespace(numbered, ("d", "c")) == (numbered, ("d", "c"))
    drop = f'DROP INDEX IF EXISTS "{index_storage.SHARED_INDEXES["multikey_entries"]}"'
    assert index_storage.physical_ddl(drop) is None
    kept = 'DROP INDEX IF EXISTS "idx_1"'
    assert index_storage.physical_ddl(kept) == kept
    with contextlib.suppress(KeyError):
        index_storage._namespaces.pop("idx_test")
    unknown = 'CREATE INDEX "idx_test" ON documents (db_name, coll_name, x)'
    assert index_storage.physical_ddl(unknown) == unknown
    index_storage._namespaces["idx_test"] = ("db", "coll")
    try:
        assert index_storage.physical_ddl(unknown) == (
            f"{unknown} WHERE db_name IS 'db' AND coll_name IS 'coll'"
        )
    finally:
        del index_storage._namespaces["idx_test"]
