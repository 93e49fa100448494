"""What a multi-document transaction costs as its collection grows, through pymongo over TCP.

    python bench/embedded_transactions.py [--sizes 100,1000,10000,100000] [--repeat 10]
        [--uri URI]

Starts its own embedded server in a temporary directory (as ``bench/embedded_server.py``
does) unless ``--uri`` names one. For each size N it fills a collection of N documents (an
index on ``group`` and a unique one on ``code``, as a Django table with a unique field has)
and prints milliseconds per
transaction (what ``atomic()`` sends: ``startTransaction`` with the first write, then
``commitTransaction``) that inserts one document, that updates one document by ``_id``, and
that updates one document then reads it back and counts the collection inside the
transaction. A transaction's write cost should not depend on N (issue 15): each row's numbers
should be flat. Timings are wall time on a shared machine: compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymongo import MongoClient

from django_mongo_backend.embedded import launcher

_serial = itertools.count(10**9)


def per_transaction_ms(client, body, repeat):
    """Milliseconds per transaction running ``body(session)`` (one warm-up not counted)."""

    def once():
        with client.start_session() as session, session.start_transaction():
            body(session)

    once()
    started = time.perf_counter()
    for _ in range(repeat):
        once()
    return (time.perf_counter() - started) / repeat * 1000


def fill(collection, size):
    # Indexes first: building a unique index over existing documents compares them pairwise.
    collection.create_index("group")
    collection.create_index("code", unique=True)
    for start in range(0, size, 10_000):
        collection.insert_many(
            [
                {"_id": i, "group": i % 100, "code": f"c{i}", "name": f"item {i}", "n": 0}
                for i in range(start, min(size, start + 10_000))
            ]
        )


def measure(client, db, size, repeat):
    items = db[f"items_{size}"]
    fill(items, size)
    key = size // 2

    def insert_one(session):
        serial = next(_serial)
        items.insert_one(
            {"_id": serial, "group": 1, "code": f"c{serial}", "name": "new"}, session=session
        )

    def update_one(session):
        items.update_one({"_id": key}, {"$inc": {"n": 1}}, session=session)

    def update_and_read(session):
        items.update_one({"_id": key}, {"$inc": {"n": 1}}, session=session)
        items.find_one({"_id": key}, session=session)
        items.count_documents({"group": key % 100}, session=session)

    return {
        "insert one": per_transaction_ms(client, insert_one, repeat),
        "update one by _id": per_transaction_ms(client, update_one, repeat),
        "update, find_one, count": per_transaction_ms(client, update_and_read, repeat),
    }


def measure_all(uri, sizes, repeat):
    client = MongoClient(uri)
    try:
        client.drop_database("bench")
        rows = {}
        for size in sizes:
            print(f"measuring {size:,} documents...", file=sys.stderr, flush=True)
            rows[size] = measure(client, client["bench"], size, repeat)
        return rows
    finally:
        client.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=10, help="transactions per timing")
    parser.add_argument("--uri", help="a running server (its bench database is dropped)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    if args.uri:
        rows = measure_all(args.uri, sizes, args.repeat)
    else:
        with tempfile.TemporaryDirectory() as dbpath:
            info = launcher.ensure_server(dbpath)
            try:
                rows = measure_all(launcher.uri_for(info), sizes, args.repeat)
            finally:
                launcher.stop_server(dbpath)
    labels = list(next(iter(rows.values())))
    width = max(len(label) for label in labels) + 2
    print(f"{'ms per transaction':<{width}}" + "".join(f"{f'N={size:,}':>12}" for size in sizes))
    for label in labels:
        print(f"{label:<{width}}" + "".join(f"{rows[size][label]:>12.1f}" for size in sizes))


if __name__ == "__main__":
    main()
