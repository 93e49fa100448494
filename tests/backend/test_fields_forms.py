"""Forms of the MongoDB fields: a nested form for an embedded document, one item per line for
an array, JSON for an array of embedded documents."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms

from tests.fieldsapp.models import Address, Order, Person, Tagged

pytestmark = pytest.mark.django_db


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ["name", "address"]


class TaggedForm(forms.ModelForm):
    class Meta:
        model = Tagged
        fields = ["name", "tags", "scores"]


class OrderForm(forms.ModelForm):
    class Meta:
        model = Order
        fields = ["number", "items"]


def test_embedded_form_renders_the_nested_fields():
    person = Person(name="ann", address=Address(city="Paris", street="1 rue"))
    html = PersonForm(instance=person).as_div()
    assert 'name="address-city"' in html
    assert 'value="Paris"' in html
    assert 'name="address-street"' in html
    assert 'name="address-geo"' not in html or "address-geo-lat" in html


def test_embedded_form_saves_and_validates():
    form = PersonForm({"name": "ann", "address-city": "Lyon", "address-street": "2 quai"})
    assert form.is_valid(), form.errors
    person = form.save()
    assert Person.objects.get(pk=person.pk).address.city == "Lyon"

    form = PersonForm({"name": "bob", "address-street": "no city"})
    assert not form.is_valid()
    assert "address" in form.errors
    # The nested errors render next to the nested inputs.
    assert "This field is required" in form.as_div()


def test_optional_embedded_form_left_empty_is_none():
    form = PersonForm({"name": "cid"})
    assert form.is_valid(), form.errors
    assert form.save().address is None


def test_embedded_form_has_changed():
    person = Person.objects.create(name="ann", address=Address(city="Paris"))
    data = {"name": "ann", "address-city": "Paris", "address-street": "", "address-zip_code": ""}
    assert not PersonForm(data, instance=person).has_changed()
    data["address-city"] = "Lyon"
    assert PersonForm(data, instance=person).changed_data == ["address"]


def test_array_form_one_item_per_line():
    form = TaggedForm({"name": "t", "tags": "a\nb\n\n c ", "scores": "1\n2"})
    assert form.is_valid(), form.errors
    obj = form.save()
    assert Tagged.objects.get(pk=obj.pk).tags == ["a", "b", "c"]
    assert Tagged.objects.get(pk=obj.pk).scores == [1, 2]
    assert "a\nb\nc" in TaggedForm(instance=obj).as_div()


def test_array_form_errors_name_the_item():
    form = TaggedForm({"name": "t", "tags": "a", "scores": "1\nx"})
    assert not form.is_valid()
    assert form.errors["scores"] == ["Item 2 (x): Enter a whole number."]
    form = TaggedForm({"name": "t", "tags": "a", "scores": "1\n2\n3\n4\n5"})
    assert not form.is_valid()
    assert "no more than 4" in form.errors["scores"][0]


def test_embedded_array_form_is_json():
    form = OrderForm({"number": 1, "items": '[{"name": "pen", "price": "2.50"}]'})
    assert form.is_valid(), form.errors
    order = form.save()
    item = Order.objects.get(pk=order.pk).items[0]
    assert (item.name, item.price, item.quantity) == ("pen", Decimal("2.50"), 1)
    assert "&quot;name&quot;: &quot;pen&quot;" in OrderForm(instance=order).as_div()

    form = OrderForm({"number": 1, "items": '[{"name": "pen", "price": "-1"}]'})
    assert not form.is_valid()
    assert "Item 1" in form.errors["items"][0]
    form = OrderForm({"number": 1, "items": '{"name": "pen"}'})
    assert not form.is_valid()
