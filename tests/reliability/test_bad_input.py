"""Hostile input: every value either gets a clear Django error or is stored and matched literally.

``tests/backend/test_values.py`` (round trips, one too-large int) and
``tests/compiler/test_lookups.py`` (a few operator-looking names) cover the basics; this is
the catalogue. Expected results are computed in Python from the stored values, so a value
that turned into an operator (matching more or fewer rows than its literal self) fails the
test. Nothing that fails may leave a partial write behind.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, NotSupportedError, connection, models
from django.db.models import F, Value
from django.test.utils import isolate_apps

from tests.testapp.models import AllTypes, Author, Natural

from .figures import record

pytestmark = pytest.mark.usefixtures("clean_db")

TABLE = AllTypes._meta.db_table


def _raises(error_class, action, *, match=()):
    """Run ``action``; it must raise ``error_class`` whose one-line message has every ``match``."""
    with pytest.raises(error_class) as caught:
        action()
    message = str(caught.value)
    assert "\n" not in message, message
    for text in match if isinstance(match, tuple) else (match,):
        assert text in message, message
    record(bad_inputs=1)
    return caught.value


# -- values BSON cannot hold -------------------------------------------------------------------

TOO_LARGE_INTS = [2**63, 2**64, -(2**63) - 1, 10**30]


def test_integers_beyond_64_bits_are_data_errors_naming_the_collection_and_store_nothing():
    kept = AllTypes.objects.create(big=2**63 - 1, small=1)  # the largest int64 is fine
    assert AllTypes.objects.get(pk=kept.pk).big == 2**63 - 1
    for value in TOO_LARGE_INTS:
        _raises(DataError, lambda v=value: AllTypes.objects.create(big=v), match=(TABLE, "8-byte"))
        _raises(DataError, lambda v=value: AllTypes.objects.create(small=v), match=TABLE)
        _raises(DataError, lambda v=value: AllTypes.objects.update(big=v), match=TABLE)
        _raises(
            DataError,
            lambda v=value: AllTypes.objects.bulk_create(
                [AllTypes(big=1), AllTypes(big=v), AllTypes(big=2)]
            ),
            match=TABLE,
        )
    assert list(AllTypes.objects.values_list("pk", "big")) == [(kept.pk, 2**63 - 1)]


def test_filters_with_integers_beyond_64_bits_never_match_wrong_rows():
    AllTypes.objects.create(big=2**63 - 1)
    AllTypes.objects.create(big=-(2**63))
    for value in TOO_LARGE_INTS:
        for lookup in ("big", "big__gte", "big__in"):
            query = {lookup: [value] if lookup.endswith("in") else value}
            # Django's SQL backends find nothing here; a DataError is the other clear answer.
            try:
                rows = list(AllTypes.objects.filter(**query))
            except DataError as error:
                assert "\n" not in str(error)
            else:
                assert rows == [] or (lookup == "big__gte" and value < 0)
            record(bad_inputs=1)


NOT_DECIMALS = ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity"]


def test_nan_and_infinity_in_decimal_fields_are_validation_errors():
    for text in NOT_DECIMALS:
        for value in (Decimal(text), text):
            _raises(ValidationError, lambda v=value: AllTypes.objects.create(decimal=v))
            _raises(ValidationError, lambda v=value: AllTypes.objects.filter(decimal=v).count())
    assert not AllTypes.objects.exists()


def test_decimals_decimal128_cannot_hold_are_data_errors():
    exact = Decimal("9" * 34)  # 34 significant digits: the most Decimal128 keeps
    assert AllTypes.objects.get(pk=AllTypes.objects.create(decimal=exact).pk).decimal == exact
    for value in (Decimal("1E+7000"), Decimal("1E-7000"), Decimal("1." + "1" * 40)):
        _raises(DataError, lambda v=value: AllTypes.objects.create(decimal=v), match="Decimal128")
        _raises(
            DataError,
            lambda v=value: AllTypes.objects.filter(decimal=v).count(),
            match="Decimal128",
        )
    assert list(AllTypes.objects.values_list("decimal", flat=True)) == [exact]


def test_keys_and_strings_bson_cannot_encode_are_data_errors():
    bad_documents = [
        {"a\x00b": 1},
        {"ok": {"nested\x00": 1}},
        [{"\x00": 1}],
        {"\ud800": 1},  # a lone surrogate is not UTF-8
    ]
    for document in bad_documents:
        _raises(DataError, lambda d=document: AllTypes.objects.create(data=d), match=TABLE)
    for text in ("\ud800", "ok\udfff"):
        _raises(DataError, lambda t=text: AllTypes.objects.create(char=t), match=TABLE)
        _raises(DataError, lambda t=text: AllTypes.objects.filter(char=t).count())
    assert not AllTypes.objects.exists()


def test_nan_and_infinity_floats_round_trip():
    """MongoDB stores any IEEE 754 double; a FloatField keeps NaN and the infinities, and
    filters and sorts them as numbers (NaN below all: compareDoubles, compare_numbers.h)."""
    one = AllTypes.objects.create(floating=1.0).pk  # the collection holds documents already
    record(bad_inputs=3)
    pks = {}
    for value in (float("nan"), float("inf"), float("-inf")):
        pks[value] = AllTypes.objects.create(floating=value).pk
        stored = AllTypes.objects.get(pk=pks[value]).floating
        assert stored == value or (math.isnan(stored) and math.isnan(value))
    nan, inf, minus_inf = pks.values()
    assert set(AllTypes.objects.filter(floating__gt=0).values_list("pk", flat=True)) == {one, inf}
    ordered = AllTypes.objects.filter(floating__isnull=False).order_by("floating")
    assert list(ordered.values_list("pk", flat=True)) == [nan, minus_inf, one, inf]


# -- values and strings that look like operators -------------------------------------------------

OPERATOR_STRINGS = [
    "$where",
    "$gt",
    "$ne",
    "$$ROOT",
    "$literal",
    "$expr",
    "a.b",
    "$a.b",
    ".",
    "$",
    "{'$gt': ''}",  # what a dict filter value on a CharField becomes (Django calls str())
    "^.*$",
    "plain",
]


def test_operator_looking_strings_are_stored_and_matched_literally():
    pks = {AllTypes.objects.create(char=s, text=s, slug=None).pk: s for s in OPERATOR_STRINGS}
    stored = dict(AllTypes.objects.values_list("pk", "char"))
    assert stored == pks

    def matching(predicate):
        return {pk for pk, s in pks.items() if predicate(s)}

    def found(**lookup):
        return set(AllTypes.objects.filter(**lookup).values_list("pk", flat=True))

    for value in OPERATOR_STRINGS:
        assert found(char=value) == matching(lambda s, v=value: s == v), value
        assert found(text__in=[value, "absent"]) == matching(lambda s, v=value: s == v), value
        assert found(text__contains=value) == matching(lambda s, v=value: v in s), value
        assert found(text__startswith=value) == matching(lambda s, v=value: s.startswith(v))
        assert found(text__endswith=value) == matching(lambda s, v=value: s.endswith(v))
        assert found(char__iexact=value.upper()) == matching(
            lambda s, v=value: s.lower() == v.lower()
        )
        excluded = set(AllTypes.objects.exclude(char=value).values_list("pk", flat=True))
        assert excluded == matching(lambda s, v=value: s != v), value
        record(bad_inputs=1)

    # A dict or list given for a CharField is a string to Django, then matched literally.
    literal = matching(lambda s: s == "{'$gt': ''}")
    assert found(char={"$gt": ""}) == literal
    assert found(char__in=[{"$gt": ""}, "$where", "a.b"]) == literal | matching(
        lambda s: s in ("$where", "a.b")
    )
    record(bad_inputs=2)


def test_strings_with_nul_are_stored_and_matched_literally():
    """MongoDB compares whole strings, NUL included (expression_leaf.cpp)."""
    pks = {AllTypes.objects.create(char=s).pk: s for s in ("a\x00b", "a", "a\x00")}
    assert dict(AllTypes.objects.values_list("pk", "char")) == pks
    for value in pks.values():
        record(bad_inputs=1)
        found = set(AllTypes.objects.filter(char=value).values_list("pk", flat=True))
        assert found == {pk for pk, s in pks.items() if s == value}, repr(value)


def test_operator_looking_values_in_updates_and_annotations_stay_data():
    row = AllTypes.objects.create(char="before", text="text value", small=1)
    AllTypes.objects.filter(pk=row.pk).update(char="$text")  # constant update
    assert AllTypes.objects.get(pk=row.pk).char == "$text"
    # With an expression the update is a pipeline: constants must stay literals there too.
    AllTypes.objects.filter(pk=row.pk).update(char="$text", small=F("small") + 1)
    AllTypes.objects.filter(pk=row.pk).update(text=Value("$char"))
    row = AllTypes.objects.get(pk=row.pk)
    assert (row.char, row.text, row.small) == ("$text", "$char", 2)
    annotated = AllTypes.objects.annotate(x=Value("$char"), y=Value("$$ROOT")).get(pk=row.pk)
    assert (annotated.x, annotated.y) == ("$char", "$$ROOT")
    AllTypes.objects.filter(pk=row.pk).update(data={"$set": {"char": "owned"}})
    row = AllTypes.objects.get(pk=row.pk)
    assert row.data == {"$set": {"char": "owned"}} and row.char == "$text"
    record(bad_inputs=6)


OPERATOR_DOCUMENTS = [
    {"$gt": ""},
    {"$ne": None},
    {"$exists": True},
    {"$regex": ".*"},
    {"$where": "sleep(1000) || true"},
    {"$expr": {"$eq": [1, 1]}},
    {"$numberLong": "5"},
    {"$oid": "5f0000000000000000000000"},
    {"a.b": 1},
    {"a": {"b": 1}},  # what "a.b" would wrongly match as a path
    {"x": {"$set": 1}, "$inc": {"y": 1}},
    [{"$in": [1]}, "$or"],
    "$where",
    "a.b",
]


def test_operator_looking_json_documents_are_stored_and_matched_literally():
    pks = {AllTypes.objects.create(data=d).pk: d for d in OPERATOR_DOCUMENTS}
    assert dict(AllTypes.objects.values_list("pk", "data")) == pks
    for document in OPERATOR_DOCUMENTS:
        expected = {pk for pk, d in pks.items() if d == document}
        found = set(AllTypes.objects.filter(data=document).values_list("pk", flat=True))
        assert found == expected, document
        record(bad_inputs=1)
    # JSONField __in: a clear NotSupportedError where it is not compiled, else literal matches.
    wanted = [{"$gt": ""}, "$where", {"a.b": 1}]
    try:
        found = set(AllTypes.objects.filter(data__in=wanted).values_list("pk", flat=True))
    except NotSupportedError as error:
        assert "\n" not in str(error)
    else:
        assert found == {pk for pk, d in pks.items() if d in wanted}
    record(bad_inputs=1)


def test_json_exact_does_not_match_arrays_containing_the_value():
    scalar = AllTypes.objects.create(data="$where").pk
    AllTypes.objects.create(data=["$where", "other"])
    AllTypes.objects.create(data=[{"$gt": ""}])
    record(bad_inputs=2)
    assert set(AllTypes.objects.filter(data="$where").values_list("pk", flat=True)) == {scalar}
    assert not AllTypes.objects.filter(data={"$gt": ""}).exists()


def test_operator_looking_primary_keys():
    for code in ("$where", "a.b", "$gt"):
        Natural.objects.create(code=code, label=code)
    assert Natural.objects.get(pk="$where").label == "$where"
    assert sorted(Natural.objects.filter(pk__in=["a.b", "$gt"]).values_list("pk", flat=True)) == [
        "$gt",
        "a.b",
    ]
    assert not Natural.objects.filter(pk={"$gt": ""}).exists()  # str() of the dict, literal
    author = Author.objects.create(name="a")
    # An integer key rejects a dict the way Django does on every backend, naming the field.
    for value in ({"$gt": 0}, "$gt", ["$in"]):
        with pytest.raises((TypeError, ValueError), match="Field 'id' expected a number"):
            Author.objects.filter(pk=value).count()
    assert Author.objects.get(pk=author.pk).name == "a"
    record(bad_inputs=7)


# -- field names that look like operators ------------------------------------------------------


def test_unmanaged_model_with_operator_looking_columns_is_an_error_or_literal():
    with isolate_apps("tests.testapp"):

        class Legacy(models.Model):
            dollar = models.CharField(max_length=10, db_column="$where", null=True)
            dotted = models.CharField(max_length=10, db_column="a.b", null=True)

            class Meta:
                app_label = "testapp"
                db_table = "reliability_legacy"
                managed = False

        connection.ensure_connection()
        collection = connection.connection.database[Legacy._meta.db_table]
        collection.drop()
        try:
            collection.insert_one({"_id": 1, "$where": "x", "a.b": "y"})
            collection.insert_one({"_id": 2, "a": {"b": "y"}})
            record(bad_inputs=2)
            for lookup in ({"dollar": "x"}, {"dotted": "y"}):
                try:
                    found = list(Legacy.objects.filter(**lookup).values_list("pk", flat=True))
                except NotSupportedError as error:
                    assert "Legacy" in str(error)
                else:
                    assert found == [1], lookup
        finally:
            collection.drop()
