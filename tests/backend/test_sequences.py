"""Integer ids from the __schema__ collection: format, round trips, explicit ids, flush."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.testapp.models import Natural, Tag

pytestmark = pytest.mark.django_db


def schema_entry(collection):
    return connection.connection.database["__schema__"].find_one({"name": collection}, {"_id": 0})


def test_schema_document_format():
    tag = Tag.objects.create(name="a")
    assert schema_entry("testapp_tag") == {
        "name": "testapp_tag",
        "auto": {"field_names": ["id"], "seq": tag.pk},
    }


def test_primary_key_is_stored_as_id():
    tag = Tag.objects.create(name="a")
    document = connection.connection.database["testapp_tag"].find_one(
        {"name": "a"},
        session=connection.connection.session,  # inside the test's transaction
    )
    assert document == {"_id": tag.pk, "name": "a"}


def test_save_of_new_object_is_two_commands():
    with CaptureQueriesContext(connection) as queries:
        Tag.objects.create(name="two")
    assert len(queries) == 2, [q["sql"] for q in queries]


def test_bulk_create_is_two_commands_whatever_the_size():
    with CaptureQueriesContext(connection) as queries:
        tags = Tag.objects.bulk_create([Tag(name=f"n{i}") for i in range(1000)])
    assert len(queries) == 2
    ids = [tag.pk for tag in tags]
    assert ids == list(range(ids[0], ids[0] + 1000))


def test_get_is_one_command():
    tag = Tag.objects.create(name="g")
    with CaptureQueriesContext(connection) as queries:
        Tag.objects.get(pk=tag.pk)
    assert len(queries) == 1


def test_explicit_pk_raises_the_sequence():
    explicit = Tag.objects.create(pk=10_000, name="explicit")
    after = Tag.objects.create(name="after")
    assert after.pk > explicit.pk
    assert schema_entry("testapp_tag")["auto"]["seq"] >= 10_001


def test_non_auto_primary_keys_do_not_touch_schema():
    Natural.objects.create(code="x", label="X")
    assert schema_entry("testapp_natural") is None


@pytest.mark.django_db(transaction=True)
def test_flush_resets_sequences():
    Tag.objects.create(name="before")
    call_command("flush", interactive=False, reset_sequences=True, verbosity=0)
    assert Tag.objects.create(name="first").pk == 1


def test_migrated_contrib_apps_have_one_schema_entry_per_auto_field_collection():
    from django.apps import apps

    expected = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.auto_field is not None and model._meta.managed
    }
    assert {"auth_user", "auth_group", "django_content_type", "django_admin_log"} <= expected
    entries = list(
        connection.connection.database["__schema__"].find(
            {}, {"_id": 0}, session=connection.connection.session
        )
    )
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names))
    assert expected <= set(names)
    for entry in entries:
        assert entry["auto"]["field_names"] == ["id"]
        assert isinstance(entry["auto"]["seq"], int)


def test_loaddata_inside_a_transaction_resets_sequences_outside_it(tmp_path):
    # The test runs inside atomic() (as every TestCase does). loaddata raises the sequence past
    # the ids it loaded through a cursor in its own atomic(); reservations outside the
    # transaction changed that sequence document after the transaction's snapshot, so MongoDB
    # refuses the transaction's write to it (WriteConflict, "Transactions: Production
    # Considerations"): the sequence must be written outside the transaction.
    Tag.objects.create(name="before")  # a reservation outside, an insert inside
    fixture = tmp_path / "tags.json"
    fixture.write_text('[{"model": "testapp.tag", "pk": 700, "fields": {"name": "loaded"}}]')
    call_command("loaddata", str(fixture), verbosity=0)
    assert Tag.objects.get(pk=700).name == "loaded"
    assert Tag.objects.create(name="after").pk > 700
