"""Concurrent transactions: snapshot isolation, own writes, aborts, write conflicts, locks.

MongoDB runs transactions of several sessions at once; reads outside a transaction see only
committed data, a transaction reads from its snapshot and sees its own writes. A transaction's
write locks the document until the transaction ends
(https://www.mongodb.com/docs/manual/core/transactions-production-consideration/, "In-progress
Transactions and Write Conflicts"): another transaction writing it, or a transaction writing a
document changed since its snapshot, fails at once with ``WriteConflict`` (112) labelled
``TransientTransactionError``, which ``with_transaction`` retries; a write outside any
transaction waits for the transaction to end. Failed statements abort the transaction: later
ones get ``NoSuchTransaction`` (251), also transient (driver specification tests
``source/transactions/tests/unified/errors.yml`` and ``abort.yml``).
Every test also holds against a real replica set (``MONGODB_URI``).
"""

from __future__ import annotations

import os
import threading
import time

import pymongo
import pytest
from pymongo.errors import (
    BulkWriteError,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
)

from tests.embedded.concurrent_sessions import (
    TRANSIENT,
    assert_write_conflict,
    in_thread,
    two_transactions,
)


def assert_no_such_transaction(error):
    assert error.code == 251
    assert error.details["codeName"] == "NoSuchTransaction"
    assert error.has_error_label(TRANSIENT)


@pytest.fixture
def coll(mongo_db):
    mongo_db.things.insert_many([{"_id": i, "n": i} for i in range(5)])
    return mongo_db.things


def test_other_sessions_read_and_write_while_a_transaction_is_open(coll, other_client):
    others = other_client[coll.database.name].things
    with coll.database.client.start_session() as session, session.start_transaction():
        coll.insert_one({"_id": "tx"}, session=session)
        assert others.find_one({"_id": "tx"}) is None
        assert others.count_documents({}) == 5
        others.insert_one({"_id": "outside"})
        others.update_one({"_id": 0}, {"$set": {"n": 100}})
    assert others.find_one({"_id": "tx"}) == {"_id": "tx"}
    assert others.find_one({"_id": 0}) == {"_id": 0, "n": 100}


def test_a_transaction_reads_its_own_writes(coll):
    with coll.database.client.start_session() as session, session.start_transaction():
        coll.insert_one({"_id": "tx", "n": 10}, session=session)
        coll.update_one({"_id": 1}, {"$set": {"n": 11}}, session=session)
        coll.delete_one({"_id": 2}, session=session)
        assert coll.find_one({"_id": "tx"}, session=session) == {"_id": "tx", "n": 10}
        assert coll.count_documents({}, session=session) == 5
        total = list(
            coll.aggregate([{"$group": {"_id": None, "n": {"$sum": "$n"}}}], session=session)
        )
        assert total == [{"_id": None, "n": 0 + 11 + 3 + 4 + 10}]


def test_a_transaction_reads_from_its_snapshot(coll, other_client):
    others = other_client[coll.database.name].things
    with coll.database.client.start_session() as session, session.start_transaction():
        assert coll.find_one({"_id": 1}, session=session)["n"] == 1
        others.update_one({"_id": 1}, {"$set": {"n": 99}})
        others.insert_one({"_id": "late"})
        assert coll.find_one({"_id": 1}, session=session)["n"] == 1
        assert coll.find_one({"_id": "late"}, session=session) is None
    assert coll.find_one({"_id": 1})["n"] == 99


def test_abort_discards_the_writes(coll):
    with coll.database.client.start_session() as session:
        session.start_transaction()
        coll.insert_one({"_id": "gone"}, session=session)
        coll.update_one({"_id": 1}, {"$set": {"n": -1}}, session=session)
        coll.delete_one({"_id": 2}, session=session)
        session.abort_transaction()
    assert coll.find_one({"_id": "gone"}) is None
    assert coll.find_one({"_id": 1})["n"] == 1
    assert coll.find_one({"_id": 2}) is not None


def test_transactions_writing_different_documents_both_commit(coll, other_client):
    others = other_client[coll.database.name].things
    with two_transactions(coll.database.client, other_client) as (first, second):
        coll.update_one({"_id": 1}, {"$set": {"n": 10}}, session=first)
        others.update_one({"_id": 2}, {"$set": {"n": 20}}, session=second)
        coll.insert_one({"_id": "a"}, session=first)
        others.insert_one({"_id": "b"}, session=second)
        second.commit_transaction()
        first.commit_transaction()
    assert coll.find_one({"_id": 1})["n"] == 10
    assert coll.find_one({"_id": 2})["n"] == 20
    assert coll.count_documents({"_id": {"$in": ["a", "b"]}}) == 2


def test_a_transaction_writing_a_document_another_one_wrote_conflicts_at_once(coll, other_client):
    """errors.yml "write conflict commit": the second writer fails, its commit finds no txn."""
    others = other_client[coll.database.name].things
    with two_transactions(coll.database.client, other_client) as (first, second):
        coll.update_one({"_id": 1}, {"$set": {"n": 10}}, session=first)
        with pytest.raises(OperationFailure) as raised:
            others.update_one({"_id": 1}, {"$set": {"n": 20}}, session=second)
        assert_write_conflict(raised.value)
        first.commit_transaction()
        with pytest.raises(OperationFailure) as raised:
            second.commit_transaction()
        assert_no_such_transaction(raised.value)
    assert coll.find_one({"_id": 1})["n"] == 10


def test_two_transactions_inserting_one_id_conflict(coll, other_client):
    others = other_client[coll.database.name].things
    with two_transactions(coll.database.client, other_client) as (first, second):
        coll.insert_one({"_id": "same", "by": "first"}, session=first)
        with pytest.raises(OperationFailure) as raised:
            others.insert_one({"_id": "same", "by": "second"}, session=second)
        assert_write_conflict(raised.value)
        first.commit_transaction()
    assert coll.find_one({"_id": "same"}) == {"_id": "same", "by": "first"}


def test_writing_a_document_changed_since_the_snapshot_conflicts_and_writes_nothing(
    coll, other_client
):
    others = other_client[coll.database.name].things
    with coll.database.client.start_session() as session:
        session.start_transaction()
        coll.insert_one({"_id": "partial"}, session=session)  # the snapshot is taken here
        others.update_one({"_id": 3}, {"$set": {"n": 33}})
        with pytest.raises(OperationFailure) as raised:
            coll.update_one({"_id": 3}, {"$set": {"n": 30}}, session=session)
        assert_write_conflict(raised.value)
        with pytest.raises(OperationFailure) as raised:
            session.commit_transaction()
        assert_no_such_transaction(raised.value)
    assert coll.find_one({"_id": "partial"}) is None
    assert coll.find_one({"_id": 3})["n"] == 33


def test_with_transaction_retries_a_write_conflict(coll, other_client):
    others = other_client[coll.database.name].things
    attempts = []

    def callback(session):
        attempts.append(1)
        coll.find_one({"_id": 0}, session=session)  # the snapshot is taken here
        if len(attempts) == 1:  # someone else changes the document meanwhile, once
            others.update_one({"_id": 4}, {"$inc": {"n": 100}})
        coll.update_one({"_id": 4}, {"$inc": {"n": 1}}, session=session)

    with coll.database.client.start_session() as session:
        session.with_transaction(callback)
    assert len(attempts) == 2
    assert coll.find_one({"_id": 4})["n"] == 4 + 100 + 1


@pytest.mark.parametrize("end", ["commit", "abort"])
def test_a_write_outside_transactions_waits_for_the_transaction_to_end(coll, other_client, end):
    others = other_client[coll.database.name].things
    with coll.database.client.start_session() as session:
        session.start_transaction()
        coll.update_one({"_id": 1}, {"$set": {"n": 10}}, session=session)
        thread, outcome = in_thread(lambda: others.update_one({"_id": 1}, {"$inc": {"n": 1}}))
        thread.join(timeout=0.5)
        assert thread.is_alive(), outcome
        assert others.find_one({"_id": 1})["n"] == 1  # reads do not wait
        getattr(session, f"{end}_transaction")()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert outcome["result"].modified_count == 1
    assert coll.find_one({"_id": 1})["n"] == (11 if end == "commit" else 2)


def test_a_waiting_write_gives_up_at_its_max_time_ms(coll, other_client):
    others = other_client[coll.database.name]
    with coll.database.client.start_session() as session:
        session.start_transaction()
        coll.delete_one({"_id": 2}, session=session)
        started = time.monotonic()
        with pytest.raises(ExecutionTimeout) as raised:
            others.command(
                "update",
                "things",
                updates=[{"q": {"_id": 2}, "u": {"$set": {"n": -2}}}],
                maxTimeMS=300,
            )
        assert raised.value.code == 50
        assert raised.value.details["codeName"] == "MaxTimeMSExpired"
        assert time.monotonic() - started < 10
        others.things.update_one({"_id": 3}, {"$set": {"n": 30}})  # other documents are free
        session.commit_transaction()
    assert coll.find_one({"_id": 2}) is None
    assert coll.find_one({"_id": 3})["n"] == 30


def test_a_duplicate_key_error_aborts_the_transaction(coll):
    """abort.yml "abort ignores TransactionAborted": E11000, then NoSuchTransaction."""
    with coll.database.client.start_session() as session:
        session.start_transaction()
        coll.insert_one({"_id": "kept?"}, session=session)
        with pytest.raises(DuplicateKeyError) as raised:
            coll.insert_one({"_id": 1}, session=session)
        assert raised.value.code == 11000
        assert not raised.value.has_error_label(TRANSIENT)
        with pytest.raises(OperationFailure) as raised:
            coll.insert_one({"_id": "later"}, session=session)
        assert_no_such_transaction(raised.value)
        session.abort_transaction()  # the driver ignores the server's answer
    assert coll.count_documents({"_id": {"$in": ["kept?", "later"]}}) == 0


def test_a_write_error_makes_the_commit_fail_with_no_such_transaction(coll):
    with coll.database.client.start_session() as session:
        session.start_transaction()
        coll.update_one({"_id": 0}, {"$set": {"n": -1}}, session=session)
        with pytest.raises(BulkWriteError) as raised:
            coll.insert_many([{"_id": "fresh"}, {"_id": 0}], session=session)
        assert [error["code"] for error in raised.value.details["writeErrors"]] == [11000]
        with pytest.raises(OperationFailure) as raised:
            session.commit_transaction()
        assert_no_such_transaction(raised.value)
    assert coll.find_one({"_id": 0})["n"] == 0
    assert coll.find_one({"_id": "fresh"}) is None


def test_a_failed_command_aborts_the_transaction(coll):
    """Any statement that fails aborts (``invokeWithSessionCheckedOut``'s guard)."""
    with coll.database.client.start_session() as session:
        session.start_transaction()
        coll.insert_one({"_id": "gone"}, session=session)
        with pytest.raises(OperationFailure) as raised:
            coll.find_one({"$bogus": 1}, session=session)
        assert raised.value.code == 2  # BadValue: unknown top level operator
        with pytest.raises(OperationFailure) as raised:
            coll.find_one({}, session=session)
        assert_no_such_transaction(raised.value)
        with pytest.raises(OperationFailure) as raised:
            session.commit_transaction()
        assert_no_such_transaction(raised.value)
    assert coll.find_one({"_id": "gone"}) is None


def test_a_new_transaction_after_an_aborted_one_starts_afresh(coll):
    with coll.database.client.start_session() as session:
        session.start_transaction()
        with pytest.raises(DuplicateKeyError):
            coll.insert_one({"_id": 1}, session=session)
        session.abort_transaction()
        session.start_transaction()
        coll.insert_one({"_id": "second"}, session=session)
        session.commit_transaction()
    assert coll.find_one({"_id": "second"}) == {"_id": "second"}


def test_threads_incrementing_one_counter_in_transactions_lose_nothing(coll, mongo_uri):
    threads, increments = 6, 5
    errors = []

    def work():
        client = pymongo.MongoClient(mongo_uri)
        things = client[coll.database.name].things
        try:
            for _ in range(increments):
                with client.start_session() as session:
                    session.with_transaction(
                        lambda s: things.update_one({"_id": 0}, {"$inc": {"n": 1}}, session=s)
                    )
        except Exception as error:  # reported below, not swallowed
            errors.append(error)
        finally:
            client.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    assert coll.find_one({"_id": 0})["n"] == threads * increments


def test_transactions_on_two_databases_at_once(mongo_client, request):
    names = [f"t_two_{suffix}" for suffix in ("a", "b")]
    for name in names:
        mongo_client.drop_database(name)
        mongo_client[name].create_collection("rows")
    request.addfinalizer(lambda: [mongo_client.drop_database(name) for name in names])
    sessions = [mongo_client.start_session() for _ in names]
    for session in sessions:
        session.start_transaction()
    for index, (name, session) in enumerate(zip(names, sessions, strict=True)):
        mongo_client[name].rows.insert_one({"_id": index}, session=session)
    for index, (name, session) in enumerate(zip(names, sessions, strict=True)):
        assert mongo_client[name].rows.find_one({}, session=session) == {"_id": index}
    sessions[1].abort_transaction()
    sessions[0].commit_transaction()
    assert mongo_client[names[0]].rows.find_one() == {"_id": 0}
    assert mongo_client[names[1]].rows.find_one() is None


def test_unique_indexes_hold_inside_a_transaction(coll):
    coll.create_index("n", unique=True)
    with coll.database.client.start_session() as session:
        session.start_transaction()
        with pytest.raises(DuplicateKeyError):
            coll.insert_one({"_id": "dup", "n": 1}, session=session)
        if session.in_transaction:
            session.abort_transaction()
    assert coll.find_one({"_id": "dup"}) is None


def test_a_transaction_sees_the_collection_with_its_indexes(coll):
    """The transaction's first write copies the collection into its overlay as stored (the
    documents, the index definitions and their entries): after it, queries and sorts through
    an array (multikey) index, a compound index and a unique index answer over the collection
    as the transaction sees it, and the unique index refuses a key a copied document holds."""
    coll.update_many({}, [{"$set": {"tags": ["$n", {"$add": ["$n", 10]}], "code": "$n"}}])
    coll.create_index("tags")
    coll.create_index([("n", -1), ("code", 1)])
    coll.create_index("code", unique=True)
    with coll.database.client.start_session() as session:
        session.start_transaction()
        coll.insert_one({"_id": 9, "n": 9, "tags": [3, 99], "code": 9}, session=session)
        coll.update_one({"_id": 1}, {"$set": {"tags": [3]}}, session=session)
        coll.delete_one({"_id": 2}, session=session)
        found = coll.find({"tags": 3}, {"_id": 1}, session=session).sort("_id", 1)
        assert [doc["_id"] for doc in found] == [1, 3, 9]
        assert [doc["_id"] for doc in coll.find({"tags": 13}, session=session)] == [3]
        assert coll.count_documents({"tags": {"$gte": 10}}, session=session) == 4
        ordered = coll.find({"n": {"$gte": 0}}, {"_id": 1}, session=session).sort("n", -1)
        assert [doc["_id"] for doc in ordered] == [9, 4, 3, 1, 0]
        assert coll.find_one({"code": 4}, session=session)["_id"] == 4
        with pytest.raises(DuplicateKeyError):
            coll.insert_one({"_id": "dup", "code": 4}, session=session)
        if session.in_transaction:
            session.abort_transaction()
    assert coll.find_one({"_id": 9}) is None
    assert coll.count_documents({"tags": 3}) == 1  # only _id 3, as before the transaction


@pytest.fixture
def short_lived_uri(tmp_path, monkeypatch):
    """A server whose transactions live one second (``transactionLifetimeLimitSeconds``).

    On real MongoDB the parameter is set at runtime (``setParameter``); the embedded server
    reads it from its environment when it starts.
    """
    uri = os.environ.get("MONGODB_URI")
    if uri:
        client = pymongo.MongoClient(uri)
        parameter = "transactionLifetimeLimitSeconds"
        old = client.admin.command("getParameter", 1, **{parameter: 1})[parameter]
        client.admin.command("setParameter", 1, **{parameter: 1})
        yield uri
        client.admin.command("setParameter", 1, **{parameter: old})
        client.close()
        return
    from django_mongo_backend.embedded import launcher
    from django_mongo_backend.embedded.server import engine

    monkeypatch.setenv(engine.LIFETIME_LIMIT_VARIABLE, "1")
    dbpath = tmp_path / "short-lived"
    yield launcher.uri_for(launcher.ensure_server(dbpath))
    launcher.stop_server(dbpath)


def test_a_transaction_outliving_its_lifetime_limit_is_aborted(short_lived_uri):
    """The server aborts it (a write waiting for its lock then runs); it ends in 251."""
    client = pymongo.MongoClient(short_lived_uri)
    other = pymongo.MongoClient(short_lived_uri)
    try:
        things = client.t_lifetime.things
        things.drop()
        things.insert_many([{"_id": 1, "n": 1}, {"_id": 2, "n": 2}])
        with client.start_session() as session:
            session.start_transaction()
            things.update_one({"_id": 1}, {"$set": {"n": 10}}, session=session)
            started = time.monotonic()
            other.t_lifetime.things.update_one({"_id": 1}, {"$inc": {"n": 1}})
            assert 0.5 < time.monotonic() - started < 30
            with pytest.raises(OperationFailure) as raised:
                things.find_one({}, session=session)
            assert_no_such_transaction(raised.value)
            with pytest.raises(OperationFailure) as raised:
                session.commit_transaction()
            assert_no_such_transaction(raised.value)

            session.start_transaction()
            things.update_one({"_id": 2}, {"$set": {"n": 20}}, session=session)
            time.sleep(3)
            with pytest.raises(OperationFailure) as raised:
                session.commit_transaction()
            assert_no_such_transaction(raised.value)
        assert [doc["n"] for doc in things.find({}, sort=[("_id", 1)])] == [2, 2]
    finally:
        client.close()
        other.close()
