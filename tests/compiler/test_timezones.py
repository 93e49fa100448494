"""Date and time transforms (compiler/timezones.py): Extract, Trunc and dates() on the
wall-clock time of the current time zone.
"""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Min
from django.db.models.functions import (
    ExtractDay,
    ExtractMonth,
    ExtractQuarter,
    ExtractWeekDay,
)

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
    # $month is null for a null date (server: DateExpressionAcceptingTimeZone::evaluate
    # returns null for a nullish date), so it needs no NULL test of its own; and a
    # comparison with 5 is already false on null: the lookup needs no guard either.
    assert pipeline(Book.objects.filter(published__month=5).values_list("title", flat=True)) == [
        {"$match": {"$expr": {"$eq": [{"$month": "$published"}, {"$literal": 5}]}}},
        {"$project": {"title": 1}},
    ]
    months = Book.objects.annotate(m=ExtractMonth("published"), q=ExtractQuarter("published"))
    assert sorted(months.values_list("title", "m", "q")) == [
        ("Alpha", 1, 1),
        ("Delta", None, None),
        ("Gamma", 5, 2),
        ("beta", None, None),
    ]
    # Django's exclude() keeps NULL dates (NOT (month = 5 AND published IS NOT NULL)).
    assert titles(Book.objects.exclude(published__month=5)) == ["Alpha", "Delta", "beta"]
    assert titles(Book.objects.exclude(published__month__gt=1)) == ["Alpha", "Delta", "beta"]


def test_extract_in_a_time_zone_is_null_for_a_null_datetime():
    """The wall clock of a null datetime is null ($dateToParts and $dateFromParts give null for
    a nullish input, server: ExpressionDateToParts / ExpressionDateFromParts::evaluate), and
    so is every part extracted from it: no NULL test is added around them."""
    from django.utils import timezone

    from tests.testapp.models import AllTypes

    AllTypes.objects.create(moment=None)
    AllTypes.objects.create(moment=datetime.datetime(2020, 1, 1, 3, tzinfo=datetime.UTC))
    with timezone.override("America/New_York"):
        rows = AllTypes.objects.annotate(
            d=ExtractDay("moment"), m=ExtractMonth("moment"), w=ExtractWeekDay("moment")
        )
        assert sorted(rows.values_list("d", "m", "w"), key=str) == [(31, 12, 3), (None,) * 3]
        stage = pipeline(rows.values_list("d"))[0]["$addFields"]
    assert list(stage["__c0"]) == ["$dayOfMonth"]


def test_kinds_no_database_knows_are_refused_as_djangos_backends_refuse_them():
    """Django's db_functions tests (test_extract_lookup_name_sql_injection,
    test_trunc_lookup_name_sql_injection, test_extract_duration_without_native_duration_field)
    expect what PostgreSQL's backend gives: ValueError "Invalid lookup type" for an Extract
    kind that is no field name, the server's DataError for a Trunc unit it does not know, and
    Django's ValueError for Extract from a duration without a native duration type."""
    from django.db import DataError
    from django.db.models.functions import Extract, Trunc

    from tests.testapp.models import AllTypes

    AllTypes.objects.create(moment=datetime.datetime(2024, 3, 1, tzinfo=datetime.UTC))
    rows = AllTypes.objects.all()
    with pytest.raises(ValueError, match='Invalid lookup type: "day\' FROM x\\)\\) OR 1=1;--"'):
        list(rows.annotate(v=Extract("moment", "day' FROM x)) OR 1=1;--")).values_list("v"))
    with pytest.raises(DataError, match="'fortnight' is not recognized"):
        list(rows.annotate(v=Trunc("moment", "fortnight")).values_list("v"))
    with pytest.raises(ValueError, match="Extract requires native DurationField"):
        list(rows.annotate(v=Extract("duration", "second")).values_list("v"))


def test_a_fixed_offset_time_zone_and_tzinfo_on_a_field_without_one():
    """A tzinfo of a fixed offset is named "UTC+05:00" by Django and given to MongoDB as
    "+05:00" (the manual's ``timezone`` operand: an Olson name or a UTC offset "+/-[hh]:[mm]");
    tzinfo on a date or time field is Django's ValueError, as its Extract/Trunc raise."""
    from django.db.models.functions import Extract, ExtractHour, TruncDay

    from tests.testapp.models import AllTypes

    moment = datetime.datetime(2024, 3, 1, 22, 30, tzinfo=datetime.UTC)
    AllTypes.objects.create(moment=moment, day=datetime.date(2024, 3, 1))
    plus_five = datetime.timezone(datetime.timedelta(hours=5))
    minus = datetime.timezone(datetime.timedelta(hours=-5, minutes=17))
    rows = AllTypes.objects.annotate(
        east=ExtractHour("moment", tzinfo=plus_five),
        west=ExtractHour("moment", tzinfo=minus),
        day_east=Extract("moment", "day", tzinfo=plus_five),
    ).values_list("east", "west", "day_east")
    assert list(rows) == [(3, 17, 2)]
    for expression in (Extract("day", "day", tzinfo=plus_five), TruncDay("day", tzinfo=minus)):
        with pytest.raises(ValueError, match=r"tzinfo can only be used with DateTimeField\."):
            list(AllTypes.objects.annotate(v=expression).values_list("v"))
