"""INSERT / UPDATE / DELETE compilers (compiler/__init__.py): values computed by the server,
updates stored as the field's type, cascades.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db.models import F

from tests.testapp.models import Author, Book, Chapter, Tag

pytestmark = pytest.mark.django_db


def test_update_with_constants_and_f_expressions(library):
    assert Book.objects.filter(author__name="Ann").update(pages=F("pages") * 2) == 2
    assert sorted(Book.objects.values_list("pages", flat=True)) == [10, 100, 200, 300]
    assert Book.objects.filter(title="Gamma").update(title="Gamma 2", pages=11) == 1
    assert Book.objects.get(pages=11).title == "Gamma 2"


def test_computed_update_is_stored_as_the_fields_type(library):
    from tests.testapp.models import AllTypes

    row = AllTypes.objects.create(small=3)
    AllTypes.objects.filter(pk=row.pk).update(floating=F("small"), decimal=F("small") * 2)
    document = AllTypes.objects.values("floating", "decimal").get(pk=row.pk)
    assert document == {"floating": 3.0, "decimal": Decimal(6)}
    assert isinstance(document["floating"], float)
    # Into an integer column: an integer division truncates, other numbers are rounded, and
    # the validator (int/long only) accepts what is stored.
    AllTypes.objects.filter(pk=row.pk).update(small=F("small") / 2, big=F("floating") * 1.5)
    assert AllTypes.objects.values_list("small", "big").get(pk=row.pk) == (1, 4)
    AllTypes.objects.filter(pk=row.pk).update(small=(F("small") - 8) / 2)
    assert AllTypes.objects.values_list("small", flat=True).get(pk=row.pk) == -3  # -7/2


def test_delete_cascades(library):
    Chapter.objects.create(book=library["books"][0], number=1, title="One")
    _deleted, per_model = library["ann"].delete()
    assert per_model == {"testapp.Chapter": 1, "testapp.Book": 2, "testapp.Author": 1}
    assert Book.objects.count() == 2
    # SET_NULL: Bob edits "beta" (deleted with Ann); Cy edits Gamma and stays.
    library["cy"].delete()
    assert Book.objects.get(title="Gamma").editor is None


def test_bulk_create_bulk_update_get_or_create_update_or_create(library):
    tags = Tag.objects.bulk_create([Tag(name=f"tag{i}") for i in range(5)])
    assert all(tag.pk for tag in tags)
    assert len({tag.pk for tag in tags}) == 5
    for tag in tags:
        tag.name = tag.name.upper()
    Tag.objects.bulk_update(tags, ["name"])
    assert sorted(Tag.objects.values_list("name", flat=True)) == [f"TAG{i}" for i in range(5)]
    tag, created = Tag.objects.get_or_create(name="TAG1")
    assert not created and tag.pk == tags[1].pk
    tag, created = Tag.objects.get_or_create(name="new")
    assert created
    _author, created = Author.objects.update_or_create(name="Ann", defaults={"age": 31})
    assert not created and Author.objects.get(name="Ann").age == 31


def test_inserted_values_may_be_constant_expressions():
    from django.db.models import Value
    from django.db.models.functions import Now

    from tests.testapp.models import AllTypes

    tag = Tag.objects.create(name=Value("from a Value"))
    assert Tag.objects.get(pk=tag.pk).name == "from a Value"
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    row = AllTypes.objects.create(moment=Now())
    assert AllTypes.objects.get(pk=row.pk).moment >= before


def test_inserted_values_computed_by_the_server(django_assert_num_queries):
    from django.db.models import Subquery, Value
    from django.db.models.functions import Lower, Upper

    ann = Author.objects.create(name=Lower(Value("ANN")), age=30)
    assert Author.objects.get(pk=ann.pk).name == "ann"
    oldest = Subquery(Author.objects.order_by("-age").values("age")[:1])
    with django_assert_num_queries(3):  # sequence, one $documents evaluation, insert
        Author.objects.bulk_create(
            [Author(name=Upper(Value("bob")), age=oldest), Author(name="cy", age=None)]
        )
    assert list(Author.objects.order_by("pk").values_list("name", "age")) == [
        ("ann", 30),
        ("BOB", 30),
        ("cy", None),
    ]
