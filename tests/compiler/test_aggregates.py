"""Aggregates and GROUP BY (compiler/aggregates.py): ``$group`` accumulators with SQL's
results on NULLs and empty groups.

No aggregate keeps an array per group where it can be helped: ``$addToSet`` / ``$push``
keep one, refused beyond 100 MB (manual, ``$group``: "$addToSet and $push ... memory
limit"), so DISTINCT aggregates and ANY_VALUE are built without them where the query allows.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import NotSupportedError, connection, models
from django.db.models import (
    Avg,
    Count,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.test.utils import CaptureQueriesContext

from tests.compiler.golden import joined, mql, pipeline
from tests.testapp.models import Author, Book, Tag

pytestmark = pytest.mark.django_db


def test_group_by_count(library):
    rows = Book.objects.values("author").annotate(n=Count("id"))
    counts = {row["author"]: row["n"] for row in rows}
    assert counts == {library["ann"].pk: 2, library["bob"].pk: 1, library["cy"].pk: 1}
    stages = pipeline(Book.objects.values("author").annotate(n=Count("id")).order_by())
    assert stages[0]["$group"]["_id"] == {"k0": "$author_id"}
    assert stages[-1] == {"$project": {"_id": 0, "c0": "$_id.k0", "c1": "$__a0"}}


def test_columns_that_cannot_be_null_are_counted_and_summed_without_null_tests(orphans):
    """A column neither nullable nor from an outer join is never null: COUNT is ``$sum: 1``
    and SUM keeps no counter of non-null inputs (a group holds at least one row; ``$sum``
    over numbers is their sum). A non-null column of an outer-joined table can be missing,
    so it keeps its guard, as does a SUM whose filter may exclude every row of a group."""
    ann, bob = orphans["ann"].pk, orphans["bob"].pk
    grouped = Book.objects.values("author").annotate(n=Count("id"), pages=Sum("pages"))
    assert sorted((r["author"], r["n"], r["pages"]) for r in grouped) == [(ann, 3, 7), (bob, 1, 3)]
    assert pipeline(grouped.order_by()) == [
        {"$group": {"_id": {"k0": "$author_id"}, "__a0": {"$sum": 1}, "__a1": {"$sum": "$pages"}}},
        {"$project": {"_id": 0, "c0": "$_id.k0", "c1": "$__a0", "c2": "$__a1"}},
    ]
    # An inner join's non-null column is never null either.
    inner = Book.objects.values("editor").annotate(n=Count("author__name")).order_by()
    assert pipeline(inner)[-2]["$group"]["__a0"] == {"$sum": 1}
    # Editors are outer-joined: their names are missing where a book has none.
    edited = Book.objects.values("author").annotate(e=Count("editor__name"), a=Sum("editor__age"))
    assert sorted((r["author"], r["e"], r["a"]) for r in edited) == [(ann, 1, None), (bob, 1, 30)]
    group = pipeline(edited.order_by())[-2]["$group"]
    assert group["__a0"] == {"$sum": {"$cond": [{"$gt": ["$T3.name", None]}, 1, 0]}}
    assert group["__a1n"] == {"$sum": {"$cond": [{"$gt": ["$T3.age", None]}, 1, 0]}}
    # A filter may leave a group without inputs: SUM is then NULL; COUNT counts the filter.
    filtered = Book.objects.values("author").annotate(
        big=Sum("pages", filter=Q(pages__gt=2)), n=Count("pages", filter=Q(pages__gt=2))
    )
    assert sorted((r["author"], r["big"], r["n"]) for r in filtered) == [(ann, 4, 1), (bob, 3, 1)]
    none = Book.objects.values("author").annotate(big=Sum("pages", filter=Q(pages__gt=9)))
    assert sorted((r["author"], r["big"]) for r in none) == [(ann, None), (bob, None)]
    condition = {"$gt": ["$pages", {"$literal": 2}]}
    group = pipeline(filtered.order_by())[0]["$group"]
    assert group["__a0n"] == {"$sum": {"$cond": [condition, 1, 0]}}
    assert group["__a2"] == {"$sum": {"$cond": [condition, 1, 0]}}
    # Without GROUP BY, no input at all: COUNT 0 and SUM NULL.
    empty = Book.objects.filter(pages__gt=9).aggregate(n=Count("id"), total=Sum("pages"))
    assert empty == {"n": 0, "total": None}
    distinct = Book.objects.aggregate(
        n=Count("pages", distinct=True), s=Sum("pages", distinct=True)
    )
    assert distinct == {"n": 4, "s": 10}


def test_aggregate_and_annotate(library):
    result = Book.objects.aggregate(
        total=Sum("pages"), top=Max("price"), low=Min("pages"), mean=Avg("pages")
    )
    assert result == {"total": 460, "top": Decimal("20.00"), "low": 10, "mean": 115.0}
    empty = Book.objects.filter(pages__gt=1000).aggregate(total=Sum("pages"), n=Count("id"))
    assert empty == {"total": None, "n": 0}
    counts = dict(Author.objects.annotate(n=Count("books")).values_list("name", "n"))
    assert counts == {"Ann": 2, "Bob": 1, "Cy": 1}
    having = Author.objects.annotate(n=Count("books")).filter(n__gt=1)
    assert list(having.values_list("name", flat=True)) == ["Ann"]
    assert pipeline(
        Author.objects.annotate(n=Count("books")).filter(n__gt=1).values_list("name", flat=True)
    ) == [
        *joined("testapp_book", "_id", foreign="author_id", outer=True),
        {
            "$group": {
                "_id": {
                    "k0": "$_id",
                    "k1": "$name",
                    "k2": "$email",
                    "k3": {"$ifNull": ["$age", None]},
                },
                "__a0": {"$sum": {"$cond": [{"$gt": ["$testapp_book._id", None]}, 1, 0]}},
            }
        },
        {"$match": {"$expr": {"$gt": ["$__a0", {"$literal": 1}]}}},
        {"$project": {"_id": 0, "c0": "$_id.k1"}},
    ]


def test_group_by_ignores_meta_ordering_and_an_annotation_is_grouped_once(library):
    from django.db.models import Exists

    # Author orders by name; grouping by age must not also group by name (Django drops
    # Meta.ordering from GROUP BY queries).
    Author.objects.create(name="Dee", age=30)
    by_age = Author.objects.values("age").annotate(n=Count("pk"))
    assert sorted((row["age"] or 0, row["n"]) for row in by_age) == [(0, 1), (30, 2), (45, 1)]
    has_books = Exists(Book.objects.filter(author=OuterRef("pk")))
    breakdown = Author.objects.values_list(has_books).annotate(n=Count("*"))
    assert dict(breakdown) == {True: 3, False: 1}
    assert pipeline(Author.objects.values("age").annotate(n=Count("pk"))) == [
        {
            "$group": {
                "_id": {"k0": {"$ifNull": ["$age", None]}},
                "__a0": {"$sum": 1},
            }
        },
        {"$project": {"_id": 0, "c0": "$_id.k0", "c1": "$__a0"}},
    ]


def test_values_group_by_keeps_an_exists_as_its_key(library):
    from django.db.models import Exists, Max

    tag = Tag.objects.create(name="t")
    library["books"][0].tags.add(tag)  # Alpha (Ann) has a tag, beta (Ann) has none
    tagged = Exists(Book.tags.through.objects.filter(book=OuterRef("pk")))
    rows = Book.objects.values("author__name").annotate(tagged=tagged, most=Max("pages"))
    assert sorted((r["author__name"], r["tagged"], r["most"]) for r in rows) == [
        ("Ann", False, 50),
        ("Ann", True, 100),
        ("Bob", False, 10),
        ("Cy", False, 300),
    ]
    # A subquery after the group reads the grouped column.
    counted = Author.objects.annotate(n=Count("books")).annotate(
        top=Subquery(
            Book.objects.filter(author=OuterRef("pk")).order_by("-pages").values("pages")[:1]
        )
    )
    assert sorted(counted.values_list("name", "n", "top")) == [
        ("Ann", 2, 100),
        ("Bob", 1, 10),
        ("Cy", 1, 300),
    ]


def test_group_by_a_column_missing_on_some_rows_and_null_on_others(orphans):
    """SQL has one NULL group; a compound ``$group`` ``_id`` keeps a missing key apart from a
    null one (``expandId`` in MongoDB's group_processor_base.cpp), which would give two."""
    rows = Book.objects.values("editor__age").annotate(n=Count("pk")).order_by("editor__age")
    assert list(rows) == [{"editor__age": None, "n": 3}, {"editor__age": 30, "n": 1}]
    pairs = (
        Book.objects.values_list("editor__age", "author__name")
        .annotate(n=Count("pk"))
        .order_by("editor__age", "author__name")
    )
    assert list(pairs) == [(None, "Ann", 3), (30, "Bob", 1)]
    assert pipeline(Book.objects.values("editor__age").annotate(n=Count("pk"))) == [
        *joined("testapp_author", "editor_id", outer=True),
        {
            "$group": {
                "_id": {"k0": {"$ifNull": ["$testapp_author.age", None]}},
                "__a0": {"$sum": 1},
            }
        },
        {"$project": {"_id": 0, "c0": "$_id.k0", "c1": "$__a0"}},
    ]


def test_distinct_after_group_by_keeps_a_missing_column_with_the_null_ones():
    """DISTINCT after GROUP BY groups whole projected rows (``$group: {_id: "$$ROOT"}``); a
    subquery evaluated after the group that finds no row is *missing* (``$arrayElemAt`` past
    the end), which drops its key from the row document, so it would stand apart from a row
    whose value is null. In SQL both are NULL: one row."""
    ann = Author.objects.create(name="Ann", age=30)
    cy = Author.objects.create(name="Cy", age=45)
    Book.objects.create(title="X", author=ann, editor=ann, price=None)
    Book.objects.create(title="Y", author=cy, editor=None, price=None)
    price = Book.objects.filter(editor=OuterRef("pk")).values("price")[:1]
    queryset = (
        Author.objects.annotate(n=Count("books"), t=Subquery(price))
        .values_list("n", "t")
        .distinct()
    )
    assert list(queryset) == [(1, None)]


@pytest.mark.skipif(
    not hasattr(models, "BitAnd"),
    reason="BitAnd, BitOr, BitXor, StringAgg and AnyValue are in Django's core from 6.0",
)
def test_bit_string_and_any_value_aggregates(library):
    totals = Author.objects.aggregate(
        a=models.BitAnd("age"),
        o=models.BitOr("age"),
        x=models.BitXor("age"),
        s=models.StringAgg("name", delimiter=models.Value("|")),
        any=models.AnyValue("age"),
        none=models.BitAnd("age", filter=Q(age__gt=100)),
        nothing=models.StringAgg("name", delimiter=models.Value("|"), filter=Q(age__gt=100)),
    )
    assert totals["a"] == 30 & 45 and totals["o"] == 30 | 45 and totals["x"] == 30 ^ 45
    assert sorted(totals["s"].split("|")) == ["Ann", "Bob", "Cy"]
    assert totals["any"] in (30, 45)
    assert totals["none"] is None and totals["nothing"] is None
    per_author = (
        Book.objects.values("author__name")
        .annotate(pages=models.BitOr("pages"), titles=models.StringAgg("title", models.Value(",")))
        .order_by("author__name")
    )
    assert [(row["author__name"], row["pages"]) for row in per_author] == [
        ("Ann", 100 | 50),
        ("Bob", 10),
        ("Cy", 300),
    ]
    assert sorted(per_author[0]["titles"].split(",")) == ["Alpha", "beta"]
    with pytest.raises(NotSupportedError, match="order on aggregates"):
        Author.objects.aggregate(s=models.StringAgg("name", models.Value(","), order_by="name"))


def stages(queryset):
    return json.dumps(mql(queryset)["pipeline"])


def test_distinct_count_groups_twice_instead_of_collecting_a_set(people):
    queryset = (
        Book.objects.values("author__name")
        .annotate(kinds=Count("pages", distinct=True), books=Count("id"), total=Sum("pages"))
        .order_by("author__name")
    )
    text = stages(queryset)
    assert "$addToSet" not in text and "$push" not in text
    assert [(r["author__name"], r["kinds"], r["books"], r["total"]) for r in queryset] == [
        ("Ann", 1, 2, 200),
        ("Bob", 1, 1, 10),
        ("Cy", 1, 1, 300),
    ]


def test_distinct_aggregates_over_the_whole_table(people):
    totals = Author.objects.aggregate(
        ages=Count("age", distinct=True),
        sum=Sum("age", distinct=True),
        avg=Avg("age", distinct=True),
        filtered=Count("age", distinct=True, filter=Q(name__in=["Ann", "Dee"])),
        rows=Count("id"),
    )
    assert totals == {"ages": 2, "sum": 75, "avg": 37.5, "filtered": 1, "rows": 4}
    with CaptureQueriesContext(connection) as queries:
        totals = Author.objects.aggregate(ages=Count("age", distinct=True), rows=Count("id"))
    assert totals == {"ages": 2, "rows": 4}
    assert "$addToSet" not in queries.captured_queries[-1]["sql"]
    empty = Author.objects.filter(age__gt=100).aggregate(
        ages=Count("age", distinct=True), sum=Sum("age", distinct=True)
    )
    assert empty == {"ages": 0, "sum": None}
    nulls = Author.objects.filter(age__isnull=True).aggregate(sum=Sum("age", distinct=True))
    assert nulls == {"sum": None}


def test_distinct_count_next_to_an_average_still_counts(people):
    """AVG cannot be merged across the first $group's partitions: the set is collected."""
    totals = Author.objects.aggregate(ages=Count("age", distinct=True), avg=Avg("age"))
    assert totals == {"ages": 2, "avg": 35.0}
    assert pipeline(
        Author.objects.annotate(g=Value(1))
        .values("g")
        .annotate(ages=Count("age", distinct=True), avg=Avg("age"))
        .values("ages", "avg")
    ) == [
        {
            "$facet": {
                "g": [
                    {
                        "$group": {
                            "_id": None,
                            "__a1": {"$avg": "$age"},
                            "__a0": {
                                "$addToSet": {
                                    "$cond": [{"$gt": ["$age", None]}, "$age", "$$REMOVE"]
                                }
                            },
                        }
                    },
                    {"$addFields": {"__a0": {"$size": "$__a0"}}},
                ]
            }
        },
        {
            "$replaceRoot": {
                "newRoot": {
                    "$ifNull": [
                        {"$arrayElemAt": ["$g", 0]},
                        {"__a0": {"$literal": 0}, "__a1": {"$literal": None}},
                    ]
                }
            }
        },
        {"$project": {"_id": 0, "c0": "$__a0", "c1": "$__a1"}},
    ]


@pytest.mark.skipif(not hasattr(models, "AnyValue"), reason="AnyValue is in Django's core from 6.0")
def test_any_value_collects_no_array(people):
    queryset = (
        Book.objects.values("author__name")
        .annotate(title=models.AnyValue("title"))
        .order_by("author__name")
    )
    assert "$push" not in stages(queryset)
    rows = {row["author__name"]: row["title"] for row in queryset}
    assert rows["Ann"] in ("Alpha", "Beta") and rows["Bob"] == "Gamma"
    nulls = Author.objects.aggregate(any=models.AnyValue("age", filter=Q(age__isnull=True)))
    assert nulls == {"any": None}
    assert Author.objects.aggregate(any=models.AnyValue("age"))["any"] in (30, 45)


def test_an_integer_computed_from_a_decimal_reads_as_an_integer(library):
    """``output_field=IntegerField()`` over decimal arithmetic: the server answers a
    Decimal128, which Django's int() conversion cannot take (aggregation's
    test_combine_different_types); SQL gives the integer part."""
    from django.db.models import ExpressionWrapper, F, IntegerField, Sum

    total = Book.objects.aggregate(v=Sum(F("pages") + F("price"), output_field=IntegerField()))
    assert total == {"v": 429}  # 100 + 9.99 + 300 + 20.00; rows without a price add NULL
    rows = Book.objects.filter(price__isnull=False).order_by("title")
    each = rows.annotate(v=ExpressionWrapper(F("pages") + F("price"), IntegerField()))
    assert list(each.values_list("v", flat=True)) == [109, 320]
