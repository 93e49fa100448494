"""Expressions (compiler/expressions.py): arithmetic, bitwise operators and date/duration
arithmetic with SQL's NULL semantics.
"""

from __future__ import annotations

import pytest
from django.db.models import F

from tests.compiler.golden import pipeline
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db


def test_bitwise_operators_with_sql_null_semantics(library):
    def values(expression):
        rows = Author.objects.annotate(v=expression).order_by("name")
        return list(rows.values_list("v", flat=True))

    assert values(F("age").bitand(12)) == [30 & 12, None, 45 & 12]
    assert values(F("age").bitor(1)) == [31, None, 45]
    assert values(F("age").bitxor(5)) == [30 ^ 5, None, 45 ^ 5]
    assert values(F("age").bitleftshift(2)) == [120, None, 180]
    assert values(F("age").bitrightshift(2)) == [7, None, 11]
    assert values((F("age") * -1).bitrightshift(2)) == [-30 >> 2, None, -45 >> 2]
    assert list(
        Author.objects.filter(age__isnull=False)
        .annotate(v=F("age").bitand(4))
        .filter(v=4)
        .values_list("name", flat=True)
    ) == ["Ann", "Cy"]
    assert pipeline(
        Author.objects.annotate(v=F("age").bitand(12)).order_by("name").values_list("v", flat=True)
    ) == [
        {"$addFields": {"__c0": {"$bitAnd": ["$age", {"$literal": 12}]}}},
        {"$sort": {"name": 1}},
        {"$project": {"__c0": 1}},
    ]


def test_date_and_duration_arithmetic():
    import datetime

    from django.db.models import DurationField, ExpressionWrapper, Value

    from tests.testapp.models import AllTypes

    moment = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)
    row = AllTypes.objects.create(
        moment=moment,
        day=datetime.date(2024, 3, 1),
        duration=datetime.timedelta(hours=36, milliseconds=5),
        clock=datetime.time(10, 30, 15, 250000),
    )
    AllTypes.objects.create()  # NULLs everywhere: NULL results, never errors

    def value(expression, pk=row.pk):
        return AllTypes.objects.filter(pk=pk).annotate(v=expression).values_list("v", flat=True)[0]

    assert value(F("moment") + F("duration")) == moment + datetime.timedelta(
        hours=36, milliseconds=5
    )
    assert value(F("moment") - Value(datetime.timedelta(days=2))) == moment - datetime.timedelta(2)
    assert value(F("day") + Value(datetime.timedelta(days=1))).date() == datetime.date(2024, 3, 2)
    assert value(ExpressionWrapper(F("duration") * 2, DurationField())) == datetime.timedelta(
        hours=72, milliseconds=10
    )
    assert value(F("moment") - F("moment")) == datetime.timedelta(0)
    since = ExpressionWrapper(
        F("moment") - Value(moment - datetime.timedelta(minutes=90)), DurationField()
    )
    assert value(since) == datetime.timedelta(minutes=90)
    assert value(F("clock") - Value(datetime.time(10, 0))) == datetime.timedelta(
        minutes=30, seconds=15, microseconds=250000
    )
    nulls = AllTypes.objects.exclude(pk=row.pk).annotate(v=F("moment") + F("duration"))
    assert list(nulls.values_list("v", flat=True)) == [None]
    later = AllTypes.objects.filter(moment__lt=F("moment") + Value(datetime.timedelta(seconds=1)))
    assert list(later.values_list("pk", flat=True)) == [row.pk]
    assert not AllTypes.objects.filter(moment__lt=F("moment") - Value(datetime.timedelta(days=1)))
    assert pipeline(
        AllTypes.objects.annotate(v=F("moment") + F("duration")).values_list("v", flat=True)
    ) == [
        {
            "$addFields": {
                "__c0": {
                    "$add": ["$moment", {"$toLong": {"$floor": {"$divide": ["$duration", 1000]}}}]
                }
            }
        },
        {"$project": {"__c0": 1}},
    ]


def test_time_plus_or_minus_a_duration_wraps_around_midnight_as_on_postgresql():
    """PostgreSQL: ``time + interval`` and ``time - interval`` give a time, modulo a day
    ("Date/Time Operators": ``time '05:00' - interval '2 hours'`` is ``03:00:00``; the result
    of ``time + interval`` wraps past midnight). SQLite has no such arithmetic (Django's
    ``django_format_dtdelta`` answers NULL for a time), so PostgreSQL is the reference.
    Microseconds are kept: times are text, not BSON dates."""
    import datetime

    from django.db.models import DurationField, ExpressionWrapper, TimeField, Value

    from tests.testapp.models import AllTypes

    row = AllTypes.objects.create(
        clock=datetime.time(22, 30, 15, 2345), duration=datetime.timedelta(hours=3)
    )
    AllTypes.objects.create()

    def value(expression, pk=row.pk):
        shifted = ExpressionWrapper(expression, output_field=TimeField())
        return AllTypes.objects.filter(pk=pk).annotate(v=shifted).values_list("v", flat=True)[0]

    assert value(F("clock") + Value(datetime.timedelta(minutes=20))) == datetime.time(
        22, 50, 15, 2345
    )
    assert value(F("clock") + F("duration")) == datetime.time(1, 30, 15, 2345)
    assert value(Value(datetime.timedelta(hours=1)) + F("clock")) == datetime.time(23, 30, 15, 2345)
    assert value(F("clock") - Value(datetime.timedelta(hours=23))) == datetime.time(
        23, 30, 15, 2345
    )
    assert value(F("clock") - Value(datetime.timedelta(days=3, microseconds=2346))) == (
        datetime.time(22, 30, 14, 999999)
    )
    assert value(F("clock") - Value(None, output_field=DurationField())) is None
    nulls = AllTypes.objects.exclude(pk=row.pk)
    assert list(nulls.annotate(v=F("clock") + F("duration")).values_list("v", flat=True)) == [None]
    AllTypes.objects.filter(pk=row.pk).update(clock=F("clock") + Value(datetime.timedelta(0, 60)))
    assert AllTypes.objects.get(pk=row.pk).clock == datetime.time(22, 31, 15, 2345)
