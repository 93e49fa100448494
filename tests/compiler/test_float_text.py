"""A double as SQL text (compiler/float_text.py): ``CAST(x AS TEXT)``, text lookups on a
FloatField and AlterField to text give SQLite's 15 digits, not ``$toString``'s six.
"""

from __future__ import annotations

import pytest
from django.db.models import CharField
from django.db.models.functions import Cast

from tests.testapp.models import AllTypes

pytestmark = pytest.mark.django_db


#: double -> SQLite's CAST(x AS TEXT) ("%!.15g": 15 significant digits, ".0" after a whole
#: number, a two-digit exponent outside [1e-4, 1e15)). MongoDB's $toString gives C's "%g" (six
#: digits): "3.14159", "1.23457e+06" (performFormatDouble in MongoDB's expression.cpp).
DOUBLE_TEXT = {
    3.14159265: "3.14159265",
    1234567.0: "1234567.0",
    0.1: "0.1",
    1e-7: "1.0e-07",
    1e21: "1.0e+21",
    -2.5: "-2.5",
    100.0: "100.0",
    0.1 + 0.2: "0.3",
    1 / 3: "0.333333333333333",
    123456789012345.6: "123456789012346.0",
    1e15: "1.0e+15",
    0.0001: "0.0001",
    2.5e-5: "2.5e-05",
    -0.0: "0.0",
}


@pytest.fixture
def doubles():
    return {
        AllTypes.objects.create(floating=value).pk: text for value, text in DOUBLE_TEXT.items()
    } | {AllTypes.objects.create(floating=None).pk: None}


def test_cast_of_a_double_to_text(doubles):
    rows = AllTypes.objects.annotate(t=Cast("floating", CharField())).values_list("pk", "t")
    assert dict(rows) == doubles


#: Doubles whose shortest text has 16 or 17 digits ending in 5: rounding that text to 15 digits
#: (ties to even) differs from rounding the double itself, which SQLite does.
LONG_DOUBLES = (
    0.1 + 0.2,
    1 / 3,
    2 / 3 * 1e10,
    123456789.12345678,
    69583.28667684435,
    7215.400323407825,
    80.45694845140355,
    8941481250.060135,
)


def sqlite_text(value):
    """SQLite's CAST(x AS TEXT) of a finite, non-zero double of magnitude in [1e-4, 1e15)."""
    text = format(value, ".15g")
    return text if "." in text else text + ".0"


def test_cast_of_a_double_to_text_rounds_the_double_not_its_shortest_text():
    """The cast rounds the double's own digits to 15, as SQLite's "%!.15g": MongoDB's
    ``$toDecimal`` of a double is ``Decimal128(double)``, exactly 15 significant digits of its
    binary value (src/mongo/platform/decimal128.cpp, kRoundTo15Digits), not Python's shortest
    repr (69583.28667684435 is 69583.2866768443, not ...444)."""
    pks = {AllTypes.objects.create(floating=value).pk: value for value in LONG_DOUBLES}
    rows = AllTypes.objects.annotate(t=Cast("floating", CharField())).values_list("pk", "t")
    assert dict(rows) == {pk: sqlite_text(value) for pk, value in pks.items()}


def test_text_lookups_on_a_float_column_read_all_its_digits(doubles):
    def pks(**lookup):
        return set(AllTypes.objects.filter(**lookup).values_list("pk", flat=True))

    by_text = {text: pk for pk, text in doubles.items()}
    assert pks(floating__startswith="3.1415926") == {by_text["3.14159265"]}
    assert pks(floating__contains="234567.0") == {by_text["1234567.0"]}
    assert pks(floating__iendswith="E+21") == {by_text["1.0e+21"]}
    assert pks(floating__regex=r"^0\.3$") == {by_text["0.3"]}


@pytest.mark.django_db(transaction=True)
def test_alter_field_from_float_to_text_keeps_the_digits(doubles):
    """ALTER ... TYPE text writes the value's SQL text (the schema editor's conversion)."""
    from django.db import connection
    from django.db import models as m

    old = AllTypes._meta.get_field("floating")
    new = m.CharField(max_length=40, null=True)
    new.set_attributes_from_name("floating")
    new.model = AllTypes
    with connection.schema_editor() as editor:
        editor._convert_values(AllTypes, old, new)
    stored = connection.connection.database[AllTypes._meta.db_table].find({}, {"floating": 1})
    assert {document["_id"]: document["floating"] for document in stored} == doubles
