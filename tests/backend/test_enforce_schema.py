"""ENFORCE_SCHEMA: a document lacking a model field is an error, or reads as None."""

from __future__ import annotations

import pytest
from django.db import connection

from django_mongo_backend import MigrationError
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db


@pytest.fixture
def legacy_document():
    connection.ensure_connection()
    # Written before the fields existed (or by another program): validation bypassed.
    # It goes outside the test's transaction, so it is removed explicitly afterwards.
    collection = connection.connection.database["testapp_author"]
    collection.insert_one({"_id": 424242, "name": "Old"}, bypass_document_validation=True)
    yield
    collection.delete_one({"_id": 424242})


def test_missing_field_raises_migration_error_naming_collection_id_and_field(
    legacy_document, monkeypatch
):
    monkeypatch.setitem(connection.settings_dict, "ENFORCE_SCHEMA", True)
    with pytest.raises(MigrationError) as error:
        list(Author.objects.filter(pk=424242))
    assert (error.value.collection, error.value.document_id) == ("testapp_author", 424242)
    assert error.value.field in {"email", "age"}
    assert "testapp_author" in str(error.value)


def test_missing_fields_read_as_none_without_enforcement(legacy_document, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "ENFORCE_SCHEMA", False)
    author = Author.objects.get(pk=424242)
    assert (author.name, author.email, author.age) == ("Old", None, None)


def test_values_of_present_fields_do_not_need_the_missing_ones(legacy_document):
    assert Author.objects.filter(pk=424242).values_list("name", flat=True).get() == "Old"


def test_document_breaking_the_validator_is_an_integrity_error_with_mongodb_explanation():
    from django.db import IntegrityError

    if not connection.enforce_schema:
        pytest.skip("validators exist only with ENFORCE_SCHEMA (the suite runs both ways)")
    with pytest.raises(IntegrityError, match="failed validation") as error:
        Author.objects.create(name=None)  # NOT NULL in the model, so required by the validator
    assert error.value.code == 121
