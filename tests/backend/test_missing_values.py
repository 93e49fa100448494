"""Values a SQL database would read as NULL but MongoDB sees as *missing* (an outer join that
found nothing leaves no sub-document), and values whose text differs between MongoDB's
operators and SQL. Each test would fail on MongoDB 7.0 if the compiler relied on missing
behaving like null, or on ``$toString``'s formatting of doubles.
"""

from __future__ import annotations

import pytest
from django.db.models import CharField, Count, F, Subquery
from django.db.models.functions import Cast, JSONObject, Lower, Upper

from tests.testapp.models import AllTypes, Author, Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def orphans():
    """Books without an editor (their ``editor`` is missing after the outer join), one edited
    by Bob (his ``age`` is null) and one edited by Ann."""
    ann = Author.objects.create(name="Ann", age=30)
    bob = Author.objects.create(name="Bob", age=None)
    first = Book.objects.create(title="First", author=ann, pages=1)
    second = Book.objects.create(title="Second", author=ann, pages=2)
    edited = Book.objects.create(title="Edited", author=bob, editor=ann, pages=3)
    by_bob = Book.objects.create(title="By Bob", author=ann, editor=bob, pages=4)
    return {"ann": ann, "bob": bob, "first": first, "second": second, "edited": edited} | {
        "by_bob": by_bob
    }


# -- joins never match a NULL key ----------------------------------------------------------


def test_reverse_join_after_an_empty_outer_join(orphans):
    """``book LEFT JOIN author AS editor LEFT JOIN book AS edited ON edited.editor_id =
    editor.id``: a book without an editor has no editor row, so nothing joins it. ``$lookup``
    would match the missing ``editor._id`` with every book whose ``editor_id`` is null (MongoDB
    manual, $lookup equality match: a missing localField is matched as null)."""
    rows = Book.objects.filter(editor__isnull=True).values_list("title", "editor__edited__title")
    assert sorted(rows) == [("First", None), ("Second", None)]


def test_reverse_join_through_a_null_foreign_key(orphans):
    """``author LEFT JOIN book AS edited ... LEFT JOIN author AS editor2 ...`` read from
    the other side: the edited books of each book's editor."""
    rows = Book.objects.values_list("title", "editor__edited__title").order_by("title")
    assert list(rows) == [
        ("By Bob", "By Bob"),
        ("Edited", "Edited"),
        ("First", None),
        ("Second", None),
    ]


def test_count_of_a_reverse_join_after_an_empty_outer_join(orphans):
    counts = Book.objects.values_list("title").annotate(n=Count("editor__edited"))
    assert sorted(counts) == [("By Bob", 1), ("Edited", 1), ("First", 0), ("Second", 0)]


# -- a missing value is stored as null -----------------------------------------------------


def test_json_object_of_a_column_an_outer_join_left_missing(orphans):
    """``{k: "x", v: "$editor.name"}`` loses ``v`` when ``editor`` is missing, and
    ``$arrayToObject`` then fails with code 40392 (MongoDB manual, $arrayToObject: each
    document must have a ``k`` and a ``v`` field). SQL gives ``{"editor": null}``."""
    rows = Book.objects.annotate(j=JSONObject(editor=F("editor__name"), n=F("pages")))
    assert sorted(rows.values_list("title", "j")) == [
        ("By Bob", {"editor": "Bob", "n": 4}),
        ("Edited", {"editor": "Ann", "n": 3}),
        ("First", {"editor": None, "n": 1}),
        ("Second", {"editor": None, "n": 2}),
    ]


def test_group_by_a_column_missing_on_some_rows_and_null_on_others(orphans):
    """SQL has one NULL group; a compound ``$group`` ``_id`` keeps a missing key apart from a
    null one (``expandId`` in MongoDB's group_processor_base.cpp), which would give two."""
    rows = Book.objects.values("editor__age").annotate(n=Count("pk")).order_by("editor__age")
    assert list(rows) == [{"editor__age": None, "n": 3}, {"editor__age": 30, "n": 1}]
    pairs = (
        Book.objects.values_list("editor__age", "author__name")
        .annotate(n=Count("pk"))
        .order_by("editor__age", "author__name")
    )
    assert list(pairs) == [(None, "Ann", 3), (30, "Bob", 1)]


def test_distinct_over_a_column_missing_on_some_rows(orphans):
    rows = Book.objects.values_list("editor__age", "author__name").distinct()
    assert sorted(rows, key=repr) == [(30, "Bob"), (None, "Ann")]


def test_union_of_a_missing_and_a_null_value(orphans):
    missing = Book.objects.filter(editor__isnull=True).values_list("editor__age")
    null = Author.objects.filter(age__isnull=True).values_list("age")
    assert list(missing.union(null)) == [(None,)]


# -- a double's text is SQL's, not $toString's ----------------------------------------------

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


# -- case: MongoDB's $toLower/$toUpper fold ASCII only; a case-insensitive regex folds all ----


@pytest.fixture
def accents():
    return [Author.objects.create(name=name, age=age) for name, age in (("ÉLAN", 1), ("élan", 2))]


def test_lower_and_upper_fold_ascii_letters_only(accents):
    """MongoDB's $toLower/$toUpper change ASCII letters only (manual: "$toLower only has a
    well-defined behavior for strings of ASCII characters"), as SQLite's lower()/upper():
    documented, not emulated."""
    rows = Author.objects.annotate(lo=Lower("name"), up=Upper("name")).order_by("age")
    assert list(rows.values_list("lo", "up")) == [("Élan", "ÉLAN"), ("élan", "éLAN")]


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


def test_iexact_does_not_match_before_a_final_newline(accents):
    """``$`` also matches before a trailing newline; LIKE 'élan' does not match 'élan\\n'."""
    Author.objects.filter(age=1).update(name="élan\n")
    assert list(Author.objects.filter(name__iexact="élan").values_list("age", flat=True)) == [2]
    assert list(Author.objects.filter(name__iendswith="LAN").values_list("age", flat=True)) == [2]
