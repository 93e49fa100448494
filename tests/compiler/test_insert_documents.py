"""The documents an INSERT writes and the values an UPDATE sets (SQLInsertCompiler.insert_command,
SQLUpdateCompiler.update_command, compiler/stored_as_is.py).

The compiler copies the values a field stores unchanged instead of running Django's
``pre_save_val`` / ``prepare_value`` on each of them. Every test here builds the same objects
twice and compares what the compiler writes with what Django's generic logic gives (the
``generic`` function: every value through the whole chain, as the compiler did before), types
and key order included, so the shortcut cannot change a stored value.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import bson
import pytest
from django.db import DataError, connection, models
from django.db.models import F, Value
from django.db.models.expressions import DatabaseDefault
from django.db.models.fields import Field
from django.db.models.functions import Lower, Now
from django.db.models.sql import InsertQuery, UpdateQuery
from django.test.utils import isolate_apps
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from django_mongo_backend.compiler import SERVER_COMPUTED
from django_mongo_backend.compiler.stored_as_is import (
    _AS_IS,
    AS_IS,
    CHAIN,
    FOREIGN_KEY,
    NONE,
    as_is_types,
    chain_owners,
)
from django_mongo_backend.operations import document_key
from tests.testapp.models import AllTypes, Author, Book

NOW = datetime.datetime(2024, 2, 29, 12, 30, 15, 123456, tzinfo=datetime.UTC)


def compiler_for(model, objs, fields=None, raw=False):
    """The insert compiler Django's ``_insert`` makes (``bulk_create`` leaves the auto field
    out for objects without a primary key)."""
    if fields is None:
        fields = [
            field
            for field in model._meta.concrete_fields
            if not field.generated and field is not model._meta.auto_field
        ]
    query = InsertQuery(model)
    query.insert_values(fields, objs, raw=raw)
    return query.get_compiler(connection=connection)


def generic(compiler):
    """Django's logic for every value: pre_save, database defaults, get_db_prep_save, then
    constant expressions (SERVER_COMPUTED left as None, as the compiler leaves them)."""
    documents = []
    for obj in compiler.query.objs:
        document = {}
        for field in compiler.query.fields:
            value = compiler.pre_save_val(field, obj)
            if isinstance(value, DatabaseDefault):
                value = value.expression
            value = compiler.prepare_value(field, value)
            if hasattr(value, "resolve_expression"):
                value = compiler.insert_constant(field, value)
                if value is SERVER_COMPUTED:
                    value = None
            document[document_key(field)] = value
        documents.append(document)
    return documents


def typed(value):
    """``value`` with the type of every scalar in it, so that 1 and 1.0 and True differ."""
    if isinstance(value, dict):
        return [(key, typed(item)) for key, item in value.items()]  # key order counts
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, float) and value != value:
        return (float, "nan")
    return (type(value), value)


def assert_same_documents(make_objs, model=None, fields=None, raw=False):
    """The compiler's documents for ``make_objs()`` are Django's generic ones; returns them."""
    objs = make_objs()
    model = model or type(objs[0])
    _command, documents, _computed = compiler_for(model, objs, fields, raw).insert_command()
    expected = generic(compiler_for(model, make_objs(), fields, raw))
    assert typed(documents) == typed(expected)
    return documents


@pytest.fixture
def frozen_now(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


ALL_TYPES = {
    "big": 2**62,
    "small": -32768,
    "flag": False,
    "text": "ünïcode ✓",
    "char": "$where",
    "decimal": Decimal("12345678901234.123456"),
    "floating": 1.5e-300,
    "day": datetime.date(1969, 7, 20),
    "moment": datetime.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=datetime.UTC),
    "clock": datetime.time(13, 45, 7, 250000),
    "duration": datetime.timedelta(days=-3, seconds=5, microseconds=7),
    "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "data": {"b": [1, (2, 3), {"c": None}], "a": 1.5},
    "blob": b"\x00\x01binary\xff",
    "ip": "2001:db8::1",
    "slug": "a-slug",
}

#: Values of another type than the field's own, which the field converts (or keeps).
CONVERTED = {
    "big": True,  # a bool in an integer field is stored as 1
    "small": 7.9,  # int(7.9)
    "flag": 1,  # bool(1)
    "text": 12,  # str(12)
    "char": gettext_lazy("lazy"),  # a lazy string becomes a str
    "decimal": 3,
    "floating": 2,  # an int in a FloatField is stored as 2.0
    "day": datetime.datetime(2020, 1, 2, 3, 4, 5),
    "moment": "2024-01-02 03:04:05.678901+02:00",
    "clock": "10:11:12",
    "duration": datetime.timedelta(0),
    "uid": "12345678123456781234567812345678",
    "data": [1, "two"],
    "blob": bytearray(b"x"),
    "ip": "::ffff:10.0.0.1",
    "slug": mark_safe("safe"),  # a str subclass: kept as it is, through the chain
}


def test_every_type_as_given_converted_and_null():
    def make():
        return [
            AllTypes(**ALL_TYPES),
            AllTypes(**CONVERTED),
            AllTypes(),  # every column None
            AllTypes(char="", text="", flag=True, big=0, floating=-0.0),
        ]

    documents = assert_same_documents(make)
    assert typed(documents[1])[6] == ("floating", (float, 2.0))
    assert typed(documents[1])[0] == ("big", (int, 1))


def test_foreign_keys_and_defaults():
    ann = Author(pk=4, name="Ann")

    def make():
        return [
            Book(title="One", author=ann, pages=3),
            Book(title="Two", author_id=5, editor_id=None),  # pages from its default
            Book(title=gettext_lazy("Three"), author_id="6", price=Decimal("1.50")),
        ]

    documents = assert_same_documents(make)
    assert documents[1]["pages"] == 0
    assert typed(documents[2])[1] == ("author_id", (int, 6))


def test_raw_inserts_read_the_attributes(frozen_now):
    with isolate_apps("tests.testapp"):

        class Stamped(models.Model):
            name = models.CharField(max_length=20)
            created = models.DateTimeField(auto_now_add=True)
            changed = models.DateTimeField(auto_now=True, null=True)

            class Meta:
                app_label = "testapp"

        # raw=True (fixtures) skips pre_save: auto_now does not apply.
        documents = assert_same_documents(
            lambda: [Stamped(name="a", created=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))],
            raw=True,
        )
        assert documents[0]["changed"] is None
        documents = assert_same_documents(lambda: [Stamped(name="a"), Stamped(name="b")])
        assert (
            documents[0]["created"]
            == documents[0]["changed"]
            == datetime.datetime(2024, 2, 29, 12, 30, 15, 123000)
        )


class Shouting(models.CharField):
    """A subclass with its own get_db_prep_save."""

    def get_db_prep_save(self, value, connection):
        value = super().get_db_prep_save(value, connection)
        return value.upper() if isinstance(value, str) else value


class Prefixing(models.Field):
    """A base that CharField.get_prep_value reaches through super() in PrefixedChar."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else f"p:{value}"


class PrefixedChar(models.CharField, Prefixing):
    pass


class Plain(models.CharField):
    """A subclass that changes nothing on the way to the database."""

    description = "plain"


class Counting(models.IntegerField):
    """pre_save with a side effect: it numbers the values in the order they are prepared."""

    calls: list = []

    def pre_save(self, model_instance, add):
        self.calls.append((model_instance.name, self.name))
        return len(self.calls)


def next_number():
    next_number.count += 1
    return next_number.count


next_number.count = 0


def test_custom_fields_defaults_and_database_defaults(frozen_now):
    with isolate_apps("tests.testapp"):

        class Custom(models.Model):
            name = models.CharField(max_length=20)
            loud = Shouting(max_length=20)
            prefixed = PrefixedChar(max_length=20, null=True)
            plain = Plain(max_length=20)
            first = Counting()
            second = Counting()
            numbered = models.IntegerField(default=next_number)
            fixed = models.IntegerField(db_default=7)
            stamp = models.DateTimeField(db_default=Now())
            lowered = models.CharField(max_length=20, db_default=Lower(Value("ABC")))
            data = models.JSONField(default=dict)
            uid = models.UUIDField(default=uuid.uuid4)
            price = models.DecimalField(max_digits=10, decimal_places=3, default=Decimal("1.5"))

            class Meta:
                app_label = "testapp"

        assert as_is_types(Custom._meta.get_field("plain"), connection) == {str, NONE}
        for name in ("loud", "prefixed", "first", "data", "uid", "price"):
            assert not as_is_types(Custom._meta.get_field(name), connection), name
        uid = uuid.uuid4()

        def make():
            next_number.count = 0
            Counting.calls.clear()
            return [
                Custom(name="a", loud="quiet", prefixed="x", plain="y", uid=uid),
                Custom(name="b", loud="b", prefixed=None, plain="z", fixed=3, uid=uid),
                Custom(name="c", loud="c", plain="w", lowered="given", data={"k": [1]}, uid=uid),
            ]

        documents = assert_same_documents(make)
        assert [d["loud"] for d in documents] == ["QUIET", "B", "C"]
        assert [d["prefixed"] for d in documents] == ["p:x", None, None]
        assert [d["numbered"] for d in documents] == [1, 2, 3]
        assert [d["fixed"] for d in documents] == [7, 3, 7]
        # pre_save runs row by row, field by field, as Django runs it.
        assert [(d["first"], d["second"]) for d in documents] == [(1, 2), (3, 4), (5, 6)]
        assert documents[0]["stamp"] == datetime.datetime(2024, 2, 29, 12, 30, 15, 123000)
        # Lower(Value(...)) is computed by the server before the insert.
        _command, _documents, computed = compiler_for(Custom, make()).insert_command()
        assert [key for (_index, key) in computed] == ["lowered", "lowered"]


class NoEmptyChar(models.CharField):
    """Its chain is CharField's, but an empty string is no value of it."""

    empty_strings_allowed = False


def test_foreign_keys_to_text_keys():
    with isolate_apps("tests.testapp"):

        class Coded(models.Model):
            code = models.CharField(max_length=10, primary_key=True)

            class Meta:
                app_label = "testapp"

        class Strict(models.Model):
            code = NoEmptyChar(max_length=10, primary_key=True)

            class Meta:
                app_label = "testapp"

        class Pointing(models.Model):
            coded = models.ForeignKey(Coded, models.CASCADE, null=True)
            strict = models.ForeignKey(Strict, models.CASCADE, null=True)

            class Meta:
                app_label = "testapp"

        assert as_is_types(Pointing._meta.get_field("coded"), connection) == {str, NONE}
        assert as_is_types(Pointing._meta.get_field("strict"), connection) == {NONE}
        documents = assert_same_documents(
            lambda: [
                Pointing(coded_id="", strict_id=""),
                Pointing(coded_id="a", strict_id="b"),
                Pointing(coded_id=None, strict_id=None),
            ]
        )
        assert [(d["coded_id"], d["strict_id"]) for d in documents] == [
            ("", None),
            ("a", "b"),
            (None, None),
        ]


def test_a_method_replaced_on_the_field_instance(monkeypatch):
    field = Author._meta.get_field("name")
    assert as_is_types(field, connection) == {str, NONE}
    monkeypatch.setattr(field, "get_prep_value", lambda value: f"<{value}>", raising=False)
    assert not as_is_types(field, connection)
    documents = assert_same_documents(lambda: [Author(name="Ann")])
    assert documents[0]["name"] == "<Ann>"


def test_expressions_and_refused_values_fail_as_before():
    def outcome(build, make):
        try:
            build(compiler_for(Author, make()))
        except Exception as error:  # whichever it is, the generic path's must be the same
            return type(error), str(error)
        return None

    for make in (
        lambda: [Author(name="a", age=F("age"))],
        lambda: [Author(name="a", age="not a number")],
    ):
        refused = outcome(lambda compiler: compiler.insert_command(), make)
        assert refused is not None
        assert refused == outcome(generic, make)
    assert_same_documents(lambda: [Author(name=Value("from a Value"), age=Value(3))])
    with pytest.raises(DataError, match="Decimal128"):
        compiler_for(AllTypes, [AllTypes(decimal=Decimal("1e7000"))]).insert_command()


@pytest.mark.parametrize(("klass", "entry"), list(_AS_IS.items()), ids=[k.__name__ for k in _AS_IS])
def test_the_table_holds_for_the_installed_django(klass, entry):
    """Each field class of the table returns its values of those types themselves, through
    Django's own chain on this connection."""
    types, _operations = entry
    samples = {
        str: ["", "x", "ünï ✓", "$where"],
        int: [0, -1, 2**31, 2**62, -(2**63)],
        float: [0.0, -0.0, 1.5, -1e300, float("inf"), float("nan")],
        bool: [True, False],
        NONE: [None],
    }
    options = {"primary_key": True} if klass is models.AutoField else {"max_length": 9}
    for null in (False, True):
        field = klass(null=null, **options)
        field.set_attributes_from_name("column")
        for value_type in types:
            for value in samples[value_type]:
                assert field.get_db_prep_save(value, connection) is value, (klass, value)
    # pre_save is Field's getattr for every class of the table and for foreign keys.
    for owners in (*AS_IS, FOREIGN_KEY):
        assert [klass for klass in owners if "pre_save" in vars(klass)] == [Field]


def test_which_fields_store_values_as_they_are():
    assert as_is_types(Book._meta.get_field("author"), connection) == {int, NONE}
    assert as_is_types(Book._meta.get_field("price"), connection) == set()
    assert as_is_types(AllTypes._meta.get_field("slug"), connection) == {str, NONE}
    assert as_is_types(AllTypes._meta.get_field("moment"), connection) == set()
    # A mixin under CharField changes the chain's owners, a subclass that overrides nothing
    # of the chain does not.
    assert chain_owners(PrefixedChar) == (models.CharField, Prefixing, Field)
    assert chain_owners(Plain) == chain_owners(models.CharField)
    assert set(CHAIN) <= set(vars(Field))


@pytest.mark.django_db
def test_bulk_create_writes_the_generic_documents():
    def make():
        return [AllTypes(**ALL_TYPES), AllTypes(**CONVERTED), AllTypes()]

    collection = connection.connection.database[AllTypes._meta.db_table]
    # What the generic documents read back as (int64 as Int64, tuples as lists...).
    options = collection.codec_options
    expected = [
        bson.decode(bson.encode(document, codec_options=options), codec_options=options)
        for document in generic(compiler_for(AllTypes, make()))
    ]
    created = AllTypes.objects.bulk_create(make())
    stored = collection.find(
        {"_id": {"$in": [obj.pk for obj in created]}},
        sort=[("_id", 1)],
        session=connection.connection.session,  # inside the test's transaction
    )
    for document, obj, generic_document in zip(stored, created, expected, strict=True):
        assert document.pop("_id") == obj.pk
        assert typed(document) == typed(generic_document)


@pytest.mark.parametrize("values", [ALL_TYPES, CONVERTED, dict.fromkeys(ALL_TYPES)])
def test_update_sets_what_get_db_prep_save_gives(values):
    """update() (and save() of a stored object) skips get_db_prep_save for the same values."""
    query = UpdateQuery(AllTypes)
    query.add_update_values(values)
    _match, update = query.get_compiler(connection=connection).update_command().args
    expected = {}
    for name, value in values.items():
        field = AllTypes._meta.get_field(name)
        expected[document_key(field)] = field.get_db_prep_save(value, connection)
    assert typed(update) == typed({"$set": expected})
