"""Introspection of migrated collections: tables, constraints, primary keys, descriptions."""

from __future__ import annotations

import pytest
from django.db import connections

from django_mongo_backend.sequences import SCHEMA_COLLECTION
from tests.backend.test_schema import db, migrate, mongo_connection  # noqa: F401
from tests.testapp.models import Author, Indexed, Natural


@pytest.fixture
def migrated(mongo_connection):  # noqa: F811
    migrate(mongo_connection)
    return mongo_connection


def test_table_names_hide_schema_and_system_collections(migrated):
    db(migrated).create_collection("system.buckets.x")
    names = migrated.introspection.table_names()
    assert "django_migrations" in names and "testapp_indexed" in names
    assert SCHEMA_COLLECTION not in names
    assert not any(name.startswith("system.") for name in names)
    assert set(migrated.introspection.django_table_names(only_existing=True)) >= {
        "auth_user",
        "testapp_book_tags",
    }


def test_views_are_listed_as_views(migrated):
    """listCollections reports a view with type "view" (manual, listCollections)."""
    db(migrated).create_collection("author_view", viewOn="testapp_author", pipeline=[])
    info = next(db(migrated).list_collections(filter={"name": "author_view"}))
    assert info["type"] == "view"
    tables = {t.name: t.type for t in migrated.introspection.get_table_list(None)}
    assert tables["author_view"] == "v"
    assert "author_view" in migrated.introspection.table_names(include_views=True)
    assert "author_view" not in migrated.introspection.table_names()


def test_get_constraints_from_indexes(migrated):
    constraints = migrated.introspection.get_constraints(None, Indexed._meta.db_table)
    assert constraints["_id_"]["primary_key"] is True
    assert constraints["_id_"]["columns"] == ["id"]
    ordered = constraints["group_rank_idx"]
    assert (ordered["columns"], ordered["orders"], ordered["unique"]) == (
        ["group", "rank"],
        ["ASC", "DESC"],
        False,
    )
    partial = constraints["unique_rank_in_group"]
    assert partial["unique"] is True
    assert partial["options"]["partialFilterExpression"] == {
        "rank": {"$exists": True, "$type": ["int", "long"]}
    }
    assert any(c["columns"] == ["slug"] and c["unique"] for c in constraints.values())
    assert all(c["foreign_key"] is None for c in constraints.values())


def test_primary_keys_relations_and_sequences(migrated):
    introspection = migrated.introspection
    assert introspection.get_primary_key_column(None, Natural._meta.db_table) == "code"
    assert introspection.get_primary_key_column(None, "django_session") == "session_key"
    assert introspection.get_primary_key_column(None, Author._meta.db_table) == "id"
    assert introspection.get_relations(None, "testapp_book") == {}
    assert introspection.get_sequences(None, "django_content_type") == [
        {"table": "django_content_type", "column": "id"}
    ]
    fields = Author._meta.local_fields
    assert introspection.get_sequences(None, "testapp_author", fields) == [
        {"table": "testapp_author", "column": "id"}
    ]
    assert introspection.get_sequences(None, "testapp_natural", Natural._meta.local_fields) == []


def test_table_description_from_documents(migrated):
    db(migrated)["testapp_author"].insert_many(
        [
            {"_id": 1, "name": "Ann", "email": "", "age": 30},
            {"_id": 2, "name": "Bob", "email": "b@x", "age": None},
        ]
    )
    description = {
        info.name: info
        for info in migrated.introspection.get_table_description(None, "testapp_author")
    }
    assert next(iter(description)) == "id"
    assert description["name"].type_code == "string" and description["name"].null_ok is False
    assert description["age"].type_code == "int" and description["age"].null_ok is True
    assert migrated.introspection.get_field_type("string", description["name"]) == "TextField"


def test_default_connection_introspection_is_usable(django_db_blocker):
    with django_db_blocker.unblock():
        assert isinstance(connections["default"].introspection.table_names(), list)
