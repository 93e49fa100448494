"""One writer process of the concurrency tests: its own Django setup, its own connection.

``python -m tests.reliability.writer URI DATABASE NAME CREATES BATCHES BATCH_SIZE COUNTER_PK``
prints ``ready``, waits for a line on stdin (so every writer starts at once), then runs
CREATES ``create()`` calls, BATCHES ``bulk_create()`` calls of BATCH_SIZE objects and
CREATES ``F("age") + 1`` updates of the shared counter row, and prints the ids it was given
as one JSON line.
"""

from __future__ import annotations

import json
import sys


def configure(uri, database):
    """Set Django up in this process, with one database on the server at ``uri``."""
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django_mongo_backend",
                "NAME": database,
                "CLIENT": {"host": uri, "serverSelectionTimeoutMS": 30_000},
            }
        },
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "tests.testapp"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()


def main(uri, database, name, creates, batches, batch_size, counter_pk):
    configure(uri, database)
    from django.db import connection
    from django.db.models import F

    from tests.testapp.models import Author

    connection.ensure_connection()
    print("ready", flush=True)
    sys.stdin.readline()
    ids = []
    for step in range(max(creates, batches)):  # single and bulk inserts interleaved
        if step < creates:
            ids.append(Author.objects.create(name=f"{name}-c{step}", age=step).pk)
            Author.objects.filter(pk=counter_pk).update(age=F("age") + 1)
        if step < batches:
            objs = Author.objects.bulk_create(
                Author(name=f"{name}-b{step}-{i}", age=i) for i in range(batch_size)
            )
            ids.extend(obj.pk for obj in objs)
    print(json.dumps({"name": name, "ids": ids}), flush=True)


if __name__ == "__main__":
    uri, database, name, *numbers = sys.argv[1:]
    main(uri, database, name, *map(int, numbers))
