"""Acknowledged writes survive ``kill -9``; an interrupted transaction leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pymongo
import pytest

from django_mongo_backend.embedded import launcher
from django_mongo_backend.embedded.server import process


@pytest.fixture
def dbpath(tmp_path):
    yield tmp_path
    launcher.stop_server(tmp_path)


def _client(info):
    return pymongo.MongoClient(launcher.uri_for(info), serverSelectionTimeoutMS=10_000)


def _kill(info):
    os.kill(info["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process.pid_alive(info["pid"]) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it when this process started it
            os.waitpid(info["pid"], os.WNOHANG)
        time.sleep(0.02)


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9(dbpath):
    info = launcher.ensure_server(dbpath)
    with _client(info) as client:
        for i in range(200):
            client.t.rows.insert_one({"_id": i})
        client.t.rows.update_one({"_id": 0}, {"$set": {"updated": True}})
        client.t.rows.delete_one({"_id": 1})
        client.t.rows.insert_many([{"_id": f"batch{i}"} for i in range(20)])
    _kill(info)
    restarted = launcher.ensure_server(dbpath)
    assert restarted["pid"] != info["pid"]
    with _client(restarted) as client:
        assert client.t.rows.count_documents({}) == 200 - 1 + 20
        assert client.t.rows.find_one({"_id": 0}) == {"_id": 0, "updated": True}


@pytest.mark.slow
def test_a_transaction_interrupted_by_kill_9_leaves_no_partial_writes(dbpath):
    info = launcher.ensure_server(dbpath)
    client = _client(info)
    client.t.rows.insert_one({"_id": "kept", "n": 1})
    session = client.start_session()
    session.start_transaction()
    client.t.rows.insert_many([{"_id": i} for i in range(10)], session=session)
    client.t.rows.update_one({"_id": "kept"}, {"$set": {"n": 2}}, session=session)
    _kill(info)
    client.close()
    restarted = launcher.ensure_server(dbpath)
    with _client(restarted) as client:
        assert list(client.t.rows.find()) == [{"_id": "kept", "n": 1}]


WRITER = """
import sys, pymongo
client = pymongo.MongoClient(sys.argv[1])
for i in range(int(sys.argv[3])):
    client.t.rows.insert_one({"_id": f"{sys.argv[2]}-{i}"})
    client.t.counters.update_one({"_id": "n"}, {"$inc": {"n": 1}}, upsert=True)
"""


@pytest.mark.slow
def test_two_processes_writing_at_once_lose_nothing(dbpath):
    info = launcher.ensure_server(dbpath)
    uri = launcher.uri_for(info)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, uri, name, "100"]) for name in "ab"]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    with _client(info) as client:
        assert client.t.rows.count_documents({}) == 200
        assert client.t.counters.find_one({"_id": "n"})["n"] == 200
