"""Scenario 5: a join (``select_related``) and a group-by (``values().annotate(Count())``).

1,000 books by 100 authors. The join reads every book with its author,
``list(Book.objects.select_related("author"))``, against one ``aggregate`` with ``$lookup`` +
``$unwind`` building both instances with ``from_db`` and caching the author on the book, as
Django does. The group-by, ``Book.objects.values("author").annotate(n=Count("id"),
pages=Sum("pages"))``, against a ``$group`` returning the same dicts. Run alone:
``python bench/scenario5_join_group.py [--backend B] [--scale S]``.
"""

from __future__ import annotations

AUTHORS = 100
BOOKS = 1_000


def run(bench):
    from bench_app.models import Author, Book
    from django.db.models import Count, Sum

    authors = max(2, bench.size(AUTHORS))
    books = bench.size(BOOKS)
    bench.raw_load(Author, [{"name": f"author {i}"} for i in range(authors)])
    author_pks = bench.pk_values(Author, authors)
    bench.raw_load(
        Book,
        [
            {"title": f"book {i}", "pages": 50 + i % 400, "author_id": author_pks[i % authors]}
            for i in range(books)
        ],
    )
    book_collection = bench.raw_collection(Book)
    book_fields, book_keys = bench.fields_and_keys(Book)
    author_fields, author_keys = bench.fields_and_keys(Author)
    author_collection = bench.raw_collection(Author).name
    author_pk_key = bench.doc_key(Author._meta.pk)
    author_field = Book._meta.get_field("author")

    def orm_join():
        return [book.author.name for book in Book.objects.select_related("author")]

    def raw_join():
        pipeline = [
            {
                "$lookup": {
                    "from": author_collection,
                    "localField": "author_id",
                    "foreignField": author_pk_key,
                    "as": "author",
                }
            },
            {"$unwind": "$author"},
        ]
        names = []
        for doc in book_collection.aggregate(pipeline):
            book = Book.from_db("default", book_fields, [doc.get(k) for k in book_keys])
            joined = doc["author"]
            author = Author.from_db("default", author_fields, [joined.get(k) for k in author_keys])
            author_field.set_cached_value(book, author)
            names.append(book.author.name)
        return names

    def orm_group():
        return list(Book.objects.values("author").annotate(n=Count("id"), pages=Sum("pages")))

    def raw_group():
        pipeline = [
            {"$group": {"_id": "$author_id", "n": {"$sum": 1}, "pages": {"$sum": "$pages"}}}
        ]
        return [
            {"author": doc["_id"], "n": doc["n"], "pages": doc["pages"]}
            for doc in book_collection.aggregate(pipeline)
        ]

    assert sorted(orm_join()) == sorted(raw_join())
    join = bench.compare(orm_join, raw_join)
    join.update(bench.commands(orm_join))
    join["label"] = f"select_related {books:,} rows"
    assert len(orm_group()) == len(raw_group()) == authors
    group = bench.compare(orm_group, raw_group)
    group.update(bench.commands(orm_group))
    group["label"] = f"values().annotate() {authors} groups"
    return {"join": join, "group_by": group}


if __name__ == "__main__":
    from harness import run_one_scenario

    run_one_scenario("scenario5_join_group")
