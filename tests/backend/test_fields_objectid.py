"""ObjectIdField and ObjectId primary keys (no __schema__ sequence involved)."""

from __future__ import annotations

import pytest
from bson import ObjectId
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_mongo_backend.fields import ObjectIdAutoField, ObjectIdField
from tests.fieldsapp.models import Note, Reply

pytestmark = pytest.mark.django_db


def sequence_entry(model):
    return connection.connection.database["__schema__"].find_one(
        {"name": model._meta.db_table}, session=connection.connection.session
    )


def test_objectid_primary_key_is_made_by_the_client_in_one_command():
    with CaptureQueriesContext(connection) as queries:
        note = Note.objects.create(text="hello")
    assert isinstance(note.pk, ObjectId)
    assert len(queries) == 1, [query["sql"] for query in queries]
    assert "__schema__" not in queries[0]["sql"]
    assert sequence_entry(Note) is None
    assert Note._meta.auto_field is None
    assert Note.objects.get(pk=note.pk).text == "hello"
    assert Note.objects.get(pk=str(note.pk)).text == "hello"  # 24 hex digits work too


def test_bulk_create_and_foreign_keys():
    notes = Note.objects.bulk_create([Note(text=str(i)) for i in range(3)])
    assert len({note.pk for note in notes}) == 3
    reply = Reply.objects.create(note=notes[1], text="re")
    assert isinstance(reply.pk, ObjectId)
    assert Reply.objects.get(note__text="1") == reply
    assert list(Note.objects.filter(replies__text="re")) == [notes[1]]
    assert sequence_entry(Reply) is None


def test_objectid_field_values_and_lookups():
    ref = ObjectId()
    Note.objects.create(text="a", ref=ref)
    Note.objects.create(text="b", ref=None)
    assert Note.objects.get(ref=ref).text == "a"
    assert Note.objects.get(ref=str(ref)).text == "a"
    assert list(Note.objects.filter(ref__in=[str(ref)]).values_list("text", flat=True)) == ["a"]
    assert list(Note.objects.exclude(ref=ref).values_list("text", flat=True)) == ["b"]
    assert isinstance(Note.objects.get(text="a").ref, ObjectId)


def test_invalid_values():
    field = ObjectIdField()
    with pytest.raises(ValidationError):
        field.clean("not-an-id", None)
    assert field.clean("0" * 24, None) == ObjectId("0" * 24)
    form_field = field.formfield()
    assert form_field.clean("a" * 24) == ObjectId("a" * 24)
    with pytest.raises(ValidationError):
        form_field.clean("xyz")


def test_deconstruct():
    _name, path, _args, kwargs = ObjectIdAutoField(primary_key=True).deconstruct()
    assert path == "django_mongo_backend.fields.ObjectIdAutoField"
    assert kwargs == {}
    field = ObjectIdAutoField(**kwargs)
    assert field.primary_key and field.default is ObjectId and not field.editable
    assert ObjectIdField(null=True).deconstruct()[1] == "django_mongo_backend.fields.ObjectIdField"
