"""Two processes incrementing one row in Python under select_for_update(): nothing is lost.

The read-modify-write (``get()``, ``+= 1``, ``save()``) loses increments unless the read locks
the row until the transaction ends, which is what select_for_update() promises (Django's
documentation) and what the claims of compiler/row_locks.py give on MongoDB.
"""

from __future__ import annotations

import pytest
from django.db import connection

from tests.testapp.models import Author

from . import workers
from .figures import record

pytestmark = [pytest.mark.usefixtures("clean_db"), pytest.mark.timeout(300)]

PROCESSES = 2
INCREMENTS = 25  # per process


def test_select_for_update_increments_from_two_processes_lose_nothing():
    counter = Author.objects.create(name="counter", age=0)
    params = connection.get_connection_params()
    lockers = [
        workers.start("locker", params["client"]["host"], params["name"], INCREMENTS, counter.pk)
        for _ in range(PROCESSES)
    ]
    try:
        workers.wait_until_ready(lockers)
        workers.release(lockers)
        outputs = [locker.communicate(timeout=240) for locker in lockers]
    finally:
        workers.kill_leftovers(lockers)
    for locker, (out, err) in zip(lockers, outputs, strict=True):
        assert locker.returncode == 0 and out.strip() == "done", err
    counter.refresh_from_db()
    record(processes=PROCESSES, increments=PROCESSES * INCREMENTS)
    assert counter.age == PROCESSES * INCREMENTS
