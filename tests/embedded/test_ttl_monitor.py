"""The TTL monitor (corrections/ttl_monitor.py): expired documents go in a background pass.

MongoDB's manual ("TTL Indexes", "Timing of the Delete Operation"): a background task removes
expired documents; it runs every 60 seconds (``ttlMonitorSleepSecs``), so a document may remain
after it expires until the task runs. Until then reads, counts and writes see it. Each server
here is started with its own ``ttlMonitorSleepSecs`` (``DJANGO_MONGO_EMBEDDED_PARAMETERS``, as
mongod's ``--setParameter``); against a real MongoDB (``MONGODB_URI``) the parameter is set at
runtime with ``setParameter``.
"""

from __future__ import annotations

import datetime
import os
import time

import pymongo
import pytest

from django_mongo_backend.embedded import launcher
from django_mongo_backend.embedded.corrections import limits

LONG_AGO = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def _server(tmp_path, monkeypatch, seconds):
    """A client of a server whose TTL monitor sleeps ``seconds`` between passes."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        client = pymongo.MongoClient(uri)
        client.admin.command("setParameter", 1, ttlMonitorSleepSecs=seconds)
        return client, None
    dbpath = tmp_path / f"ttl-{seconds}"
    monkeypatch.setenv(limits.ENVIRONMENT_VARIABLE, f"ttlMonitorSleepSecs={seconds}")
    info = launcher.ensure_server(dbpath)
    monkeypatch.delenv(limits.ENVIRONMENT_VARIABLE)
    return pymongo.MongoClient(launcher.uri_for(info), serverSelectionTimeoutMS=10_000), dbpath


@pytest.fixture
def server(tmp_path, monkeypatch):
    started = []

    def start(seconds):
        client, dbpath = _server(tmp_path, monkeypatch, seconds)
        started.append((client, dbpath))
        return client

    yield start
    for client, dbpath in started:
        if dbpath is None:
            client.admin.command("setParameter", 1, ttlMonitorSleepSecs=60, ttlMonitorEnabled=True)
        client.close()
        if dbpath is not None:
            launcher.stop_server(dbpath)


def _expiring(client):
    collection = client.ttl_monitor.sessions
    collection.drop()
    collection.insert_many(
        [
            {"_id": 1, "at": LONG_AGO},
            {"_id": 2, "at": [LONG_AGO, datetime.datetime(2999, 1, 1)]},  # earliest date counts
            {"_id": 3, "at": datetime.datetime(2999, 1, 1)},
            {"_id": 4, "at": "not a date"},  # never expires
        ]
    )
    collection.create_index("at", expireAfterSeconds=0)
    return collection


def test_expired_documents_stay_until_the_pass(server):
    """With the monitor asleep for an hour, the expired documents are read, counted, updated
    and deleted as any other: creating the TTL index, reading or writing deletes nothing."""
    collection = _expiring(server(3600))
    assert collection.count_documents({}) == 4
    assert sorted(document["_id"] for document in collection.find()) == [1, 2, 3, 4]
    assert collection.update_one({"_id": 1}, {"$set": {"seen": True}}).modified_count == 1
    collection.insert_one({"_id": 5, "at": LONG_AGO})
    assert collection.find_one({"_id": 1})["seen"] is True
    assert collection.count_documents({"at": {"$lt": datetime.datetime(2001, 1, 1)}}) == 3
    assert collection.delete_one({"_id": 5}).deleted_count == 1


def test_the_pass_deletes_the_expired_documents(server):
    """Every ``ttlMonitorSleepSecs`` the monitor deletes what has expired (the earliest date of
    an array counts; a value that is no date never expires), and nothing else."""
    collection = _expiring(server(1))
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a measured speed
    while collection.count_documents({}) > 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(document["_id"] for document in collection.find()) == [3, 4]


def _until(collection, remaining):
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a measured speed
    while collection.count_documents({}) > remaining and time.monotonic() < deadline:
        time.sleep(0.2)
    return sorted(document["_id"] for document in collection.find())


def test_a_shorter_period_set_at_runtime_ends_the_sleep_under_way(server):
    """``TTLMonitor::run`` (``ttl.cpp``): a sleep ends at its start plus the current
    ``ttlMonitorSleepSecs``, recomputed when ``setParameter`` changes it
    (``onUpdateTTLMonitorSleepSeconds``): a monitor asleep for an hour runs its pass soon after
    the period becomes one second."""
    client = server(3600)
    collection = _expiring(client)
    assert client.admin.command("setParameter", 1, ttlMonitorSleepSecs=1)["was"] == 3600
    assert _until(collection, 2) == [3, 4]


def test_a_disabled_monitor_skips_its_passes(server):
    """``ttlMonitorEnabled`` false: the monitor wakes up every period and skips its pass
    (``TTLMonitor::run``); enabled again, the next pass deletes."""
    client = server(1)
    assert client.admin.command("setParameter", 1, ttlMonitorEnabled=False)["was"] is True
    collection = _expiring(client)
    time.sleep(3)  # passes come and go meanwhile, and delete nothing
    assert collection.count_documents({}) == 4
    client.admin.command("setParameter", 1, ttlMonitorEnabled=True)
    assert _until(collection, 2) == [3, 4]


def test_the_period_must_be_positive():
    """``ttl.idl``: ttlMonitorSleepSecs has the validator ``gt: 0`` (mongod refuses 0)."""
    with pytest.raises(ValueError, match="greater than 0"):
        limits.set_parameters(["ttlMonitorSleepSecs=0"])
    assert limits.DEFAULT_PARAMETERS["ttlMonitorSleepSecs"] == 60


def test_a_document_an_open_transaction_wrote_waits_for_it(server):
    """The monitor's deletes are writes outside any transaction: one that meets a document an
    open transaction wrote waits for it to end (MongoDB's TTL delete meets a write conflict and
    retries). The transaction moved the date into the future, so after its commit the document
    has not expired."""
    client = server(1)
    collection = _expiring(client)
    with client.start_session() as session:
        session.start_transaction()
        later = datetime.datetime(2999, 1, 1)
        collection.update_one({"_id": 1}, {"$set": {"at": later}}, session=session)
        time.sleep(3)  # passes run meanwhile: they wait for the transaction
        assert collection.find_one({"_id": 1}, session=session)["at"] == later
        session.commit_transaction()
    deadline = time.monotonic() + 60
    while collection.count_documents({}) > 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(document["_id"] for document in collection.find()) == [1, 3, 4]
