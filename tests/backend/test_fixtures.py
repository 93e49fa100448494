"""dumpdata / loaddata of the MongoDB fields: natural JSON in the fixture, equal instances back.

A fixture shows an embedded document as a JSON object of its fields, an array as a JSON
array, an ObjectId as its 24 hex digits (fields/natural.py); XML writes the same JSON as the
element's text (fields/xml_serializer.py). Loading gives back the types the fields hold:
ObjectId, embedded model instances, dates, datetimes and Decimals inside documents.
"""

from __future__ import annotations

import datetime
import io
import json
import xml.dom.minidom
from decimal import Decimal

import pytest
from bson import ObjectId
from django.core import serializers
from django.core.management import call_command
from django.core.serializers.base import DeserializationError
from django.db import models

from tests.fieldsapp.models import Address, Geo, Note, Person, Reply, Shop, Stock, Tagged

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
OWNER = ObjectId("65b000000000000000000001")
PARTNERS = [ObjectId("65b000000000000000000002"), ObjectId("65b000000000000000000003")]
REF = ObjectId("65b000000000000000000004")


def snapshot(value):
    """``value`` with the type of every leaf, embedded instances as dicts of their fields."""
    if isinstance(value, models.Model):
        return {
            "__model__": value._meta.label,
            **{
                field.attname: snapshot(getattr(value, field.attname))
                for field in value._meta.concrete_fields
            },
        }
    if isinstance(value, list | tuple):
        return [snapshot(item) for item in value]
    if isinstance(value, dict):
        return {key: snapshot(item) for key, item in value.items()}
    return (type(value).__name__, value)


def stored(*model_classes):
    """Every object of the models, read back from the database."""
    return [snapshot(obj) for model in model_classes for obj in model.objects.order_by("pk")]


@pytest.fixture
def shops():
    main = Shop.objects.create(
        name="Main",
        address=Address(
            city="Paris",
            street="1 rue",
            zip_code="75001",
            since=datetime.date(2020, 5, 1),
            geo=Geo(lat=48.85, lng=2.35),
        ),
        opened={"at": datetime.datetime(2020, 5, 1, 9, 0, tzinfo=UTC), "amount": Decimal("99.90")},
        history=[
            {"at": datetime.datetime(2021, 1, 2, 3, 4, 5, tzinfo=UTC), "ref": REF, "labels": ["a"]},
            {"at": datetime.datetime(2022, 2, 3, 4, 5, 6, tzinfo=UTC), "amount": Decimal("-1.25")},
        ],
        items=[
            {"name": "pen", "price": Decimal("2.50"), "quantity": 4, "tags": ["office", "blue"]},
            {"name": "ink", "price": Decimal("7.00")},
        ],
        partners=PARTNERS,
        owner=OWNER,
        extra={"floors": [1, 2], "note": None, "open": True, "rating": 4.5},
    )
    bare = Shop.objects.create(name="Bare")
    Stock.objects.create(shop=main, count=3)
    Stock.objects.create(shop=bare, count=0)
    return main, bare


def dump(*labels, fmt="json", **options):
    out = io.StringIO()
    call_command("dumpdata", *labels, format=fmt, stdout=out, **options)
    return out.getvalue()


def load(tmp_path, text, fmt="json", name="dump"):
    path = tmp_path / f"{name}.{fmt}"
    path.write_text(text)
    call_command("loaddata", str(path), verbosity=0)


def fields_of(text, model):
    return {
        record["pk"]: record["fields"] for record in json.loads(text) if record["model"] == model
    }


def test_json_fixture_shows_documents_arrays_and_objectids_naturally(shops):
    main, bare = shops
    shop_fields = fields_of(dump("fieldsapp.shop"), "fieldsapp.shop")
    assert set(shop_fields) == {str(main.pk), str(bare.pk)}
    fields = shop_fields[str(main.pk)]
    assert fields["address"] == {
        "street": "1 rue",
        "city": "Paris",
        "zip_code": "75001",
        "since": "2020-05-01",
        "geo": {"lat": 48.85, "lng": 2.35},
    }
    assert fields["opened"] == {
        "at": "2020-05-01T09:00:00Z",
        "amount": "99.90",
        "ref": None,
        "labels": [],
    }
    assert fields["history"] == [
        {"at": "2021-01-02T03:04:05Z", "amount": None, "ref": str(REF), "labels": ["a"]},
        {"at": "2022-02-03T04:05:06Z", "amount": "-1.25", "ref": None, "labels": []},
    ]
    assert fields["items"] == [
        {"name": "pen", "price": "2.50", "quantity": 4, "tags": ["office", "blue"]},
        {"name": "ink", "price": "7.00", "quantity": 1, "tags": []},
    ]
    assert fields["partners"] == [str(oid) for oid in PARTNERS]
    assert fields["owner"] == str(OWNER)
    assert fields["extra"] == {"floors": [1, 2], "note": None, "open": True, "rating": 4.5}
    assert shop_fields[str(bare.pk)] == {
        "name": "Bare",
        "address": None,
        "opened": None,
        "history": [],
        "items": None,
        "partners": [],
        "owner": None,
        "extra": None,
    }
    stock = fields_of(dump("fieldsapp.stock"), "fieldsapp.stock")
    assert sorted(record["shop"] for record in stock.values()) == sorted(
        [str(main.pk), str(bare.pk)]
    )


@pytest.mark.parametrize("fmt", ["json", "jsonl", "xml"])
def test_round_trip_gives_back_equal_instances(shops, tmp_path, fmt):
    Tagged.objects.create(
        name="t",
        tags=["x", "y"],
        scores=[1, None, 3],
        days=[datetime.date(2024, 2, 29)],
        amounts=[Decimal("1.10"), Decimal("-0.01")],
        matrix=[[1, 2], [3, 4]],
    )
    Tagged.objects.create(name="empty", tags=None, days=[], amounts=[])
    note = Note.objects.create(text="n", ref=REF)
    Reply.objects.create(note=note, text="r")
    Person.objects.create(name="p", address=Address(city="Rome", geo=Geo(lat=0.5, lng=-1)))
    model_classes = (Shop, Stock, Tagged, Note, Reply, Person)
    before = stored(*model_classes)
    text = dump("fieldsapp", fmt=fmt)
    for model in reversed(model_classes):
        model.objects.all().delete()
    assert stored(*model_classes) == []

    load(tmp_path, text, fmt)

    after = stored(*model_classes)
    assert after == before
    main = Shop.objects.get(name="Main")
    assert isinstance(main.pk, ObjectId)
    assert isinstance(main.address.geo, Geo)
    assert main.history[0].at == datetime.datetime(2021, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert main.items[0].price == Decimal("2.50")
    assert main.partners == PARTNERS


def test_xml_fixture_writes_the_same_json_as_text(shops):
    main, _bare = shops
    document = xml.dom.minidom.parseString(dump("fieldsapp.shop", fmt="xml"))
    (element,) = [
        node
        for node in document.getElementsByTagName("object")
        if node.getAttribute("pk") == str(main.pk)
    ]
    texts = {
        field.getAttribute("name"): (field.getAttribute("type"), field.firstChild.data)
        for field in element.getElementsByTagName("field")
        if field.firstChild is not None and field.firstChild.nodeType == field.TEXT_NODE
    }
    as_json = {
        name: json.loads(text)
        for name, (kind, text) in texts.items()
        if kind != "CharField" and kind != "ObjectIdField"
    }
    json_fields = fields_of(dump("fieldsapp.shop"), "fieldsapp.shop")[str(main.pk)]
    for name in ("address", "opened", "history", "items", "partners", "extra"):
        assert as_json[name] == json_fields[name], name
    assert texts["address"][0] == "EmbeddedModelField"
    assert texts["owner"] == ("ObjectIdField", str(OWNER))


def test_natural_keys_round_trip(shops, tmp_path):
    main, _bare = shops
    text = dump("fieldsapp.shop", "fieldsapp.stock", natural_foreign=True, natural_primary=True)
    records = json.loads(text)
    assert all("pk" not in record for record in records if record["model"] == "fieldsapp.shop")
    assert sorted(r["fields"]["shop"] for r in records if r["model"] == "fieldsapp.stock") == [
        ["Bare"],
        ["Main"],
    ]
    before = stored(Stock)
    Stock.objects.all().delete()
    Shop.objects.all().delete()

    load(tmp_path, text)

    loaded = Shop.objects.get(name="Main")
    assert loaded.pk != main.pk  # no pk in the fixture: a new ObjectId was made
    assert isinstance(loaded.pk, ObjectId)
    assert snapshot(loaded.address) == snapshot(main.address)
    assert sorted((stock.shop.name, stock.count) for stock in Stock.objects.all()) == [
        ("Bare", 0),
        ("Main", 3),
    ]
    assert len(before) == Stock.objects.count()


def test_hand_written_fixture_by_name():
    call_command("loaddata", "shops", verbosity=0)  # tests/fieldsapp/fixtures/shops.json
    shop = Shop.objects.get(name="Corner")
    assert isinstance(shop.pk, ObjectId)
    assert shop.address.since == datetime.date(2019, 3, 4)
    assert (shop.address.geo.lat, shop.address.geo.lng) == (45.76, 4.83)
    assert shop.address.zip_code == ""  # missing keys take the field's default
    assert shop.opened.at == datetime.datetime(2019, 3, 4, 9, 30, tzinfo=UTC)
    assert shop.opened.amount == Decimal("250.00")
    assert shop.opened.ref == ObjectId("65a000000000000000000001")
    assert [(event.amount, event.ref, event.labels) for event in shop.history] == [
        (Decimal("12.50"), None, ["sale", "winter"]),
        (None, None, []),
    ]
    assert shop.items[0].price == Decimal("1.20")
    assert shop.items[0].tags == ["fresh"]
    assert shop.partners == [
        ObjectId("65a000000000000000000002"),
        ObjectId("65a000000000000000000003"),
    ]
    assert shop.owner == ObjectId("65a000000000000000000004")
    assert shop.extra == {"hours": {"mon": [8, 19]}, "closed": None, "card": True}
    stock = Stock.objects.get(pk=500)
    assert stock.shop == shop  # natural foreign key
    # loaddata moved the __schema__ sequence past the loaded ids (ops.sequence_reset_sql).
    assert Stock.objects.create(shop=shop, count=1).pk > 500


def test_loaded_ids_are_not_handed_out_again(tmp_path):
    """ObjectId keys, arrays of ObjectIds and JSON load as they are, and the next integer id
    is past the loaded ones: an insert with an explicit id advances the __schema__ sequence,
    and loaddata syncs it afterwards (ops.sequence_reset_sql())."""
    fixture = [
        {
            "model": "fieldsapp.shop",
            "fields": {
                "name": "Kiosk",
                "partners": [str(oid) for oid in PARTNERS],
                "owner": str(OWNER),
                "extra": [1, {"a": None}],
            },
        },
        {"model": "fieldsapp.stock", "pk": 900, "fields": {"shop": ["Kiosk"], "count": 2}},
        {"model": "fieldsapp.stock", "pk": 901, "fields": {"shop": ["Kiosk"], "count": 5}},
    ]
    load(tmp_path, json.dumps(fixture))
    shop = Shop.objects.get(name="Kiosk")
    assert (shop.partners, shop.owner, shop.extra) == (PARTNERS, OWNER, [1, {"a": None}])
    assert [(stock.pk, stock.shop_id) for stock in Stock.objects.all()] == [
        (900, shop.pk),
        (901, shop.pk),
    ]
    assert Stock.objects.create(shop=shop, count=0).pk > 901


def test_fixtures_dumped_before_natural_json_still_load(tmp_path):
    """Earlier versions wrote documents and arrays as JSON text; such fixtures still load."""
    old = [
        {
            "model": "fieldsapp.shop",
            "pk": "65c000000000000000000001",
            "fields": {
                "name": "Old",
                "address": json.dumps({"city": "Oslo", "since": "2001-02-03"}),
                "history": json.dumps([{"at": "2001-02-03T04:05:06Z", "amount": "3.30"}]),
                "partners": json.dumps([str(OWNER)]),
            },
        }
    ]
    load(tmp_path, json.dumps(old))
    shop = Shop.objects.get(pk=ObjectId("65c000000000000000000001"))
    assert shop.address.since == datetime.date(2001, 2, 3)
    assert shop.history[0].amount == Decimal("3.30")
    assert shop.partners == [OWNER]


def shop_fixture(**fields):
    return [{"model": "fieldsapp.shop", "pk": str(OWNER), "fields": {"name": "Bad", **fields}}]


@pytest.mark.parametrize(
    ("fields", "messages"),
    [
        ({"address": {"city": "Rome", "colour": "red"}}, ["Unknown keys for Address: colour"]),
        (
            {"address": {"city": "Rome", "geo": {"lat": "north", "lng": 1}}},
            ["geo: lat: “north” value must be a float."],
        ),
        (
            {"partners": [str(OWNER), "not-an-objectid"]},
            ["Item 2 in the array did not validate:", "“not-an-objectid” is not a valid ObjectId."],
        ),
        (
            {"history": [{"at": "2020-01-01T00:00:00Z", "ref": "zz"}]},
            ["Item 1 in the array did not validate:", "ref: “zz” is not a valid ObjectId."],
        ),
        ({"owner": "1234"}, ["“1234” is not a valid ObjectId."]),
        ({"items": {"name": "not a list"}}, ["Enter a list of values."]),
    ],
    ids=[
        "unknown-key",
        "nested-type",
        "array-objectid",
        "embedded-array-key",
        "objectid",
        "not-a-list",
    ],
)
def test_a_wrong_value_is_a_deserialization_error_naming_the_model_and_key(
    tmp_path, fields, messages
):
    text = json.dumps(shop_fixture(**fields))
    with pytest.raises(DeserializationError) as error:
        load(tmp_path, text)
    message = str(error.value)
    assert f"(fieldsapp.shop:pk={OWNER})" in message
    for expected in messages:
        assert expected in message
    assert not Shop.objects.exists()


def test_python_serializer_values_are_plain_data(shops):
    """What the json/jsonl/yaml serializers encode: dicts, lists, str and protected types."""
    main, _bare = shops
    (record,) = serializers.serialize("python", [main])
    fields = record["fields"]
    assert record["pk"] == str(main.pk)
    assert fields["address"]["geo"] == {"lat": 48.85, "lng": 2.35}
    assert fields["address"]["since"] == datetime.date(2020, 5, 1)
    assert fields["opened"]["at"] == datetime.datetime(2020, 5, 1, 9, 0, tzinfo=UTC)
    assert fields["items"][0]["price"] == Decimal("2.50")
    assert fields["partners"] == [str(oid) for oid in PARTNERS]
