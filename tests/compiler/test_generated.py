"""Stored generated fields (compiler/generated.py): computed by the server on every write.

SQL's rule (PostgreSQL's manual, "Generated Columns"): "A stored generated column is computed
when it is written (inserted or updated)", it cannot be written directly, and it reads like
any other column. Each test writes through one of Django's paths and reads the stored
document back, as an outside reader of the collection sees it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from bson import Decimal128
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from tests.testapp.models import Line

# Committed writes: the stored documents are read back outside Django's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def stored(pk):
    """The document as stored (the backend's own reads would not show a missing key)."""
    connection.ensure_connection()
    return connection.connection.database["testapp_line"].find_one({"_id": pk})


def test_insert_computes_the_values():
    with CaptureQueriesContext(connection) as commands:
        line = Line.objects.create(product="Tea", price=Decimal("2.50"), quantity=3)
    # The id sequence, the aggregate computing the values, the insert.
    assert len(commands) == 3
    assert (line.total, line.label) == (Decimal("7.50"), "tea")
    document = stored(line.pk)
    assert document["total"] == Decimal128("7.50")
    assert document["label"] == "tea"
    assert Line.objects.get(pk=line.pk).total == Decimal("7.50")


def test_null_in_null_out():
    line = Line.objects.create(product="Tea", price=Decimal("2.50"), quantity=None)
    assert line.total is None
    assert stored(line.pk)["total"] is None


def test_update_recomputes_from_the_new_values():
    line = Line.objects.create(product="Tea", price=Decimal("2.50"), quantity=3)
    with CaptureQueriesContext(connection) as commands:
        Line.objects.filter(pk=line.pk).update(quantity=F("quantity") + 1, product="Green Tea")
    assert len(commands) == 1  # one update pipeline
    document = stored(line.pk)
    assert (document["total"], document["label"]) == (Decimal128("10.00"), "green tea")
    Line.objects.update(price=Decimal("1.00"))  # a constant only: still recomputed
    assert stored(line.pk)["total"] == Decimal128("4.00")


def test_save_of_an_existing_object():
    line = Line.objects.create(product="Tea", price=Decimal("2.50"), quantity=3)
    line.quantity = 2
    line.save()
    assert stored(line.pk)["total"] == Decimal128("5.00")
    # No value comes back from an update: Django 6.1 reloads the field on access, 5.2 leaves
    # the old one until refresh_from_db() (its documentation says so, for every database).
    line.refresh_from_db()
    assert line.total == Decimal("5.00")


def test_bulk_create_and_bulk_update():
    lines = Line.objects.bulk_create(
        [Line(product=name, price=Decimal("1.50"), quantity=n) for n, name in enumerate("ABC")]
    )
    assert [line.total for line in lines] == [Decimal("0.00"), Decimal("1.50"), Decimal("3.00")]
    for line in lines:
        line.quantity += 10
    Line.objects.bulk_update(lines, ["quantity"])
    totals = Line.objects.order_by("product").values_list("label", "total")
    assert list(totals) == [
        ("a", Decimal("15.00")),
        ("b", Decimal("16.50")),
        ("c", Decimal("18.00")),
    ]


def test_filter_and_order_by_read_the_stored_value():
    for quantity in (1, 5, 3):
        Line.objects.create(product=f"P{quantity}", price=Decimal("2.00"), quantity=quantity)
    rows = Line.objects.filter(total__gt=4).order_by("-total").values_list("label", flat=True)
    assert list(rows) == ["p5", "p3"]


def test_never_written_directly():
    """Django leaves generated fields out of every write it builds (UpdateQuery omits them
    from update(); inserts never list them); the server's value stays."""
    line = Line.objects.create(product="Tea", price=Decimal("2.50"), quantity=3)
    with CaptureQueriesContext(connection) as commands:
        assert Line.objects.update(total=Decimal(1)) == 0
    assert len(commands) == 0
    line.total = Decimal(1)
    line.save()
    assert stored(line.pk)["total"] == Decimal128("7.50")
