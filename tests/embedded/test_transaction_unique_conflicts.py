"""Unique index keys under snapshot isolation: WriteConflict at the statement, never at commit.

MongoDB 7.0 (WiredTiger) applies "first updater wins" to the keys of unique indexes as to
documents. The server's jstests say what a client sees (mongodb/mongo):

- ``jstests/core/txns/transactions_write_conflicts_unique_indexes.js`` (with
  ``jstests/core/txns/libs/write_conflicts.js``): two transactions writing one unique key
  (insert-insert, update-update, upsert-upsert, batch inserts, multi-updates) - the second
  writer's *statement* fails with ``WriteConflict`` (112) whether the first is still open
  ("T1StartsFirstAndWins") or committed after the second's snapshot ("T2StartsSecondAndWins");
  the loser's commit then gets ``NoSuchTransaction`` (251). No duplicate key error is involved.
- ``jstests/core/txns/write_conflicts_with_non_txns.js``: a write outside transactions that
  collides with a transaction's uncommitted insert keeps retrying until the transaction ends -
  then it fails with ``DuplicateKey`` (11000) if the transaction committed, or succeeds if it
  aborted; with ``maxTimeMS`` it gives up with ``MaxTimeMSExpired`` (50). A transaction
  inserting a key committed outside it after its snapshot fails with ``WriteConflict``.

A key committed *before* the snapshot is visible to the transaction: inserting it again is an
ordinary ``DuplicateKey`` (11000, not transient), as outside transactions. Every test also holds
against a real replica set (``MONGODB_URI``).
"""

from __future__ import annotations

import contextlib
import time

import pytest
from pymongo.errors import DuplicateKeyError, ExecutionTimeout, OperationFailure

from tests.embedded.concurrent_sessions import (
    TRANSIENT,
    assert_write_conflict,
    in_thread,
    two_transactions,
)


def assert_commit_finds_no_transaction(session):
    """The statement aborted the transaction: commit answers 251, never a duplicate key."""
    with pytest.raises(OperationFailure) as raised:
        session.commit_transaction()
    assert raised.value.code == 251
    assert raised.value.details["codeName"] == "NoSuchTransaction"


def assert_the_second_writer_loses(first, second, write):
    """``write()``, the second transaction's statement on a key the first has written, fails
    with WriteConflict; the first then commits, and the second's commit finds no transaction."""
    with pytest.raises(OperationFailure) as raised:
        write()
    assert_write_conflict(raised.value)
    first.commit_transaction()
    assert_commit_finds_no_transaction(second)


@pytest.fixture
def people(mongo_db):
    mongo_db.people.create_index("name", unique=True)
    mongo_db.people.insert_many([{"_id": 1, "name": "Ann"}, {"_id": 2, "name": "Bob"}])
    return mongo_db.people


@pytest.fixture
def others(people, other_client):
    """The same collection through another client (its own connections and sessions)."""
    return other_client[people.database.name].people


def names(coll):
    return sorted((document["_id"], document["name"]) for document in coll.find())


@contextlib.contextmanager
def transaction(coll):
    """A session of ``coll``'s client in a transaction it has started."""
    with coll.database.client.start_session() as session:
        session.start_transaction()
        yield session


@contextlib.contextmanager
def transaction_after_its_snapshot(coll):
    """A transaction whose snapshot is taken (by a read) before the block runs."""
    with transaction(coll) as session:
        coll.find_one({}, session=session)
        yield session


def both_transactions(people, others):
    """A transaction on each client: (first on ``people``'s, second on ``others``')."""
    return two_transactions(people.database.client, others.database.client)


def test_a_key_committed_after_the_snapshot_conflicts_at_the_insert(people, others):
    """write_conflicts_with_non_txns.js, last case, with a secondary unique index."""
    with transaction_after_its_snapshot(people) as session:
        others.insert_one({"_id": 3, "name": "John"})
        with pytest.raises(OperationFailure) as raised:
            people.insert_one({"_id": 4, "name": "John"}, session=session)
        assert_write_conflict(raised.value)
        assert_commit_finds_no_transaction(session)
    assert names(people) == [(1, "Ann"), (2, "Bob"), (3, "John")]


def test_a_key_another_transaction_committed_after_the_snapshot_conflicts(people, others):
    """write_conflicts.js "T2StartsSecondAndWins", insert-insert."""
    with both_transactions(people, others) as (first, second):
        people.find_one({}, session=first)
        others.insert_one({"_id": 3, "name": "John"}, session=second)
        second.commit_transaction()
        with pytest.raises(OperationFailure) as raised:
            people.insert_one({"_id": 4, "name": "John"}, session=first)
        assert_write_conflict(raised.value)
        assert_commit_finds_no_transaction(first)
    assert names(people) == [(1, "Ann"), (2, "Bob"), (3, "John")]


def test_a_key_another_open_transaction_inserted_conflicts(people, others):
    """write_conflicts.js "T1StartsFirstAndWins", insert-insert: the second writer fails."""
    with both_transactions(people, others) as (first, second):
        people.insert_one({"_id": 3, "name": "John"}, session=first)
        assert_the_second_writer_loses(
            first, second, lambda: others.insert_one({"_id": 4, "name": "John"}, session=second)
        )
    assert names(people) == [(1, "Ann"), (2, "Bob"), (3, "John")]


def test_updates_to_one_key_in_two_open_transactions_conflict(people, others):
    """transactions_write_conflicts_unique_indexes.js, update-update: both set one new key."""
    with both_transactions(people, others) as (first, second):
        people.update_one({"_id": 1}, {"$set": {"name": "Cy"}}, session=first)
        assert_the_second_writer_loses(
            first,
            second,
            lambda: others.update_one({"_id": 2}, {"$set": {"name": "Cy"}}, session=second),
        )
    assert names(people) == [(1, "Cy"), (2, "Bob")]


def test_an_update_to_a_key_committed_after_the_snapshot_conflicts(people, others):
    """transactions_write_conflicts_unique_indexes.js, update-update, "T2StartsSecondAndWins"."""
    with transaction_after_its_snapshot(people) as session:
        others.update_one({"_id": 2}, {"$set": {"name": "Cy"}})
        with pytest.raises(OperationFailure) as raised:
            people.update_one({"_id": 1}, {"$set": {"name": "Cy"}}, session=session)
        assert_write_conflict(raised.value)
        assert_commit_finds_no_transaction(session)
    assert names(people) == [(1, "Ann"), (2, "Cy")]


def test_a_batch_insert_overlapping_an_open_transactions_keys_fails_whole(people, others):
    """transactions_write_conflicts_unique_indexes.js, batch insert-batch insert: the whole
    command fails (a transient error is not reported as a write error), nothing is kept."""
    with both_transactions(people, others) as (first, second):
        people.insert_many([{"_id": 10, "name": "x1"}, {"_id": 11, "name": "x2"}], session=first)
        assert_the_second_writer_loses(
            first,
            second,
            lambda: others.insert_many(
                [{"_id": 20, "name": "x0"}, {"_id": 21, "name": "x2"}], session=second
            ),
        )
    assert people.count_documents({"name": {"$in": ["x0", "x1", "x2"]}}) == 2
    assert people.find_one({"name": "x2"})["_id"] == 11


def test_a_key_committed_before_the_snapshot_is_a_duplicate_key(people, others):
    """A key the snapshot shows is an ordinary duplicate (11000), not a write conflict."""
    others.insert_one({"_id": 3, "name": "John"})
    with transaction_after_its_snapshot(people) as session:
        with pytest.raises(DuplicateKeyError) as raised:
            people.insert_one({"_id": 4, "name": "John"}, session=session)
        assert raised.value.code == 11000
        assert not raised.value.has_error_label(TRANSIENT)
        assert_commit_finds_no_transaction(session)
    assert names(people) == [(1, "Ann"), (2, "Bob"), (3, "John")]


def test_a_transaction_may_reuse_a_key_it_freed(people):
    """Keys this transaction itself removed are free for it: no conflict, and commit works
    whatever order it writes the documents in."""
    with transaction(people) as session:
        people.delete_one({"_id": 1}, session=session)
        people.insert_one({"_id": 3, "name": "Ann"}, session=session)
        people.update_one({"_id": 2}, {"$set": {"name": "tmp"}}, session=session)
        people.insert_one({"_id": 0, "name": "Bob"}, session=session)
        session.commit_transaction()
    assert names(people) == [(0, "Bob"), (2, "tmp"), (3, "Ann")]


def test_a_transaction_may_swap_two_documents_keys(people):
    """Each statement keeps the index unique; so does the commit, which applies them at once."""
    with transaction(people) as session:
        people.update_one({"_id": 1}, {"$set": {"name": "tmp"}}, session=session)
        people.update_one({"_id": 2}, {"$set": {"name": "Ann"}}, session=session)
        people.update_one({"_id": 1}, {"$set": {"name": "Bob"}}, session=session)
        session.commit_transaction()
    assert names(people) == [(1, "Bob"), (2, "Ann")]


def test_transactions_writing_different_keys_both_commit(people, others):
    with both_transactions(people, others) as (first, second):
        people.insert_one({"_id": 3, "name": "John"}, session=first)
        others.insert_one({"_id": 4, "name": "Jane"}, session=second)
        others.update_one({"_id": 1}, {"$set": {"name": "Anna"}}, session=second)
        first.commit_transaction()
        second.commit_transaction()
    assert names(people) == [(1, "Anna"), (2, "Bob"), (3, "John"), (4, "Jane")]


@pytest.mark.parametrize("end", ["commit", "abort"])
def test_an_insert_outside_transactions_waits_for_the_transaction_holding_its_key(
    people, others, end
):
    """write_conflicts_with_non_txns.js: it waits; then DuplicateKey after a commit, or it
    succeeds after an abort."""
    with transaction(people) as session:
        people.insert_one({"_id": 3, "name": "John", "by": "txn"}, session=session)
        thread, outcome = in_thread(
            lambda: others.insert_one({"_id": 4, "name": "John", "by": "outside"})
        )
        thread.join(timeout=0.5)
        assert thread.is_alive(), outcome
        getattr(session, f"{end}_transaction")()
        thread.join(timeout=30)
    assert not thread.is_alive()
    if end == "commit":
        assert isinstance(outcome.get("error"), DuplicateKeyError), outcome
        assert outcome["error"].code == 11000
        assert names(people) == [(1, "Ann"), (2, "Bob"), (3, "John")]
    else:
        assert outcome["result"].inserted_id == 4, outcome
        assert names(people) == [(1, "Ann"), (2, "Bob"), (4, "John")]


def test_an_update_outside_transactions_waits_for_the_transaction_holding_its_key(people, others):
    with transaction(people) as session:
        people.update_one({"_id": 1}, {"$set": {"name": "Cy"}}, session=session)
        thread, outcome = in_thread(lambda: others.update_one({"_id": 2}, {"$set": {"name": "Cy"}}))
        thread.join(timeout=0.5)
        assert thread.is_alive(), outcome
        session.abort_transaction()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert outcome["result"].modified_count == 1, outcome
    assert names(people) == [(1, "Ann"), (2, "Cy")]


def test_an_insert_waiting_for_a_key_gives_up_at_its_max_time_ms(people, others):
    """write_conflicts_with_non_txns.js: maxTimeMS ends the wait with MaxTimeMSExpired."""
    with transaction(people) as session:
        people.insert_one({"_id": 3, "name": "John"}, session=session)
        started = time.monotonic()
        with pytest.raises(ExecutionTimeout) as raised:
            others.database.command(
                "insert", "people", documents=[{"_id": 4, "name": "John"}], maxTimeMS=300
            )
        assert raised.value.code == 50
        assert time.monotonic() - started < 10
        others.insert_one({"_id": 5, "name": "Jane"})  # other keys are free
        session.commit_transaction()
    assert names(people) == [(1, "Ann"), (2, "Bob"), (3, "John"), (5, "Jane")]
