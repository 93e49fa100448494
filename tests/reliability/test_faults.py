"""The server dies (kill -9) and comes back on the same port and data directory.

A private embedded server serves a throw-away directory; a Django connection ("faults")
points at it with a short ``serverSelectionTimeoutMS``. While it is down every command must
fail with Django's ``OperationalError``/``InterfaceError`` naming the server's address; once it
is back the next query must work without any reconnect call, every write acknowledged before
the kill must be there, and a transaction cut by the kill must leave nothing behind.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time

import pymongo
import pytest
from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from django.db.models import F

from django_mongo_backend.embedded import launcher
from django_mongo_backend.embedded.server import process
from tests.testapp.models import Author, Tag

from .figures import record

pytestmark = pytest.mark.timeout(240)

ALIAS = "faults"
DOWN = (OperationalError, InterfaceError)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``python -m django_mongo_backend.embedded --dbpath DIR --port N`` that tests can kill."""

    def __init__(self, dbpath, port):
        self.dbpath, self.port, self.child = dbpath, port, None
        self.address = f"127.0.0.1:{port}"
        self.log = dbpath.parent / f"server-{port}.log"

    def start(self, timeout=60):
        log = open(self.log, "ab")  # noqa: SIM115 - the child holds it
        self.child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "django_mongo_backend.embedded",
                "--dbpath",
                str(self.dbpath),
                "--port",
                str(self.port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = process.read_server_info(self.dbpath)
            if info and info.get("pid") == self.child.pid and launcher.ping(info, timeout=1):
                assert info["port"] == self.port
                return
            if self.child.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"server on {self.address} did not start in {timeout}s")

    def kill(self):
        self.child.send_signal(signal.SIGKILL)
        self.child.wait(timeout=30)

    def stop(self):
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server(tmp_path):
    server = Server(tmp_path / "data", _free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def faults_db(server, django_db_blocker):
    """The alias ``faults`` on the private server, with Author and Tag collections."""
    settings = dict(connections["default"].settings_dict)
    settings.update(
        NAME="faults",
        CLIENT={
            "host": "127.0.0.1",
            "port": server.port,
            "directConnection": True,
            "serverSelectionTimeoutMS": 1000,
            "connectTimeoutMS": 1000,
        },
        TEST={**settings.get("TEST", {}), "NAME": "faults"},
    )
    connections.settings[ALIAS] = settings
    with django_db_blocker.unblock():
        try:
            with connections[ALIAS].schema_editor() as editor:
                editor.create_model(Author)
                editor.create_model(Tag)
            yield connections[ALIAS]
        finally:
            connections[ALIAS].close()
            del connections[ALIAS]
            del connections.settings[ALIAS]


def _assert_names_server(error, server):
    """Django's error class, one line naming the address; pymongo's error only as the cause."""
    assert isinstance(error, DOWN), f"{type(error).__module__}.{type(error).__name__}: {error}"
    assert not isinstance(error, pymongo.errors.PyMongoError)
    message = str(error)
    assert message.startswith(f"MongoDB server {server.address} is unreachable: "), message
    assert "\n" not in message and "Topology Description" not in message, message
    assert isinstance(error.__cause__, pymongo.errors.ConnectionFailure)  # kept for debugging


def _authors():
    return Author.objects.using(ALIAS)


def test_writes_survive_kill_9_and_the_connection_comes_back(server, faults_db):
    counter = _authors().create(name="counter", age=0)
    acknowledged, increments, kills = [], 0, 0
    for _round in range(2):
        enough = threading.Event()
        killer = threading.Thread(target=lambda enough=enough: (enough.wait(60), server.kill()))
        killer.start()
        error = None
        try:
            for step in range(100_000):
                if step == 30:
                    enough.set()  # kill while writes are running
                try:
                    if step % 5 == 4:
                        batch = [Author(name=f"bulk{step}-{i}") for i in range(5)]
                        acknowledged += [a.pk for a in _authors().bulk_create(batch)]
                    else:
                        acknowledged.append(_authors().create(name=f"w{step}").pk)
                    _authors().filter(pk=counter.pk).update(age=F("age") + 1)
                    increments += 1
                except DatabaseError as caught:
                    error = caught
                    break
        finally:
            enough.set()
            killer.join()
        assert error is not None, "no write failed although the server was killed"
        _assert_names_server(error, server)
        # Still down: reads fail the same way, through the cursor path too.
        with pytest.raises(DOWN) as down:
            _authors().count()
        _assert_names_server(down.value, server)
        with pytest.raises(DOWN) as down:
            list(_authors().filter(name="w1"))
        _assert_names_server(down.value, server)

        server.start()
        kills += 1
        # The very next query works: no reconnect call, no new connection object.
        stored = set(_authors().exclude(pk=counter.pk).values_list("pk", flat=True))
        lost = set(acknowledged) - stored
        record(kills=1, writes=len(acknowledged) + increments, rows_lost=len(lost))
        acknowledged_now = len(acknowledged)
        assert lost == set()
        # At most the write in flight at the kill is there on top of the acknowledged ones.
        assert len(stored) - len(acknowledged) <= 5
        counter.refresh_from_db(using=ALIAS)
        assert increments <= counter.age <= increments + 1
        increments = counter.age
        # New ids continue after every id handed out before the kill: none is given twice.
        fresh = _authors().create(name=f"after-kill-{kills}")
        acknowledged.append(fresh.pk)
        assert fresh.pk > max(acknowledged[:acknowledged_now])
    assert kills == 2


def test_a_transaction_cut_by_kill_9_leaves_no_partial_writes(server, faults_db):
    kept = Tag.objects.using(ALIAS).create(name="kept")
    # 1. The server dies between two writes of the block: the next write fails.
    with pytest.raises(DOWN) as cut, transaction.atomic(using=ALIAS):
        for i in range(5):
            Tag.objects.using(ALIAS).create(name=f"first-{i}")
        server.kill()
        Tag.objects.using(ALIAS).create(name="first-after-kill")
    _assert_names_server(cut.value, server)
    server.start()
    assert list(Tag.objects.using(ALIAS).values_list("name", flat=True)) == ["kept"]

    # 2. The server dies after the block's last write: the commit fails.
    with pytest.raises(DOWN) as cut, transaction.atomic(using=ALIAS):
        Tag.objects.using(ALIAS).filter(pk=kept.pk).update(name="renamed")
        for i in range(5):
            Tag.objects.using(ALIAS).create(name=f"second-{i}")
        server.kill()
    _assert_names_server(cut.value, server)
    server.start()
    assert list(Tag.objects.using(ALIAS).values_list("name", flat=True)) == ["kept"]
    record(kills=2, rows_lost=0)

    # The connection is usable again, in and out of transactions.
    with transaction.atomic(using=ALIAS):
        Tag.objects.using(ALIAS).create(name="after")
    assert Tag.objects.using(ALIAS).count() == 2
