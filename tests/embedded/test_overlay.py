"""``server/overlay.py``: a transaction's overlay holds its collections as the data file does.

A transaction's first write to a collection copies that collection's stored rows (catalog,
index definitions, documents, index entries) and SQLite indexes into the transaction's
in-memory overlay. The copy must fit the layout the server stores: per-collection partial
expression indexes and shared entries indexes (``performance/index_storage.py``), unique,
compound, partial, sparse, array and TTL indexes, several collections in one transaction.

The first tests run the engine in this process to compare the overlay's tables with the file's;
the others go through pymongo, where every answer must be MongoDB's (each also holds against a
real replica set, ``MONGODB_URI``): a unique index refuses a duplicate key inside the
transaction (``DuplicateKey``, 11000, which aborts it), a partial unique index refuses only
keys of the documents its filter covers (manual, "Partial Indexes": "unique constraint applies
only to the documents that meet the filter expression"), and two open transactions writing one
unique key conflict at the second write (``WriteConflict``, 112; the server's
``jstests/core/txns/transactions_write_conflicts_unique_indexes.js``).
"""

from __future__ import annotations

import asyncio
import datetime

import pytest
from pymongo.errors import DuplicateKeyError, OperationFailure

from django_mongo_backend.embedded.performance import index_storage
from django_mongo_backend.embedded.server import (
    engine,
    overlay,
    wire,  # noqa: F401 (installs the patches)
)
from tests.embedded.concurrent_sessions import assert_write_conflict, two_transactions

DB = "d"
COPIED = ("a", "b")
LEFT_OUT = "c"


async def _fill(store):
    now = datetime.datetime(2030, 1, 1)
    for name in (*COPIED, LEFT_OUT):
        await store.insert_documents(
            DB,
            name,
            [
                {
                    "_id": i,
                    "x": i % 3,
                    "y": f"{name}{i}",
                    "tags": [i, i + 1],
                    "at": now,
                    **({"sku": f"s{i}"} if i % 2 else {}),
                }
                for i in range(12)
            ],
        )
        await store.create_index(DB, name, [("y", 1)], unique=True)
        await store.create_index(DB, name, [("x", 1), ("y", -1)])
        await store.create_index(DB, name, [("tags", 1)])
        await store.create_index(DB, name, [("sku", 1)], unique=True, sparse=True)
        await store.create_index(
            DB, name, [("x", 1)], name="x_when_one", partial_filter_expression={"x": 1}
        )
        await store.create_index(DB, name, [("at", 1)], expire_after_seconds=3600)


def _rows(conn, table, db_name, coll_name):
    """The rows a collection has in ``table`` (entries without their collection_id)."""
    if table in ("collections", "documents", "indexes"):
        columns = "*" if table != "collections" else "db_name, coll_name, options_json"
        query = f"SELECT {columns} FROM {table} WHERE db_name = ? AND coll_name = ?"
        return sorted(conn.execute(query, (db_name, coll_name)).fetchall(), key=repr)
    (collection_id,) = conn.execute(
        "SELECT collection_id FROM collections WHERE db_name = ? AND coll_name = ?",
        (db_name, coll_name),
    ).fetchone()
    columns = ", ".join(overlay.STORED[table][1:])
    rows = conn.execute(f"SELECT {columns} FROM {table} WHERE collection_id = ?", (collection_id,))
    return sorted(rows.fetchall(), key=repr)


def _sqlite_indexes(conn):
    query = "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
    return dict(conn.execute(query).fetchall())


def test_a_copied_collection_is_stored_in_the_overlay_as_in_the_file(tmp_path):
    """Every row of each copied collection, and every SQLite index serving it (its partial
    expression indexes, the shared entries indexes), is in the overlay as in the file; a
    collection the transaction did not write is not."""

    async def run():
        store = engine.create_engine(tmp_path)
        await store.connect()
        copy = overlay.OverlayEngine()
        await copy.connect()
        try:
            await _fill(store)
            with store._lock:
                for name in COPIED:
                    assert copy.copy_collection(store._connection, DB, name)
                assert not copy.copy_collection(store._connection, DB, "missing")
            return _compare(store._connection, copy._connection)
        finally:
            await copy.disconnect()
            await store.disconnect()

    asyncio.run(run())


def _compare(source, target):
    for table in overlay.STORED:
        for name in COPIED:
            expected = _rows(source, table, DB, name)
            assert expected, (table, name)  # every kind of row is there to copy
            assert _rows(target, table, DB, name) == expected, (table, name)
    namespaces = target.execute("SELECT db_name, coll_name FROM collections").fetchall()
    assert sorted(namespaces) == [(DB, name) for name in COPIED]
    left_out = f" WHERE {index_storage.namespace_condition(DB, LEFT_OUT)}"
    source_indexes = _sqlite_indexes(source)
    expected = {name: sql for name, sql in source_indexes.items() if not sql.endswith(left_out)}
    assert len(expected) < len(source_indexes)  # the left-out collection's are not copied
    target_indexes = _sqlite_indexes(target)
    assert target_indexes == expected
    for name in COPIED:  # each expression index holds its own collection only
        condition = f" WHERE {index_storage.namespace_condition(DB, name)}"
        physical = {
            physical
            for (physical,) in target.execute(
                "SELECT physical_name FROM indexes WHERE db_name = ? AND coll_name = ? "
                "AND physical_name IS NOT NULL",
                (DB, name),
            )
        }
        partial = {index for index, sql in target_indexes.items() if sql.endswith(condition)}
        assert len(physical) > 1
        assert partial == physical
    for shared in index_storage.SHARED_INDEXES.values():
        assert shared in target_indexes


def test_every_table_of_mongoeco_is_copied_or_said_why_not():
    """The copy reads mongoeco's own tables: a mongoeco that adds a table, or changes the
    columns of one the copy reads, fails here until ``overlay.py`` says how it is copied."""

    async def run():
        copy = overlay.OverlayEngine()
        await copy.connect()
        try:
            conn = copy._connection
            tables = {
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
            }
            columns = {
                table: tuple(info[1] for info in conn.execute(f"PRAGMA table_info({table})"))
                for table in overlay.STORED
                if table in tables
            }
        finally:
            await copy.disconnect()
        return tables, columns

    tables, columns = asyncio.run(run())
    assert not overlay.STORED.keys() & overlay.NOT_COPIED.keys()
    assert tables == overlay.STORED.keys() | overlay.NOT_COPIED.keys()
    for table, expected in overlay.STORED.items():
        if expected is not None:
            assert columns[table] == expected, table


# -- through pymongo ---------------------------------------------------------------------------


def assert_aborted(session):
    with pytest.raises(OperationFailure) as raised:
        session.commit_transaction()
    assert raised.value.code == 251


@pytest.fixture
def shop(mongo_db):
    """Three collections with unique, compound, partial, sparse and array indexes, and one
    with an index of its own that the transactions below never write."""
    orders, items, tags, other = (mongo_db[name] for name in ("orders", "items", "tags", "other"))
    orders.create_index([("customer", 1), ("number", 1)], unique=True)
    orders.insert_many([{"_id": i, "customer": i % 2, "number": i // 2} for i in range(6)])
    items.create_index(
        "sku", unique=True, name="active_sku", partialFilterExpression={"active": True}
    )
    items.create_index([("group", 1), ("rank", -1)])
    items.insert_many(
        [
            {"_id": i, "sku": f"s{i % 3}", "active": i < 3, "group": i % 2, "rank": i}
            for i in range(6)
        ]
    )
    tags.create_index("code", unique=True, sparse=True)
    tags.create_index("labels")
    tags.insert_many([{"_id": 1, "code": "x", "labels": ["a", "b"]}, {"_id": 2, "labels": ["b"]}])
    other.create_index("n")
    other.insert_one({"_id": 1, "n": 1})
    return mongo_db


def test_one_transaction_writes_several_collections_through_their_indexes(shop, other_client):
    orders, items, tags = shop.orders, shop.items, shop.tags
    with shop.client.start_session() as session:
        session.start_transaction()
        orders.insert_one({"_id": 10, "customer": 0, "number": 3}, session=session)
        orders.update_one({"_id": 0}, {"$set": {"number": 9}}, session=session)
        items.insert_one(
            {"_id": 10, "sku": "s0", "active": False, "group": 0, "rank": 99}, session=session
        )
        items.update_one({"_id": 2}, {"$set": {"active": False}}, session=session)
        items.insert_one(  # the key _id 2 held until the update above
            {"_id": 11, "sku": "s2", "active": True, "group": 1, "rank": 50}, session=session
        )
        tags.insert_one({"_id": 3, "labels": ["a", "c"]}, session=session)  # no code: sparse
        tags.delete_one({"_id": 2}, session=session)
        by_number = [("customer", 1), ("number", 1)]
        own = orders.find({"customer": 0}, session=session).hint(by_number).sort(by_number)
        assert [d["_id"] for d in own] == [2, 4, 10, 0]  # numbers 1, 2, 3, 9
        by_rank = [("group", 1), ("rank", -1)]
        ranked = items.find({"group": 0}, session=session).hint(by_rank).sort(by_rank)
        assert [d["_id"] for d in ranked] == [10, 4, 2, 0]
        labelled = tags.find({"labels": "a"}, session=session).hint("labels_1").sort("_id", 1)
        assert [d["_id"] for d in labelled] == [1, 3]
        assert other_client[shop.name].orders.find_one({"_id": 10}) is None  # not committed
        session.commit_transaction()
    committed = other_client[shop.name]
    assert committed.orders.find_one({"customer": 0, "number": 9})["_id"] == 0
    assert [d["_id"] for d in committed.items.find({"sku": "s2"}).sort("_id", 1)] == [2, 5, 11]
    labelled = committed.tags.find({"labels": "a"}).hint("labels_1").sort("_id", 1)
    assert [d["_id"] for d in labelled] == [1, 3]
    assert committed.other.find_one({"n": 1}, hint="n_1")["_id"] == 1


@pytest.mark.parametrize(
    ("collection", "first", "duplicate"),
    [
        ("orders", {"_id": 20, "customer": 1, "number": 7}, {"customer": 1, "number": 2}),
        (
            "items",
            {"_id": 20, "sku": "s1", "active": False, "group": 0, "rank": 0},
            {"sku": "s1", "active": True},
        ),
        ("tags", {"_id": 20, "labels": []}, {"code": "x"}),
    ],
    ids=["compound", "partial", "sparse"],
)
def test_unique_indexes_of_copied_collections_refuse_duplicates(shop, collection, first, duplicate):
    """The overlay's copy of a unique index (compound, partial, sparse) refuses a key a copied
    document holds, and only such a key: the first write (copying the collection) is one the
    index does not cover or that is new."""
    coll = shop[collection]
    with shop.client.start_session() as session:
        session.start_transaction()
        coll.insert_one(first, session=session)
        with pytest.raises(DuplicateKeyError):
            coll.insert_one({"_id": 21, **duplicate}, session=session)
        assert_aborted(session)
    assert coll.find_one({"_id": first["_id"]}) is None


def test_two_transactions_writing_one_key_of_a_partial_unique_index_conflict(shop, other_client):
    """First updater wins on the keys the copied partial index covers; a document it does not
    cover holds no key and conflicts with nothing."""
    items, others = shop.items, other_client[shop.name].items
    with two_transactions(shop.client, other_client) as (first, second):
        items.update_one({"_id": 3}, {"$set": {"sku": "new", "active": True}}, session=first)
        others.insert_one({"_id": 30, "sku": "new", "active": False}, session=second)
        with pytest.raises(OperationFailure) as raised:
            others.insert_one({"_id": 31, "sku": "new", "active": True}, session=second)
        assert_write_conflict(raised.value)
        first.commit_transaction()
        assert_aborted(second)
    assert [d["_id"] for d in items.find({"sku": "new"})] == [3]
