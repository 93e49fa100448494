"""bulk_create(ignore_conflicts=True): documents colliding on a unique index are left out
(django_mongo_backend/compiler/ignore_conflicts.py), as PostgreSQL's ON CONFLICT DO NOTHING
leaves out the rows, while a plain bulk_create still fails on the same collisions.

django-guardian's ``assign_perm_to_many`` and Django's ``ManyRelatedManager.add()`` (for an
auto-created through model) rely on it.
"""

from __future__ import annotations

import datetime
import decimal
import uuid

import pytest
from bson import Decimal128, Int64
from django.db import IntegrityError, NotSupportedError, connection, transaction
from django.test.utils import CaptureQueriesContext

from django_mongo_backend.compiler import ignore_conflicts
from tests.testapp.models import Author, Book, Chapter, Indexed, Natural, Tag

pytestmark = pytest.mark.django_db(transaction=True)


def names():
    return sorted(Tag.objects.values_list("name", flat=True))


def test_stored_keys_are_left_out_and_the_others_inserted():
    Tag.objects.bulk_create([Tag(name="a"), Tag(name="b")])
    new = [Tag(name="b"), Tag(name="c"), Tag(name="a"), Tag(name="d")]
    Tag.objects.bulk_create(new, ignore_conflicts=True)
    assert names() == ["a", "b", "c", "d"]
    with pytest.raises(IntegrityError):
        Tag.objects.bulk_create([Tag(name="a")])  # without the flag, still an error


def test_a_key_repeated_in_the_call_is_inserted_once_the_first_time():
    Tag.objects.bulk_create([Tag(name="x"), Tag(name="x"), Tag(name="y")], ignore_conflicts=True)
    assert names() == ["x", "y"]


def test_unique_together_compares_the_whole_key():
    author = Author.objects.create(name="A")
    book = Book.objects.create(title="B", author=author)
    Chapter.objects.create(book=book, number=1, title="one")
    Chapter.objects.bulk_create(
        [
            Chapter(book=book, number=1, title="again"),
            Chapter(book=book, number=2, title="two"),
        ],
        ignore_conflicts=True,
    )
    assert sorted(Chapter.objects.values_list("number", "title")) == [(1, "one"), (2, "two")]


def test_primary_keys_the_objects_carry_are_keys_too():
    Natural.objects.create(code="k1", label="first")
    Natural.objects.bulk_create(
        [Natural(code="k1", label="second"), Natural(code="k2", label="other")],
        ignore_conflicts=True,
    )
    assert sorted(Natural.objects.values_list("code", "label")) == [
        ("k1", "first"),
        ("k2", "other"),
    ]


def test_explicit_integer_ids_collide_with_stored_ones():
    kept = Tag.objects.create(name="kept")
    Tag.objects.bulk_create([Tag(pk=kept.pk, name="other")], ignore_conflicts=True)
    assert names() == ["kept"]


def test_in_a_transaction_the_transaction_goes_on():
    """A duplicate key would abort MongoDB's transaction: nothing colliding is sent."""
    Tag.objects.create(name="a")
    with transaction.atomic():
        Tag.objects.bulk_create([Tag(name="a"), Tag(name="b")], ignore_conflicts=True)
        Tag.objects.create(name="c")
    assert names() == ["a", "b", "c"]


def test_nothing_left_sends_no_insert_and_reserves_no_id():
    Tag.objects.create(name="a")
    with CaptureQueriesContext(connection) as queries:
        Tag.objects.bulk_create([Tag(name="a")], ignore_conflicts=True)
    # (Django 5.2 also logs the BEGIN of bulk_create's atomic(), which sends no command.)
    commands = [q["sql"].split("(")[0] for q in queries if q["sql"] != "BEGIN"]
    assert commands == ["db.testapp_tag.aggregate"]


def test_many_to_many_add_of_a_pair_already_there():
    """add() goes straight to bulk_create(ignore_conflicts=True) when no signal listens."""
    author = Author.objects.create(name="A")
    book = Book.objects.create(title="B", author=author)
    red, blue = Tag.objects.bulk_create([Tag(name="red"), Tag(name="blue")])
    book.tags.add(red)
    book.tags.add(red, blue)
    assert sorted(book.tags.values_list("name", flat=True)) == ["blue", "red"]
    assert Book.tags.through.objects.count() == 2


def test_a_conditional_unique_constraint_is_refused_naming_it():
    with pytest.raises(NotSupportedError, match="unique_rank_in_group"):
        Indexed.objects.bulk_create(
            [Indexed(name="n", slug="s", group=1, rank=1)], ignore_conflicts=True
        )
    assert not Indexed.objects.exists()


class Field:
    """What UniqueKey reads of a model field."""

    def __init__(self, column, null=False):
        self.column = column
        self.null = null
        self.primary_key = False


def keys_of(document, *fields, nulls_distinct=None):
    return ignore_conflicts.UniqueKey(list(fields), nulls_distinct).values(document)


def test_a_null_in_a_nullable_field_is_no_key_as_the_partial_index_leaves_it_out():
    slot = Field("slot", null=True)
    assert keys_of({"slot": None}, slot) is None
    assert keys_of({"slot": None}, slot, nulls_distinct=False) == [(("null",),)]
    assert keys_of({"slot": None}, Field("slot")) == [(("null",),)]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (1, 1.0),
        (1, Int64(1)),
        (2, Decimal128("2.00")),
        (decimal.Decimal("2.5"), 2.5),
        (
            datetime.datetime(2024, 1, 1, 0, 0, 0, 1500),
            datetime.datetime(2024, 1, 1, 0, 0, 0, 1999),
        ),
        (
            datetime.datetime(2024, 1, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
            datetime.datetime(2024, 1, 1),
        ),
        (float("nan"), Decimal128("NaN")),
    ],
)
def test_values_an_index_holds_equal_are_one_key(one, other):
    field = Field("f")
    assert keys_of({"f": one}, field) == keys_of({"f": other}, field)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (True, 1),  # bool and number are different BSON types
        (0.1, Decimal128("0.1")),  # the double is not exactly 0.1
        ("1", 1),
        (uuid.UUID(int=1), uuid.UUID(int=1).bytes),  # subtype 4 against subtype 0
        (datetime.datetime(2024, 1, 1, 0, 0, 0, 999), datetime.datetime(2024, 1, 1, 0, 0, 0, 1000)),
    ],
)
def test_values_an_index_holds_different_are_different_keys(one, other):
    field = Field("f")
    assert keys_of({"f": one}, field) != keys_of({"f": other}, field)


def test_an_array_is_a_key_per_element_as_in_a_multikey_index():
    assert keys_of({"f": [1, 2]}, Field("f")) == [(("number", 1),), (("number", 2),)]


def test_a_stored_value_that_looks_like_an_operator_stays_data():
    """The read of colliding keys compares with $eq: {"$gt": ""} would match every string."""
    clause = ignore_conflicts.UniqueKey([Field("f")]).clause({"f": {"$gt": ""}})
    assert clause == {"f": {"$eq": {"$gt": ""}}}
    assert ignore_conflicts.UniqueKey([Field("f")]).clause({"f": [1, 2]}) == {"f": {"$in": [1, 2]}}
