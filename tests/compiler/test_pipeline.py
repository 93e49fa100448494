"""The SELECT pipeline (compiler/pipeline.py, compiler/__init__.py): stage order,
ORDER BY / OFFSET / LIMIT, projections, DISTINCT, count/exists, str(query), explain.

``explain`` is not allowed in a transaction (manual, "Transactions and Operations": "you
cannot return the supported operation's query plan").
"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import FieldError
from django.db import NotSupportedError, connection, transaction
from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    Value,
)
from django.db.models.functions import Coalesce
from django.test.utils import CaptureQueriesContext

from tests.compiler.golden import joined, pipeline
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


def test_str_of_query_is_the_command_sent(library):
    """A plain read is sent as find (plans.find_arguments), any other as aggregate."""
    assert Author.objects.filter(name="Ann").order_by().get().age == 30
    text = str(Author.objects.filter(name="Ann").order_by().query)
    assert text == 'db.testapp_author.find({"name": {"$eq": "Ann"}})'
    grouped = Author.objects.filter(name="Ann").values("age").annotate(n=Count("id"))
    assert str(grouped.query).startswith('db.testapp_author.aggregate([{"$match": ')


def test_order_slice_and_projection(library):
    # ages 45, 30, NULL: MongoDB and SQLite sort NULL lowest, last when descending
    rows = Author.objects.order_by("-age").values("name")
    assert list(rows[1:3]) == [{"name": "Ann"}, {"name": "Bob"}]
    stages = pipeline(Author.objects.order_by("-age").values("name")[5:15])
    assert stages == [
        {"$sort": {"age": -1}},
        {"$skip": 5},
        {"$limit": 10},
        {"$project": {"name": 1}},
    ]


def test_order_by_slicing_first_last(library):
    ordered = list(Book.objects.order_by("-pages").values_list("title", flat=True))
    assert ordered == ["Delta", "Alpha", "beta", "Gamma"]
    assert list(Book.objects.order_by("pages")[1:3].values_list("pages", flat=True)) == [50, 100]
    assert Book.objects.order_by("pages").first().title == "Gamma"
    assert Book.objects.order_by("pages").last().title == "Delta"
    assert Author.objects.first().name == "Ann"  # Meta.ordering
    assert pipeline(Book.objects.order_by("pages")[1:3].values_list("pages", flat=True)) == [
        {"$addFields": {"__c0": "$pages"}},
        {"$sort": {"__c0": 1}},
        {"$skip": 1},
        {"$limit": 2},
        {"$project": {"pages": 1}},
    ]


def test_nulls_sort_first_ascending_and_can_be_moved(library):
    names = list(Author.objects.order_by("age").values_list("name", flat=True))
    assert names == ["Bob", "Ann", "Cy"]
    names = list(
        Author.objects.order_by(F("age").asc(nulls_last=True)).values_list("name", flat=True)
    )
    assert names == ["Ann", "Cy", "Bob"]
    names = list(
        Author.objects.order_by(F("age").desc(nulls_first=True)).values_list("name", flat=True)
    )
    assert names == ["Bob", "Cy", "Ann"]
    assert pipeline(
        Author.objects.order_by(F("age").asc(nulls_last=True)).values_list("name", flat=True)
    ) == [
        {"$addFields": {"__n0": {"$cond": [{"$gt": ["$age", None]}, 1, 0]}}},
        {"$sort": {"__n0": -1, "age": 1}},
        {"$project": {"name": 1}},
    ]


def test_order_by_terms_are_resolved_as_django_resolves_them():
    # resolve_ordering keeps a term found by a field's name as Django's find_ordering_name
    # made it (resolved already) and resolves the others: the terms equal Django's own.
    querysets = [
        Book.objects.order_by("title", "-pages", "author__name", "-pk"),
        Author.objects.all(),  # Meta.ordering
        Author.objects.reverse(),
        Book.objects.order_by(F("pages").desc(nulls_last=True), "title"),
        Book.objects.annotate(twice=F("pages") * 2).order_by("-twice", "title", "title"),
        Book.objects.order_by("author"),  # the related model's Meta.ordering
    ]

    def described(terms):
        # Expression equality is loose (OrderBy(F("pages")) == OrderBy(Col(..., pages))): each
        # term is compared by what it is made of.
        return [
            (
                type(term),
                type(term.expression),
                repr(term.expression),
                term.descending,
                term.nulls_first,
                term.nulls_last,
                is_ref,
            )
            for term, is_ref in terms
        ]

    for queryset in querysets:
        compiler = queryset.query.get_compiler("default")
        compiler.setup_query()
        expected, seen = [], set()
        for term, is_ref in compiler._order_by_pairs():
            term = term.resolve_expression(queryset.query, allow_joins=True, reuse=None)
            if (term.expression, term.descending) not in seen:
                seen.add((term.expression, term.descending))
                expected.append((term, is_ref))
        assert described(compiler.resolve_ordering()) == described(expected)
        assert expected  # every queryset above is ordered


def test_values_only_defer(library):
    row = Book.objects.filter(title="Alpha").values("title", "author__name").get()
    assert row == {"title": "Alpha", "author__name": "Ann"}
    book = Book.objects.only("title").get(title="Alpha")
    assert book.get_deferred_fields() >= {"pages", "price"}
    assert book.pages == 100  # loaded on access
    book = Book.objects.defer("title").get(pages=100)
    assert "title" in book.get_deferred_fields()
    assert pipeline(Book.objects.only("title").filter(title="Alpha")) == [
        {"$match": {"title": {"$eq": "Alpha"}}}
    ]


def test_count_exists_get(library):
    assert Book.objects.count() == 4
    assert Book.objects.filter(author__name="Ann").count() == 2
    assert Book.objects.filter(title="Alpha").exists()
    assert not Book.objects.filter(title="Nope").exists()
    assert Book.objects.get(title="Gamma").pages == 10
    with pytest.raises(Book.DoesNotExist):
        Book.objects.get(title="Nope")
    with pytest.raises(Book.MultipleObjectsReturned):
        Book.objects.get(author__name="Ann")
    assert Book.objects.none().count() == 0
    assert list(Book.objects.filter(pk__in=[])) == []
    assert pipeline(Book.objects.filter(title="Alpha").order_by()[:1]) == [
        {"$match": {"title": {"$eq": "Alpha"}}},
        {"$limit": 1},
    ]


def test_a_query_that_matches_nothing_sends_no_command(library):
    """Sliced to nothing, none(), ``in []``: the result is known, no command is sent, not even
    the non-correlated subquery a condition on a joined collection would run first, and what
    the backend cannot translate (NotSupportedError) is not raised."""
    in_subquery = Book.objects.filter(author__name__in=Author.objects.values("name"))
    with CaptureQueriesContext(connection) as queries:
        assert list(in_subquery[:0]) == []
        assert list(in_subquery.filter(pk__in=[])) == []
        assert not Book.objects.annotate(n=Count("tags"))[:0].exists()
        assert list(Author.objects.none().filter(books__published__year=-7)) == []
        # What the backend cannot translate does not matter when the result is known.
        unknown = Func(Value(1), function="NO_SUCH_FUNCTION", output_field=IntegerField())
        assert list(Author.objects.annotate(x=unknown)[:0]) == []
    assert queries.captured_queries == []


def test_a_query_that_matches_nothing_still_raises_what_django_raises(library):
    """Django compiles a whole query before it finds its WHERE empty (SQLCompiler.as_sql:
    select list, GROUP BY, ORDER BY, then WHERE up to the child that matches nothing), so an
    invalid expression raises whatever the slice; a condition after that child is not
    compiled (none() first, then the invalid year: no error)."""
    mixed = Book.objects.annotate(n=Count("tags")).annotate(c=Coalesce("pages", Value("")))
    for queryset in (mixed[:1], mixed[:0]):
        with pytest.raises(FieldError, match="mixed types"):
            queryset.exists()  # GROUP BY c, though exists() selects nothing of it
    year = Author.objects.filter(books__published__year=-7)
    for queryset in (year, year[:0], year.filter(pk__in=[])):
        with pytest.raises(ValueError, match="year -7 is out of range"):
            list(queryset)


def test_distinct(library):
    authors = Book.objects.values_list("author__name", flat=True).distinct()
    assert sorted(authors) == ["Ann", "Bob", "Cy"]
    assert Book.objects.values("author").distinct().count() == 3
    assert pipeline(Book.objects.values_list("author__name", flat=True).distinct()) == [
        *joined("testapp_author", "author_id"),
        {"$group": {"_id": {"c0": "$testapp_author.name"}}},
        {"$replaceRoot": {"newRoot": "$_id"}},
    ]


def test_distinct_over_a_column_missing_on_some_rows(orphans):
    rows = Book.objects.values_list("editor__age", "author__name").distinct()
    assert sorted(rows, key=repr) == [(30, "Bob"), (None, "Ann")]
    assert pipeline(Book.objects.values_list("editor__age", flat=True).distinct()) == [
        *joined("testapp_author", "editor_id", outer=True),
        {"$group": {"_id": {"c0": {"$ifNull": ["$testapp_author.age", None]}}}},
        {"$replaceRoot": {"newRoot": "$_id"}},
    ]


def test_in_bulk_and_chunked_iterator(library):
    first, second = library["books"][:2]
    assert Book.objects.in_bulk([first.pk, second.pk]) == {first.pk: first, second.pk: second}
    assert sorted(b.title for b in Book.objects.iterator(chunk_size=2)) == [
        "Alpha",
        "Delta",
        "Gamma",
        "beta",
    ]


def test_unsupported_constructs_raise_not_supported(library):
    with pytest.raises(NotSupportedError, match="extra"):
        list(Book.objects.extra(select={"x": "1"}))
    with pytest.raises(NotSupportedError, match="extra"):
        list(Book.objects.extra(where=["1 = 1"]))


@pytest.mark.django_db
def test_no_sql_is_rendered(monkeypatch):
    Author.objects.create(name="Ann", age=3)

    def refuse(name):
        raise AssertionError(f"quote_name({name!r}) called: something rendered SQL")

    monkeypatch.setattr(connection.ops, "quote_name", refuse)
    assert Author.objects.filter(name="Ann").count() == 1
    assert list(Book.objects.filter(author__name="Ann").select_related("author")) == []
    assert Author.objects.annotate(n=Count("books")).get(name="Ann").n == 0
    Author.objects.filter(name="Ann").update(age=F("age") + 1)
    assert Author.objects.values_list("age", flat=True).get(name="Ann") == 4
    Author.objects.filter(name="Ann").delete()
    assert not Author.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_explain_inside_atomic_runs_outside_the_transaction():
    """MongoDB refuses explain in a transaction: inside atomic() it runs without the
    session, so it opens no transaction (the block's first command here)."""
    Author.objects.create(name="Ann", age=30)
    with transaction.atomic():
        plan = json.loads(Author.objects.filter(name="Ann").explain())
        session = connection.connection.session
        assert session is None or not session.in_transaction
        assert isinstance(plan, dict) and plan
        ages = Author.objects.values_list("age", flat=True)
        union_plan = ages.filter(age=30).union(ages.filter(age=45)).order_by().explain()
        assert "$unionWith" in union_plan
        # The transaction still works after it.
        assert Author.objects.filter(name="Ann").count() == 1
