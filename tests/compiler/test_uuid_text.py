"""Text lookups on a UUIDField, which is stored as binData (subtype 4).

Django matches ``iexact``/``startswith``... against the UUID's canonical text (lowercase,
hyphens), as PostgreSQL's ``uuid::text``. MongoDB's ``$regex`` matches strings only (manual,
$regex: "Selects documents where values match a specified regular expression", a binData
never does) and MongoDB 7.0's ``$convert`` has no binData -> string conversion (the manual's
$toString table lists BinData only from 8.0), so the compiler turns a prefix of the text into
a range of UUIDs (binData values of one length and subtype order by their bytes; manual,
"Comparison/Sort Order": BinData by length, then subtype, then byte by byte) and refuses the
lookups no range expresses.
"""

from __future__ import annotations

import uuid

import pytest
from bson import Binary
from django.db import NotSupportedError
from django.db.models import CharField, F, TextField, UUIDField
from django.db.models.functions import Cast, Coalesce

from tests.compiler.golden import pipeline
from tests.testapp.models import AllTypes

pytestmark = pytest.mark.django_db

FIRST = uuid.UUID("550e8400-e29b-41d4-a716-446655440000")
SECOND = uuid.UUID("550e8400-ffff-41d4-a716-446655440000")
THIRD = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.fixture
def rows():
    return {
        "first": AllTypes.objects.create(uid=FIRST, text="first").pk,
        "second": AllTypes.objects.create(uid=SECOND, text="second").pk,
        "third": AllTypes.objects.create(uid=THIRD, text="third").pk,
        "none": AllTypes.objects.create(uid=None, text="none").pk,
    }


def texts(queryset):
    return sorted(queryset.values_list("text", flat=True))


def test_iexact_matches_the_canonical_text_in_any_case(rows):
    assert texts(AllTypes.objects.filter(uid__iexact=str(FIRST).upper())) == ["first"]
    assert texts(AllTypes.objects.filter(uid__iexact=str(FIRST)[:-1])) == []
    assert texts(AllTypes.objects.filter(uid__iexact=FIRST.hex)) == []  # no hyphens
    assert pipeline(
        AllTypes.objects.filter(uid__iexact="550E8400-E29B-41D4-A716-446655440000")
    ) == [
        {"$match": {"uid": {"$eq": Binary(b"U\x0e\x84\x00\xe2\x9bA\xd4\xa7\x16DfUD\x00\x00", 4)}}}
    ]


def test_startswith_is_a_range_of_uuids(rows):
    assert texts(AllTypes.objects.filter(uid__startswith="550e8400-")) == ["first", "second"]
    assert texts(AllTypes.objects.filter(uid__startswith="550e8400-e29b-4")) == ["first"]
    assert texts(AllTypes.objects.filter(uid__startswith="")) == ["first", "second", "third"]
    # The stored text has hyphens and lowercase digits.
    assert texts(AllTypes.objects.filter(uid__startswith="550e8400e29b")) == []
    assert texts(AllTypes.objects.filter(uid__startswith="550E8400")) == []
    assert texts(AllTypes.objects.filter(uid__istartswith="550E8400-E")) == ["first"]
    assert texts(AllTypes.objects.filter(uid__istartswith=str(THIRD) + "0")) == []
    assert pipeline(AllTypes.objects.filter(uid__startswith="550e8400-e")) == [
        {
            "$match": {
                "uid": {
                    "$gte": Binary(
                        b"U\x0e\x84\x00\xe0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 4
                    ),
                    "$lte": Binary(
                        b"U\x0e\x84\x00\xef\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 4
                    ),
                }
            }
        }
    ]


def test_negations_match_what_the_positive_does_not(rows):
    # Django negates a nullable column's lookup as NOT (uid LIKE ... AND uid IS NOT NULL),
    # so the NULL row is in every negation; a text no UUID begins with negates to all rows.
    assert texts(AllTypes.objects.exclude(uid__startswith="550e8400-")) == ["none", "third"]
    assert texts(AllTypes.objects.exclude(uid__startswith="nope")) == [
        "first",
        "none",
        "second",
        "third",
    ]
    assert texts(AllTypes.objects.exclude(uid__iexact=str(SECOND).upper())) == [
        "first",
        "none",
        "third",
    ]


def test_expression_left_side_takes_the_same_range(rows):
    queryset = AllTypes.objects.annotate(u=Coalesce("uid", "uid", output_field=UUIDField()))
    assert texts(queryset.filter(u__istartswith="550E8400-F")) == ["second"]
    assert texts(queryset.filter(u__iexact=str(THIRD))) == ["third"]
    assert texts(queryset.filter(u__startswith="x")) == []


@pytest.mark.parametrize(
    "lookup", ["contains", "icontains", "endswith", "iendswith", "regex", "iregex"]
)
def test_lookups_no_range_expresses_are_refused(rows, lookup):
    with pytest.raises(NotSupportedError, match="UUID"):
        list(AllTypes.objects.filter(**{f"uid__{lookup}": "8400"}))


def test_a_column_on_the_right_is_refused(rows):
    with pytest.raises(NotSupportedError, match="UUID"):
        list(AllTypes.objects.filter(uid__startswith=F("text")))


@pytest.mark.parametrize("text_field", [CharField, TextField], ids=["char", "text"])
def test_cast_to_text_is_refused(rows, text_field):
    """Cast to text would be ``$toString`` of a binData, which MongoDB 7.0 refuses on every row
    (ConversionFailure: its ``$convert`` has no binData -> string conversion before 8.0)."""
    with pytest.raises(NotSupportedError, match="UUID"):
        list(AllTypes.objects.annotate(t=Cast("uid", text_field())).values_list("t"))
