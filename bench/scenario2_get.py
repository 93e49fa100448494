"""Scenario 2: ``get(pk=...)`` 2,000 times.

Against ``find_one({pk: ...})`` plus ``Item.from_db``. Run alone:
``python bench/scenario2_get.py [--backend B] [--scale S]``.
"""

from __future__ import annotations

ROWS = 10_000
GETS = 2_000


def run(bench):
    from bench_app.models import Item

    if Item.objects.count() < bench.size(ROWS):  # scenario 1 has not loaded them
        bench.raw_load(
            Item,
            [{"name": f"item {i}", "number": i, "ratio": i / 3} for i in range(bench.size(ROWS))],
        )
    gets = bench.size(GETS)
    pks = bench.pk_values(Item, gets)
    collection = bench.raw_collection(Item)
    fields, keys = bench.fields_and_keys(Item)
    pk_key = bench.doc_key(Item._meta.pk)

    def orm():
        get = Item.objects.get
        for pk in pks:
            get(pk=pk)

    def raw():
        from_db = Item.from_db
        find_one = collection.find_one
        for pk in pks:
            doc = find_one({pk_key: pk})
            from_db("default", fields, [doc.get(k) for k in keys])

    result = bench.compare(orm, raw, repeat=max(1, bench.repeat // 2))
    result.update(bench.commands(lambda: Item.objects.get(pk=pks[0])))
    result["label"] = f"get() x{gets:,}"
    return {"get": result}


if __name__ == "__main__":
    from harness import run_one_scenario

    run_one_scenario("scenario2_get")
