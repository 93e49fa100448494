"""SQLite's "database is locked" never reaches a client; background maintenance outlives it.

The lock is provoked as under load: another SQLite connection holds the data file's write lock
(``BEGIN IMMEDIATE``) for a while. Before ``server/busy.py`` a client's write failed with
``OperationFailure('database is locked')`` after Python's 5 s, and a registration heartbeat
refused once made every later change-consumer registration (each new collection handle) fail
with that error. ``mongod`` waits for its locks, up to a command's ``maxTimeMS``: "maxTimeMS
... the cumulative time limit in milliseconds for processing operations on the cursor"
(manual, ``cursor.maxTimeMS()``), ended by ``MaxTimeMSExpired`` (error code 50).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time

import pymongo
import pytest
from mongoeco.engines import sqlite as sqlite_module

from django_mongo_backend.embedded import launcher
from django_mongo_backend.embedded.server import busy, engine, process
from django_mongo_backend.embedded.server.wire import DATA_FILE

#: Longer than Python's default busy timeout (5 s), which mongoeco's connections used.
PAST_DEFAULT_TIMEOUT = 6.0


class LockHolder:
    """Another connection holding the data file's write lock until released."""

    def __init__(self, path):
        self.connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.connection.execute("BEGIN IMMEDIATE")

    def release(self):
        self.connection.rollback()
        self.connection.close()

    def release_after(self, seconds):
        timer = threading.Timer(seconds, self.release)
        timer.start()
        return timer


@pytest.fixture
def dbpath(tmp_path):
    yield tmp_path
    launcher.stop_server(tmp_path)


def _client(dbpath):
    info = launcher.ensure_server(dbpath)
    return pymongo.MongoClient(launcher.uri_for(info), serverSelectionTimeoutMS=10_000)


def _log(dbpath):
    return (dbpath / process.LOG_FILE).read_text()


@pytest.mark.slow
def test_a_write_waits_out_a_lock_held_past_five_seconds(dbpath):
    with _client(dbpath) as client:
        rows = client.t.rows
        rows.insert_one({"_id": "counter", "n": 0})
        LockHolder(dbpath / DATA_FILE).release_after(PAST_DEFAULT_TIMEOUT)
        rows.insert_one({"_id": 1})  # waits for the lock
        rows.update_one({"_id": "counter"}, {"$inc": {"n": 1}})
        rows.insert_many([{"_id": i} for i in range(2, 12)])
        assert "t" in client.list_database_names()
        assert rows.count_documents({}) == 12
        assert rows.find_one({"_id": "counter"}) == {"_id": "counter", "n": 1}


def test_a_write_outlasting_the_busy_timeout_waits_and_is_logged(dbpath, monkeypatch):
    monkeypatch.setenv(busy.BUSY_TIMEOUT_VARIABLE, "0.1")
    with _client(dbpath) as client:
        client.t.rows.insert_one({"_id": 0})
        LockHolder(dbpath / DATA_FILE).release_after(1.0)
        client.t.rows.insert_one({"_id": 1})
        assert client.t.rows.count_documents({}) == 2
    log = _log(dbpath)
    assert "a write: SQLite's lock is held elsewhere (database is locked); waiting" in log
    assert "a write: got SQLite's lock after" in log


def test_a_write_waiting_past_its_max_time_ms_gets_max_time_ms_expired(dbpath):
    # The default busy timeout (60 s) is longer than the lock is held (3 s): only a wait cut
    # to the command's maxTimeMS (300 ms) ends before the lock is released.
    with _client(dbpath) as client:
        client.t.rows.insert_one({"_id": 0})
        LockHolder(dbpath / DATA_FILE).release_after(3.0)
        with pytest.raises(pymongo.errors.OperationFailure) as raised:
            client.t.command("insert", "rows", documents=[{"_id": 1}], maxTimeMS=300)
        assert raised.value.code == 50
        assert raised.value.details["codeName"] == "MaxTimeMSExpired"
        assert sorted(row["_id"] for row in client.t.rows.find()) == [0]


# -- the engine's background maintenance, in this process --------------------------------------


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A connected engine over a file, as the server runs it (patches installed)."""
    monkeypatch.setenv(busy.BUSY_TIMEOUT_VARIABLE, "0.05")
    monkeypatch.setattr(sqlite_module, "_EPHEMERAL_CHANGE_CONSUMER_HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(sqlite_module, "_CHANGE_DISPATCH_HEARTBEAT_SECONDS", 0.05)
    store = engine.create_engine(tmp_path)
    asyncio.run(store.connect())
    yield store
    asyncio.run(store.disconnect())


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


@pytest.mark.slow
def test_a_locked_registration_heartbeat_retries_and_never_fails_a_client(store, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="django_mongo_backend.embedded")
    store.register_change_consumer("first")
    holder = LockHolder(tmp_path / DATA_FILE)
    time.sleep(PAST_DEFAULT_TIMEOUT)  # every renewal meanwhile finds the lock taken
    holder.release()
    assert _wait_for(lambda: "after a retry" in caplog.text)
    store.register_change_consumer("second")  # mongoeco raised the heartbeat's error here
    assert store._registration_heartbeat_thread.is_alive()
    assert store._registration_heartbeat_state.error() is None
    assert "renewing change-stream consumer registrations: database is locked" in caplog.text


def test_a_dead_registration_heartbeat_is_restarted_not_raised(store, caplog):
    caplog.set_level(logging.WARNING, logger="django_mongo_backend.embedded")
    store.register_change_consumer("first")
    state = store._registration_heartbeat_state
    dead = store._registration_heartbeat_thread
    state.fail(sqlite3.OperationalError("database is locked"))
    state.stop.set()
    dead.join(5)
    store.register_change_consumer("second")
    assert store._registration_heartbeat_thread is not dead
    assert store._registration_heartbeat_thread.is_alive()
    assert "restarting the change-stream registration heartbeat" in caplog.text


def test_a_locked_lease_renewal_is_retried(store, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="django_mongo_backend.embedded")
    store.register_change_consumer("consumer")
    generation = store._acquire_change_dispatch_lease("consumer")
    store._change_delivery_connection.execute("PRAGMA busy_timeout = 20")
    heartbeat = sqlite_module._ChangeDispatchHeartbeat()
    thread = threading.Thread(
        target=store._maintain_change_dispatch_lease, args=("consumer", generation, heartbeat)
    )
    holder = LockHolder(tmp_path / DATA_FILE)
    thread.start()
    try:
        assert _wait_for(lambda: "renewing a change dispatch lease" in caplog.text)
    finally:
        holder.release()
    time.sleep(0.3)  # renewals succeed again
    heartbeat.stop.set()
    thread.join(5)
    heartbeat.raise_if_failed()


def test_a_failed_change_delivery_statement_leaves_no_open_transaction(store, tmp_path):
    store.register_change_consumer("consumer")
    connection = store._change_delivery_connection
    connection.execute("PRAGMA busy_timeout = 0")
    holder = LockHolder(tmp_path / DATA_FILE)
    try:
        with (
            pytest.raises(sqlite3.OperationalError, match="locked"),
            store._change_delivery_storage() as conn,
        ):
            conn.execute("SELECT count(*) FROM change_outbox_consumers").fetchone()
            conn.execute("UPDATE change_outbox_consumers SET checkpoint = checkpoint")
    finally:
        holder.release()
    assert not connection.in_transaction
