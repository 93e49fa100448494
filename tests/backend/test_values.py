"""Values round-trip exactly through BSON, and values BSON cannot hold fail loudly."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import DataError, connection
from django.test import override_settings

from tests.testapp.models import AllTypes, Author, UUIDKeyed

pytestmark = pytest.mark.django_db

VALUES = {
    "big": 2**62,
    "small": -32768,
    "flag": False,
    "text": "ünïcode ✓ \n multi-line",
    "char": "$where",
    "decimal": Decimal("12345678901234.123456"),
    "floating": 1.5e-300,
    "day": datetime.date(1969, 7, 20),
    "moment": datetime.datetime(2024, 2, 29, 23, 59, 58, 123000, tzinfo=datetime.UTC),
    "clock": datetime.time(13, 45, 7, 250000),
    "duration": datetime.timedelta(days=-3, seconds=5, microseconds=7),
    "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "data": {"a": [1, 2, {"b": None}], "$ne": "operator-looking key", "n": 1.5},
    "blob": b"\x00\x01binary\xff",
    "ip": "2001:db8::1",
    "slug": "a-slug",
}


def test_every_type_round_trips():
    obj = AllTypes.objects.create(**VALUES)
    fetched = AllTypes.objects.get(pk=obj.pk)
    for name, expected in VALUES.items():
        value = getattr(fetched, name)
        if name == "blob":
            value = bytes(value)
        assert value == expected, name


def test_values_are_stored_as_native_bson_types():
    obj = AllTypes.objects.create(**VALUES)
    document = connection.connection.database["testapp_alltypes"].find_one(
        {"_id": obj.pk},
        session=connection.connection.session,  # inside the test's transaction
    )
    from bson import Binary, Decimal128

    assert isinstance(document["decimal"], Decimal128)
    assert document["day"] == datetime.datetime(1969, 7, 20)
    assert document["clock"] == "13:45:07.250000"
    assert document["duration"] == -3 * 86400 * 10**6 + 5 * 10**6 + 7
    assert document["data"]["a"][2] == {"b": None}
    assert document["uid"] == VALUES["uid"] or isinstance(document["uid"], Binary)


def test_nulls_round_trip():
    obj = AllTypes.objects.create()
    fetched = AllTypes.objects.get(pk=obj.pk)
    assert all(getattr(fetched, name) is None for name in VALUES)


def test_datetimes_keep_milliseconds_only():
    moment = datetime.datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=datetime.UTC)
    obj = AllTypes.objects.create(moment=moment)
    assert AllTypes.objects.get(pk=obj.pk).moment == moment.replace(microsecond=123000)


@override_settings(USE_TZ=False)
def test_naive_datetimes_without_time_zone_support():
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9)
    obj = AllTypes.objects.create(moment=moment)
    assert AllTypes.objects.get(pk=obj.pk).moment == moment


def test_uuid_primary_key():
    obj = UUIDKeyed.objects.create(name="x")
    assert UUIDKeyed.objects.get(pk=obj.pk).name == "x"
    collection = connection.connection.database["testapp_uuidkeyed"]
    assert collection.find_one({"_id": obj.pk}, session=connection.connection.session)


def test_integer_too_large_for_bson_is_a_data_error():
    with pytest.raises(DataError):
        AllTypes.objects.create(big=2**64)


def test_decimal_columns_read_back_with_their_decimal_places():
    from tests.testapp.models import Book

    author = Author.objects.create(name="a")
    book = Book.objects.create(title="t", author=author, price=Decimal(8))
    price = Book.objects.get(pk=book.pk).price
    assert price == Decimal(8) and price.as_tuple().exponent == -2  # 8.00, as NUMERIC(8, 2)
