"""Lookups (compiler/lookups.py): ``FILTERS`` (a field against a constant, query operators)
and ``EXPRESSIONS`` (anything else, inside ``$expr`` with NULL guards).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db.models import F, Subquery

from tests.compiler.golden import joined, pipeline, titles
from tests.testapp.models import AllTypes, Author, Book

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("lookup", "value", "expected"),
    [
        ("exact", "beta", ["beta"]),
        ("iexact", "BETA", ["beta"]),
        ("contains", "amm", ["Gamma"]),
        ("icontains", "A", ["Alpha", "Delta", "Gamma", "beta"]),
        ("startswith", "Al", ["Alpha"]),
        ("istartswith", "al", ["Alpha"]),
        ("endswith", "ta", ["Delta", "beta"]),
        ("iendswith", "TA", ["Delta", "beta"]),
        ("regex", r"^[AB]", ["Alpha"]),
        ("iregex", r"^[ab]", ["Alpha", "beta"]),
        ("in", ["Alpha", "Zeta"], ["Alpha"]),
        ("gt", "Delta", ["Gamma", "beta"]),
        ("lte", "Delta", ["Alpha", "Delta"]),
    ],
)
def test_string_lookups(library, lookup, value, expected):
    assert titles(Book.objects.filter(**{f"title__{lookup}": value})) == expected
    assert pipeline(Book.objects.filter(title__icontains="A").values_list("title", flat=True)) == [
        {"$match": {"title": {"$regex": "A", "$options": "i"}}},
        {"$project": {"title": 1}},
    ]


def test_pattern_lookups_escape_regex_metacharacters(library):
    Book.objects.create(title="a.c (x)*", author=library["ann"])
    assert titles(Book.objects.filter(title__contains=".c (x)*")) == ["a.c (x)*"]
    assert not Book.objects.filter(title__contains="a.c (x)+").exists()
    assert not Book.objects.filter(title__startswith=".").exists()
    assert pipeline(
        Book.objects.filter(title__contains=".c (x)*").values_list("title", flat=True)
    ) == [{"$match": {"title": {"$regex": "\\.c\\ \\(x\\)\\*"}}}, {"$project": {"title": 1}}]


def test_user_values_never_become_operators(library):
    assert not Author.objects.filter(name={"$ne": 1}).exists()
    Author.objects.create(name="{'$ne': 1}")
    assert Author.objects.filter(name={"$ne": 1}).count() == 1
    stages = pipeline(Author.objects.filter(name={"$ne": 1}).order_by())
    assert stages == [{"$match": {"name": {"$eq": "{'$ne': 1}"}}}]


def test_operator_lookalike_values_are_matched_literally(library):
    Author.objects.create(name="$gt")
    Author.objects.create(name="{'$ne': 1}")
    assert list(Author.objects.filter(name="$gt").values_list("name", flat=True)) == ["$gt"]
    assert not Author.objects.filter(name="$ne").exists()
    assert Author.objects.filter(name__in=["$gt"]).count() == 1
    assert Author.objects.filter(name="{'$ne': 1}").count() == 1
    assert pipeline(Author.objects.filter(name__in=["$gt"]).order_by()) == [
        {"$match": {"name": {"$in": ["$gt"]}}}
    ]


def test_column_comparison_uses_expr_with_null_guards_only_where_nulls_are_possible(library):
    # beta and Gamma have no price: NULL > pages is UNKNOWN, so they are not selected.
    assert titles(Book.objects.filter(price__gt=F("pages"))) == []
    assert titles(Book.objects.filter(pages__gt=F("price"))) == ["Alpha", "Delta"]
    (stage,) = pipeline(Book.objects.filter(pages=F("author_id")).order_by())
    assert stage == {"$match": {"$expr": {"$eq": ["$pages", "$author_id"]}}}
    (stage,) = pipeline(Book.objects.filter(price__gt=F("pages")).order_by())
    assert stage == {
        "$match": {"$expr": {"$and": [{"$gt": ["$price", None]}, {"$gt": ["$price", "$pages"]}]}}
    }


def test_in_with_expressions(library):
    assert titles(Book.objects.filter(pages__in=[F("author__age") + 70, 10])) == ["Alpha", "Gamma"]
    assert pipeline(
        Book.objects.filter(pages__in=[F("author__age") + 70, 10]).values_list("title", flat=True)
    ) == [
        *joined("testapp_author", "author_id"),
        {
            "$match": {
                "$expr": {
                    "$in": [
                        "$pages",
                        [{"$add": ["$testapp_author.age", {"$literal": 70}]}, {"$literal": 10}],
                    ]
                }
            }
        },
        {"$project": {"title": 1}},
    ]


def test_range_is_inclusive_and_a_null_column_never_matches(library):
    # BETWEEN includes both bounds; beta and Gamma have no price.
    assert titles(Book.objects.filter(pages__range=(10, 50))) == ["Gamma", "beta"]
    assert titles(Book.objects.exclude(pages__range=(10, 50))) == ["Alpha", "Delta"]
    assert titles(Book.objects.filter(price__range=(Decimal("9.99"), 20))) == ["Alpha", "Delta"]
    assert titles(Book.objects.filter(price__range=(-5, Decimal("9.98")))) == []
    # exclude() is NOT (price BETWEEN 5 AND 10 AND price IS NOT NULL): the NULLs remain.
    assert titles(Book.objects.exclude(price__range=(5, 10))) == ["Delta", "Gamma", "beta"]
    day = datetime.date
    assert titles(Book.objects.filter(published__range=(day(2020, 5, 1), day(2020, 5, 1)))) == [
        "Gamma"
    ]
    assert pipeline(Book.objects.filter(pages__range=(10, 50)).values_list("title", flat=True)) == [
        {"$match": {"pages": {"$gte": 10, "$lte": 50}}},
        {"$project": {"title": 1}},
    ]


def test_range_with_a_null_bound_matches_nothing_but_can_be_false(library):
    """``pages BETWEEN NULL AND 50`` is ``pages >= NULL AND pages <= 50``: UNKNOWN where
    pages <= 50, FALSE where pages > 50, so NOT BETWEEN holds there (SQL's three-valued AND).
    A query operator cannot say both: it compiles to ``$expr``."""
    assert titles(Book.objects.filter(pages__range=(None, 50))) == []
    assert titles(Book.objects.exclude(pages__range=(None, 50))) == ["Alpha", "Delta"]
    assert titles(Book.objects.filter(pages__range=(60, None))) == []
    assert titles(Book.objects.exclude(pages__range=(60, None))) == ["Gamma", "beta"]
    assert titles(Book.objects.exclude(pages__range=(None, None))) == []
    assert pipeline(
        Book.objects.exclude(pages__range=(None, 50)).values_list("title", flat=True)
    ) == [
        {
            "$match": {
                "$expr": {
                    "$and": [
                        {
                            "$or": [
                                {"$gt": [{"$literal": None}, None]},
                                {"$gt": ["$pages", {"$literal": 50}]},
                            ]
                        },
                        {
                            "$not": [
                                {
                                    "$and": [
                                        {"$gte": ["$pages", {"$literal": None}]},
                                        {"$lte": ["$pages", {"$literal": 50}]},
                                    ]
                                }
                            ]
                        },
                    ]
                }
            }
        },
        {"$project": {"title": 1}},
    ]


def test_range_with_expressions(library):
    assert len(titles(Book.objects.filter(pages__range=(F("pages") - 1, F("pages") + 1)))) == 4
    assert titles(Book.objects.filter(pages__range=(F("pages") + 1, F("pages") + 2))) == []
    # Gamma's author has no age: its range is UNKNOWN, neither selected nor excluded.
    within_age = {"pages__range": (F("author__age"), F("author__age") * 10)}
    assert titles(Book.objects.filter(**within_age)) == ["Alpha", "Delta", "beta"]
    assert titles(Book.objects.exclude(**within_age)) == []
    # With price NULL the range is UNKNOWN, unless pages < 60 makes it FALSE.
    assert titles(Book.objects.filter(pages__range=(60, F("price")))) == []
    assert titles(Book.objects.exclude(pages__range=(60, F("price")))) == [
        "Alpha",
        "Delta",
        "Gamma",
        "beta",
    ]
    assert titles(Book.objects.exclude(pages__range=(F("price"), 1000))) == []
    assert pipeline(
        Book.objects.exclude(pages__range=(60, F("price"))).values_list("title", flat=True)
    ) == [
        {
            "$match": {
                "$expr": {
                    "$and": [
                        {"$or": [{"$gt": ["$price", None]}, {"$lt": ["$pages", {"$literal": 60}]}]},
                        {
                            "$not": [
                                {
                                    "$and": [
                                        {"$gte": ["$pages", {"$literal": 60}]},
                                        {"$lte": ["$pages", "$price"]},
                                    ]
                                }
                            ]
                        },
                    ]
                }
            }
        },
        {"$project": {"title": 1}},
    ]


def test_integer_lookups_beyond_what_a_field_holds_follow_djangos_rule(django_assert_num_queries):
    from tests.testapp.models import AllTypes

    AllTypes.objects.create(big=2**63 - 1)
    AllTypes.objects.create(big=None)
    with django_assert_num_queries(0):
        assert list(AllTypes.objects.filter(big=2**63)) == []  # nothing sent
        assert list(AllTypes.objects.filter(big__gte=2**63)) == []
        assert list(AllTypes.objects.filter(small__lt=-(2**63) - 1)) == []
    # "< 2**63" holds for every value a column can hold: Django drops the condition.
    assert AllTypes.objects.filter(big__lt=2**63).count() == 2
    # exclude() is NOT (big < 2**63 AND big IS NOT NULL): with the first part dropped, the
    # NULL row remains, as on SQLite.
    assert list(AllTypes.objects.exclude(big__lt=2**63).values_list("big", flat=True)) == [None]
    assert pipeline(AllTypes.objects.exclude(big__lt=2**63).values_list("big", flat=True)) == [
        {"$match": {"big": None}},
        {"$project": {"big": 1}},
    ]


def test_text_lookups_on_numbers_match_their_text_and_isnull_takes_a_bool(library):
    assert sorted(Book.objects.filter(pages__startswith="1").values_list("pages", flat=True)) == [
        10,
        100,
    ]
    assert Book.objects.filter(pages__regex=r"^5\d$").get().pages == 50
    assert Book.objects.filter(pages__iexact="300").get().title == "Delta"
    with pytest.raises(ValueError, match="True or False"):
        list(Author.objects.filter(age__isnull="yes"))
    assert pipeline(Book.objects.filter(pages__regex=r"^5\d$")) == [
        {
            "$match": {
                "$expr": {
                    "$regexMatch": {
                        "input": {"$toString": "$pages"},
                        "regex": {"$literal": "^5\\d$"},
                        "options": "",
                    }
                }
            }
        }
    ]


TYPED = {
    "decimal": Decimal("12345678901234.123456"),
    "day": datetime.date(1969, 7, 20),
    "moment": datetime.datetime(2024, 2, 29, 23, 59, 58, 123000, tzinfo=datetime.UTC),
    "clock": datetime.time(13, 45, 7, 250000),
    "duration": datetime.timedelta(days=-3, seconds=5, microseconds=7),
    "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
}


def test_filters_on_typed_values():
    AllTypes.objects.create(**TYPED)
    assert AllTypes.objects.filter(decimal=Decimal("12345678901234.123456")).count() == 1
    assert AllTypes.objects.filter(day__year=1969).count() == 1
    assert AllTypes.objects.filter(day__lt=datetime.date(1970, 1, 1)).count() == 1
    assert AllTypes.objects.filter(moment__date=datetime.date(2024, 2, 29)).count() == 1
    assert AllTypes.objects.filter(clock__gt=datetime.time(12)).count() == 1
    assert AllTypes.objects.filter(uid=TYPED["uid"]).count() == 1
    assert AllTypes.objects.filter(duration__lt=datetime.timedelta(0)).count() == 1
    assert pipeline(AllTypes.objects.filter(day__year=1969)) == [
        {
            "$match": {
                "day": {
                    "$gte": datetime.datetime(1969, 1, 1, 0, 0),
                    "$lte": datetime.datetime(1969, 12, 31, 0, 0),
                }
            }
        }
    ]


def test_prefetch_related_of_a_forward_foreign_key(library):
    # Django 6 fetches the related objects with a tuple lookup on the key columns.
    books = {b.title: b.author.name for b in Book.objects.prefetch_related("author")}
    assert books == {"Alpha": "Ann", "beta": "Ann", "Gamma": "Bob", "Delta": "Cy"}
    editors = {b.title: b.editor and b.editor.name for b in Book.objects.prefetch_related("editor")}
    assert editors == {"Alpha": None, "beta": "Bob", "Gamma": "Cy", "Delta": None}


def test_case_insensitive_lookups_fold_every_letter(accents):
    """iexact/icontains/istartswith/iendswith compare as PostgreSQL's UPPER() LIKE UPPER():
    the constant ones with a case-insensitive ``$regex``, the ones naming a column with a
    ``$regexMatch`` of its escaped text (PCRE2 in UTF mode folds by Unicode case)."""

    def ages(**lookup):
        return sorted(Author.objects.filter(**lookup).values_list("age", flat=True))

    assert ages(name__iexact="élan") == [1, 2]
    assert ages(name__istartswith="ÉL") == [1, 2]
    assert ages(name__iendswith="LAN") == [1, 2]
    Author.objects.filter(age=1).update(name="ÉLAN.*")
    Author.objects.filter(age=2).update(name="élan.*")
    other = Author.objects.filter(age=2).values("name")
    assert ages(name__iexact=Subquery(other)) == [1, 2]
    assert ages(name__iexact=F("name")) == [1, 2]
    assert ages(name__icontains=Subquery(other)) == [1, 2]
    assert ages(name__iendswith=Subquery(other)) == [1, 2]
    Author.objects.filter(age=1).update(name="ÉLANX*")
    assert ages(name__iexact=Subquery(other)) == [2]  # "." and "*" are literal
    assert pipeline(Author.objects.filter(name__iexact="élan")) == [
        {"$match": {"name": {"$regex": "^élan$(?!\\n)", "$options": "i"}}},
        {"$sort": {"name": 1}},
    ]


def test_iexact_does_not_match_before_a_final_newline(accents):
    """``$`` also matches before a trailing newline; LIKE 'élan' does not match 'élan\\n'."""
    Author.objects.filter(age=1).update(name="élan\n")
    assert list(Author.objects.filter(name__iexact="élan").values_list("age", flat=True)) == [2]
    assert list(Author.objects.filter(name__iendswith="LAN").values_list("age", flat=True)) == [2]
    assert pipeline(Author.objects.filter(name__iexact="élan")) == [
        {"$match": {"name": {"$regex": "^élan$(?!\\n)", "$options": "i"}}},
        {"$sort": {"name": 1}},
    ]


def test_a_bilateral_transform_applies_to_the_value_too(library):
    """A transform with ``bilateral = True`` transforms the lookup's value as well (Django's
    "Custom Lookups" how-to, ``UpperCase.bilateral``; Lookup.process_rhs and
    batch_process_rhs): ``title__upper__exact="alpha"`` is UPPER(title) = UPPER('alpha').
    Without it the value was compared as given and no row matched."""
    from django.db.models import CharField
    from django.db.models.functions import Upper
    from django.test.utils import register_lookup

    class UpperBilateral(Upper):
        lookup_name = "upper"
        bilateral = True

    with register_lookup(CharField, UpperBilateral):
        books = Book.objects.all()
        assert titles(books.filter(title__upper__exact="alpha")) == ["Alpha"]
        assert titles(books.filter(title__upper__in=["alpha", "BETA", None])) == ["Alpha", "beta"]
        assert titles(books.filter(title__upper__contains="mm")) == ["Gamma"]
        assert titles(books.exclude(title__upper__in=["alpha", "beta"])) == ["Delta", "Gamma"]
        assert titles(books.filter(title__upper__in=[None])) == []
        # An F() is transformed too: UPPER(title) = UPPER(title) holds for every row.
        everything = ["Alpha", "Delta", "Gamma", "beta"]
        assert titles(books.filter(title__upper__exact=F("title"))) == everything


def test_in_drops_none_and_keeps_the_values_order(library):
    """Django's lookup app asserts these on the SQL text (test_in_ignore_none: "IN (1)",
    test_in_keeps_value_ordering: the values in the order given, test_textfield_exact_null:
    "IS NULL"), skipped here with that reason; the same on the command."""
    ann = library["ann"]
    assert pipeline(Author.objects.filter(pk__in=[None, ann.pk])) == [
        {"$match": {"_id": {"$in": [ann.pk]}}},
        {"$sort": {"name": 1}},
    ]
    names = ["Cy", "Ann", "Bob", "Ann"]
    (match, _) = pipeline(Author.objects.filter(name__in=names))
    assert match == {"$match": {"name": {"$in": names}}}
    assert pipeline(Book.objects.filter(published__exact=None)) == [{"$match": {"published": None}}]


def test_a_lookup_that_only_renames_one_of_djangos_is_compiled_as_it(library):
    """``class IsNullWithNoneAsRHS(IsNull): lookup_name = "isnull_none_rhs"`` (Django's lookup
    app) adds no SQL of its own: it compiles as IsNull. A subclass with its own ``as_sql`` is
    still refused, naming it."""
    from django.db import NotSupportedError
    from django.db.models import IntegerField
    from django.db.models.lookups import Exact, IsNull
    from django.test.utils import register_lookup

    class IsNullWithNoneAsRHS(IsNull):
        lookup_name = "isnull_none_rhs"
        can_use_none_as_rhs = True

    class SqlExact(Exact):
        lookup_name = "sql_exact"

        def as_sql(self, compiler, connection):
            return "%s = %s", []

    with (
        register_lookup(IntegerField, IsNullWithNoneAsRHS),
        register_lookup(IntegerField, SqlExact),
    ):
        names = Author.objects.filter(age__isnull_none_rhs=True).values_list("name", flat=True)
        assert list(names) == ["Bob"]
        with pytest.raises(NotSupportedError, match="'sql_exact' lookup of SqlExact"):
            list(Author.objects.filter(age__sql_exact=30))
