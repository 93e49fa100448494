"""ORM overhead over raw pymongo, on the same server in the same run (DESIGN section 8).

Scenarios: reading 10,000 rows, get() by primary key, bulk_create of 10,000 rows, and query
compile time (queryset -> pipeline, no I/O). Each prints the median of several runs as wall
time and as this process's CPU time, with the ratio to raw pymongo doing the same work, and
the number of commands the ORM sent. Run: ``python bench/orm_overhead.py [--rows N]``.

The raw-pymongo side builds the same model instances with ``Model.from_db`` — the cost any
Django backend pays — so the ratio is what this backend adds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def setup_django(dbpath):
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        DATABASES={
            "default": {
                "ENGINE": "django_mongo_backend",
                "NAME": "bench",
                "CLIENT": {"host": os.environ.get("MONGODB_URI") or f"embedded://{dbpath}"},
            }
        },
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "bench_app"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    django.setup()


def measure(function, repeat):
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def count_commands(function):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        function()
    return len(queries)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    dbpath = Path(tempfile.mkdtemp(prefix="bench-orm-"))
    setup_django(dbpath)
    try:
        run(args)
    finally:
        if not os.environ.get("MONGODB_URI"):
            from django_mongo_backend.embedded import launcher

            launcher.stop_server(dbpath)


def run(args):
    from bench_app.models import Item
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, run_syncdb=True)
    connection.ensure_connection()
    collection = connection.connection.database[Item._meta.db_table]
    collection.delete_many({})
    rows = [Item(name=f"item {i}", number=i, ratio=i / 3) for i in range(args.rows)]
    Item.objects.bulk_create(rows)
    fields = [field.attname for field in Item._meta.concrete_fields]
    keys = ["_id" if name == "id" else name for name in fields]
    results = []

    def orm_read():
        list(Item.objects.all())

    def raw_read():
        [Item.from_db("default", fields, [doc.get(k) for k in keys]) for doc in collection.find()]

    results.append(
        (
            "read all rows",
            measure(orm_read, args.repeat),
            measure(raw_read, args.repeat),
            count_commands(orm_read),
        )
    )

    ids = list(Item.objects.values_list("pk", flat=True)[: args.gets])

    def orm_get():
        for pk in ids:
            Item.objects.get(pk=pk)

    def raw_get():
        for pk in ids:
            doc = collection.find_one({"_id": pk})
            Item.from_db("default", fields, [doc.get(k) for k in keys])

    results.append(
        (
            f"get() x{len(ids)}",
            measure(orm_get, args.repeat),
            measure(raw_get, args.repeat),
            count_commands(lambda: Item.objects.get(pk=ids[0])),
        )
    )

    def orm_bulk():
        Item.objects.all().delete()
        Item.objects.bulk_create(
            [Item(name=f"n{i}", number=i, ratio=0.5) for i in range(args.rows)]
        )

    def raw_bulk():
        collection.delete_many({})
        collection.insert_many(
            [{"_id": i, "name": f"n{i}", "number": i, "ratio": 0.5} for i in range(args.rows)]
        )

    results.append(
        (
            "bulk_create all rows",
            measure(orm_bulk, max(1, args.repeat // 2)),
            measure(raw_bulk, max(1, args.repeat // 2)),
            count_commands(lambda: Item.objects.bulk_create([Item(name="x", number=1, ratio=1.0)])),
        )
    )

    print(
        f"{'scenario':24} {'orm wall':>10} {'raw wall':>10} {'ratio':>6} "
        f"{'orm cpu':>10} {'raw cpu':>10} {'ratio':>6} {'commands':>9}"
    )
    for name, (orm_wall, orm_cpu), (raw_wall, raw_cpu), commands in results:
        print(
            f"{name:24} {orm_wall:10.4f} {raw_wall:10.4f} {orm_wall / raw_wall:6.2f} "
            f"{orm_cpu:10.4f} {raw_cpu:10.4f} {orm_cpu / max(raw_cpu, 1e-9):6.2f} {commands:9d}"
        )
    compile_times = measure(
        lambda: [
            Item.objects.filter(number__gt=i, name__icontains="x")
            .order_by("-number")[:20]
            .query.get_compiler("default")
            .mql()
            for i in range(200)
        ],
        args.repeat,
    )
    print(f"compile 200 querysets: {compile_times[1] * 1000 / 200:.3f} ms CPU each")


if __name__ == "__main__":
    main()
