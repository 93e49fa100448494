"""A soak: client processes writing and reading through Django while every core is kept busy.

The server must stay steady when the machine is not its own: no client sees an error (SQLite's
"database is locked" least of all, see ``embedded/server/busy.py``), and every write the server
acknowledged is there afterwards. CLIENTS processes run ``soak_client``'s workload (create,
read back, ``F()`` increment of a shared row, count, ``bulk_create``, an ``atomic()`` block,
a filtered page) for SECONDS, while one busy-loop process per core competes with them and with
the server. Loopback only; bounded in time (SECONDS) and count (MAX_OPS per client).

The run's size comes from the environment: ``DJANGO_MONGO_SOAK_SECONDS`` (20 by default, the
size CI runs) and ``DJANGO_MONGO_SOAK_CLIENTS`` (3). A longer run, and its figures, are in
docs/embedded-server.rst ("Under load"). The figures (operations per second, errors, latency
percentiles) are printed with the reliability figures at the end of the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from django.db import connection

from tests.testapp.models import Author, Book

from . import workers
from .figures import note, record
from .soak_client import OPERATIONS

SECONDS = float(os.environ.get("DJANGO_MONGO_SOAK_SECONDS", "20"))
CLIENTS = int(os.environ.get("DJANGO_MONGO_SOAK_CLIENTS", "3"))
MAX_OPS = 1_000_000  # per client: the time bound ends any run this suite makes first
BURNERS = os.cpu_count() or 2

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("clean_db"),
    pytest.mark.timeout(SECONDS + 240),
]


#: Keeps one core busy for the number of seconds it is given (plus the clients' start-up).
BURNER = (
    "import sys, time\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end: pass\n"
)


def _percentile(ordered, fraction):
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def figures(results, seconds):
    """One line: clients, operations per second, errors and latency percentiles (ms)."""
    latencies = sorted(ms for result in results for ms in result["latencies_ms"])
    operations = len(latencies)
    errors = sum(result["errors"] for result in results)
    percentiles = ", ".join(
        f"{label} {_percentile(latencies, fraction):.1f}"
        for label, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
    )
    by_operation = {name: [] for name in OPERATIONS}
    for result in results:
        for index, ms in enumerate(result["latencies_ms"]):
            by_operation[OPERATIONS[index % len(OPERATIONS)]].append(ms)
    medians = ", ".join(
        f"{name} {_percentile(sorted(values), 0.5):.0f}"
        for name, values in by_operation.items()
        if values
    )
    return (
        f"soak: {len(results)} clients x {seconds:.0f}s with {BURNERS} busy cores: "
        f"{operations} operations, {operations / seconds:.0f} ops/s, {errors} errors; "
        f"latency ms {percentiles}; median ms by operation: {medians}"
    )


def test_clients_see_no_error_and_lose_no_write_while_every_core_is_busy():
    counter = Author.objects.create(name="counter", age=0)
    # Both collections exist before the clients start: transactions creating one at once
    # conflict (WriteConflict, TransientTransactionError), as on MongoDB, which is not
    # what this test is about.
    seed = Book.objects.create(title="seed", author=counter).pk
    params = connection.get_connection_params()
    uri, database = params["client"]["host"], params["name"]
    clients = [
        workers.start("soak_client", uri, database, f"s{n}", SECONDS, MAX_OPS, counter.pk)
        for n in range(CLIENTS)
    ]
    burners = []
    try:
        workers.wait_until_ready(clients)
        burners = [
            subprocess.Popen([sys.executable, "-c", BURNER, str(SECONDS + 5)])
            for _ in range(BURNERS)
        ]
        workers.release(clients)
        outputs = [client.communicate(timeout=SECONDS + 180) for client in clients]
    finally:
        workers.kill_leftovers(clients + burners)
    for client, (_out, err) in zip(clients, outputs, strict=True):
        assert client.returncode == 0, err
    results = [json.loads(out) for out, _err in outputs]
    seconds = max(result["seconds"] for result in results)
    line = figures(results, seconds)
    note(line)
    print(line)

    errors = sum(result["errors"] for result in results)
    acknowledged = [pk for result in results for pk in result["authors"]]
    books = [pk for result in results for pk in result["books"]]
    increments = sum(result["increments"] for result in results)
    stored = set(Author.objects.exclude(pk=counter.pk).values_list("pk", flat=True))
    lost = set(acknowledged) - stored
    duplicates = [pk for pk, n in Counter(acknowledged).items() if n > 1]
    stored_books = set(Book.objects.exclude(pk=seed).values_list("pk", flat=True))
    counter.refresh_from_db()
    record(
        processes=CLIENTS,
        operations=sum(result["operations"] for result in results),
        errors=errors,
        writes=len(acknowledged) + len(books) + increments,
        increments=increments,
        rows_lost=len(lost) + len(set(books) - stored_books),
        duplicate_ids=len(duplicates),
    )
    assert errors == 0, [sample for result in results for sample in result["error_samples"]]
    assert lost == set()
    assert duplicates == []
    assert stored == set(acknowledged)  # nothing written that was not acknowledged either
    assert stored_books == set(books)
    assert counter.age == increments
    assert all(result["operations"] > 0 for result in results)
