"""Where this backend's client-side time goes: cProfile of the ORM side of a scenario.

    python bench/profile_backend.py [read|get|bulk_create|page|join|group_by] [--scale S]
        [--top N] [--uri URI]

Loads the scenario's data like the benchmark does, runs the ORM operation once under cProfile
(timing this process's CPU time) and prints the top functions by own time and by cumulative
time, with the share spent inside django_mongo_backend, Django, pymongo/bson and elsewhere.
Starts its own embedded server unless ``--uri`` is given.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness


def operations(bench):
    from bench_app.models import Author, Book, BulkItem, Item, PageItem
    from django.db.models import Count, Sum

    rows = bench.size(10_000)

    def load_items():
        bench.raw_load(
            Item, [{"name": f"item {i}", "number": i, "ratio": i / 3} for i in range(rows)]
        )

    def read():
        load_items()
        return lambda: list(Item.objects.all())

    def get():
        load_items()
        pks = bench.pk_values(Item, bench.size(2_000))
        return lambda: [Item.objects.get(pk=pk) for pk in pks]

    def bulk_create():
        bench.recreate(BulkItem)
        return lambda: BulkItem.objects.bulk_create(
            [BulkItem(name=f"n{i}", number=i, ratio=i / 7) for i in range(rows)]
        )

    def page():
        bench.raw_load(
            PageItem,
            [
                {"category": i % 100, "score": (i * 7919) % 1000, "title": f"t{i}"}
                for i in range(bench.size(100_000))
            ],
        )
        return lambda: [
            list(PageItem.objects.filter(category=c, score__gte=100).order_by("-score")[50:100])
            for c in range(20)
        ]

    def load_books():
        bench.raw_load(Author, [{"name": f"author {i}"} for i in range(100)])
        pks = bench.pk_values(Author, 100)
        bench.raw_load(
            Book,
            [
                {"title": f"b{i}", "pages": 50 + i % 400, "author_id": pks[i % 100]}
                for i in range(bench.size(1_000))
            ],
        )

    def join():
        load_books()
        return lambda: list(Book.objects.select_related("author"))

    def group_by():
        load_books()
        return lambda: list(Book.objects.values("author").annotate(n=Count("id"), p=Sum("pages")))

    return {
        "read": read,
        "get": get,
        "bulk_create": bulk_create,
        "page": page,
        "join": join,
        "group_by": group_by,
    }


def share(stats):
    """Own time by where the code lives."""
    buckets = {}
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
        if "django_mongo_backend" in filename:
            key = "django_mongo_backend"
        elif "/django/" in filename:
            key = "django"
        elif "/pymongo/" in filename or "/bson/" in filename:
            key = "pymongo+bson"
        else:
            key = "other (stdlib, builtins)"
        buckets[key] = buckets.get(key, 0.0) + own
    total = sum(buckets.values()) or 1.0
    return {key: value / total for key, value in sorted(buckets.items(), key=lambda kv: -kv[1])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="get")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--uri")
    args = parser.parse_args(argv)
    uri, stop = args.uri, None
    if not uri:
        sys.path.insert(0, str(harness.REPO))
        uri, stop = harness.start_server()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            harness.configure(harness.OURS, uri, "bench_profile", workdir)
            bench = harness.Bench(harness.OURS, uri, "bench_profile", args.scale)
            operation = operations(bench)[args.scenario]()
            operation()  # warm up
            # Client CPU time, not wall: the server's share of the wall time is not ours.
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            operation()
            profile.disable()
    finally:
        if stop:
            stop()
    for sort in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats(sort).print_stats(args.top)
        print(out.getvalue())
    for key, fraction in share(pstats.Stats(profile)).items():
        print(f"{fraction:6.1%}  {key}")


if __name__ == "__main__":
    main()
