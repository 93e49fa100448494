"""One process of the row-lock test: read-modify-write increments under select_for_update().

``python -m tests.reliability.locker URI DATABASE COUNT COUNTER_PK`` prints ``ready``, waits
for a line on stdin (so every process starts at once), then COUNT times reads the counter row
with ``select_for_update()`` inside ``atomic()``, adds one in Python and saves it. Without the
lock two processes would read the same value and one increment would be lost.
"""

from __future__ import annotations

import sys


def main(uri, database, count, counter_pk):
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django_mongo_backend",
                "NAME": database,
                "CLIENT": {"host": uri, "serverSelectionTimeoutMS": 30_000},
                "LOCK_TIMEOUT": 120,
            }
        },
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "tests.testapp"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()
    from django.db import connection, transaction

    from tests.testapp.models import Author

    connection.ensure_connection()
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(count):
        with transaction.atomic():
            counter = Author.objects.select_for_update().get(pk=counter_pk)
            counter.age += 1
            counter.save(update_fields=["age"])
    print("done", flush=True)


if __name__ == "__main__":
    uri, database, count, counter_pk = sys.argv[1:]
    main(uri, database, int(count), int(counter_pk))
