"""Scenario 3: ``bulk_create`` of 10,000 rows.

Both sides build the 10,000 model instances (what a user of any backend writes); the ORM then
calls ``bulk_create`` and raw pymongo ``insert_many`` of the same values. The collection is
emptied before every run, outside the timing. Run alone:
``python bench/scenario3_bulk_create.py [--backend B] [--scale S]``.
"""

from __future__ import annotations

ROWS = 10_000


def run(bench):
    from bench_app.models import BulkItem

    rows = bench.size(ROWS)
    collection = bench.raw_collection(BulkItem)
    data = [(f"n{i}", i, i / 7) for i in range(rows)]
    next_pk = [1]

    def empty():
        bench.recreate(BulkItem)

    def orm():
        BulkItem.objects.bulk_create(
            [BulkItem(name=name, number=number, ratio=ratio) for name, number, ratio in data]
        )

    def raw():
        objects = [BulkItem(name=name, number=number, ratio=ratio) for name, number, ratio in data]
        start = next_pk[0]
        next_pk[0] += len(objects)
        collection.insert_many(
            [
                bench.raw_document(
                    {"name": obj.name, "number": obj.number, "ratio": obj.ratio}, pk=start + i
                )
                for i, obj in enumerate(objects)
            ]
        )

    result = bench.compare(orm, raw, setup=empty, repeat=max(1, bench.repeat // 2))
    # Commands do not depend on the number of rows (that is the point): count them on a
    # bulk_create of 1,000 rows rather than pay for another 10,000-row insert.
    empty()
    result.update(
        bench.commands(
            lambda: BulkItem.objects.bulk_create(
                [
                    BulkItem(name=name, number=number, ratio=ratio)
                    for name, number, ratio in data[:1000]
                ]
            )
        )
    )
    result["commands_rows"] = min(rows, 1000)
    result["label"] = f"bulk_create {rows:,} rows"
    return {"bulk_create": result}


if __name__ == "__main__":
    from harness import run_one_scenario

    run_one_scenario("scenario3_bulk_create")
