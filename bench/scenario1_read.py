"""Scenario 1: read 10,000 rows.

``list(Item.objects.all())`` against ``collection.find()`` plus ``Item.from_db`` for every
document: building model instances is what any Django backend pays, so the ratio is what the
backend itself adds. Run alone: ``python bench/scenario1_read.py [--backend B] [--scale S]``.
"""

from __future__ import annotations

ROWS = 10_000


def run(bench):
    from bench_app.models import Item

    rows = bench.size(ROWS)
    bench.raw_load(Item, [{"name": f"item {i}", "number": i, "ratio": i / 3} for i in range(rows)])
    collection = bench.raw_collection(Item)
    fields, keys = bench.fields_and_keys(Item)

    def orm():
        return list(Item.objects.all())

    def raw():
        from_db = Item.from_db
        return [from_db("default", fields, [doc.get(k) for k in keys]) for doc in collection.find()]

    assert len(orm()) == len(raw()) == rows
    result = bench.compare(orm, raw)
    result.update(bench.commands(orm))
    result["label"] = f"read {rows:,} rows"
    return {"read": result}


if __name__ == "__main__":
    from harness import run_one_scenario

    run_one_scenario("scenario1_read")
