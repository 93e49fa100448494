"""Date and time transforms (compiler/timezones.py): Extract, Trunc and dates() on the
wall-clock time of the current time zone.
"""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Min

from tests.compiler.golden import pipeline, titles
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db


def test_dates_extract_and_trunc(library):
    Book.objects.filter(title="Alpha").update(published=datetime.date(2020, 1, 31))
    assert list(Book.objects.dates("published", "month")) == [
        datetime.date(2020, 1, 1),
        datetime.date(2020, 5, 1),
    ]
    assert titles(Book.objects.filter(published__month=5)) == ["Gamma"]
    assert titles(Book.objects.filter(published__year=2020)) == ["Alpha", "Gamma"]
    assert Book.objects.aggregate(first=Min("published"))["first"] == datetime.date(2020, 1, 31)
    assert pipeline(Book.objects.filter(published__month=5).values_list("title", flat=True)) == [
        {
            "$match": {
                "$expr": {
                    "$and": [
                        {
                            "$gt": [
                                {
                                    "$cond": [
                                        {"$or": [{"$lte": ["$published", None]}]},
                                        None,
                                        {"$month": "$published"},
                                    ]
                                },
                                None,
                            ]
                        },
                        {
                            "$eq": [
                                {
                                    "$cond": [
                                        {"$or": [{"$lte": ["$published", None]}]},
                                        None,
                                        {"$month": "$published"},
                                    ]
                                },
                                {"$literal": 5},
                            ]
                        },
                    ]
                }
            }
        },
        {"$project": {"title": 1}},
    ]
