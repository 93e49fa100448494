"""Bringing an existing MongoDB database under Django, and the failures Djongo users hit.

Each test runs on a database of its own (a private connection, as in test_schema), so raw
pymongo reads and writes see committed data and nothing leaks into other tests.

Djongo's failure list, each with a test here: explicit pk values not advancing the counter,
``flush`` not resetting it, RenameModel / RenameField leaving ``__schema__`` stale, a missing
counter producing null (here: colliding) keys. Then the tools that replace the manual
recipes: ``mongo_sync_sequences``, the system check, ``inspectdb``.
"""

from __future__ import annotations

import datetime
import io
import uuid
from decimal import Decimal

import pytest
from bson import Decimal128, Int64, ObjectId
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, connections, models
from django.test.utils import CaptureQueriesContext, isolate_apps, override_settings

from django_mongo_backend.checks import check_sequences
from django_mongo_backend.management.commands import inspectdb, mongo_sync_sequences
from django_mongo_backend.sequences import SCHEMA_COLLECTION
from tests.testapp.models import Author, Tag


@pytest.fixture
def private(django_db_blocker, request):
    """A connection of its own to a fresh database, registered in ``connections``."""
    base = connections["default"]
    alias = f"existing_{uuid.uuid4().hex[:8]}"
    settings_dict = {**base.settings_dict, "NAME": f"t_existing_{alias}"}
    settings_dict.update(getattr(request, "param", {}))
    connection = type(base)(settings_dict, alias=alias)
    with django_db_blocker.unblock():
        connection.ensure_connection()
        client = connection.connection.client
        client.drop_database(settings_dict["NAME"])
        connections[alias] = connection
        try:
            yield connection
        finally:
            del connections[alias]
            client.drop_database(settings_dict["NAME"])
            connection.close()


def db(connection):
    return connection.connection.database


def entry(connection, collection):
    return db(connection)[SCHEMA_COLLECTION].find_one({"name": collection}, {"_id": False})


def create(connection, *models_):
    with connection.schema_editor() as editor:
        for model in models_:
            editor.create_model(model)


def sync(connection, *, apply=False, verbosity=1):
    out = io.StringIO()
    call_command(
        mongo_sync_sequences.Command(),
        database=connection.alias,
        apply=apply,
        verbosity=verbosity,
        stdout=out,
    )
    return out.getvalue()


# -- Djongo's failures ------------------------------------------------------------------------


def test_explicit_pk_advances_the_counter(private):
    create(private, Tag)
    Tag.objects.using(private.alias).create(pk=50, name="explicit")
    assert entry(private, "testapp_tag")["auto"]["seq"] == 50
    assert Tag.objects.using(private.alias).create(name="next").pk == 51
    Tag.objects.using(private.alias).bulk_create([Tag(pk=70, name="a"), Tag(pk=60, name="b")])
    assert Tag.objects.using(private.alias).create(name="after bulk").pk == 71


def test_flush_resets_the_counter(private):
    create(private, Tag)
    Tag.objects.using(private.alias).bulk_create([Tag(name=f"t{i}") for i in range(5)])
    call_command("flush", database=private.alias, interactive=False, verbosity=0)
    assert entry(private, "testapp_tag")["auto"]["seq"] == 0
    assert Tag.objects.using(private.alias).create(name="first").pk == 1


def test_rename_model_keeps_the_sequence(private):
    create(private, Tag)
    Tag.objects.using(private.alias).bulk_create([Tag(name=f"t{i}") for i in range(3)])
    with private.schema_editor() as editor:
        editor.alter_db_table(Tag, "testapp_tag", "renamed_tag")
    assert entry(private, "testapp_tag") is None
    assert entry(private, "renamed_tag")["auto"] == {"field_names": ["id"], "seq": 3}
    with isolate_apps("tests.testapp"):

        class RenamedTag(models.Model):
            name = models.CharField(max_length=50)

            class Meta:
                app_label = "testapp"
                db_table = "renamed_tag"

        assert RenamedTag.objects.using(private.alias).create(name="new").pk == 4


def test_rename_field_keeps_the_sequence(private):
    create(private, Author)
    Author.objects.using(private.alias).create(name="Ann")
    old = Author._meta.get_field("name")
    new = models.CharField(max_length=100)
    new.set_attributes_from_name("full_name")
    with private.schema_editor() as editor:
        editor.alter_field(Author, old, new)
    assert entry(private, "testapp_author")["auto"] == {"field_names": ["id"], "seq": 1}
    assert db(private)["testapp_author"].find_one({}, {"_id": 0, "full_name": 1}) == {
        "full_name": "Ann"
    }


def test_renaming_the_auto_pk_column_updates_field_names(private):
    create(private, Tag)
    old = Tag._meta.pk
    new = models.AutoField(primary_key=True, db_column="tag_id")
    new.set_attributes_from_name("id")
    new.model = Tag
    with private.schema_editor() as editor:
        editor.alter_field(Tag, old, new)
    assert entry(private, "testapp_tag")["auto"]["field_names"] == ["tag_id"]


def test_sync_repairs_stale_field_names(private):
    create(private, Tag)
    db(private)[SCHEMA_COLLECTION].update_one(
        {"name": "testapp_tag"}, {"$set": {"auto.field_names": ["old_id"]}}
    )
    assert "testapp_tag: 0 -> 0  (field_names ['old_id'] -> ['id'])" in sync(private)
    sync(private, apply=True)
    assert entry(private, "testapp_tag")["auto"] == {"field_names": ["id"], "seq": 0}


def test_missing_counter_continues_after_the_largest_id(private):
    """The entry deleted (or never created: migrate --fake-initial, an import): the first
    reservation syncs to max(_id) instead of restarting at 1 and colliding."""
    create(private, Tag)
    db(private)["testapp_tag"].insert_many([{"_id": i, "name": f"n{i}"} for i in range(1, 11)])
    db(private)[SCHEMA_COLLECTION].delete_one({"name": "testapp_tag"})
    tag = Tag.objects.using(private.alias).create(name="new")
    assert tag.pk == 11
    assert entry(private, "testapp_tag")["auto"] == {"field_names": ["id"], "seq": 11}
    # Synced once: from now on a save is the usual 2 commands again.
    with CaptureQueriesContext(private) as queries:
        Tag.objects.using(private.alias).create(name="newer")
    assert len(queries) == 2


def test_missing_counter_bulk_create(private):
    create(private, Tag)
    db(private)["testapp_tag"].insert_many([{"_id": i, "name": f"n{i}"} for i in (3, 7)])
    db(private)[SCHEMA_COLLECTION].delete_one({"name": "testapp_tag"})
    tags = Tag.objects.using(private.alias).bulk_create([Tag(name=f"b{i}") for i in range(3)])
    assert [tag.pk for tag in tags] == [8, 9, 10]


def test_missing_counter_recreated_by_an_explicit_pk(private):
    """An explicit pk below max(_id) recreates the entry at that pk: still no collision."""
    create(private, Tag)
    db(private)["testapp_tag"].insert_many([{"_id": i, "name": f"n{i}"} for i in (1, 2, 4)])
    db(private)[SCHEMA_COLLECTION].delete_one({"name": "testapp_tag"})
    Tag.objects.using(private.alias).create(pk=3, name="explicit")
    assert Tag.objects.using(private.alias).create(name="next").pk == 5


def test_missing_collection_entry_without_data_starts_at_one(private):
    with isolate_apps("tests.testapp"):

        class Fresh(models.Model):
            name = models.CharField(max_length=10)

            class Meta:
                app_label = "testapp"
                db_table = "fresh_implicit"

        # No schema editor: the collection appears on first insert, the entry with it.
        assert Fresh.objects.using(private.alias).create(name="a").pk == 1
        assert Fresh.objects.using(private.alias).create(name="b").pk == 2
    assert entry(private, "fresh_implicit")["auto"] == {"field_names": ["id"], "seq": 2}


# -- mongo_sync_sequences -------------------------------------------------------------------


@pytest.fixture
def imported(private):
    """Data imported behind Django's back: a sequence behind, a missing one, an empty one."""
    create(private, Tag, Author)
    db(private)["testapp_tag"].insert_many([{"_id": i, "name": f"n{i}"} for i in range(1, 13)])
    db(private)[SCHEMA_COLLECTION].update_one({"name": "testapp_tag"}, {"$set": {"auto.seq": 3}})
    db(private)["testapp_author"].insert_many(
        [{"_id": i, "name": f"a{i}", "email": "", "age": None} for i in (5, 9)]
    )
    db(private)[SCHEMA_COLLECTION].delete_one({"name": "testapp_author"})
    db(private).create_collection("testapp_chapter")  # exists, empty, no entry
    return private


def test_sync_dry_run_prints_and_writes_nothing(imported):
    before = list(db(imported)[SCHEMA_COLLECTION].find({}, {"_id": False}))
    output = sync(imported)
    lines = output.splitlines()
    assert "testapp_author: missing -> 9  (missing entry)" in lines
    assert "testapp_chapter: missing -> 0  (missing entry)" in lines
    assert "testapp_tag: 3 -> 12  (behind max _id 12)" in lines
    assert "Dry run: 3 sequence(s)" in output and "--apply" in output
    assert list(db(imported)[SCHEMA_COLLECTION].find({}, {"_id": False})) == before


def test_sync_apply_then_nothing_to_do(imported):
    sync(imported, apply=True)
    assert entry(imported, "testapp_tag")["auto"] == {"field_names": ["id"], "seq": 12}
    assert entry(imported, "testapp_author")["auto"] == {"field_names": ["id"], "seq": 9}
    assert entry(imported, "testapp_chapter")["auto"] == {"field_names": ["id"], "seq": 0}
    second = sync(imported, apply=True)
    assert second.strip() == f"All 3 sequences of database {imported.alias!r} are up to date."
    assert Tag.objects.using(imported.alias).create(name="new").pk == 13
    assert Author.objects.using(imported.alias).create(name="new").pk == 10


def test_sync_never_lowers_a_sequence(private):
    create(private, Tag)
    db(private)["testapp_tag"].insert_one({"_id": 4, "name": "x"})
    db(private)[SCHEMA_COLLECTION].update_one({"name": "testapp_tag"}, {"$set": {"auto.seq": 40}})
    assert "testapp_tag: 40 -> 40  (up to date)" in sync(private, verbosity=2)
    sync(private, apply=True)
    assert entry(private, "testapp_tag")["auto"]["seq"] == 40


def test_sync_handles_non_integer_ids(private):
    create(private, Tag)
    db(private)["testapp_tag"].insert_many(
        [
            {"_id": ObjectId(), "name": "oid"},
            {"_id": 7.5, "name": "double"},
            {"_id": Int64(6), "name": "long"},
        ],
        bypass_document_validation=True,
    )
    assert "testapp_tag: 0 -> 8  (behind max _id 8)" in sync(private)


def test_sync_command_is_found_when_the_backend_is_installed(imported):
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "django_mongo_backend"]):
        out = io.StringIO()
        call_command("mongo_sync_sequences", database=imported.alias, stdout=out)
    assert "testapp_tag: 3 -> 12" in out.getvalue()


def test_fake_initial_then_sync_adopts_existing_collections(private):
    """The README's recipe: collections that exist are faked, their data untouched, and the
    sequences synced before the first insert."""
    from django.apps import apps

    testapp = apps.get_app_config("testapp")
    tables = {model._meta.db_table for model in testapp.get_models(include_auto_created=True)}
    for table in tables:  # (proxy models share their concrete model's collection)
        db(private).create_collection(table)
    db(private)["testapp_tag"].insert_many([{"_id": i, "name": f"n{i}"} for i in (4, 8)])
    call_command("migrate", "testapp", database=private.alias, fake_initial=True, verbosity=0)
    applied = {row["name"] for row in db(private)["django_migrations"].find({"app": "testapp"})}
    assert applied == {"0001_initial", "0002_composite_keys"}  # both only create models
    assert db(private)["testapp_tag"].count_documents({}) == 2
    assert "testapp_tag: missing -> 8  (missing entry)" in sync(private)
    sync(private, apply=True)
    assert Tag.objects.using(private.alias).create(name="new").pk == 9
    # migrate runs the database check: a sequence pushed behind is reported there too.
    db(private)[SCHEMA_COLLECTION].update_one({"name": "testapp_tag"}, {"$set": {"auto.seq": 1}})
    err = io.StringIO()
    call_command(
        "migrate", "testapp", database=private.alias, verbosity=0, stderr=err, skip_checks=False
    )
    assert "django_mongo_backend.W001" in err.getvalue()


# -- the system check -----------------------------------------------------------------------


def test_check_warns_when_a_sequence_is_behind(imported):
    issues = check_sequences(imported)
    assert [(issue.id, issue.obj) for issue in issues] == [("django_mongo_backend.W001", Tag)]
    assert "'testapp_tag' is at 3, behind its largest _id 12" in issues[0].msg
    assert f"mongo_sync_sequences --database {imported.alias}" in issues[0].hint


def test_check_runs_with_check_database(imported):
    err = io.StringIO()
    call_command("check", databases=[imported.alias], stdout=io.StringIO(), stderr=err)
    assert "django_mongo_backend.W001" in err.getvalue()
    sync(imported, apply=True)
    err = io.StringIO()
    call_command("check", databases=[imported.alias], stdout=io.StringIO(), stderr=err)
    assert "W001" not in err.getvalue()


def test_check_is_cheap(imported):
    with CaptureQueriesContext(imported) as queries:
        check_sequences(imported)
    # __schema__ once, then one find_one per collection that has an entry.
    assert len(queries) == 1 + 1
    assert "sort" in queries[1]["sql"]


def test_check_is_quiet_on_a_migrated_database(private):
    create(private, Tag, Author)
    Tag.objects.using(private.alias).create(name="a")
    assert check_sequences(private) == []


# -- inspectdb ------------------------------------------------------------------------------


@pytest.fixture
def legacy(private):
    """Collections written by another program, with the drift real data has."""
    people = [
        {
            "_id": i,
            "name": f"p{i}",
            "age": i if i % 3 else str(i),  # mostly int, some strings
            "joined": datetime.datetime(2020, 1, i),
            "score": 1.5 if i % 2 else i,  # int and double: a float field
            "tags": ["a"],
            "address": {"city": "x"},
            "balance": Decimal128(Decimal("1.25")),
            "token": uuid.UUID(int=i),
            "active": True,
        }
        for i in range(1, 10)
    ]
    for person in people[::4]:
        del person["active"]  # missing from some documents
    people[1]["nickname"] = None
    db(private)["people"].insert_many(people)
    db(private)["events"].insert_many(
        [{"_id": ObjectId(), "kind": "click", "owner": ObjectId()} for _ in range(3)]
    )
    db(private)["big_ids"].insert_many([{"_id": Int64(2**40 + i), "v": i} for i in range(2)])
    return private


def inspect(connection, *tables, command=None, **options):
    out = io.StringIO()
    call_command(
        command or inspectdb.Command(),
        *tables,
        database=connection.alias,
        stdout=out,
        **options,
    )
    return out.getvalue()


def model_lines(output, model):
    lines = output.splitlines()
    start = lines.index(f"class {model}(models.Model):")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("class "))
    return [line.strip() for line in lines[start + 1 : end] if line.strip()]


def test_inspectdb_types_nullability_and_notes(legacy):
    output = inspect(legacy, "people", "events", "big_ids")
    people = model_lines(output + "\nclass End", "People")
    # int _id: an AutoField named id, which inspectdb leaves implicit.
    assert not any(line.startswith(("id =", "field_id =")) for line in people)
    assert "name = models.TextField()" in people
    assert (
        "age = models.IntegerField()  # Sampled values have different types (int x6, string x3)."
        in people
    )
    assert "joined = models.DateTimeField()" in people
    assert (
        "score = models.FloatField()  # Sampled values have different types (double x5, int x4)."
        in people
    )
    assert "tags = models.JSONField()" in people
    assert "address = models.JSONField()" in people
    assert "balance = models.DecimalField(max_digits=34, decimal_places=2)" in people
    assert "token = models.UUIDField()" in people
    assert (
        "active = models.BooleanField(blank=True, null=True)  "
        "# Missing from 3 of 9 sampled documents."
    ) in people
    assert (
        "nickname = models.TextField(blank=True, null=True)  # Only null values sampled: the "
        "type is a guess. Missing from 8 of 9 sampled documents."
    ) in people
    assert "db_table = 'people'" in people and "managed = False" in people
    events = model_lines(output, "Events")
    assert events[0] == "id = django_mongo_backend.fields.ObjectIdAutoField(primary_key=True)"
    assert events[2] == "owner = django_mongo_backend.fields.ObjectIdField()"
    assert "import django_mongo_backend.fields" in output.splitlines()
    big = model_lines(output + "\nclass End", "BigIds")
    assert "id = models.BigAutoField(primary_key=True)" in big


def test_inspectdb_sample_size(legacy):
    # The first and the last document by _id only: neither has 'active' or 'nickname'.
    output = inspect(legacy, "people", sample_size=2)
    people = model_lines(output + "\nclass End", "People")
    assert not any(line.startswith(("nickname", "active")) for line in people)
    assert "# Sampled values have different types (int x1, string x1)." in people[1]
    output = inspect(legacy, "people", sample_size=3)  # ids 1, 2 and 9
    people = model_lines(output + "\nclass End", "People")
    assert any(line.startswith("nickname = ") for line in people)
    assert any(line.startswith("active = ") for line in people)


@pytest.mark.parametrize("private", [{"INSPECTDB_SAMPLE_SIZE": 1}], indirect=True)
def test_inspectdb_sample_size_setting(legacy):
    assert legacy.introspection.get_sample_size() == 1
    description = legacy.introspection.get_table_description(None, "people")
    assert "nickname" not in {info.name for info in description}


def test_stock_inspectdb_output_is_usable(legacy):
    """Django's own command (no comments) writes models that read the collection."""
    output = inspect(legacy, "people", command="inspectdb")
    assert "class People(models.Model):" in output
    assert "# Sampled" not in output
    namespace = {}
    with isolate_apps("tests.testapp"):
        code = output.replace("class Meta:", "class Meta:\n        app_label = 'testapp'")
        exec(compile(code, "<inspectdb>", "exec"), namespace)
        People = namespace["People"]
        if legacy.enforce_schema:
            # Documents lacking 'active' cannot be read with ENFORCE_SCHEMA (the README's
            # recipe: back-fill the key, or turn enforcement off for the collection's database).
            db(legacy)["people"].update_many(
                {"active": {"$exists": False}}, {"$set": {"active": None}}
            )
            db(legacy)["people"].update_many(
                {"nickname": {"$exists": False}}, {"$set": {"nickname": None}}
            )
        rows = list(People.objects.using(legacy.alias).order_by("pk"))
        assert [row.pk for row in rows] == list(range(1, 10))
        assert rows[0].address == {"city": "x"} and rows[0].balance == Decimal("1.25")
        assert rows[1].active is True and rows[0].active is None


def test_inspectdb_of_a_django_collection_keeps_its_pk(private):
    create(private, Tag)
    output = inspect(private, "testapp_tag")
    tag = model_lines(output + "\nclass End", "TestappTag")
    assert not any(line.startswith("id =") for line in tag)
    assert "name = models.TextField(unique=True)" in tag


def test_inspectdb_names_the_pk_id_unless_taken(private):
    db(private)["clash"].insert_one({"_id": "k1", "id": 5})
    output = inspect(private, "clash")
    lines = model_lines(output + "\nclass End", "Clash")
    assert lines[0].startswith("field_id = models.CharField(db_column='_id', primary_key=True")
    assert "id = models.IntegerField()" in lines


def test_duplicate_key_is_still_an_integrity_error(private):
    """Guard: a sequence repair never hides real duplicates (no DuplicateKey catching)."""
    create(private, Tag)
    Tag.objects.using(private.alias).create(pk=1, name="a")
    with pytest.raises(IntegrityError):
        Tag.objects.using(private.alias).create(pk=1, name="b")
