"""The schema editor: migrate, validators, indexes, and field changes on existing documents.

Each test gets a database of its own through a private connection (``mongo_connection``), so it
does not depend on the test database set-up; assertions read the server through pymongo.
"""

from __future__ import annotations

import contextlib
import io
import uuid

import pytest
from bson.max_key import MaxKey
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, NotSupportedError, connections, models
from django.db.models import Value
from django.db.models.functions import Upper
from django.test.utils import isolate_apps
from pymongo.errors import DuplicateKeyError, WriteError

from django_mongo_backend.sequences import SCHEMA_COLLECTION
from tests.testapp.models import Indexed


@pytest.fixture(params=[True, False], ids=["enforce", "no-enforce"])
def mongo_connection(request, django_db_blocker):
    """A connection of its own to a fresh database, registered in ``connections``."""
    base = connections["default"]
    alias = f"schema_{uuid.uuid4().hex[:8]}"
    settings = {
        **base.settings_dict,
        "NAME": f"t_{request.node.name[:30]}_{alias}".replace("[", "_").replace("]", ""),
        "ENFORCE_SCHEMA": request.param,
    }
    connection = type(base)(settings, alias=alias)
    with django_db_blocker.unblock():
        connection.ensure_connection()
        client = connection.connection.client
        client.drop_database(settings["NAME"])
        connections[alias] = connection
        try:
            yield connection
        finally:
            del connections[alias]
            client.drop_database(settings["NAME"])
            connection.close()


def db(connection):
    return connection.connection.database


def index_keys(connection, collection):
    return {
        name: (info["key"], info.get("unique", False), info.get("partialFilterExpression"))
        for name, info in db(connection)[collection].index_information().items()
    }


def validator(connection, collection):
    info = next(db(connection).list_collections(filter={"name": collection}))
    return info.get("options", {}).get("validator")


def migrate(connection):
    call_command("migrate", database=connection.alias, verbosity=0, interactive=False)


# -- migrate ---------------------------------------------------------------------------------


def test_migrate_creates_contrib_and_testapp_collections(mongo_connection):
    migrate(mongo_connection)
    names = set(db(mongo_connection).list_collection_names())
    assert {
        "django_migrations",
        "django_content_type",
        "django_session",
        "django_admin_log",
        "auth_user",
        "auth_group",
        "auth_permission",
        "auth_user_groups",
        "auth_group_permissions",
        "auth_user_user_permissions",
        "testapp_author",
        "testapp_book",
        "testapp_book_tags",
        "testapp_indexed",
        SCHEMA_COLLECTION,
    } <= names

    def keys(collection, unique=None):
        return {
            tuple(key)
            for key, is_unique, _ in index_keys(mongo_connection, collection).values()
            if unique is None or is_unique == unique
        }

    assert (("username", 1),) in keys("auth_user", unique=True)
    assert (("app_label", 1), ("model", 1)) in keys("django_content_type", unique=True)
    assert (("content_type_id", 1), ("codename", 1)) in keys("auth_permission", unique=True)
    assert (("expire_date", 1),) in keys("django_session", unique=False)
    assert (("book_id", 1), ("tag_id", 1)) in keys("testapp_book_tags", unique=True)
    assert (("author_id", 1),) in keys("testapp_book", unique=False)
    indexed = index_keys(mongo_connection, "testapp_indexed")
    assert indexed["group_rank_idx"][0] == [("group", 1), ("rank", -1)]
    assert indexed["unique_rank_in_group"][1] is True
    assert indexed["unique_rank_in_group"][2] == {
        "rank": {"$exists": True, "$type": ["int", "long"]}
    }
    # contrib's removed field is gone from the validator and from stored documents.
    content_types = db(mongo_connection)["django_content_type"]
    assert content_types.count_documents({}) > 0
    assert content_types.count_documents({"name": {"$exists": True}}) == 0


def test_schema_collection_format(mongo_connection):
    migrate(mongo_connection)
    schema = db(mongo_connection)[SCHEMA_COLLECTION]
    assert index_keys(mongo_connection, SCHEMA_COLLECTION)["name_unique"][:2] == (
        [("name", 1)],
        True,
    )
    entry = schema.find_one({"name": "django_content_type"})
    count = db(mongo_connection)["django_content_type"].count_documents({})
    assert entry["auto"] == {"field_names": ["id"], "seq": count}
    assert set(entry) == {"_id", "name", "auto"}


def test_validators_follow_enforce_schema(mongo_connection):
    with mongo_connection.schema_editor() as editor:
        editor.create_model(Indexed)
    rules = validator(mongo_connection, "testapp_indexed")
    if not mongo_connection.enforce_schema:
        assert rules is None
        return
    schema = rules["$jsonSchema"]
    assert schema["required"] == ["_id", "name", "slug", "group"]
    assert schema["properties"]["rank"] == {"bsonType": ["int", "long", "null"]}
    assert schema["properties"]["name"] == {"bsonType": "string", "maxLength": 50}
    collection = db(mongo_connection)["testapp_indexed"]
    collection.insert_one({"_id": 1, "name": "a", "slug": "a", "group": 1, "rank": None})
    with pytest.raises(WriteError):
        collection.insert_one({"_id": 2, "name": 5, "slug": "b", "group": 1, "rank": None})
    with pytest.raises(WriteError):
        collection.insert_one({"_id": 3, "slug": "c", "group": 1, "rank": None})


def test_create_model_indexes_and_sequence_index(mongo_connection):
    with mongo_connection.schema_editor() as editor:
        editor.create_model(Indexed)
    indexes = index_keys(mongo_connection, "testapp_indexed")
    by_key = {tuple(key): (unique, partial) for key, unique, partial in indexes.values()}
    assert by_key[(("name", 1),)] == (False, None)
    assert by_key[(("slug", 1),)] == (True, None)
    assert by_key[(("group", 1), ("rank", -1))] == (False, None)
    assert "name_unique" in index_keys(mongo_connection, SCHEMA_COLLECTION)
    # One __schema__ entry per collection with an auto field, at 0, from the start.
    entries = list(db(mongo_connection)[SCHEMA_COLLECTION].find({}, {"_id": False}))
    assert entries == [{"name": "testapp_indexed", "auto": {"field_names": ["id"], "seq": 0}}]


def test_nullable_unique_fields_keep_nulls_distinct(mongo_connection):
    with isolate_apps("tests.testapp"):

        class Badge(models.Model):
            code = models.CharField(max_length=10, unique=True, null=True)

            class Meta:
                app_label = "testapp"
                db_table = "schema_badge"

    with mongo_connection.schema_editor() as editor:
        editor.create_model(Badge)
    collection = db(mongo_connection)["schema_badge"]
    collection.insert_many([{"_id": 1, "code": None}, {"_id": 2, "code": None}])
    collection.insert_one({"_id": 3, "code": "x"})
    with pytest.raises(Exception, match="duplicate key"):
        collection.insert_one({"_id": 4, "code": "x"})


def test_delete_model_drops_collection_and_sequence(mongo_connection):
    with mongo_connection.schema_editor() as editor:
        editor.create_model(Indexed)
    assert db(mongo_connection)[SCHEMA_COLLECTION].count_documents({}) == 1
    with mongo_connection.schema_editor() as editor:
        editor.delete_model(Indexed)
    assert "testapp_indexed" not in db(mongo_connection).list_collection_names()
    assert db(mongo_connection)[SCHEMA_COLLECTION].count_documents({}) == 0


# -- fields on existing documents ------------------------------------------------------------


@pytest.fixture
def thing(mongo_connection):
    """A model created in the test, with three documents stored."""
    with isolate_apps("tests.testapp"):

        class Thing(models.Model):
            name = models.CharField(max_length=20)

            class Meta:
                app_label = "testapp"
                db_table = "schema_thing"

    with mongo_connection.schema_editor() as editor:
        editor.create_model(Thing)
    db(mongo_connection)["schema_thing"].insert_many(
        [{"_id": i, "name": f"n{i}"} for i in (1, 2, 3)]
    )
    return Thing


def new_field(field, name):
    field.set_attributes_from_name(name)
    return field


def documents(connection):
    return list(db(connection)["schema_thing"].find({}, sort=[("_id", 1)]))


def test_add_field_with_default_backfills_in_one_update(mongo_connection, thing):
    field = new_field(models.IntegerField(default=7, db_index=True), "count")
    with mongo_connection.schema_editor() as editor:
        editor.add_field(thing, field)
    assert [doc["count"] for doc in documents(mongo_connection)] == [7, 7, 7]
    assert ("count", 1) in [
        key[0] for key, *_ in index_keys(mongo_connection, "schema_thing").values()
    ]
    if mongo_connection.enforce_schema:
        schema = validator(mongo_connection, "schema_thing")["$jsonSchema"]
        assert "count" in schema["required"]


def test_add_nullable_field_sets_null(mongo_connection, thing):
    field = new_field(models.DateTimeField(null=True), "seen")
    with mongo_connection.schema_editor() as editor:
        editor.add_field(thing, field)
    assert all("seen" in doc and doc["seen"] is None for doc in documents(mongo_connection))


def test_add_json_field_backfills_json_null_and_sql_null_apart(mongo_connection, thing):
    """A JSONField's db_default / default of JSONNull() (Value(None, JSONField())) is the JSON
    null, stored as MaxKey; a nullable one without a default is SQL NULL (docs/fields.rst)."""
    json_null = Value(None, models.JSONField())
    fields = [
        new_field(models.JSONField(db_default=json_null), "by_db_default"),
        new_field(models.JSONField(default=json_null), "by_default"),
        new_field(models.JSONField(null=True), "nothing"),
    ]
    with mongo_connection.schema_editor() as editor:
        for field in fields:
            editor.add_field(thing, field)
    for doc in documents(mongo_connection):
        assert isinstance(doc["by_db_default"], MaxKey)
        assert isinstance(doc["by_default"], MaxKey)
        assert doc["nothing"] is None


def test_remove_field_unsets_and_drops_its_indexes(mongo_connection, thing):
    field = new_field(models.CharField(max_length=5, unique=True, null=True), "code")
    with mongo_connection.schema_editor() as editor:
        editor.add_field(thing, field)
    assert len(index_keys(mongo_connection, "schema_thing")) == 2
    with mongo_connection.schema_editor() as editor:
        editor.remove_field(thing, field)
    assert all("code" not in doc for doc in documents(mongo_connection))
    assert list(index_keys(mongo_connection, "schema_thing")) == ["_id_"]


def test_add_stored_generated_field_computes_it_in_every_document(mongo_connection, thing):
    """A migration adding a stored GeneratedField fills it in as the server would have on
    each write (compiler/generated.py); removing it unsets it."""
    field = models.GeneratedField(
        expression=Upper("name"), output_field=models.CharField(max_length=20), db_persist=True
    )
    field.contribute_to_class(thing, "shout")  # the model of this test only (isolate_apps)
    with mongo_connection.schema_editor() as editor:
        editor.add_field(thing, field)
    assert [doc["shout"] for doc in documents(mongo_connection)] == ["N1", "N2", "N3"]
    if mongo_connection.enforce_schema:
        schema = validator(mongo_connection, "schema_thing")["$jsonSchema"]
        assert "shout" in schema["required"]
    with mongo_connection.schema_editor() as editor:
        editor.remove_field(thing, field)
    assert all("shout" not in doc for doc in documents(mongo_connection))


def test_rename_field_renames_stored_keys_and_indexes(mongo_connection, thing):
    old = thing._meta.get_field("name")
    indexed = new_field(models.CharField(max_length=20, db_index=True), "name")
    with mongo_connection.schema_editor() as editor:
        editor.alter_field(thing, old, indexed)
    renamed = new_field(models.CharField(max_length=20, db_index=True), "title")
    with mongo_connection.schema_editor() as editor:
        editor.alter_field(thing, indexed, renamed, strict=True)
    assert [doc.get("title") for doc in documents(mongo_connection)] == ["n1", "n2", "n3"]
    assert all("name" not in doc for doc in documents(mongo_connection))
    keys = [key for key, *_ in index_keys(mongo_connection, "schema_thing").values()]
    assert [("title", 1)] in keys and [("name", 1)] not in keys


def test_alter_field_adds_and_drops_unique(mongo_connection, thing):
    old = thing._meta.get_field("name")
    unique = new_field(models.CharField(max_length=20, unique=True), "name")
    with mongo_connection.schema_editor() as editor:
        editor.alter_field(thing, old, unique, strict=True)
    assert any(u for _, u, _ in index_keys(mongo_connection, "schema_thing").values() if u)
    assert len(index_keys(mongo_connection, "schema_thing")) == 2
    with mongo_connection.schema_editor() as editor:
        editor.alter_field(thing, unique, old, strict=True)
    assert list(index_keys(mongo_connection, "schema_thing")) == ["_id_"]


def test_alter_field_type_converts_values(mongo_connection, thing):
    field = new_field(models.IntegerField(default=5), "size")
    with mongo_connection.schema_editor() as editor:
        editor.add_field(thing, field)
    text = new_field(models.CharField(max_length=5, default="5"), "size")
    with mongo_connection.schema_editor() as editor:
        editor.alter_field(thing, field, text)
    assert [doc["size"] for doc in documents(mongo_connection)] == ["5", "5", "5"]


def test_alter_db_table_renames_collection_and_sequence(mongo_connection, thing):
    with mongo_connection.schema_editor() as editor:
        editor.alter_db_table(thing, "schema_thing", "schema_renamed")
    names = db(mongo_connection).list_collection_names()
    assert "schema_renamed" in names and "schema_thing" not in names
    assert db(mongo_connection)[SCHEMA_COLLECTION].find_one({"name": "schema_renamed"})
    assert not db(mongo_connection)[SCHEMA_COLLECTION].find_one({"name": "schema_thing"})


# -- what MongoDB cannot express -------------------------------------------------------------


@pytest.mark.parametrize("column", ["$where", "a.b", "nul\0l", "_id"])
def test_invalid_document_keys_name_model_and_field(mongo_connection, thing, column):
    field = new_field(models.IntegerField(null=True, db_column=column), "bad")
    with (
        pytest.raises(NotSupportedError, match=r"testapp\.Thing\.bad"),
        mongo_connection.schema_editor() as editor,
    ):
        editor.add_field(thing, field)


@pytest.fixture
def priced(mongo_connection):
    """A model with a CheckConstraint (price >= 0 or NULL, SQL's rule) created in the test."""
    with isolate_apps("tests.testapp"):

        class Priced(models.Model):
            name = models.CharField(max_length=5)
            price = models.IntegerField(null=True)
            stock = models.PositiveIntegerField(default=0)

            class Meta:
                app_label = "testapp"
                db_table = "schema_priced"
                constraints = [
                    models.CheckConstraint(condition=models.Q(price__gte=0), name="price_gte_0")
                ]

    with mongo_connection.schema_editor() as editor:
        editor.create_model(Priced)
    return Priced


def test_check_constraint_is_a_validator_clause(mongo_connection, priced):
    manager = priced.objects.db_manager(mongo_connection.alias)
    manager.create(name="ok", price=0)
    manager.create(name="null", price=None)  # UNKNOWN passes a CHECK, as in SQL
    if not mongo_connection.enforce_schema:
        manager.create(name="neg", price=-1)  # no validator: full_clean() is the only check
        assert validator(mongo_connection, "schema_priced") is None
        return
    with pytest.raises(IntegrityError, match=r"121|validation"):
        manager.create(name="neg", price=-1)
    assert sorted(manager.values_list("name", flat=True)) == ["null", "ok"]
    assert "$expr" in validator(mongo_connection, "schema_priced")


def test_validator_bounds_char_length_and_positive_integers(mongo_connection, priced):
    manager = priced.objects.db_manager(mongo_connection.alias)
    manager.create(name="ééééé", stock=0)  # five code points, ten bytes: fits max_length=5
    if not mongo_connection.enforce_schema:
        return
    assert mongo_connection.features.supports_column_check_constraints
    with pytest.raises(IntegrityError):
        manager.create(name="sixsix")
    with pytest.raises(IntegrityError):
        manager.create(name="neg", stock=-1)
    assert list(manager.values_list("name", flat=True)) == ["ééééé"]


def test_add_and_remove_check_constraint(mongo_connection, thing):
    constraint = models.CheckConstraint(condition=~models.Q(name="bad"), name="not_bad")
    thing._meta.constraints = [constraint]  # the model state after AddConstraint
    with mongo_connection.schema_editor() as editor:
        editor.add_constraint(thing, constraint)
    collection = db(mongo_connection)["schema_thing"]
    if mongo_connection.enforce_schema:
        with pytest.raises(WriteError):
            collection.insert_one({"_id": 10, "name": "bad"})
    thing._meta.constraints = []
    with mongo_connection.schema_editor() as editor:
        editor.remove_constraint(thing, constraint)
    collection.insert_one({"_id": 11, "name": "bad"})
    assert "$expr" not in (validator(mongo_connection, "schema_thing") or {})


def test_full_clean_checks_constraints_on_the_server(mongo_connection, priced):
    """Model validation evaluates the condition with a query of no collection (Q.check)."""
    (constraint,) = priced._meta.constraints
    alias = mongo_connection.alias
    with pytest.raises(ValidationError, match="price_gte_0"):
        constraint.validate(priced, priced(name="x", price=-5), using=alias)
    constraint.validate(priced, priced(name="x", price=5), using=alias)
    constraint.validate(priced, priced(name="x", price=None), using=alias)


def test_inexpressible_check_constraint_names_it(mongo_connection, thing):
    class Sounds(models.Lookup):
        lookup_name = "sounds_like"

    models.CharField.register_lookup(Sounds)
    try:
        constraint = models.CheckConstraint(
            condition=models.Q(name__sounds_like="x"), name="sounds_odd"
        )
        thing._meta.constraints = [constraint]
        context = pytest.raises(NotSupportedError, match="sounds_odd")
        if not mongo_connection.enforce_schema:
            context = contextlib.nullcontext()  # no validator to build
        with context, mongo_connection.schema_editor() as editor:
            editor.add_constraint(thing, constraint)
    finally:
        models.CharField._unregister_lookup(Sounds)
        thing._meta.constraints = []


def test_inexpressible_condition_names_the_constraint(mongo_connection, thing):
    constraint = models.UniqueConstraint(
        fields=["name"], condition=models.Q(name__icontains="x"), name="odd_unique"
    )
    with (
        pytest.raises(NotSupportedError, match="odd_unique"),
        mongo_connection.schema_editor() as editor,
    ):
        editor.add_constraint(thing, constraint)


def test_condition_compiles_to_partial_filter(mongo_connection, thing):
    constraint = models.UniqueConstraint(
        fields=["name"],
        condition=models.Q(id__gt=10) | models.Q(name__in=["a", "b"]),
        name="cond_unique",
    )
    with mongo_connection.schema_editor() as editor:
        editor.add_constraint(thing, constraint)
    _, unique, partial = index_keys(mongo_connection, "schema_thing")["cond_unique"]
    assert unique is True
    assert partial == {"$or": [{"_id": {"$gt": 10}}, {"name": {"$in": ["a", "b"]}}]}
    with mongo_connection.schema_editor() as editor:
        editor.remove_constraint(thing, constraint)
    assert "cond_unique" not in index_keys(mongo_connection, "schema_thing")


def test_negated_equality_is_a_range_on_either_side(mongo_connection, thing):
    # MongoDB refuses $ne/$not in a partialFilterExpression; SQL's "name <> ''" leaves NULL
    # out, as a range operator does (DRF's test models have such a constraint).
    not_blank = models.UniqueConstraint(
        fields=["name"], condition=~models.Q(name=""), name="not_blank_unique"
    )
    with mongo_connection.schema_editor() as editor:
        editor.add_constraint(thing, not_blank)
    assert index_keys(mongo_connection, "schema_thing")["not_blank_unique"][2] == {
        "name": {"$gt": ""}
    }
    collection = mongo_connection.connection.database["schema_thing"]
    collection.insert_one({"_id": 101, "name": ""})
    collection.insert_one({"_id": 102, "name": ""})  # blank: outside the index
    collection.insert_one({"_id": 103, "name": "x"})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"_id": 104, "name": "x"})
    collection.delete_many({"_id": {"$gt": 100}})
    with mongo_connection.schema_editor() as editor:
        editor.remove_constraint(thing, not_blank)

    not_ten = models.UniqueConstraint(
        fields=["name"], condition=~models.Q(id=10), name="not_ten_unique"
    )
    with mongo_connection.schema_editor() as editor:
        editor.add_constraint(thing, not_ten)
    assert index_keys(mongo_connection, "schema_thing")["not_ten_unique"][2] == {
        "$or": [{"_id": {"$lt": 10}}, {"_id": {"$gt": 10}}]
    }
    with mongo_connection.schema_editor() as editor:
        editor.remove_constraint(thing, not_ten)

    negated_range = models.UniqueConstraint(
        fields=["name"], condition=~models.Q(id__gt=10), name="not_gt_unique"
    )
    with (
        pytest.raises(NotSupportedError, match="not_gt_unique"),
        mongo_connection.schema_editor() as editor,
    ):
        editor.add_constraint(thing, negated_range)


def test_run_sql_is_refused(mongo_connection):
    with (
        pytest.raises(NotSupportedError, match="MongoDB runs no SQL"),
        mongo_connection.schema_editor() as editor,
    ):
        editor.execute("DROP TABLE x")


# -- sqlmigrate ------------------------------------------------------------------------------


def test_sqlmigrate_prints_mongodb_commands(mongo_connection):
    out = io.StringIO()
    call_command("sqlmigrate", "testapp", "0001", database=mongo_connection.alias, stdout=out)
    lines = out.getvalue().splitlines()
    assert "-- Create model Indexed" in lines
    assert any(line.startswith('db.create_collection("testapp_author"') for line in lines)
    assert (
        'db.testapp_indexed.create_index([["group", 1], ["rank", -1]], name="group_rank_idx")'
        in lines
    )
    assert not any("CREATE" in line for line in lines)
    # Nothing was run.
    assert "testapp_author" not in db(mongo_connection).list_collection_names()


def test_conditional_unique_constraint_implied_by_unique_field_adds_no_second_index():
    """Django's own ordering tests declare rank unique=True and a conditional UniqueConstraint
    on rank: both cannot be indexes on the same key, and the first implies the second."""
    from django.db import connection, models

    class Ranked(models.Model):
        rank = models.IntegerField(unique=True, null=True)

        class Meta:
            app_label = "testapp"
            db_table = "schema_ranked_conditional"
            constraints = [
                models.UniqueConstraint(
                    fields=["rank"], condition=models.Q(rank__gt=0), name="positive_rank_unique"
                )
            ]

    with connection.schema_editor(collect_sql=True) as editor:
        editor.create_model(Ranked)
    indexes = [sql for sql in editor.collected_sql if "create_index" in sql and "rank" in sql]
    assert len(indexes) == 1 and "positive_rank_unique" not in indexes[0]


def test_check_constraints_with_decimal_and_date_values(mongo_connection):
    """Validator clauses hold BSON values (Decimal128, dates) the server must store."""
    import datetime
    from decimal import Decimal

    with isolate_apps("tests.testapp"):

        class Dated(models.Model):
            amount = models.DecimalField(max_digits=6, decimal_places=2)
            since = models.DateTimeField()

            class Meta:
                app_label = "testapp"
                db_table = "schema_dated"
                constraints = [
                    models.CheckConstraint(
                        condition=models.Q(amount__gte=Decimal("0.50")), name="min_amount"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            since__gte=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
                        ),
                        name="modern",
                    ),
                ]

    with mongo_connection.schema_editor() as editor:
        editor.create_model(Dated)
    manager = Dated.objects.db_manager(mongo_connection.alias)
    now = datetime.datetime(2020, 5, 1, tzinfo=datetime.UTC)
    manager.create(amount=Decimal("0.50"), since=now)
    if not mongo_connection.enforce_schema:
        return
    with pytest.raises(IntegrityError):
        manager.create(amount=Decimal("0.49"), since=now)
    with pytest.raises(IntegrityError):
        manager.create(amount=Decimal(1), since=datetime.datetime(1999, 1, 1, tzinfo=datetime.UTC))
    assert manager.count() == 1


def test_an_index_on_a_computed_expression_is_not_created_as_django_does(
    mongo_connection, thing, caplog
):
    """Django's rule where ``supports_expression_indexes`` is False (its system check W043:
    "An index won't be created"): add_index and remove_index do nothing, so a migration adding
    one and a later one removing it both run (django-allauth's account 0005 and 0007 do)."""
    upper = models.Index(models.functions.Upper("name"), name="thing_upper")
    with (
        caplog.at_level("WARNING", logger="django_mongo_backend"),
        mongo_connection.schema_editor() as editor,
    ):
        editor.add_index(thing, upper)
    assert "thing_upper" not in index_keys(mongo_connection, "schema_thing")
    assert any("thing_upper" in record.getMessage() for record in caplog.records)
    with mongo_connection.schema_editor() as editor:
        editor.remove_index(thing, upper)
    # A key expression is an index, created and dropped.
    named = models.Index(models.F("name").desc(), name="thing_name_desc")
    with mongo_connection.schema_editor() as editor:
        editor.add_index(thing, named)
    assert index_keys(mongo_connection, "schema_thing")["thing_name_desc"][0] == [("name", -1)]
    with mongo_connection.schema_editor() as editor:
        editor.remove_index(thing, named)
    assert "thing_name_desc" not in index_keys(mongo_connection, "schema_thing")


def test_unique_constraint_given_as_field_expressions(mongo_connection, thing):
    with mongo_connection.schema_editor() as editor:
        editor.add_constraint(thing, models.UniqueConstraint("name", name="name_once"))
    assert index_keys(mongo_connection, "schema_thing")["name_once"][:2] == ([("name", 1)], True)
    lowered = models.UniqueConstraint(models.functions.Lower("name"), name="lower_once")
    with (
        pytest.raises(NotSupportedError, match="lower_once"),
        mongo_connection.schema_editor() as editor,
    ):
        editor.add_constraint(thing, lowered)
