"""Subquery / Exists / OuterRef (compiler/subqueries.py): a ``$lookup`` with ``let`` and
``pipeline``.
"""

from __future__ import annotations

import re

import pytest
from django.db.models import Exists, OuterRef, Subquery

from tests.compiler.golden import pipeline, titles
from tests.testapp.models import Author, Book, Tag

pytestmark = pytest.mark.django_db


def test_correlated_subquery_is_a_lookup_with_let(library):
    inner = Book.objects.filter(author=OuterRef("pk"), pages__gt=10)
    rows = Author.objects.filter(Exists(inner)).values_list("name", flat=True)
    assert list(rows) == ["Ann", "Cy"]
    inner = Book.objects.filter(author=OuterRef("pk"), pages__gt=10)
    stages = pipeline(Author.objects.filter(Exists(inner)).order_by())
    lookup = stages[0]["$lookup"]
    assert lookup["from"] == "testapp_book" and lookup["let"] == {"outer0": "$_id"}
    assert lookup["pipeline"][0] == {
        "$match": {
            "$and": [
                {"$expr": {"$eq": ["$author_id", "$$outer0"]}},
                {"pages": {"$gt": 10}},
            ]
        }
    }
    assert stages[1] == {"$match": {"$expr": {"$gt": [{"$size": "$" + lookup["as"]}, 0]}}}


def test_exists_subquery_and_outer_ref(library):
    from django.db.models import Exists, Subquery

    books = Book.objects.filter(author=OuterRef("pk"))
    with_books = Author.objects.filter(Exists(books.filter(pages__gt=60)))
    assert sorted(with_books.values_list("name", flat=True)) == ["Ann", "Cy"]
    without = Author.objects.filter(~Exists(books.filter(pages__gt=60)))
    assert list(without.values_list("name", flat=True)) == ["Bob"]
    longest = Author.objects.annotate(
        longest=Subquery(books.order_by("-pages").values("title")[:1])
    ).values_list("name", "longest")
    assert sorted(longest) == [("Ann", "Alpha"), ("Bob", "Gamma"), ("Cy", "Delta")]
    flagged = dict(
        Author.objects.annotate(big=Exists(books.filter(pages__gte=300))).values_list("name", "big")
    )
    assert flagged == {"Ann": False, "Bob": False, "Cy": True}
    assert pipeline(
        Author.objects.filter(
            ~Exists(Book.objects.filter(author=OuterRef("pk"), pages__gt=60))
        ).values_list("name", flat=True)
    ) == [
        {
            "$lookup": {
                "from": "testapp_book",
                "pipeline": [
                    {
                        "$match": {
                            "$and": [
                                {"$expr": {"$eq": ["$author_id", "$$outer0"]}},
                                {"pages": {"$gt": 60}},
                            ]
                        }
                    },
                    {"$addFields": {"__c0": {"$literal": 1}}},
                    {"$limit": 1},
                    {"$project": {"__c0": 1}},
                ],
                "as": "__sq1_0",
                "let": {"outer0": "$_id"},
            }
        },
        {"$match": {"$expr": {"$not": [{"$gt": [{"$size": "$__sq1_0"}, 0]}]}}},
        {"$addFields": {"__c0": "$name"}},
        {"$sort": {"__c0": 1}},
        {"$project": {"name": 1}},
    ]


def test_admin_style_duplicate_free_search_across_many_to_many(library):
    from django.db.models import Exists

    tag = Tag.objects.create(name="sci-fi")
    library["books"][0].tags.add(tag)
    library["books"][3].tags.add(tag)
    matches = Book.objects.filter(tags__name__icontains="sci")
    deduped = Book.objects.filter(Exists(matches.filter(pk=OuterRef("pk"))))
    assert titles(deduped) == ["Alpha", "Delta"]


def test_subquery_that_can_match_nothing_is_a_value_not_an_empty_result(library):
    from django.db.models import Exists, Subquery

    authors = Author.objects.annotate(
        has=Exists(Book.objects.none()),
        title=Subquery(Book.objects.filter(pk__in=[], author=OuterRef("pk")).values("title")),
    )
    assert sorted(authors.values_list("name", "has", "title")) == [
        ("Ann", False, None),
        ("Bob", False, None),
        ("Cy", False, None),
    ]
    assert Author.objects.filter(~Exists(Book.objects.none())).count() == 3
    assert pipeline(
        Author.objects.annotate(has=Exists(Book.objects.none())).values_list("name", "has")
    ) == [
        {"$addFields": {"__c1": {"$literal": False}, "__c0": "$name"}},
        {"$sort": {"__c0": 1}},
        {"$project": {"__c1": 1, "name": 1}},
    ]


def test_exists_relies_on_the_slice_django_gives_its_query(library):
    """``Exists`` slices its query to one row (``Query.exists()``); past an offset, too."""
    books = Book.objects.filter(author=OuterRef("pk"))
    second_title = Exists(books.values("title").distinct().order_by("title")[1:3])
    assert list(Author.objects.filter(second_title).values_list("name", flat=True)) == ["Ann"]
    lookup = pipeline(Author.objects.filter(second_title))[0]["$lookup"]
    assert lookup["pipeline"][-2:] == [{"$skip": 1}, {"$limit": 1}]
    lookup = pipeline(Author.objects.filter(Exists(books)))[0]["$lookup"]
    assert lookup["pipeline"][-2:] == [{"$limit": 1}, {"$project": {"__c0": 1}}]


def test_in_a_subquery_is_set_membership_on_every_django_version(library):
    """``x__in=Subquery(qs)`` is SQL's ``x IN (SELECT ...)``, as ``x__in=qs``: every row of the
    subquery counts, not its first. Django 6 resolves a plain ``Subquery()`` to its query;
    Django 5.2 keeps the wrapper, which compiled as a scalar subquery (only the first
    author matched)."""
    over_25 = Author.objects.filter(age__gte=25).order_by("name").values("pk")
    assert titles(Book.objects.filter(author__in=Subquery(over_25))) == titles(
        Book.objects.filter(author__in=over_25)
    )
    assert titles(Book.objects.filter(author__in=Subquery(over_25))) == ["Alpha", "Delta", "beta"]
    assert titles(Book.objects.exclude(author__in=Subquery(over_25))) == ["Gamma"]
    # Correlated: books whose author is younger than the book has pages (Ann 30, Cy 45, Bob
    # NULL; Gamma has 10 pages). The subquery's first row is Ann for every book, so the
    # scalar reading lost Delta (Cy's).
    younger = Author.objects.filter(age__lt=OuterRef("pages")).order_by("name").values("pk")
    assert titles(Book.objects.filter(author__in=Subquery(younger))) == ["Alpha", "Delta", "beta"]
    assert titles(Book.objects.exclude(author__in=Subquery(younger))) == ["Gamma"]


def test_a_queryset_with_outer_ref_run_on_its_own_raises_djangos_error():
    """Django's ResolvedOuterRef.as_sql raises ValueError("This queryset contains a reference
    to an outer query and may only be used in a subquery."); Django's expressions app checks
    the message (test_outerref)."""
    inner = Book.objects.filter(author=OuterRef("pk"))
    message = "may only be used in a subquery. The reference: OuterRef('pk')."
    with pytest.raises(ValueError, match=re.escape(message)):
        inner.exists()


def test_exists_reads_one_document_unordered_and_no_column():
    """Django's ExistsTests.test_optimizations asserts on the SQL text (skipped here with that
    reason) that Exists() drops the subquery's ordering, selects no column and adds LIMIT 1;
    the same on the pipeline: no $sort, a $limit of 1, only a constant projected."""
    queryset = Author.objects.values(exists=Exists(Book.objects.order_by("pk"))).order_by()
    (lookup,) = [stage["$lookup"] for stage in pipeline(queryset) if "$lookup" in stage]
    inner = lookup["pipeline"]
    assert not [stage for stage in inner if "$sort" in stage]
    assert {"$limit": 1} in inner
    (projection,) = [stage["$project"] for stage in inner if "$project" in stage]
    assert set(projection) <= {"_id", "__c0"} and "__c0" in projection
    (added,) = [stage["$addFields"] for stage in inner if "$addFields" in stage]
    assert added == {"__c0": {"$literal": 1}}
