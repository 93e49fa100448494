"""Lookups and expressions defined outside Django compile themselves through ``as_mql``."""

from __future__ import annotations

import pytest
from django.db.models import CharField, IntegerField, Lookup, Transform

from tests.testapp.models import Author

pytestmark = pytest.mark.django_db


class Doubled(Transform):
    lookup_name = "doubled"
    output_field = IntegerField()

    def as_mql(self, compiler):
        return {"$multiply": [compiler.compile(self.lhs), 2]}


class NameLength(Lookup):
    """name__length_is=N, compiled both as a query condition and as an expression."""

    lookup_name = "length_is"
    prepare_rhs = False  # an integer, not a string like the field's values

    def as_mql(self, compiler):
        name = compiler.compile(self.lhs)
        return {"$eq": [{"$strLenCP": name}, self.rhs]}, [{"$gt": [name, None]}]

    def as_mql_match(self, conditions, positive):
        if not positive:
            return None  # negation falls back to the guarded $expr
        return {"$expr": {"$eq": [{"$strLenCP": f"${self.lhs.target.column}"}, self.rhs]}}


@pytest.fixture
def registered():
    IntegerField.register_lookup(Doubled)
    CharField.register_lookup(NameLength)
    yield
    IntegerField._unregister_lookup(Doubled)
    CharField._unregister_lookup(NameLength)


def test_transform_compiles_itself(registered):
    Author.objects.create(name="Ann", age=30)
    Author.objects.create(name="Bob", age=None)
    assert list(Author.objects.filter(age__doubled=60).values_list("name", flat=True)) == ["Ann"]
    assert list(Author.objects.filter(age__doubled__gt=10).values_list("name", flat=True)) == [
        "Ann"
    ]


def test_lookup_compiles_itself_with_sql_null_semantics(registered):
    Author.objects.create(name="Ann", age=30)
    Author.objects.create(name="Clara", age=1)
    assert list(Author.objects.filter(name__length_is=3).values_list("name", flat=True)) == ["Ann"]
    assert list(Author.objects.exclude(name__length_is=3).values_list("name", flat=True)) == [
        "Clara"
    ]
