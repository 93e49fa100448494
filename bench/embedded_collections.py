"""Does a write cost more when the server holds many other collections?

    python bench/embedded_collections.py [--docs 300] [--collections 300] [--indexes 2]

MongoDB keeps each collection (and each index) in its own storage, so what a write costs
depends on the collection written, not on how many others the server holds. A Django test
database holds one collection per model, a few hundred in a big project, with indexes on most of
them. This scenario starts two embedded servers, fills one with ``--collections`` collections of
``--indexes`` secondary indexes and a few documents each, and then makes the same writes on both
servers, in turn, for ``--rounds`` rounds: ``insert_one`` one document at a time,
``insert_many`` in one call, ``update_one`` and ``delete_one`` one at a time, ``drop``. It
prints the median seconds of each on the empty and on the crowded server, their ratio (the
target: within 1.5), and the size of the crowded server's data file and write-ahead log.

``--uri EMPTY CROWDED`` runs against two servers already started, both empty at the start (e.g.
run under a profiler). Timings are wall time on a shared machine: compare the rows of one run,
not runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymongo import ASCENDING, MongoClient

from django_mongo_backend.embedded import launcher

DOCS_PER_OTHER_COLLECTION = 5


def document(i):
    return {"_id": i, "name": f"row {i}", "n": i % 10, "group": i % 7, "tags": ["a", f"t{i}"]}


def timed(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def measure_writes(db, docs, prefix="written"):
    """Seconds per kind of write of ``docs`` documents into new collections of ``db``."""
    one = db[f"{prefix}_one_by_one"]
    one.create_index([("n", ASCENDING)])
    many = db[f"{prefix}_in_bulk"]
    many.create_index([("n", ASCENDING)])
    rows = [document(i) for i in range(docs)]
    return {
        "insert_one": timed(lambda: [one.insert_one(row) for row in rows]),
        "insert_many": timed(lambda: many.insert_many(rows)),
        "update_one": timed(
            lambda: [one.update_one({"_id": i}, {"$set": {"n": i + 1}}) for i in range(docs)]
        ),
        "delete_one": timed(lambda: [one.delete_one({"_id": i}) for i in range(docs)]),
        "drop": timed(many.drop),
    }


def crowd(db, collections, indexes):
    """Create ``collections`` collections in ``db``, each with ``indexes`` indexes and a few
    documents, as a Django project's migrated test database holds."""
    for c in range(collections):
        collection = db[f"model_{c:03d}"]
        for i in range(indexes):
            collection.create_index([(f"field_{i}", ASCENDING)])
        collection.insert_many(
            [{"field_0": j, "field_1": f"v{j}"} for j in range(DOCS_PER_OTHER_COLLECTION)]
        )


def file_sizes(dbpath):
    if dbpath is None:
        return {}
    data = Path(dbpath) / "mongo.sqlite3"
    wal = data.with_name(data.name + "-wal")
    return {
        name: path.stat().st_size / 1e6 if path.exists() else 0.0
        for name, path in (("data file (MB)", data), ("WAL (MB)", wal))
    }


def median_rows(rounds):
    return {label: statistics.median(row[label] for row in rounds) for label in rounds[0]}


def run(empty_uri, crowded_uri, dbpath, args):
    """Crowd one server, then measure the writes on both, one round each in turn (so that the
    load of a shared machine weighs on both alike); medians of ``--rounds`` rounds."""
    empty_client = MongoClient(empty_uri)
    crowded_client = MongoClient(crowded_uri)
    try:
        print(
            f"creating {args.collections} collections with {args.indexes} indexes each...",
            file=sys.stderr,
            flush=True,
        )
        crowding = timed(lambda: crowd(crowded_client["bench"], args.collections, args.indexes))
        empty_rounds, crowded_rounds = [], []
        for round_number in range(args.rounds):
            print(f"round {round_number + 1} of writes...", file=sys.stderr, flush=True)
            name = f"bench_{round_number}"
            empty_rounds.append(measure_writes(empty_client[name], args.docs))
            crowded_rounds.append(measure_writes(crowded_client["bench"], args.docs, name))
        sizes = file_sizes(dbpath)
        dropping = timed(lambda: crowded_client.drop_database("bench"))
    finally:
        empty_client.close()
        crowded_client.close()
    return median_rows(empty_rounds), median_rows(crowded_rounds), crowding, dropping, sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300, help="documents written per operation")
    parser.add_argument("--collections", type=int, default=300, help="other collections")
    parser.add_argument("--indexes", type=int, default=2, help="indexes per other collection")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of writes (medians)")
    parser.add_argument(
        "--uri",
        nargs=2,
        metavar=("EMPTY", "CROWDED"),
        help="two already running, empty servers (default: start them)",
    )
    args = parser.parse_args(argv)
    if args.uri:
        results = run(*args.uri, None, args)
    else:
        with tempfile.TemporaryDirectory() as empty_path, tempfile.TemporaryDirectory() as path:
            try:
                results = run(
                    launcher.uri_for(launcher.ensure_server(empty_path)),
                    launcher.uri_for(launcher.ensure_server(path)),
                    path,
                    args,
                )
            finally:
                launcher.stop_server(empty_path)
                launcher.stop_server(path)
    empty, crowded, crowding, dropping, sizes = results
    print(
        f"{args.docs} documents per write, medians of {args.rounds} rounds; crowded: "
        f"{args.collections} other collections with {args.indexes} indexes each"
    )
    print(f"{'seconds':<14}{'empty':>10}{'crowded':>10}{'ratio':>8}")
    for label in empty:
        ratio = crowded[label] / empty[label] if empty[label] else float("nan")
        print(f"{label:<14}{empty[label]:>10.3f}{crowded[label]:>10.3f}{ratio:>8.2f}")
    print(f"creating the {args.collections} collections: {crowding:.2f} s")
    print(f"dropping their database: {dropping:.2f} s")
    for label, value in sizes.items():
        print(f"{label:<14}{value:>10.1f}")


if __name__ == "__main__":
    main()
