"""Scenario 4: a page of 50 rows, filtered and ordered, out of 100,000 documents.

``PageItem.objects.filter(category=c, score__gte=s).order_by("-score")[50:100]`` for 20
different categories per run, against the same ``find().sort().skip().limit()`` plus
``from_db``. The collection has a (category, score) index from the model's ``Meta.indexes``.
The 100,000 documents are loaded once, through pymongo. Run alone:
``python bench/scenario4_page.py [--backend B] [--scale S]``.
"""

from __future__ import annotations

ROWS = 100_000
CATEGORIES = 100
PAGES = 20
PAGE = 50


def run(bench):
    from bench_app.models import PageItem

    rows = bench.size(ROWS)
    bench.raw_load(
        PageItem,
        [
            {"category": i % CATEGORIES, "score": (i * 7919) % 1000, "title": f"title {i}"}
            for i in range(rows)
        ],
    )
    collection = bench.raw_collection(PageItem)
    fields, keys = bench.fields_and_keys(PageItem)
    categories = [(c * 37) % CATEGORIES for c in range(PAGES)]

    def orm():
        for category in categories:
            page = PageItem.objects.filter(category=category, score__gte=100).order_by("-score")
            list(page[PAGE : 2 * PAGE])

    def raw():
        from_db = PageItem.from_db
        for category in categories:
            cursor = (
                collection.find({"category": category, "score": {"$gte": 100}})
                .sort("score", -1)
                .skip(PAGE)
                .limit(PAGE)
            )
            [from_db("default", fields, [doc.get(k) for k in keys]) for doc in cursor]

    result = bench.compare(orm, raw)
    result.update(
        bench.commands(
            lambda: list(
                PageItem.objects.filter(category=1, score__gte=100).order_by("-score")[50:100]
            )
        )
    )
    result["label"] = f"page of {PAGE} in {rows:,} (x{PAGES})"
    return {"page": result}


if __name__ == "__main__":
    from harness import run_one_scenario

    run_one_scenario("scenario4_page")
