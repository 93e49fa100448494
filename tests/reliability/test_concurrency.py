"""Many writers at once: separate processes and threads, each with its own connection.

Ids come from one ``__schema__`` sequence document (``$inc`` by the size of the block), so
concurrent ``create()``/``bulk_create()`` must never hand out an id twice or lose a row, and
``F()`` updates run on the server must add up exactly.
"""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.models import F

from tests.testapp.models import Author

from . import workers
from .figures import record

pytestmark = [pytest.mark.usefixtures("clean_db"), pytest.mark.timeout(180)]


PROCESSES = 4
CREATES = 20  # per process, each followed by one F() increment of a shared row
BATCHES = 4  # bulk_create() calls per process
BATCH_SIZE = 25


def _server():
    params = connection.get_connection_params()
    return params["client"]["host"], params["name"]


def test_processes_creating_at_once_get_distinct_ids_and_lose_no_rows():
    counter = Author.objects.create(name="counter", age=0)
    uri, database = _server()
    writers = [
        workers.start("writer", uri, database, f"p{n}", CREATES, BATCHES, BATCH_SIZE, counter.pk)
        for n in range(PROCESSES)
    ]
    try:
        workers.wait_until_ready(writers)  # every writer has set Django up and connected
        workers.release(writers)  # then all start writing at once
        outputs = [writer.communicate(timeout=150) for writer in writers]
    finally:
        workers.kill_leftovers(writers)
    for writer, (_out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
    handed_out = [pk for out, _err in outputs for pk in json.loads(out)["ids"]]
    per_process = CREATES + BATCHES * BATCH_SIZE

    duplicates = [pk for pk, n in Counter(handed_out).items() if n > 1]
    stored = set(Author.objects.exclude(pk=counter.pk).values_list("pk", flat=True))
    lost = set(handed_out) - stored
    record(
        processes=PROCESSES,
        writes=len(handed_out) + PROCESSES * CREATES,
        increments=PROCESSES * CREATES,
        duplicate_ids=len(duplicates),
        rows_lost=len(lost),
    )
    assert len(handed_out) == PROCESSES * per_process
    assert duplicates == []
    assert lost == set()
    assert len(stored) == PROCESSES * per_process  # and nothing extra
    # Every name written exactly once, under the id its writer was given.
    names = Counter(Author.objects.exclude(pk=counter.pk).values_list("name", flat=True))
    assert len(names) == PROCESSES * per_process and set(names.values()) == {1}
    counter.refresh_from_db()
    assert counter.age == PROCESSES * CREATES


THREADS = 6
PER_THREAD = 20


def _run_threads(target, count=THREADS):
    """Run ``target(index)`` in ``count`` threads started together; return their results."""
    barrier = threading.Barrier(count)
    results, failures = [None] * count, []

    def run(index):
        try:
            barrier.wait(timeout=60)
            results[index] = target(index)
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            connections.close_all()  # this thread's own connections

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=150)
    assert not any(thread.is_alive() for thread in threads), "a writer thread hung"
    if failures:
        raise failures[0]
    return results


def test_f_increments_from_many_threads_add_up_exactly():
    row = Author.objects.create(name="counter", age=0)
    other = Author.objects.create(name="bystander", age=1000)

    def work(index):
        for _ in range(PER_THREAD):
            assert Author.objects.filter(pk=row.pk).update(age=F("age") + 1) == 1
        created = [Author.objects.create(name=f"t{index}-{i}").pk for i in range(5)]
        return connection.connection, created  # kept alive, so identities stay distinct

    results = _run_threads(work)
    row.refresh_from_db()
    other.refresh_from_db()
    created = [pk for _conn, pks in results for pk in pks]
    record(threads=THREADS, increments=THREADS * PER_THREAD, writes=len(created))
    assert row.age == THREADS * PER_THREAD
    assert other.age == 1000
    # Each thread ran on a Django connection of its own (they share the MongoClient pool).
    assert len({id(conn) for conn, _pks in results}) == THREADS
    assert len(set(created)) == len(created) == THREADS * 5
    assert Author.objects.filter(pk__in=created).count() == len(created)


def test_read_modify_write_in_transactions_loses_no_update():
    # select_for_update() claims the row (compiler/row_locks.py), so the other threads' reads
    # wait for the transaction holding it; no increment may be lost (an OperationalError, if
    # one got through after LOCK_TIMEOUT, is retried).
    row = Author.objects.create(name="counter", age=0)

    def work(_index):
        conflicts = 0
        for _ in range(PER_THREAD):
            while True:
                try:
                    with transaction.atomic():
                        current = Author.objects.select_for_update().get(pk=row.pk)
                        current.age += 1
                        current.save(update_fields=["age"])
                    break
                except OperationalError:
                    conflicts += 1
                    assert conflicts < 50 * PER_THREAD, "a writer never got through"
        return conflicts

    conflicts = _run_threads(work, count=4)
    row.refresh_from_db()
    record(threads=4, increments=4 * PER_THREAD)
    assert row.age == 4 * PER_THREAD, f"lost updates ({sum(conflicts)} conflicts retried)"
