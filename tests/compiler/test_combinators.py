"""union() / intersection() / difference() (compiler/combinators.py): one pipeline with
``$unionWith``, or, inside a transaction, one aggregate per queryset combined by the client.

``$unionWith`` is not allowed in a multi-document transaction (manual, "Transactions and
Operations"; server: ``TransactionRequirement::kNotAllowed`` in
src/mongo/db/pipeline/document_source_union_with.h), so inside ``atomic()`` (and so in
every Django ``TestCase``) a combined queryset runs as one aggregate per queryset and the
rows are compared as BSON values (compiler/bson_order.py).
"""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import (
    F,
)
from django.test.utils import CaptureQueriesContext

from tests.compiler.golden import mql, pipeline
from tests.testapp.models import AllTypes, Author, Book

pytestmark = pytest.mark.django_db


def test_union_intersection_difference(library):
    # Author orders by name, which values_list("age") does not select: a combined query of
    # them must be ordered explicitly (or not at all), on every backend.
    ages = Author.objects.values_list("age", flat=True)
    young = ages.filter(age__lt=40)  # Ann 30
    known = ages.filter(age__isnull=False)  # 30, 45
    everyone = ages.all()  # 30, None, 45
    none = Author.objects.none().values_list("age", flat=True)
    assert sorted(young.union(known).order_by()) == [30, 45]  # distinct rows
    assert sorted(young.union(known, all=True).order_by()) == [30, 30, 45]
    assert sorted(everyone.union(young).order_by(), key=str) == [30, 45, None]  # one NULL
    assert list(known.intersection(young).order_by()) == [30]
    assert list(everyone.difference(known).order_by()) == [None]
    assert sorted(everyone.difference(none).order_by(), key=str) == [30, 45, None]
    assert list(young.intersection(none).order_by()) == []
    # ORDER BY, NULLS LAST and slicing apply to the combined rows.
    assert list(everyone.union(young).order_by(F("age").desc(nulls_last=True))) == [45, 30, None]
    assert list(everyone.union(young).order_by("-age")[:1]) == [45]
    assert young.union(known).order_by().count() == 2
    # Different models, the same columns.
    names = Author.objects.values_list("name").union(Book.objects.values_list("title"))
    assert len(names.order_by()) == 7
    with pytest.raises(DatabaseError, match="ORDER BY term"):
        list(young.union(known).order_by("name"))
    assert pipeline(
        Author.objects.values_list("age", flat=True)
        .filter(age__lt=40)
        .union(Author.objects.values_list("age", flat=True).filter(age__isnull=False))
        .order_by()
    ) == [
        {"$match": {"age": {"$lt": 40}}},
        {"$sort": {"name": 1}},
        {"$project": {"age": 1}},
        {"$project": {"_id": 0, "c0": "$age", "__branch": {"$literal": 0}}},
        {
            "$unionWith": {
                "coll": "testapp_author",
                "pipeline": [
                    {"$match": {"age": {"$ne": None}}},
                    {"$sort": {"name": 1}},
                    {"$project": {"age": 1}},
                    {"$project": {"_id": 0, "c0": "$age", "__branch": {"$literal": 1}}},
                ],
            }
        },
        {"$group": {"_id": {"c0": {"$ifNull": ["$c0", None]}}}},
        {"$replaceRoot": {"newRoot": "$_id"}},
    ]


def test_union_of_a_missing_and_a_null_value(orphans):
    missing = Book.objects.filter(editor__isnull=True).values_list("editor__age")
    null = Author.objects.filter(age__isnull=True).values_list("age")
    assert list(missing.union(null)) == [(None,)]


def combined_cases():
    """(name, queryset factory, expected rows) run inside and outside a transaction."""
    ages = Author.objects.values_list("age", flat=True)
    young = ages.filter(age__lt=40)  # 30, 30
    known = ages.filter(age__isnull=False)  # 30, 45, 30
    everyone = ages.all()  # 30, None, 45, 30
    return [
        ("union", lambda: sorted(young.union(known).order_by()), [30, 45]),
        ("union all", lambda: sorted(young.union(known, all=True).order_by()), [30] * 4 + [45]),
        ("one null", lambda: sorted(everyone.union(young).order_by(), key=str), [30, 45, None]),
        ("intersection", lambda: list(known.intersection(young).order_by()), [30]),
        ("difference", lambda: list(everyone.difference(known).order_by()), [None]),
        (
            "nulls last",
            lambda: list(everyone.union(young).order_by(F("age").desc(nulls_last=True))),
            [45, 30, None],
        ),
        (
            "nulls first",
            lambda: list(everyone.union(young).order_by(F("age").asc(nulls_first=True))),
            [None, 30, 45],
        ),
        (
            "nulls first descending",
            lambda: list(everyone.union(young).order_by(F("age").desc(nulls_first=True))),
            [None, 45, 30],
        ),
        ("descending", lambda: list(everyone.union(young).order_by("-age")), [45, 30, None]),
        ("sliced", lambda: list(everyone.union(young).order_by("-age")[1:3]), [30, None]),
        ("count", lambda: young.union(known).order_by().count(), 2),
        ("count all", lambda: young.union(known, all=True).order_by().count(), 5),
        ("exists", lambda: young.intersection(known).order_by().exists(), True),
        (
            "values",
            lambda: list(
                Author.objects.filter(age=30)
                .values("name", "age")
                .union(Author.objects.filter(name="Cy").values("name", "age"))
                .order_by("-age", "name")
            ),
            [
                {"name": "Cy", "age": 45},
                {"name": "Ann", "age": 30},
                {"name": "Dee", "age": 30},
            ],
        ),
        (
            "two collections",
            lambda: list(
                Author.objects.values_list("name")
                .union(Book.objects.values_list("title"))
                .order_by("-name")[:3]
            ),
            [("Gamma",), ("Delta",), ("Dee",)],
        ),
    ]


@pytest.mark.parametrize(
    ("name", "run", "expected"), combined_cases(), ids=[case[0] for case in combined_cases()]
)
def test_combined_querysets_in_a_transaction_send_no_union_with(people, name, run, expected):
    """pytest-django's django_db runs each test inside atomic(), as Django's TestCase does:
    $unionWith would be refused there (OperationNotSupportedInTransaction, code 263)."""
    assert connection.in_atomic_block
    with CaptureQueriesContext(connection) as queries:
        assert run() == expected
    sent = " ".join(query["sql"] for query in queries.captured_queries)
    assert "$unionWith" not in sent
    assert "aggregate" in sent


@pytest.mark.django_db(transaction=True)
def test_combined_querysets_give_the_same_rows_in_and_out_of_a_transaction(people):
    """Outside a transaction the same querysets use $unionWith: both forms agree."""
    outside = {}
    with CaptureQueriesContext(connection) as queries:
        for name, run, expected in combined_cases():
            outside[name] = run()
            assert outside[name] == expected, name
    assert "$unionWith" in " ".join(query["sql"] for query in queries.captured_queries)
    with transaction.atomic():
        for name, run, _expected in combined_cases():
            assert run() == outside[name], name


def test_union_compares_values_as_bson_does():
    """$group compares numbers by value (1 == 1.0) but never a bool with a number, and
    strings byte by byte; the client-side union keeps those rules."""
    Author.objects.create(name="x", age=1)
    AllTypes.objects.create(floating=1.0, char="1")
    AllTypes.objects.create(floating=2.5, flag=True)
    ints = Author.objects.values_list("age", flat=True)
    floats = AllTypes.objects.values_list("floating", flat=True)
    assert sorted(ints.union(floats).order_by()) == [1, 2.5]
    assert ints.union(floats, all=True).order_by().count() == 3
    assert list(ints.intersection(floats).order_by()) == [1]
    flags = AllTypes.objects.filter(flag=True).values_list("flag", flat=True)
    assert sorted(ints.union(flags).order_by(), key=str) == [1, True]
    chars = AllTypes.objects.filter(char__isnull=False).values_list("char", flat=True)
    # BSON orders every number below every string.
    assert list(ints.union(chars).order_by("-age")) == ["1", 1]


def test_nested_combination_in_a_transaction(people):
    ages = Author.objects.values_list("age", flat=True)
    inner = ages.filter(age=30).union(ages.filter(age=45)).order_by()
    assert sorted(inner.union(ages.filter(age__isnull=True)).order_by(), key=str) == [
        30,
        45,
        None,
    ]


def test_str_of_a_combined_query_in_a_transaction_shows_what_runs(people):
    ages = Author.objects.values_list("age", flat=True)
    union = ages.filter(age=30).union(ages.filter(age=45)).order_by()
    text = str(union.query)
    assert "$unionWith" not in text and text.count("aggregate(") == 2
    # mql() shows the single pipeline, as it runs outside a transaction.
    assert "$unionWith" in json.dumps(mql(union))
