"""WHERE -> ``$match`` (compiler/conditions.py): query operators where an index can answer,
``$expr`` elsewhere, and SQL's three-valued logic for NOT, OR and NULL.
"""

from __future__ import annotations

import pytest
from django.db import NotSupportedError
from django.db.models import Case, CharField, F, Lookup, Q, Value, When

from django_mongo_backend.compiler.conditions import is_table_lookup
from tests.compiler.golden import pipeline, titles
from tests.testapp.models import AllTypes, Author, Book

pytestmark = pytest.mark.django_db


def test_constant_filter_compiles_to_query_operators_not_expr(library):
    assert list(Author.objects.filter(name="Ann").values_list("name", flat=True)) == ["Ann"]
    assert titles(Book.objects.filter(pages__gt=5, pages__lte=50)) == ["Gamma", "beta"]
    assert pipeline(Author.objects.filter(name="Ann").order_by()) == [
        {"$match": {"name": {"$eq": "Ann"}}}
    ]
    assert pipeline(Book.objects.filter(pages__gt=5, pages__lte=9).order_by()) == [
        {"$match": {"$and": [{"pages": {"$gt": 5}}, {"pages": {"$lte": 9}}]}}
    ]


def test_primary_key_filter_targets_id(library):
    assert Author.objects.filter(pk=library["cy"].pk).get().name == "Cy"
    assert pipeline(Author.objects.filter(pk=7).order_by()) == [{"$match": {"_id": {"$eq": 7}}}]


def test_filter_exclude_and_q_objects(library):
    assert titles(Book.objects.filter(pages__gte=50)) == ["Alpha", "Delta", "beta"]
    assert titles(Book.objects.filter(Q(pages__lt=20) | Q(title="Alpha"))) == ["Alpha", "Gamma"]
    assert titles(Book.objects.filter(~Q(title="Alpha"), pages__gt=20)) == ["Delta", "beta"]
    assert titles(Book.objects.exclude(pages__in=[10, 50])) == ["Alpha", "Delta"]
    assert pipeline(
        Book.objects.filter(~Q(title="Alpha"), pages__gt=20).values_list("title", flat=True)
    ) == [
        {
            "$match": {
                "$and": [
                    {"$nor": [{"title": {"$eq": "Alpha"}}]},
                    {"title": {"$ne": None}},
                    {"pages": {"$gt": 20}},
                ]
            }
        },
        {"$project": {"title": 1}},
    ]


def test_or_and_not_follow_sql_three_valued_logic(library):
    # Bob's NULL age is not 3: NOT (age = 3) keeps him, as SQL does.
    rows = Author.objects.filter(Q(name="A") | ~Q(age=3)).values_list("name", flat=True)
    assert list(rows) == ["Ann", "Bob", "Cy"]
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


def test_null_semantics_match_sql(library):
    # Django's exclude() adds "age IS NOT NULL" inside the negation, so SQL returns NULL ages.
    assert sorted(Author.objects.exclude(age=30).values_list("name", flat=True)) == ["Bob", "Cy"]
    # A comparison with NULL is never true, whichever way it goes.
    assert sorted(Author.objects.filter(age__lt=40).values_list("name", flat=True)) == ["Ann"]
    assert not Author.objects.filter(age__lt=F("age") + 1, name="Bob").exists()
    assert sorted(Author.objects.filter(age__isnull=True).values_list("name", flat=True)) == ["Bob"]
    assert pipeline(Author.objects.exclude(age=30).values_list("name", flat=True)) == [
        {
            "$match": {
                "$or": [
                    {"$and": [{"$nor": [{"age": {"$eq": 30}}]}, {"age": {"$ne": None}}]},
                    {"age": None},
                ]
            }
        },
        {"$addFields": {"__c0": "$name"}},
        {"$sort": {"__c0": 1}},
        {"$project": {"name": 1}},
    ]


def test_conditions_as_values_are_null_when_unknown(library):
    """SQL selects ``age > 35`` as NULL for a NULL age; so do Q(...) annotations here."""
    from django.db.models import BooleanField, ExpressionWrapper
    from django.db.models.functions import Coalesce

    def flags(expression):
        rows = Author.objects.annotate(flag=expression).order_by("name")
        return list(rows.values_list("name", "flag"))

    older = ExpressionWrapper(Q(age__gt=35), output_field=BooleanField())
    assert flags(older) == [("Ann", False), ("Bob", None), ("Cy", True)]
    # Django negates a nullable comparison as NOT (age > 35 AND age IS NOT NULL): TRUE.
    younger = ExpressionWrapper(~Q(age__gt=35), output_field=BooleanField())
    assert flags(younger) == [("Ann", True), ("Bob", True), ("Cy", False)]
    assert flags(Coalesce(Q(age__gt=35), True, output_field=BooleanField())) == [
        ("Ann", False),
        ("Bob", True),
        ("Cy", True),
    ]
    # Never UNKNOWN: a non-null field compared with a constant stays a plain boolean.
    assert flags(ExpressionWrapper(Q(name="Bob"), output_field=BooleanField())) == [
        ("Ann", False),
        ("Bob", True),
        ("Cy", False),
    ]
    assert list(Author.objects.filter(older).values_list("name", flat=True)) == ["Cy"]
    assert list(Author.objects.exclude(older).values_list("name", flat=True)) == ["Ann"]
    assert pipeline(
        Author.objects.annotate(flag=ExpressionWrapper(Q(name="Bob"), output_field=BooleanField()))
        .order_by("name")
        .values_list("name", "flag")
    ) == [
        {
            "$addFields": {
                "__c1": {"$eq": ["$name", {"$literal": "Bob"}]},
                "__c0": "$name",
            }
        },
        {"$sort": {"__c0": 1}},
        {"$project": {"__c1": 1, "name": 1}},
    ]


def test_null_guards_a_comparison_implies_are_dropped_and_shared_values_computed_once():
    """A comparison of a computed value is guarded against NULL (UNKNOWN is neither TRUE nor
    FALSE). ``x = 'ab'`` and ``x > 'ab'`` are already false on a null ``x`` (null sorts below
    every value, manual "Comparison/Sort Order"), so TRUE needs no guard; ``x < 'b'`` would
    be true on null and keeps it, and so does FALSE, which then reads ``x`` twice: it is bound
    once (``$let``)."""
    from django.db.models.functions import Lower

    from tests.testapp.models import AllTypes

    for char in (None, "Ab", "cd"):
        AllTypes.objects.create(char=char)
    rows = AllTypes.objects.annotate(low=Lower("char"))

    def chars(queryset):
        return sorted(queryset.values_list("char", flat=True), key=str)

    assert chars(rows.filter(low="ab")) == ["Ab"]
    assert chars(rows.filter(low__gt="ab")) == ["cd"]
    assert chars(rows.filter(low__lt="b")) == ["Ab"]
    assert chars(rows.exclude(low="ab")) == ["cd"]
    low = {"$cond": [{"$lte": ["$char", None]}, None, {"$toLower": "$char"}]}
    assert pipeline(rows.filter(low="ab").values("pk"))[0] == {
        "$match": {"$expr": {"$eq": [low, {"$literal": "ab"}]}}
    }
    assert pipeline(rows.filter(low__lt="b").values("pk"))[0] == {
        "$match": {
            "$expr": {
                "$let": {
                    "vars": {"g0": low},
                    "in": {"$and": [{"$gt": ["$$g0", None]}, {"$lt": ["$$g0", {"$literal": "b"}]}]},
                }
            }
        }
    }
    assert pipeline(rows.exclude(low="ab").values("pk"))[0] == {
        "$match": {
            "$expr": {
                "$let": {
                    "vars": {"g0": low},
                    "in": {
                        "$and": [
                            {"$gt": ["$$g0", None]},
                            {"$not": [{"$eq": ["$$g0", {"$literal": "ab"}]}]},
                        ]
                    },
                }
            }
        }
    }


class Shout(Lookup):
    """A lookup defined outside Django that does not compile itself (no ``as_mql``)."""

    lookup_name = "shout"


@pytest.fixture
def shout():
    CharField.register_lookup(Shout)
    yield
    CharField._unregister_lookup(Shout)


def only_condition(queryset):
    (condition,) = queryset.query.where.children
    return condition


def test_table_lookups_are_djangos_own_without_a_translation_of_their_own(shout):
    exact = only_condition(Author.objects.filter(name="Ann"))
    assert is_table_lookup(exact)
    assert not is_table_lookup(only_condition(AllTypes.objects.filter(data__a=1)))  # JSONField's
    assert not is_table_lookup(only_condition(Author.objects.filter(name__shout="x")))
    # The answer is kept per class, but a lookup that translates itself is still asked first.
    exact.as_mql = lambda compiler: ({"$literal": True}, [])
    assert not is_table_lookup(exact)
    assert is_table_lookup(only_condition(Author.objects.filter(name="Bob")))


def test_a_lookup_of_no_translation_is_refused_every_time(shout):
    # The class's answer is kept after the first compile: the second is refused all the same,
    # as a query condition and as a value (a CASE's WHEN).
    when = Case(When(name__shout="x", then=Value(1)), default=Value(0))
    for _ in range(2):
        with pytest.raises(NotSupportedError, match="'shout' lookup of Shout"):
            pipeline(Author.objects.filter(name__shout="x"))
        with pytest.raises(NotSupportedError, match="'shout' lookup of Shout"):
            pipeline(Author.objects.annotate(shouted=when))
