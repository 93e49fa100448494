"""Generated fields (compiler/generated.py): stored ones computed by the server on every
write, virtual ones on every read.

SQL's rule (PostgreSQL's manual, "Generated Columns"): "A stored generated column is computed
when it is written (inserted or updated)", "a virtual generated column ... is computed when it
is read"; neither can be written directly, and both read like any other column. Each stored
test writes through one of Django's paths and reads the stored document back, as an outside
reader of the collection sees it; ``Line.doubled`` is virtual (``quantity * 2``).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from bson import Decimal128
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from tests.compiler.golden import pipeline
from tests.testapp.models import Line, Shipment

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


# -- virtual ------------------------------------------------------------------------------


def test_virtual_is_never_stored_and_read_computed():
    line = Line.objects.create(product="Tea", price=Decimal("2.50"), quantity=3)
    assert line.doubled == 6  # read back after the insert, as RETURNING would
    assert "doubled" not in stored(line.pk)
    Line.objects.filter(pk=line.pk).update(quantity=5)
    assert Line.objects.get(pk=line.pk).doubled == 10
    assert Line.objects.create(product="X", price=1, quantity=None).doubled is None


def test_virtual_filter_order_and_values():
    for quantity in (1, 5, 3, None):
        Line.objects.create(product=f"P{quantity}", price=Decimal("2.00"), quantity=quantity)
    rows = Line.objects.filter(doubled__gte=6).order_by("-doubled")
    assert list(rows.values_list("product", "doubled")) == [("P5", 10), ("P3", 6)]
    assert Line.objects.filter(doubled__isnull=True).get().product == "PNone"
    # Computed first, converted to the output field's type (an integer column rounds).
    doubled = {"$multiply": ["$quantity", {"$literal": 2}]}
    assert pipeline(Line.objects.filter(doubled__gte=6).values("product")) == [
        {"$addFields": {"doubled": {"$toLong": {"$round": [doubled, 0]}}}},
        {"$match": {"doubled": {"$gte": 6}}},
        {"$project": {"product": 1}},
    ]


def test_virtual_through_a_join():
    line = Line.objects.create(product="Tea", price=Decimal("2.50"), quantity=3)
    Shipment.objects.create(line=line, boxes=6)
    Shipment.objects.create(line=line, boxes=7)
    shipment = Shipment.objects.select_related("line").get(boxes=F("line__doubled"))
    assert (shipment.boxes, shipment.line.doubled) == (6, 6)


def test_writes_filtered_or_computed_by_a_virtual_field():
    """update_many takes no pipeline filter: the ids are selected first (two commands)."""
    small = Line.objects.create(product="Small", price=Decimal("1.00"), quantity=1)
    big = Line.objects.create(product="Big", price=Decimal("1.00"), quantity=4)
    with CaptureQueriesContext(connection) as commands:
        assert Line.objects.filter(doubled__gt=2).update(quantity=F("doubled") + 1) == 1
    assert len(commands) == 2
    assert Line.objects.get(pk=big.pk).quantity == 9
    assert "doubled" not in stored(big.pk)
    assert Line.objects.filter(doubled__lt=5).delete()[0] == 1
    assert list(Line.objects.values_list("pk", flat=True)) == [big.pk]
    assert small.pk != big.pk
