"""Concurrent transactions: snapshot isolation, own writes, aborts, write conflicts.

MongoDB runs transactions of several sessions at once; reads outside a transaction see only
committed data, a transaction reads from its snapshot and sees its own writes, and of two
transactions writing the same document one fails with ``WriteConflict`` (code 112) labelled
``TransientTransactionError``, which ``with_transaction`` retries
(https://www.mongodb.com/docs/manual/core/transactions-production-consideration/).
Every test also holds against a real replica set (``MONGODB_URI``).
"""

from __future__ import annotations

import threading

import pymongo
import pytest
from pymongo.errors import DuplicateKeyError, OperationFailure


@pytest.fixture
def other_client(mongo_uri):
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000)
    yield client
    client.close()


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
    first = coll.database.client.start_session()
    second = other_client.start_session()
    first.start_transaction()
    second.start_transaction()
    coll.update_one({"_id": 1}, {"$set": {"n": 10}}, session=first)
    others.update_one({"_id": 2}, {"$set": {"n": 20}}, session=second)
    coll.insert_one({"_id": "a"}, session=first)
    others.insert_one({"_id": "b"}, session=second)
    second.commit_transaction()
    first.commit_transaction()
    assert coll.find_one({"_id": 1})["n"] == 10
    assert coll.find_one({"_id": 2})["n"] == 20
    assert coll.count_documents({"_id": {"$in": ["a", "b"]}}) == 2


def test_conflicting_write_fails_with_write_conflict_and_transient_label(coll, other_client):
    """MongoDB reports it at the write, the embedded server at commit: either is allowed."""
    others = other_client[coll.database.name].things
    first = coll.database.client.start_session()
    second = other_client.start_session()
    first.start_transaction()
    second.start_transaction()
    coll.update_one({"_id": 1}, {"$set": {"n": 10}}, session=first)
    with pytest.raises(OperationFailure) as raised:
        others.update_one({"_id": 1}, {"$set": {"n": 20}}, session=second)
        first.commit_transaction()
        second.commit_transaction()
    assert raised.value.code == 112
    assert raised.value.has_error_label("TransientTransactionError")
    if first.in_transaction:
        first.commit_transaction()
    assert coll.find_one({"_id": 1})["n"] == 10


def test_a_write_conflict_at_commit_leaves_no_partial_writes(coll, other_client):
    others = other_client[coll.database.name].things
    with coll.database.client.start_session() as session:
        session.start_transaction()
        coll.insert_one({"_id": "partial"}, session=session)
        coll.update_one({"_id": 3}, {"$set": {"n": 30}}, session=session)
        try:
            others.update_one({"_id": 3}, {"$set": {"n": 33}})
            session.commit_transaction()
        except OperationFailure as error:
            assert error.code == 112
        else:
            pytest.fail("the commit must conflict")
    assert coll.find_one({"_id": "partial"}) is None
    assert coll.find_one({"_id": 3})["n"] == 33


def test_with_transaction_retries_a_write_conflict(coll, other_client):
    others = other_client[coll.database.name].things
    attempts = []

    def callback(session):
        attempts.append(1)
        coll.update_one({"_id": 4}, {"$inc": {"n": 1}}, session=session)
        if len(attempts) == 1:  # someone else changes the document meanwhile, once
            others.update_one({"_id": 4}, {"$inc": {"n": 100}})

    with coll.database.client.start_session() as session:
        session.with_transaction(callback)
    assert len(attempts) >= 2
    assert coll.find_one({"_id": 4})["n"] == 4 + 100 + 1


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
