"""Test databases: creation drops stale ones, cloning copies everything, destroy drops."""

from __future__ import annotations

import pytest

from django_mongo_backend.sequences import SCHEMA_COLLECTION
from tests.backend.test_schema import db, migrate, mongo_connection  # noqa: F401


def snapshot(database):
    """Everything a clone must reproduce: options, documents and indexes per collection."""
    result = {}
    for info in database.list_collections():
        name = info["name"]
        indexes = {
            index_name: {k: v for k, v in spec.items() if k not in {"ns", "v"}}
            for index_name, spec in database[name].index_information().items()
        }
        documents = list(database[name].find({}, sort=[("_id", 1)]))
        result[name] = (info.get("options", {}), indexes, documents)
    return result


def test_clone_creates_an_identical_database(mongo_connection, monkeypatch):  # noqa: F811
    migrate(mongo_connection)
    source = db(mongo_connection)
    source["testapp_author"].insert_many(
        [{"_id": i, "name": f"a{i}", "email": "", "age": i} for i in range(1, 31)]
    )
    monkeypatch.setattr("django_mongo_backend.creation.CLONE_BATCH_SIZE", 7)  # several batches
    creation = mongo_connection.creation
    target_name = creation.get_test_db_clone_settings("3")["NAME"]
    assert target_name == f"{source.name}_3"
    try:
        creation._clone_test_db("3", verbosity=0)
        target = source.client[target_name]
        assert snapshot(target) == snapshot(source)
        assert target[SCHEMA_COLLECTION].count_documents({}) > 0
        # keepdb keeps an existing clone as it is.
        target["testapp_author"].delete_one({"_id": 1})
        creation._clone_test_db("3", verbosity=0, keepdb=True)
        assert target["testapp_author"].count_documents({}) == 29
    finally:
        source.client.drop_database(target_name)


def test_create_and_destroy_test_database(mongo_connection):  # noqa: F811
    creation = mongo_connection.creation
    name = creation._get_test_db_name()
    assert name == "test_" + mongo_connection.settings_dict["NAME"]
    client = db(mongo_connection).client
    client[name]["leftover"].insert_one({"_id": 1})
    try:
        assert creation._create_test_db(verbosity=0, autoclobber=True, keepdb=True) == name
        assert "leftover" in client[name].list_collection_names()
        assert creation._create_test_db(verbosity=0, autoclobber=True) == name
        assert name not in client.list_database_names()
        client[name]["again"].insert_one({"_id": 1})
        creation._destroy_test_db(name, verbosity=0)
        assert name not in client.list_database_names()
    finally:
        client.drop_database(name)


def test_features_allow_parallel_clones(mongo_connection):  # noqa: F811
    assert mongo_connection.features.can_clone_databases is True
    assert mongo_connection.creation.sql_table_creation_suffix() == ""
    signature = mongo_connection.creation.test_db_signature()
    assert signature[1:] != () and signature[0]


@pytest.mark.parametrize("verbosity", [0])
def test_clone_copies_views_and_validators(mongo_connection, verbosity):  # noqa: F811
    source = db(mongo_connection)
    source.create_collection(
        "checked", validator={"$jsonSchema": {"bsonType": "object", "required": ["x"]}}
    )
    source["checked"].insert_one({"_id": 1, "x": 1})
    source["checked"].create_index([("x", -1)], name="x_desc", unique=True)
    source.create_collection("checked_view", viewOn="checked", pipeline=[{"$match": {}}])
    target_name = f"{source.name}_v"
    try:
        mongo_connection.creation.clone_database(source.name, target_name)
        assert snapshot(source.client[target_name]) == snapshot(source)
    finally:
        source.client.drop_database(target_name)
