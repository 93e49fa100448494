"""Golden tests: the pipelines representative querysets compile to, and no SQL anywhere."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q

from tests.testapp.models import Author, Book


def pipeline(queryset):
    return queryset.query.get_compiler(using=queryset.db).mql()["pipeline"]


def test_constant_filter_compiles_to_query_operators_not_expr():
    assert pipeline(Author.objects.filter(name="Ann").order_by()) == [
        {"$match": {"name": {"$eq": "Ann"}}}
    ]
    assert pipeline(Book.objects.filter(pages__gt=5, pages__lte=9).order_by()) == [
        {"$match": {"$and": [{"pages": {"$gt": 5}}, {"pages": {"$lte": 9}}]}}
    ]


def test_primary_key_filter_targets_id():
    assert pipeline(Author.objects.filter(pk=7).order_by()) == [{"$match": {"_id": {"$eq": 7}}}]


def test_column_comparison_uses_expr_with_null_guards_only_where_nulls_are_possible():
    (stage,) = pipeline(Book.objects.filter(pages=F("author_id")).order_by())
    assert stage == {"$match": {"$expr": {"$eq": ["$pages", "$author_id"]}}}
    (stage,) = pipeline(Book.objects.filter(price__gt=F("pages")).order_by())
    assert stage == {
        "$match": {"$expr": {"$and": [{"$gt": ["$price", None]}, {"$gt": ["$price", "$pages"]}]}}
    }


def test_correlated_subquery_is_a_lookup_with_let():
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


def test_or_and_not_follow_sql_three_valued_logic():
    (stage,) = pipeline(Author.objects.filter(Q(name="A") | ~Q(age=3)).order_by())
    # Django excludes with NOT (age = 3 AND age IS NOT NULL); that is FALSE for a null age, so
    # NOT ... is TRUE: the pipeline asks for "age is not 3 (and not null)" or "age is null".
    assert stage == {
        "$match": {
            "$or": [
                {"name": {"$eq": "A"}},
                {"$and": [{"$nor": [{"age": {"$eq": 3}}]}, {"age": {"$ne": None}}]},
                {"age": None},
            ]
        }
    }


def test_join_filter_runs_base_conditions_before_lookup():
    stages = pipeline(Book.objects.filter(pages=1, author__name="Ann").order_by())
    assert stages[0] == {"$match": {"pages": {"$eq": 1}}}
    assert stages[1]["$lookup"] == {
        "from": "testapp_author",
        "localField": "author_id",
        "foreignField": "_id",
        "as": "testapp_author",
    }
    assert stages[2] == {
        "$unwind": {"path": "$testapp_author", "preserveNullAndEmptyArrays": False}
    }
    assert stages[3] == {"$match": {"testapp_author.name": {"$eq": "Ann"}}}


def test_order_slice_and_projection():
    stages = pipeline(Author.objects.order_by("-age").values("name")[5:15])
    assert stages == [
        {"$sort": {"age": -1}},
        {"$skip": 5},
        {"$limit": 10},
        {"$project": {"name": 1}},
    ]


def test_group_by_count():
    stages = pipeline(Book.objects.values("author").annotate(n=Count("id")).order_by())
    assert stages[0]["$group"]["_id"] == {"k0": "$author_id"}
    assert stages[-1] == {"$project": {"_id": 0, "c0": "$_id.k0", "c1": "$__a0"}}


def test_user_values_never_become_operators():
    stages = pipeline(Author.objects.filter(name={"$ne": 1}).order_by())
    assert stages == [{"$match": {"name": {"$eq": "{'$ne': 1}"}}}]


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


def test_str_of_query_is_the_pipeline():
    text = str(Author.objects.filter(name="Ann").order_by().query)
    assert text == 'db.testapp_author.aggregate([{"$match": {"name": {"$eq": "Ann"}}}])'
