"""Which indexes may coexist on one key pattern, as MongoDB 7.0 decides (``index_identity``).

Source: ``IndexDescriptor::compareIndexOptions`` (``src/mongo/db/index/index_descriptor.cpp``)
and the catalog check that acts on it (``IndexCatalogImpl::_doesSpecConflictWithExisting``).
Since FCV 5.0 an index is identified by its key pattern, ``unique``, ``sparse``, collation and
``partialFilterExpression`` (normalized); other options (``expireAfterSeconds``...) only make an
index *equivalent*. The manual's *Partial Indexes* page (*Equivalent Indexes* example) creates two
partial indexes on one key pattern whose filters differ. Outcomes:

- another name, a distinct identity: created;
- another name, identical or equivalent: 85 ``IndexOptionsConflict``;
- the same name, a distinct identity: 86 ``IndexKeySpecsConflict``;
- the same name, equivalent: 85 ``IndexOptionsConflict``; identical: nothing happens.

A unique partial index enforces uniqueness only among the documents its filter selects
(manual, *Partial Indexes*, *Partial Index with Unique Constraint*).
"""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connections, models
from django.db.models import Q
from django.test.utils import isolate_apps
from pymongo.errors import DuplicateKeyError, OperationFailure


def index_names(collection):
    return sorted(index["name"] for index in collection.list_indexes())


def refused(create, code, code_name):
    with pytest.raises(OperationFailure) as caught:
        create()
    assert (caught.value.code, caught.value.details.get("codeName")) == (code, code_name)


def test_partial_indexes_with_distinct_filters_share_a_key_pattern(mongo_db):
    collection = mongo_db["c"]
    collection.create_index("a", unique=True, name="a_b1", partialFilterExpression={"b": 1})
    collection.create_index("a", unique=True, name="a_b2", partialFilterExpression={"b": 2})
    collection.create_index("a", name="a_plain")
    collection.create_index("a", unique=True, name="a_unique")
    collection.create_index("a", sparse=True, name="a_sparse")
    assert index_names(collection) == ["_id_", "a_b1", "a_b2", "a_plain", "a_sparse", "a_unique"]


def test_each_partial_unique_index_enforces_uniqueness_inside_its_filter(mongo_db):
    collection = mongo_db["c"]
    collection.create_index("a", unique=True, name="a_b1", partialFilterExpression={"b": 1})
    collection.create_index("a", unique=True, name="a_b2", partialFilterExpression={"b": 2})
    collection.insert_many(
        [{"a": 1, "b": 1}, {"a": 1, "b": 2}, {"a": 1, "b": 3}, {"a": 1, "b": 3}, {"a": 2, "b": 1}]
    )
    for document, index in (({"a": 1, "b": 1}, "a_b1"), ({"a": 1, "b": 2}, "a_b2")):
        with pytest.raises(DuplicateKeyError, match=index):
            collection.insert_one(document)
    with pytest.raises(DuplicateKeyError, match="a_b1"):
        collection.update_one({"a": 2}, {"$set": {"a": 1}})
    assert collection.count_documents({"a": 1}) == 4


def test_an_identical_or_equivalent_index_of_another_name_is_refused(mongo_db):
    collection = mongo_db["c"]
    collection.create_index("a", unique=True, name="a_b1", partialFilterExpression={"b": 1})
    collection.create_index("t", name="t_ttl", expireAfterSeconds=60)

    def same_filter_spelled_otherwise():
        collection.create_index(
            "a", unique=True, name="other", partialFilterExpression={"b": {"$eq": 1}}
        )

    refused(same_filter_spelled_otherwise, 85, "IndexOptionsConflict")
    refused(
        lambda: collection.create_index("t", name="t_other", expireAfterSeconds=5),
        85,
        "IndexOptionsConflict",
    )
    assert index_names(collection) == ["_id_", "a_b1", "t_ttl"]


def test_an_index_of_an_existing_name_must_be_identical(mongo_db):
    collection = mongo_db["c"]
    collection.create_index("a", unique=True, name="a_b1", partialFilterExpression={"b": 1})
    collection.create_index("t", name="t_ttl", expireAfterSeconds=60)
    refused(lambda: collection.create_index("a", name="a_b1"), 86, "IndexKeySpecsConflict")
    refused(
        lambda: collection.create_index("a", name="a_b1", partialFilterExpression={"b": 1}),
        86,
        "IndexKeySpecsConflict",
    )
    refused(lambda: collection.create_index("z", name="a_b1"), 86, "IndexKeySpecsConflict")
    refused(
        lambda: collection.create_index("t", name="t_ttl", expireAfterSeconds=5),
        85,
        "IndexOptionsConflict",
    )
    # Identical: a no-op.
    collection.create_index("a", unique=True, name="a_b1", partialFilterExpression={"b": 1})
    assert index_names(collection) == ["_id_", "a_b1", "t_ttl"]


# -- Django: two conditional UniqueConstraints on one field ------------------------------------


@pytest.fixture
def connection(django_db_blocker):
    """A connection of its own to a fresh database, registered in ``connections``."""
    base = connections["default"]
    alias = f"identity_{uuid.uuid4().hex[:8]}"
    connection = type(base)({**base.settings_dict, "NAME": f"t_{alias}"}, alias=alias)
    with django_db_blocker.unblock():
        connection.ensure_connection()
        connections[alias] = connection
        try:
            yield connection
        finally:
            del connections[alias]
            connection.connection.client.drop_database(f"t_{alias}")
            connection.close()


def test_conditional_unique_constraints_on_one_field(connection, django_db_blocker):
    """Django REST framework's test models declare such pairs (``fancy_conditions`` unique
    where ``global_id <= 1`` and where ``global_id >= 1000``)."""
    with isolate_apps("tests.testapp"):

        class Race(models.Model):
            code = models.CharField(max_length=10)
            rank = models.IntegerField()

            class Meta:
                app_label = "testapp"
                db_table = "identity_race"
                constraints = [
                    models.UniqueConstraint(
                        fields=["code"], condition=Q(rank__lte=1), name="race_code_low"
                    ),
                    models.UniqueConstraint(
                        fields=["code"], condition=Q(rank__gte=1000), name="race_code_high"
                    ),
                ]

    with django_db_blocker.unblock():
        with connection.schema_editor() as editor:
            editor.create_model(Race)
        collection = connection.connection.database["identity_race"]
        assert {"race_code_low", "race_code_high"} <= set(index_names(collection))
        objects = Race.objects.db_manager(connection.alias)
        for code, rank in (("x", 1), ("x", 1000), ("x", 500), ("x", 500)):
            objects.create(code=code, rank=rank)
        for rank in (0, 2000):
            with pytest.raises(IntegrityError):
                objects.create(code="x", rank=rank)
        assert objects.filter(code="x").count() == 4
