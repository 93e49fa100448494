"""ArrayField and EmbeddedModelArrayField: storage, lookups, transforms, SQL NULL."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import NotSupportedError, connection
from django.db.models import F, Q

from tests.fieldsapp.models import Order, Tagged

pytestmark = pytest.mark.django_db


def names(queryset):
    return list(queryset.values_list("name", flat=True))


def numbers(queryset):
    return list(queryset.values_list("number", flat=True))


def first_stage(queryset):
    return queryset.query.get_compiler("default").mql()["pipeline"][0]


@pytest.fixture
def tagged():
    Tagged.objects.create(name="a", tags=["x", "y"], scores=[1, 2, 3], matrix=[[1, 2], [3]])
    Tagged.objects.create(name="b", tags=["y"], scores=[5, None])
    Tagged.objects.create(name="c", tags=[], scores=[])
    Tagged.objects.create(name="d", tags=None, scores=None)


def test_round_trip_of_base_types():
    obj = Tagged.objects.create(
        name="t",
        days=[datetime.date(2024, 2, 29)],
        amounts=[Decimal("1.50"), Decimal("2.25")],
    )
    obj = Tagged.objects.get(pk=obj.pk)
    assert obj.days == [datetime.date(2024, 2, 29)]
    assert obj.amounts == [Decimal("1.50"), Decimal("2.25")]
    document = connection.connection.database[Tagged._meta.db_table].find_one(
        {"_id": obj.pk}, session=connection.connection.session
    )
    assert document["days"] == [datetime.datetime(2024, 2, 29)]
    assert document["tags"] is None


def test_exact(tagged):
    assert names(Tagged.objects.filter(tags=["x", "y"])) == ["a"]
    assert names(Tagged.objects.filter(tags=["y", "x"])) == []
    assert names(Tagged.objects.filter(tags=[])) == ["c"]
    assert names(Tagged.objects.filter(matrix=[[1, 2], [3]])) == ["a"]
    assert names(Tagged.objects.filter(matrix=[1, 2])) == []


def test_contains(tagged):
    assert names(Tagged.objects.filter(tags__contains=["y"])) == ["a", "b"]
    assert names(Tagged.objects.filter(tags__contains=["x", "y"])) == ["a"]
    assert names(Tagged.objects.filter(tags__contains=[])) == ["a", "b", "c"]
    assert names(Tagged.objects.filter(scores__contains=[None])) == []
    assert first_stage(Tagged.objects.filter(tags__contains=["y"])) == {
        "$match": {"tags": {"$all": ["y"]}}
    }


def test_contained_by(tagged):
    assert names(Tagged.objects.filter(tags__contained_by=["x", "y", "z"])) == ["a", "b", "c"]
    assert names(Tagged.objects.filter(tags__contained_by=["y"])) == ["b", "c"]
    # A NULL element is contained by nothing.
    assert names(Tagged.objects.filter(scores__contained_by=[5, None])) == ["c"]


def test_overlap(tagged):
    assert names(Tagged.objects.filter(tags__overlap=["x", "q"])) == ["a"]
    assert names(Tagged.objects.filter(tags__overlap=["y"])) == ["a", "b"]
    assert names(Tagged.objects.filter(tags__overlap=[])) == []
    assert names(Tagged.objects.filter(scores__overlap=[None])) == []


def test_len(tagged):
    assert names(Tagged.objects.filter(tags__len=2)) == ["a"]
    assert names(Tagged.objects.filter(tags__len__lt=2)) == ["b", "c"]
    assert names(Tagged.objects.exclude(tags__len=0)) == ["a", "b", "d"]
    assert names(Tagged.objects.filter(~Q(tags__len=0), name__lt="z")) == ["a", "b", "d"]
    assert list(Tagged.objects.values_list("tags__len", flat=True)) == [2, 1, 0, None]


def test_index_and_slice(tagged):
    assert names(Tagged.objects.filter(tags__0="x")) == ["a"]
    assert names(Tagged.objects.filter(tags__1="y")) == ["a"]
    assert names(Tagged.objects.filter(tags__0__startswith="y")) == ["b"]
    assert names(Tagged.objects.filter(scores__1__gt=1)) == ["a"]  # b's is NULL
    assert names(Tagged.objects.filter(matrix__0__1=2)) == ["a"]
    assert list(Tagged.objects.values_list("tags__0", flat=True)) == ["x", "y", None, None]
    assert list(Tagged.objects.values_list("scores__0_2", flat=True)) == [
        [1, 2],
        [5, None],
        [],
        None,
    ]
    assert names(Tagged.objects.filter(scores__1_3__contains=[3])) == ["a"]
    # c and d both lack scores[0]: a tie, in any order unless broken.
    assert names(Tagged.objects.order_by("-scores__0", "name")) == ["b", "a", "c", "d"]


def test_sql_null_semantics(tagged):
    """d's arrays are NULL: every lookup on them is UNKNOWN; __isnull is not fooled by a
    null element (b's scores)."""
    assert names(Tagged.objects.filter(scores__isnull=True)) == ["d"]
    assert names(Tagged.objects.filter(scores__isnull=False)) == ["a", "b", "c"]
    for lookup in ("contains", "contained_by", "overlap"):
        condition = Q(**{f"tags__{lookup}": ["y"]})
        positive = set(names(Tagged.objects.filter(condition)))
        negative = set(names(Tagged.objects.filter(~condition, tags__isnull=False)))
        assert "d" not in positive | negative, lookup
        assert positive | negative == {"a", "b", "c"}, lookup
        assert not positive & negative, lookup
    # Django's exclude() of a nullable field lets the NULL rows through, as on PostgreSQL.
    assert names(Tagged.objects.exclude(tags__contains=["y"])) == ["c", "d"]


def test_expression_rhs(tagged):
    Tagged.objects.filter(name="a").update(days=[])
    assert names(Tagged.objects.filter(tags__contains=F("tags"))) == ["a", "b", "c"]


def test_validation():
    obj = Tagged(name="v", scores=[1, 2, 3, 4, 5])
    with pytest.raises(ValidationError) as error:
        obj.full_clean()
    assert "scores" in error.value.message_dict
    obj = Tagged(name="v", tags=["x" * 30])
    with pytest.raises(ValidationError) as error:
        obj.full_clean()
    assert error.value.message_dict["tags"][0] == "Item 1 in the array did not validate:"


# -- arrays of embedded documents --------------------------------------------------------


@pytest.fixture
def orders():
    Item = Order._meta.get_field("items").embedded_model
    Order.objects.create(
        number=1,
        items=[
            Item(name="pen", price=Decimal("2.50"), quantity=10, tags=["office"]),
            Item(name="book", price=Decimal("12.00"), quantity=1),
        ],
        shipping={"city": "Paris"},
    )
    Order.objects.create(number=2, items=[{"name": "pen", "price": "3.00", "quantity": 1}])
    Order.objects.create(number=3, items=[])
    Order.objects.create(number=4, items=None)
    return Item


def test_embedded_array_round_trip(orders):
    order = Order.objects.get(number=1)
    assert [item.name for item in order.items] == ["pen", "book"]
    assert order.items[0].price == Decimal("2.50")
    assert order.items[0].tags == ["office"]
    assert order.shipping.city == "Paris"


def test_any_element_lookups(orders):
    assert numbers(Order.objects.filter(items__price__gt=10)) == [1]
    assert numbers(Order.objects.filter(items__name="pen")) == [1, 2]
    assert numbers(Order.objects.filter(items__name__in=["book", "cup"])) == [1]
    assert numbers(Order.objects.filter(items__tags__contains=["office"])) == [1]
    assert first_stage(Order.objects.filter(items__price__gt=10)) == {
        "$match": {"items": {"$elemMatch": {"price": {"$gt": Decimal128("10")}}}}
    }


def test_any_element_lookups_per_condition(orders):
    """Each lookup is its own "some element" test (documented): order 1 has an element with
    price > 10 and another with quantity 10."""
    assert numbers(Order.objects.filter(items__price__gt=10, items__quantity=10)) == [1]


def test_any_element_null_semantics(orders):
    # NOT (some element has price > 10): the empty array qualifies, the NULL one does not.
    assert numbers(Order.objects.filter(~Q(items__price__gt=10), items__isnull=False)) == [2, 3]
    assert numbers(Order.objects.filter(~Q(items__price__gt=10), number__gt=0)) == [2, 3, 4]


def test_any_element_expression_form(orders):
    """A column on the right: the $expr form (the same answer as $elemMatch would give)."""
    assert numbers(Order.objects.filter(items__quantity__gte=F("number"))) == [1]


def test_index_into_embedded_array(orders):
    assert numbers(Order.objects.filter(items__0__name="pen")) == [1, 2]
    assert numbers(Order.objects.filter(items__1__price__gt=5)) == [1]
    assert list(Order.objects.values_list("items__0__price", flat=True)) == [
        Decimal("2.50"),
        Decimal("3.00"),
        None,
        None,
    ]


def test_element_keys_are_not_values(orders):
    with pytest.raises(NotSupportedError, match="some element"):
        list(Order.objects.values_list("items__price"))


def test_embedded_array_validation(orders):
    order = Order(number=9, items=[{"name": "x", "price": "-1"}])
    with pytest.raises(ValidationError) as error:
        order.full_clean()
    assert "price" in str(error.value.message_dict["items"])


from bson import Decimal128  # noqa: E402
