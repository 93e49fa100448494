"""Embedded server costs that grow with collection size, read through pymongo over TCP.

    python bench/embedded_server.py [--sizes 1000,10000,100000] [--repeat 20]

Starts its own embedded server in a temporary directory. For each size N it fills a collection
of N documents and prints milliseconds per lookup by ``_id`` (``find_one``,
``find().limit(21)`` as Django's ``get()`` sends it, ``aggregate([$match, $limit])``), per page
of an indexed field (``$match`` + ``$sort`` + ``$skip`` + ``$limit``), per ``$lookup`` join of
1,000 documents (localField/foreignField on ``group``, which joins all N documents; on
``_id``, which joins 1,000 whatever N; let/pipeline on ``group`` with ``$limit: 1``), and
seconds for ``insert_many`` and ``list(find())`` of 10,000 documents. Timings are wall time on
a shared machine: compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymongo import MongoClient

from django_mongo_backend.embedded import launcher

JOIN_SIZE = 1_000
BULK_SIZE = 10_000


def per_call_ms(function, repeat):
    function()  # warm caches (the planner's per-collection feature checks)
    started = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - started) / repeat * 1000


def seconds(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def fill(collection, size, make):
    for start in range(0, size, 10_000):
        collection.insert_many([make(i) for i in range(start, min(size, start + 10_000))])


def measure(db, size, repeat):
    items = db[f"items_{size}"]
    fill(items, size, lambda i: {"_id": i, "group": i % 100, "name": f"item {i}"})
    items.create_index("group")
    key = size // 2
    row = {
        "find_one _id": per_call_ms(lambda: items.find_one({"_id": key}), repeat),
        "find _id limit 21": per_call_ms(lambda: list(items.find({"_id": key}).limit(21)), repeat),
        "aggregate _id": per_call_ms(
            lambda: list(items.aggregate([{"$match": {"_id": key}}, {"$limit": 21}])), repeat
        ),
        "indexed page": per_call_ms(
            lambda: list(
                items.aggregate(
                    [
                        {"$match": {"group": 7}},
                        {"$sort": {"group": 1}},
                        {"$skip": 5},
                        {"$limit": 20},
                    ]
                )
            ),
            repeat,
        ),
    }
    parents = db[f"parents_{size}"]
    fill(parents, JOIN_SIZE, lambda i: {"_id": i})
    children = items  # foreign side: N documents, `group` indexed
    joins = max(1, repeat // 10)
    row["lookup field"] = per_call_ms(
        lambda: list(
            parents.aggregate(
                [
                    {
                        "$lookup": {
                            "from": children.name,
                            "localField": "_id",
                            "foreignField": "group",
                            "as": "children",
                        }
                    }
                ]
            )
        ),
        joins,
    )
    row["lookup _id (1,000 hits)"] = per_call_ms(
        lambda: list(
            parents.aggregate(
                [
                    {
                        "$lookup": {
                            "from": children.name,
                            "localField": "_id",
                            "foreignField": "_id",
                            "as": "item",
                        }
                    },
                    {"$unwind": {"path": "$item", "preserveNullAndEmptyArrays": True}},
                ]
            )
        ),
        joins,
    )
    row["lookup pipeline"] = per_call_ms(
        lambda: list(
            parents.aggregate(
                [
                    {
                        "$lookup": {
                            "from": children.name,
                            "let": {"parent": "$_id"},
                            "pipeline": [
                                {"$match": {"$expr": {"$eq": ["$group", "$$parent"]}}},
                                {"$limit": 1},
                            ],
                            "as": "children",
                        }
                    }
                ]
            )
        ),
        joins,
    )
    return row


def measure_bulk(db):
    bulk = db["bulk"]
    documents = [{"_id": i, "name": f"row {i}", "n": i % 10} for i in range(BULK_SIZE)]
    return {
        f"insert_many {BULK_SIZE:,} (s)": seconds(lambda: bulk.insert_many(documents)),
        f"list(find()) {BULK_SIZE:,} (s)": seconds(lambda: list(bulk.find())),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=20, help="calls per lookup timing")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    with tempfile.TemporaryDirectory() as dbpath:
        info = launcher.ensure_server(dbpath)
        try:
            client = MongoClient(launcher.uri_for(info))
            db = client["bench"]
            rows = {}
            for size in sizes:
                print(f"measuring {size:,} documents...", file=sys.stderr, flush=True)
                rows[size] = measure(db, size, args.repeat)
            print("measuring bulk insert and read...", file=sys.stderr, flush=True)
            bulk = measure_bulk(db)
            client.close()
        finally:
            launcher.stop_server(dbpath)
    labels = list(next(iter(rows.values())))
    width = max(len(label) for label in labels) + 2
    print(f"{'ms per call':<{width}}" + "".join(f"{f'N={size:,}':>14}" for size in sizes))
    for label in labels:
        print(f"{label:<{width}}" + "".join(f"{rows[size][label]:>14.2f}" for size in sizes))
    print(f"(lookup rows: joins of {JOIN_SIZE:,} documents against the N-document collection)")
    for label, value in bulk.items():
        print(f"{label:<{width}}{value:>14.2f}")


if __name__ == "__main__":
    main()
