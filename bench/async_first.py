"""1,000 concurrent ``afirst()`` calls: native async (MongoManager) against Django's thread pool.

Both sides run the same queryset (``filter(pk=...).afirst()``, a different id per call) on the
same server, gathered on one event loop. Django's default manager runs each call through
``sync_to_async`` (thread-sensitive: one worker thread, one synchronous MongoClient);
``MongoManager`` sends them on the loop's ``AsyncMongoClient``. Prints the median wall time
of several rounds per side and the ratio. Run: ``python bench/async_first.py [--calls N]``
(``MONGODB_URI`` for a real server; by default an embedded server in a temporary directory).
"""

from __future__ import annotations

import argparse
import asyncio
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
                "NAME": "bench_async",
                "CLIENT": {"host": os.environ.get("MONGODB_URI") or f"embedded://{dbpath}"},
            }
        },
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "bench_app"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    django.setup()


def native_model():
    """``bench_app.Item`` with a MongoManager (a proxy: same collection, no migration)."""
    from bench_app.models import Item

    from django_mongo_backend.managers import MongoManager

    class NativeItem(Item):
        objects = MongoManager()

        class Meta:
            proxy = True
            app_label = "bench_app"

    return NativeItem


async def concurrent_first(model, ids):
    """Wall and client CPU time of ``afirst()`` for every id at once (after a warm-up call
    on this loop, which opens its client)."""
    await model.objects.filter(pk=ids[0]).afirst()
    wall, cpu = time.perf_counter(), time.process_time()
    found = await asyncio.gather(*(model.objects.filter(pk=pk).afirst() for pk in ids))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert [item.pk for item in found] == ids, "wrong rows"
    return wall, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    dbpath = Path(tempfile.mkdtemp(prefix="bench-async-"))
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

    call_command("migrate", verbosity=0, run_syncdb=True)
    Item.objects.all().delete()
    items = Item.objects.bulk_create(
        Item(name=f"item {i}", number=i, ratio=i / 3) for i in range(args.calls)
    )
    ids = [item.pk for item in items]
    NativeItem = native_model()
    sides = {"thread pool (Django default)": Item, "native (MongoManager)": NativeItem}
    times = {name: [] for name in sides}
    for _ in range(args.repeat):  # interleaved, so both sides see the same server state
        for name, model in sides.items():
            times[name].append(asyncio.run(concurrent_first(model, ids)))
    print(f"{args.calls} concurrent afirst() calls, median of {args.repeat} rounds:")
    print(f"  {'':<30} {'wall':>9}    {'client CPU':>10}")
    medians = {}
    for name, values in times.items():
        wall = statistics.median(value[0] for value in values)
        cpu = statistics.median(value[1] for value in values)
        medians[name] = wall, cpu
        print(f"  {name:<30} {wall * 1000:9.1f} ms {cpu * 1000:9.1f} ms")
    (pool_wall, pool_cpu), (native_wall, native_cpu) = medians.values()
    print(
        f"  ratio thread pool / native: wall {pool_wall / native_wall:.2f}x, "
        f"client CPU {pool_cpu / native_cpu:.2f}x"
    )


if __name__ == "__main__":
    main()
