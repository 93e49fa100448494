"""Two processes incrementing one row in Python under select_for_update(): nothing is lost.

The read-modify-write (``get()``, ``+= 1``, ``save()``) loses increments unless the read locks
the row until the transaction ends, which is what select_for_update() promises (Django's
documentation) and what the claims of compiler/row_locks.py give on MongoDB.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.testapp.models import Author

from .figures import record

pytestmark = [pytest.mark.usefixtures("clean_db"), pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
PROCESSES = 2
INCREMENTS = 25  # per process


def test_select_for_update_increments_from_two_processes_lose_nothing():
    counter = Author.objects.create(name="counter", age=0)
    params = connection.get_connection_params()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    lockers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.locker",
                params["client"]["host"],
                params["name"],
                str(INCREMENTS),
                str(counter.pk),
            ],
            cwd=REPO,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for locker in lockers:
            line = locker.stdout.readline()
            assert line.strip() == "ready", locker.communicate(timeout=60)[1]
        for locker in lockers:
            locker.stdin.write("go\n")
            locker.stdin.flush()
        outputs = [locker.communicate(timeout=240) for locker in lockers]
    finally:
        for locker in lockers:
            if locker.poll() is None:
                locker.kill()
                locker.wait()
    for locker, (out, err) in zip(lockers, outputs, strict=True):
        assert locker.returncode == 0 and out.strip() == "done", err
    counter.refresh_from_db()
    record(processes=PROCESSES, increments=PROCESSES * INCREMENTS)
    assert counter.age == PROCESSES * INCREMENTS
