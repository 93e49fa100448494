"""What savepoints cost (docs/transactions.rst): commands per operation, and rollbacks.

    python bench/transaction_costs.py [--uri URI] [--writes 100]

Starts its own embedded server unless ``--uri`` is given. Prints the commands sent (counted by
a pymongo command listener, so nothing the backend does escapes the count) for ``save()`` of a
new object, ``update()``, ``delete()`` and ``bulk_create()`` of 100 objects, outside
``atomic()`` and inside a nested ``atomic()`` (a savepoint), then what rolling back a savepoint
costs with WRITES earlier writes in the transaction: nothing written since the savepoint, one
insert since, and a caught IntegrityError (the server aborted the transaction), in commands and
milliseconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import harness  # noqa: E402

OPERATIONS = ("save() new", "update()", "delete()", "bulk_create(100)")


def counted(operation):
    """(commands sent, milliseconds) of ``operation()``, as the benchmark's wire counter sees
    them (commitTransaction/abortTransaction included)."""
    before = harness.WIRE.count
    started = time.perf_counter()
    operation()
    elapsed = (time.perf_counter() - started) * 1000
    return harness.WIRE.count - before, elapsed


def operations(Item):
    item = Item.objects.create(name="x", number=0, ratio=0.0)
    doomed = Item.objects.create(name="doomed", number=-1, ratio=0.0)
    return {
        "save() new": lambda: Item(name="new", number=1, ratio=1.0).save(),
        "update()": lambda: Item.objects.filter(pk=item.pk).update(number=2),
        "delete()": lambda: Item.objects.filter(pk=doomed.pk).delete(),
        "bulk_create(100)": lambda: Item.objects.bulk_create(
            Item(name=f"b{i}", number=i, ratio=0.5) for i in range(100)
        ),
    }


def per_operation(Item):
    from django.db import transaction

    rows = {}
    for place in ("outside atomic()", "in a nested atomic()"):
        for name, operation in operations(Item).items():
            if place == "outside atomic()":
                rows[(place, name)] = counted(operation)[0]
            else:
                with transaction.atomic(), transaction.atomic():
                    rows[(place, name)] = counted(operation)[0]
                    transaction.set_rollback(True)
    return rows


def rollbacks(Item, writes):
    from django.db import IntegrityError, transaction

    results = {}

    def inner(body):
        def run():
            try:
                with transaction.atomic():
                    body()
                    transaction.set_rollback(True)
            except IntegrityError:
                pass

        return run

    Item.objects.create(name="taken", number=0, ratio=0.0)
    cases = {
        "nothing written since": lambda: list(Item.objects.all()[:1]),
        "one insert since": lambda: Item.objects.create(name="i", number=1, ratio=0.0),
        "caught IntegrityError": lambda: Item.objects.create(pk=1, name="dup", number=0, ratio=0),
    }
    for label, body in cases.items():
        with transaction.atomic():
            for index in range(writes):
                Item.objects.create(name=f"w{index}", number=index, ratio=0.0)
            results[label] = counted(inner(body))
            transaction.set_rollback(True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri")
    parser.add_argument("--writes", type=int, default=100)
    args = parser.parse_args()
    stop = None
    uri = args.uri
    if uri is None:
        uri, stop = harness.start_server()
    try:
        harness.configure(harness.OURS, uri, "bench_transactions", tempfile.mkdtemp())
        from bench_app.models import Item

        rows = per_operation(Item)
        print("commands per operation        outside atomic()   in a nested atomic()")
        for name in OPERATIONS:
            print(
                f"  {name:<26} {rows[('outside atomic()', name)]:>16}"
                f"   {rows[('in a nested atomic()', name)]:>20}"
            )
        print(f"\nrolling back a savepoint after {args.writes} earlier inserts (one command each)")
        for label, (sent, elapsed) in rollbacks(Item, args.writes).items():
            print(f"  {label:<26} {sent:>4} commands {elapsed:>9.1f} ms (the block included)")
    finally:
        if stop is not None:
            stop()


if __name__ == "__main__":
    main()
