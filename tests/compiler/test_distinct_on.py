"""``distinct(*fields)`` (compiler/distinct_on.py): PostgreSQL's DISTINCT ON.

SQLite has no DISTINCT ON, so the expected rows are computed here from PostgreSQL's rule
(manual, SELECT, "DISTINCT Clause"): sort the rows by the ORDER BY, then keep "only the first
row of each set of rows where the given expressions evaluate to equal", NULLs being equal to
each other; the rows come out in the ORDER BY's order. ``distinct_on`` below is that rule, in
Python, over the rows the same queryset returns without DISTINCT ON (the ORDER BY itself,
NULLs lowest as in SQLite and MongoDB, is what the other tests of ORDER BY check).

PostgreSQL refuses a DISTINCT ON whose expressions do not begin the ORDER BY ("SELECT
DISTINCT ON expressions must match initial ORDER BY expressions", parser/parse_clause.c; its
regression test select_distinct_on.sql: ``DISTINCT ON (string4, ten) ... ORDER BY string4,
two, ten`` fails, ``ORDER BY string4, ten, two`` runs).
"""

from __future__ import annotations

import pytest
from django.db import ProgrammingError
from django.db.models import CharField, Count, F, Max
from django.db.models.functions import Lower
from django.test.utils import register_lookup

from tests.compiler.golden import pipeline
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


def distinct_on(rows, width):
    """PostgreSQL's DISTINCT ON over ``rows`` already in ORDER BY order: the first row of
    each run of equal first ``width`` values (None equal to None)."""
    kept, seen = [], set()
    for row in rows:
        key = tuple(row[:width])
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


@pytest.fixture
def shelf(library):
    """The library plus books sharing page counts, authors, editors (or none), and both."""
    ann, bob, cy = library["ann"], library["bob"], library["cy"]
    Book.objects.create(title="Epsilon", author=bob, editor=ann, pages=100)
    Book.objects.create(title="Zeta", author=cy, editor=bob, pages=50)
    Book.objects.create(title="Eta", author=ann, pages=300)
    Book.objects.create(title="Theta", author=ann, pages=100)
    return library


@pytest.mark.parametrize(
    ("distinct", "ordering"),
    [
        (("pages",), ("pages", "title")),
        (("pages",), ("pages", "-title")),
        (("pages",), ("-pages", "-title")),
        (("author",), ("author_id", "-pages", "title")),
        (("author", "pages"), ("pages", "author_id", "title")),
        (("editor",), ("editor", "title")),  # NULL editors are one group
    ],
)
def test_first_row_of_each_group(shelf, distinct, ordering):
    columns = (*distinct, "title")
    everything = list(Book.objects.order_by(*ordering).values_list(*columns))
    expected = distinct_on(everything, len(distinct))
    rows = list(Book.objects.order_by(*ordering).distinct(*distinct).values_list(*columns))
    assert rows == expected
    assert len(expected) < len(everything)  # the test groups something


def test_model_instances_and_select_related(shelf):
    queryset = (
        Book.objects.select_related("author").distinct("author").order_by("author_id", "-pages")
    )
    books = list(queryset)
    assert [(book.author.name, book.title) for book in books] == [
        ("Ann", "Eta"),
        ("Bob", "Epsilon"),
        ("Cy", "Delta"),
    ]
    assert queryset.count() == 3


def test_related_path_joins(shelf):
    """A related path (``author__name``) is a column of the joined document."""
    ordering = ("author__name", "pages", "title")
    everything = list(Book.objects.order_by(*ordering).values_list("author__name", "title"))
    queryset = Book.objects.order_by(*ordering).distinct("author__name")
    assert list(queryset.values_list("author__name", "title")) == distinct_on(everything, 1)
    assert [book.title for book in queryset] == ["beta", "Gamma", "Zeta"]


def test_nulls_are_one_group(orphans):
    """Two books without editor (the outer join finds nothing: no ``editor`` at all) and none
    with a null name: one group for the missing one, as PostgreSQL's NULL = NULL for DISTINCT."""
    queryset = Book.objects.order_by("editor__name", "title").distinct("editor__name")
    assert list(queryset.values_list("editor__name", "title")) == [
        (None, "First"),
        ("Ann", "Edited"),
        ("Bob", "By Bob"),
    ]
    ages = Author.objects.order_by("age", "-name").distinct("age").values_list("age", "name")
    Author.objects.create(name="Dee", age=None)
    assert list(ages) == [(None, "Dee"), (30, "Ann")]


def test_nulls_first_last_sorts_again_after_the_group(shelf):
    ordering = (F("editor").asc(nulls_last=True), "title")
    rows = list(Book.objects.order_by(*ordering).distinct("editor").values_list("editor", "title"))
    assert [title for _editor, title in rows] == ["Epsilon", "Zeta", "Gamma", "Alpha"]


def test_annotation_and_transform(shelf):
    lowered = Book.objects.annotate(low=Lower("title"))
    everything = list(lowered.order_by("low", "pages").values_list("low", "pages"))
    Book.objects.create(title="ALPHA", author=shelf["cy"], pages=1)
    queryset = lowered.order_by("low", "pages").distinct("low").values_list("low", "pages")
    assert list(queryset) == [("alpha", 1), *distinct_on(everything, 1)[1:]]
    with register_lookup(CharField, Lower):
        titles = Book.objects.order_by().distinct("title__lower").values_list("title", flat=True)
        assert sorted(title.lower() for title in titles) == sorted(
            {title.lower() for title in Book.objects.values_list("title", flat=True)}
        )


def test_slice_and_count(shelf):
    queryset = Book.objects.order_by("pages", "title").distinct("pages")
    assert list(queryset.values_list("pages", "title")) == [
        (10, "Gamma"),
        (50, "Zeta"),
        (100, "Alpha"),
        (300, "Delta"),
    ]
    assert list(queryset[1:3].values_list("title", flat=True)) == ["Zeta", "Alpha"]
    assert queryset.count() == 4
    assert queryset[1:].count() == 3
    assert queryset.get(pages=50).title == "Zeta"
    assert queryset.filter(pages__gt=10).first().title == "Zeta"


def test_exists_first_last(shelf):
    """last() reverses the ORDER BY (-pages, -title), which still begins with the DISTINCT ON
    expression: of the 300-page books, Eta comes before Delta."""
    queryset = Book.objects.order_by("pages", "title").distinct("pages")
    assert queryset.exists()
    assert not queryset.filter(pages=7).exists()
    assert (queryset.first().title, queryset.last().title) == ("Gamma", "Eta")
    assert list(queryset.reverse().values_list("pages", flat=True)) == [300, 100, 50, 10]


def test_in_a_subquery(shelf):
    first_of_each = Book.objects.order_by("author_id", "-pages").distinct("author").values("pk")
    titles = Book.objects.filter(pk__in=first_of_each).order_by("title")
    assert list(titles.values_list("title", flat=True)) == ["Delta", "Epsilon", "Eta"]


def test_order_by_must_begin_with_the_distinct_expressions(shelf):
    """PostgreSQL's rule (transformDistinctOnClause): refused with its message."""
    message = "SELECT DISTINCT ON expressions must match initial ORDER BY expressions"
    for ordering in (("title",), ("title", "pages"), ("pages", "title", "author")):
        with pytest.raises(ProgrammingError, match=message):
            list(Book.objects.order_by(*ordering).distinct("pages", "author"))
    # In any order among themselves, followed by anything; or no ORDER BY at all.
    ordering = ("author_id", "pages", "title")
    assert len(Book.objects.order_by(*ordering).distinct("pages", "author")) == 7
    assert len(Book.objects.order_by().distinct("pages", "author")) == 7
    # Author's Meta.ordering is by name; ordering by a relation orders by its model's
    # Meta.ordering (author__name), not by the key DISTINCT ON compares.
    with pytest.raises(ProgrammingError, match=message):
        list(Author.objects.distinct("age"))
    with pytest.raises(ProgrammingError, match=message):
        list(Book.objects.order_by("author").distinct("author"))


def test_grouped_query_refused_as_django_does(shelf):
    """Django's SQL compiler: "annotate() + distinct(fields) is not implemented."."""
    with pytest.raises(NotImplementedError, match=r"annotate\(\) \+ distinct\(fields\)"):
        list(Author.objects.annotate(n=Count("books")).order_by("name").distinct("name"))
    with pytest.raises(NotImplementedError, match=r"aggregate\(\) \+ distinct\(fields\)"):
        Book.objects.distinct("pages").aggregate(Max("pages"))


def test_pipeline(shelf):
    queryset = Book.objects.order_by("pages", "-title").distinct("pages").values("title")
    # pages is not nullable (no $ifNull); ordering by the selected title sorts on its column.
    assert pipeline(queryset) == [
        {"$addFields": {"__c0": "$title"}},
        {"$sort": {"pages": 1, "__c0": -1}},
        {"$group": {"_id": {"d0": "$pages"}, "__row": {"$first": "$$ROOT"}}},
        {"$replaceRoot": {"newRoot": "$__row"}},
        {"$sort": {"pages": 1, "__c0": -1}},
        {"$project": {"title": 1}},
    ]
    nullable = Book.objects.order_by("price").distinct("price").values("title")
    assert pipeline(nullable)[1] == {
        "$group": {"_id": {"d0": {"$ifNull": ["$price", None]}}, "__row": {"$first": "$$ROOT"}}
    }
