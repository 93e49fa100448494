"""EmbeddedModelField: storage, validation, queries into the subdocument, indexes."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F

from tests.fieldsapp.models import Address, Geo, Person

pytestmark = pytest.mark.django_db


def raw(model):
    """The stored documents, read inside the test's transaction."""
    collection = connection.connection.database[model._meta.db_table]
    cursor = collection.find({}, {"_id": 0}, session=connection.connection.session)
    return list(cursor.sort("name", 1))


def names(queryset):
    return list(queryset.values_list("name", flat=True))


@pytest.fixture
def people():
    Person.objects.create(
        name="ann",
        address=Address(city="Paris", street="1 rue", since=datetime.date(2020, 5, 1)),
        work=Address(city="Lyon"),
    )
    Person.objects.create(name="bob", address=Address(city="Lyon", geo=Geo(lat=1.5, lng=2.0)))
    Person.objects.create(name="cid", address=None)
    Person.objects.create(name="dan", address={"city": "Berlin", "zip_code": "10115"})


def test_stored_as_a_subdocument(people):
    documents = raw(Person)
    assert documents[0]["address"] == {
        "street": "1 rue",
        "city": "Paris",
        "zip": "",
        "since": datetime.datetime(2020, 5, 1),
        "geo": None,
    }
    assert documents[1]["address"]["geo"] == {"lat": 1.5, "lng": 2.0}
    assert documents[2]["address"] is None
    assert documents[3]["address"]["zip"] == "10115"


def test_reads_back_instances(people):
    ann = Person.objects.get(name="ann")
    assert isinstance(ann.address, Address)
    assert ann.address.city == "Paris"
    assert ann.address.since == datetime.date(2020, 5, 1)
    bob = Person.objects.get(name="bob")
    assert bob.address.geo.lat == 1.5
    assert Person.objects.get(name="cid").address is None


def test_filter_on_keys(people):
    assert names(Person.objects.filter(address__city="Paris")) == ["ann"]
    assert names(Person.objects.filter(address__city__in=["Paris", "Lyon"])) == ["ann", "bob"]
    assert names(Person.objects.filter(address__city__startswith="L")) == ["bob"]
    assert names(Person.objects.filter(address__zip_code="10115")) == ["dan"]
    assert names(Person.objects.filter(address__since__year=2020)) == ["ann"]
    assert names(Person.objects.filter(address__geo__lat__gt=1)) == ["bob"]
    assert names(Person.objects.filter(work__city="Lyon")) == ["ann"]


def test_filter_uses_query_operators():
    pipeline = Person.objects.filter(address__city="Paris").query.get_compiler("default").mql()
    assert pipeline["pipeline"][0] == {"$match": {"address.city": {"$eq": "Paris"}}}


def test_sql_null_semantics(people):
    # cid has no address: address.city is NULL, so neither the lookup nor its negation
    # matches it... except that Django's exclude() of a nullable field adds "OR IS NULL".
    assert names(Person.objects.exclude(address__city="Paris")) == ["bob", "cid", "dan"]
    assert names(Person.objects.filter(address__isnull=True)) == ["cid"]
    assert names(Person.objects.filter(address__geo__isnull=True)) == ["ann", "cid", "dan"]
    assert names(Person.objects.filter(address__geo__lat__isnull=True)) == ["ann", "cid", "dan"]
    # ann and dan have an address without geo: lat is NULL, UNKNOWN either way. cid has no
    # address at all, which Django's negation of a nullable field lets through.
    from django.db.models import Q

    assert names(Person.objects.filter(~Q(address__geo__lat=1.5))) == ["cid"]
    assert names(Person.objects.filter(~Q(address__geo__lat=1.5), address__isnull=False)) == []


def test_order_and_values_on_keys(people):
    assert names(Person.objects.exclude(address=None).order_by("address__city")) == [
        "dan",
        "bob",
        "ann",
    ]
    assert names(Person.objects.order_by("-address__city", "name")) == ["ann", "bob", "dan", "cid"]
    assert list(Person.objects.filter(name__in=["ann", "bob"]).values("name", "address__city")) == [
        {"name": "ann", "address__city": "Paris"},
        {"name": "bob", "address__city": "Lyon"},
    ]
    assert list(Person.objects.filter(name="ann").values_list("address__since", flat=True)) == [
        datetime.date(2020, 5, 1)
    ]
    assert list(
        Person.objects.filter(name="bob").annotate(lat=F("address__geo__lat")).values("lat")
    ) == [{"lat": 1.5}]


def test_whole_document_exact(people):
    dan = Person.objects.get(name="dan")
    assert names(Person.objects.filter(address=dan.address)) == ["dan"]


def test_validation_is_the_embedded_models():
    person = Person(name="eve", address=Address(city=""))
    with pytest.raises(ValidationError) as error:
        person.full_clean()
    assert error.value.message_dict["address"] == ["city: This field cannot be blank."]
    Person(name="eve", address=Address(city="Rome")).full_clean()


def test_dict_assignment_and_unknown_keys():
    person = Person(name="eve", address={"city": "Rome"})
    assert isinstance(person.address, Address)
    with pytest.raises(ValidationError):
        Person(name="eve", address={"town": "Rome"})


def test_index_on_an_embedded_key():
    connection.ensure_connection()
    indexes = connection.connection.database[Person._meta.db_table].index_information()
    assert indexes["person_city_idx"]["key"] == [("address.city", 1)]


def test_save_of_an_existing_object_updates_the_subdocument(people):
    ann = Person.objects.get(name="ann")
    ann.address.city = "Nice"
    ann.save()
    assert Person.objects.get(name="ann").address.city == "Nice"
    Person.objects.filter(name="bob").update(address={"city": "Rome"})
    assert Person.objects.get(name="bob").address.city == "Rome"
    assert Person.objects.get(name="bob").address.geo is None


def test_update_with_an_embedded_instance(people):
    # Django refuses a model instance as the value of a non-relation field in update(); an
    # EmbeddedModelField stores one (loaddata's raw save sends the same UPDATE).
    Person.objects.filter(name="cid").update(address=Address(city="Oslo", geo=Geo(lat=3.0)))
    assert raw(Person)[2]["address"] == {
        "street": "",
        "city": "Oslo",
        "zip": "",
        "since": None,
        "geo": {"lat": 3.0, "lng": None},
    }
    with pytest.raises(TypeError, match="with a model instance"):
        Person.objects.filter(name="cid").update(address=Geo(lat=1.0))


def test_abstract_embedded_model_is_a_concrete_stand_in():
    from tests.fieldsapp.models import Item, Order

    stand_in = Order._meta.get_field("items").embedded_model
    assert issubclass(stand_in, Item)
    assert not stand_in._meta.abstract
    from django.apps import apps

    assert stand_in not in apps.get_models()
