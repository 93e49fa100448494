"""One client process of the soak test: Django writes and reads, timed, for a bounded time.

``python -m tests.reliability.soak_client URI DATABASE NAME SECONDS MAX_OPS COUNTER_PK``
prints ``ready``, waits for a line on stdin (so every client starts at once), then for SECONDS
(or MAX_OPS operations, whichever ends first) cycles through ``OPERATIONS``. Every operation
that raises counts as an error (its first messages are kept); every write the server
acknowledged is listed, so the test can look for each one afterwards. It ends by printing one
JSON line: the ids written, the increments acknowledged, the operations run, the errors and each
operation's latency in milliseconds.
"""

from __future__ import annotations

import json
import sys
import time

from .writer import configure

#: One cycle of the workload, in order.
OPERATIONS = ("create", "read", "increment", "count", "bulk", "atomic", "filter")
BULK_SIZE = 10


class Client:
    def __init__(self, name, counter_pk):
        from tests.testapp.models import Author, Book

        self.Author, self.Book = Author, Book
        self.name, self.counter_pk = name, counter_pk
        self.authors, self.books = [], []
        self.increments = 0
        self.step = 0

    def _name(self):
        self.step += 1
        return f"{self.name}:{self.step}"

    def create(self):
        self.authors.append(self.Author.objects.create(name=self._name(), age=self.step % 90).pk)

    def read(self):
        pk = self.authors[-1]
        author = self.Author.objects.get(pk=pk)
        if not author.name.startswith(f"{self.name}:"):
            raise AssertionError(f"read {pk} back as {author.name!r}")

    def increment(self):
        from django.db.models import F

        if self.Author.objects.filter(pk=self.counter_pk).update(age=F("age") + 1) != 1:
            raise AssertionError("the counter row was not updated")
        self.increments += 1

    def count(self):
        # Only this client writes names with its prefix: it reads every one it was told of.
        found = self.Author.objects.filter(name__startswith=f"{self.name}:").count()
        if found != len(self.authors):
            raise AssertionError(f"counted {found} of this client's {len(self.authors)} rows")

    def bulk(self):
        objs = self.Author.objects.bulk_create(
            self.Author(name=self._name(), age=i) for i in range(BULK_SIZE)
        )
        self.authors.extend(obj.pk for obj in objs)

    def atomic(self):
        from django.db import transaction

        with transaction.atomic():
            author = self.Author.objects.create(name=self._name(), age=1)
            book = self.Book.objects.create(title=f"{author.name} book", author=author, pages=3)
        self.authors.append(author.pk)
        self.books.append(book.pk)

    def filter(self):
        list(
            self.Author.objects.filter(name__startswith=f"{self.name}:", age__lt=10)
            .order_by("-age")
            .values_list("pk", "age")[:20]
        )


def main(uri, database, name, seconds, max_ops, counter_pk):
    configure(uri, database)
    from django.db import connection

    client = Client(name, counter_pk)
    connection.ensure_connection()
    print("ready", flush=True)
    sys.stdin.readline()
    latencies, errors, samples = [], 0, []
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline and len(latencies) < max_ops:
        operation = OPERATIONS[len(latencies) % len(OPERATIONS)]
        before = time.perf_counter()
        try:
            getattr(client, operation)()
        except Exception as error:  # counted and reported: the test requires none
            errors += 1
            if len(samples) < 5:
                samples.append(f"{operation}: {type(error).__name__}: {error}")
        latencies.append(round((time.perf_counter() - before) * 1000, 2))
    result = {
        "name": name,
        "authors": client.authors,
        "books": client.books,
        "increments": client.increments,
        "operations": len(latencies),
        "errors": errors,
        "error_samples": samples,
        "seconds": time.monotonic() - started,
        "latencies_ms": latencies,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    uri, database, name, seconds, max_ops, counter_pk = sys.argv[1:]
    main(uri, database, name, float(seconds), int(max_ops), int(counter_pk))
