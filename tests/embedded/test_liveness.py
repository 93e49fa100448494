"""One client's heavy or failing operation must not stall the other clients."""

from __future__ import annotations

import threading
import time

import pymongo
import pytest
from pymongo.errors import OperationFailure, PyMongoError

HEAVY = [
    {"$unwind": "$values"},
    {"$group": {"_id": "$values", "count": {"$sum": 1}, "ids": {"$addToSet": "$_id"}}},
    {"$sort": {"_id": 1}},
]


@pytest.fixture
def heavy_coll(mongo_db):
    """Little to store, much to compute: 100 x 150 array elements unwound and grouped."""
    mongo_db.heavy.insert_many([{"_id": i, "values": list(range(150))} for i in range(100)])
    return mongo_db.heavy


def _client(uri):
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000)


@pytest.mark.slow
def test_ping_and_reads_answer_while_a_heavy_aggregation_runs(heavy_coll, mongo_uri):
    outcome = {}

    def aggregate():
        started = time.monotonic()
        with _client(mongo_uri) as client:
            outcome["result"] = list(client[heavy_coll.database.name].heavy.aggregate(HEAVY))
        outcome["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=aggregate)
    worker.start()
    slowest = 0.0
    with _client(mongo_uri) as other:
        other.admin.command("ping")
        time.sleep(0.2)
        while worker.is_alive():
            started = time.monotonic()
            other.admin.command("ping")
            other[heavy_coll.database.name].heavy.find_one({"_id": 5}, {"_id": 1})
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.05)
    worker.join()
    assert len(outcome["result"]) == 150
    assert slowest < 1.0


def test_a_failed_operation_leaves_the_server_serving(heavy_coll):
    with pytest.raises(OperationFailure):
        list(heavy_coll.aggregate([{"$project": {"x": {"$divide": [1, 0]}}}]))
    with pytest.raises(OperationFailure):
        heavy_coll.database.command({"noSuchCommand": 1})
    assert heavy_coll.database.client.admin.command("ping")["ok"] == 1.0
    assert heavy_coll.count_documents({}) == 100


@pytest.mark.slow
def test_a_cancelled_operation_leaves_the_server_serving(heavy_coll, mongo_uri):
    """The client gives up (timeout, connection closed) in the middle of a heavy pipeline."""
    with _client(mongo_uri) as client, pytest.raises(PyMongoError), pymongo.timeout(0.3):
        list(client[heavy_coll.database.name].heavy.aggregate(HEAVY))
    with _client(mongo_uri) as other:
        started = time.monotonic()
        assert other.admin.command("ping")["ok"] == 1.0
        assert other[heavy_coll.database.name].heavy.count_documents({}) == 100
        assert time.monotonic() - started < 1.0
