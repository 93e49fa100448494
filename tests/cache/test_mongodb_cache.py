"""MongoDBCache on the server: what Django's mixin (test_django_cache_suite.py) cannot see.

The documents as an outside reader finds them, the TTL index, expiry checked on read before
MongoDB's TTL monitor runs, ``incr()`` as one atomic ``$inc`` (under threads and processes),
pickle refused unless enabled, values and keys that look like operators, the commands each
operation sends, transactions, the async methods, ``createcachetable`` and the settings.
"""

from __future__ import annotations

import asyncio
import datetime
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.views.decorators.cache import cache_page

from django_mongo_backend import async_execution
from django_mongo_backend.cache import MongoDBCache
from django_mongo_backend.management.commands.createcachetable import Command as CreateCacheTable
from tests.testapp.models import Author

BACKEND = "django_mongo_backend.cache.MongoDBCache"
REPO_ROOT = Path(__file__).resolve().parents[2]
UTC = datetime.UTC


def raw_database():
    """The test database through pymongo, as any other program would read it."""
    connection.ensure_connection()
    return connection.connection.database


@pytest.fixture
def location(request):
    name = "cache_" + request.node.name.replace("[", "_").replace("]", "")[:40]
    yield name
    raw_database().drop_collection(name)


@pytest.fixture
def make_cache(location):
    def make(**options):
        params = {"OPTIONS": options} if options else {}
        return MongoDBCache(location, params)

    return make


@pytest.fixture
def cache(make_cache):
    return make_cache()


@pytest.fixture
def raw(location):
    return raw_database()[location]


def commands(captured):
    return [query["sql"] for query in captured.captured_queries]


# -- storage -------------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db


def test_plain_values_are_bson_documents_any_client_can_read(cache, raw):
    cache.set("count", 42, None)
    cache.set("profile", {"name": "Ada", "langs": ["en", "fr"], "score": 1.5})
    count = raw.find_one({"_id": ":1:count"})
    assert count == {"_id": ":1:count", "value": 42, "expires": None}
    profile = raw.find_one({"_id": ":1:profile"})
    assert profile["value"] == {"name": "Ada", "langs": ["en", "fr"], "score": 1.5}
    assert "format" not in profile
    # Queried like any data: by value and by BSON type.
    assert raw.count_documents({"value.langs": "fr"}) == 1
    assert raw.count_documents({"value": {"$type": "int"}}) == 1


def test_other_data_is_json_text_naming_its_types(cache, raw):
    cache.set("pair", (1, datetime.date(2024, 1, 2)))
    document = raw.find_one({"_id": ":1:pair"})
    assert document["format"] == "json"
    assert json.loads(document["value"]) == {
        "__type__": "tuple",
        "value": [1, {"__type__": "date", "value": "2024-01-02"}],
    }
    assert cache.get("pair") == (1, datetime.date(2024, 1, 2))


def test_expires_is_a_utc_date_or_null(cache, raw):
    before = datetime.datetime.now(UTC).replace(tzinfo=None)
    cache.set("soon", 1, 100)
    after = datetime.datetime.now(UTC).replace(tzinfo=None)
    expires = raw.find_one({"_id": ":1:soon"})["expires"]
    # BSON dates keep milliseconds: the stored date is the exact one, truncated.
    assert before + datetime.timedelta(seconds=100, milliseconds=-1) <= expires
    assert expires <= after + datetime.timedelta(seconds=100)
    cache.set("forever", 1, None)
    assert raw.find_one({"_id": ":1:forever"})["expires"] is None


def test_the_first_write_creates_the_ttl_index(cache, raw):
    cache.set("key", "value")
    index = raw.index_information()["expires_ttl"]
    assert index["key"] == [("expires", 1)]
    assert index["expireAfterSeconds"] == 0


def test_an_expired_entry_is_never_returned_while_it_waits_for_the_ttl_monitor(cache, raw):
    cache.set_many({"gone": 41, "other": "x"}, 300)
    # MongoDB's TTL monitor removes expired documents about once a minute (the embedded server
    # too: ttlMonitorSleepSecs). Without the index nothing removes them, whatever the timing of
    # the monitor's pass: that stands for the minute the entries wait for it.
    raw.drop_index("expires_ttl")
    past = datetime.datetime.now(UTC) - datetime.timedelta(seconds=1)
    raw.update_many({}, {"$set": {"expires": past}})  # as if 300 s had passed
    assert raw.count_documents({}) == 2
    assert cache.get("gone", "default") == "default"
    assert cache.get_many(["gone", "other"]) == {}
    assert cache.has_key("gone") is False
    assert cache.touch("gone", 100) is False
    assert cache.delete("gone") is False  # nothing live was deleted
    with pytest.raises(ValueError, match="not found"):
        cache.incr("other")
    assert cache.add("other", "new") is True  # the expired entry does not block add()
    assert cache.get("other") == "new"


def test_a_timeout_of_zero_or_less_stores_nothing(cache, raw):
    cache.set("key", "old")
    cache.set("key", "new", 0)
    assert raw.count_documents({}) == 0
    assert cache.add("key", "value", -5) is True
    assert cache.set_many({"a": 1, "b": 2}, 0) == []
    assert raw.count_documents({}) == 0
    cache.set("key", "value")
    assert cache.add("key", "other", 0) is False  # a live entry has the key
    assert cache.touch("key", 0) is True
    assert raw.count_documents({}) == 0


# -- incr ----------------------------------------------------------------------------------------


def test_incr_is_one_atomic_command_on_the_server(cache, raw):
    cache.set("hits", 10)
    with CaptureQueriesContext(connection) as captured:
        assert cache.incr("hits", 5) == 15
        assert cache.decr("hits", 20) == -5
    sent = commands(captured)
    assert len(sent) == 2
    assert all("find_one_and_update" in text and '"$inc"' in text for text in sent)
    assert raw.find_one({"_id": ":1:hits"})["value"] == -5


def test_incr_keeps_the_expiry(cache, raw):
    cache.set("hits", 1, 100)
    expires = raw.find_one({"_id": ":1:hits"})["expires"]
    cache.incr("hits")
    assert raw.find_one({"_id": ":1:hits"})["expires"] == expires


def test_incr_beyond_64_bits_goes_on_as_python_does(cache, raw):
    cache.set("big", 2**63 - 2)
    assert cache.incr("big") == 2**63 - 1
    assert cache.incr("big") == 2**63  # compare and set: no $inc overflow on the server
    assert raw.find_one({"_id": ":1:big"})["format"] == "json"
    assert cache.incr("big", 10**30) == 2**63 + 10**30
    assert cache.decr("big", 2**63 + 10**30) == 0
    document = raw.find_one({"_id": ":1:big"})
    assert "format" not in document  # back in 64 bits: a BSON int again
    assert document["value"] == 0
    assert type(cache.get("big")) is int


def test_incr_refuses_what_is_not_an_int(cache):
    cache.set_many({"text": "1", "none": None, "float": 1.0, "flag": True})
    for key in ("text", "none", "float", "flag"):
        with pytest.raises(TypeError, match="need an int"):
            cache.incr(key)
    cache.set("n", 1)
    with pytest.raises(TypeError, match="int delta"):
        cache.incr("n", 1.5)
    with pytest.raises(ValueError, match="Key 'missing' not found"):
        cache.decr("missing")
    assert cache.get("n") == 1


def test_incr_from_many_threads_loses_no_increment(cache):
    cache.set("counter", 0)
    threads, rounds = 6, 40
    errors = []

    def work():
        try:
            for _ in range(rounds):
                cache.incr("counter")
        except Exception as error:  # reported below, with the thread's traceback lost
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert cache.get("counter") == threads * rounds


INCR_SCRIPT = textwrap.dedent(
    """
    import sys
    import django
    from django.conf import settings

    host, name, location, rounds = sys.argv[1:]
    settings.configure(
        DATABASES={"default": {"ENGINE": "django_mongo_backend", "NAME": name,
                               "CLIENT": {"host": host}}},
        CACHES={"default": {"BACKEND": "django_mongo_backend.cache.MongoDBCache",
                            "LOCATION": location}},
    )
    django.setup()
    from django.core.cache import cache
    print("ready", flush=True)
    sys.stdin.readline()  # both processes start incrementing together
    for _ in range(int(rounds)):
        cache.incr("counter")
    """
)


def test_incr_from_two_processes_loses_no_increment(cache, location):
    cache.set("counter", 0)
    settings = connection.settings_dict
    arguments = [settings["CLIENT"]["host"], settings["NAME"], location, "100"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", INCR_SCRIPT, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    for process in processes:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        _out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert cache.get("counter") == 200


# -- what may be stored --------------------------------------------------------------------------


class Thing:
    pass


def test_pickle_is_refused_unless_the_settings_enable_it(cache, raw):
    for value in (Thing(), Author(name="Ada"), Thing):
        with pytest.raises(TypeError, match=r"OPTIONS\['SERIALIZER'\]"):
            cache.set("object", value)
        with pytest.raises(TypeError, match="SERIALIZER"):
            cache.add("object", value)
        with pytest.raises(TypeError, match="SERIALIZER"):
            cache.set_many({"a": 1, "object": value})
    assert raw.count_documents({}) == 0  # refused before anything was sent


def test_with_pickle_enabled_objects_are_stored_signed(make_cache, raw):
    cache = make_cache(SERIALIZER="pickle")
    author = Author(name="Ada", id=7)
    cache.set("author", author)
    document = raw.find_one({"_id": ":1:author"})
    assert document["format"] == "pickle"
    assert len(document["signature"]) == 64
    restored = cache.get("author")
    assert (type(restored), restored.pk, restored.name) == (Author, 7, "Ada")


def test_a_pickle_written_by_someone_without_the_secret_key_reads_as_a_miss(
    make_cache, raw, caplog
):
    cache = make_cache(SERIALIZER="pickle")
    cache.set("author", Author(name="Ada"))
    raw.update_one({"_id": ":1:author"}, {"$set": {"value": pickle.dumps(Thing())}})
    assert cache.get("author", "miss") == "miss"
    assert "signature does not match" in caplog.text


OPERATOR_KEYS = ["$where", "$gt", "a.b", "{'$ne': null}", "key\x00nul", "_id", "$"]
OPERATOR_VALUES = [
    {"$gt": ""},
    {"$set": {"value": 1}},
    {"a.b": 1},
    {"$where": "sleep(1000)"},
    "$value",
    ["$inc", {"$unset": ""}],
    {"ok": {"$ne": None}},
]


@pytest.mark.filterwarnings("ignore::django.core.cache.CacheKeyWarning")  # not for memcached
def test_keys_and_values_that_look_like_operators_stay_data(cache, raw):
    cache.set("victim", "untouched")
    for key in OPERATOR_KEYS:
        for value in OPERATOR_VALUES:
            cache.set(key, value)
            assert cache.get(key) == value
            assert cache.add(key, "other") is False
            assert cache.get_many([key]) == {key: value}
    assert cache.get("victim") == "untouched"
    assert raw.count_documents({}) == len(OPERATOR_KEYS) + 1
    # A "$"-field or dotted dict is not stored as a BSON document (MongoDB treats such field
    # names specially in updates and queries): it is JSON text.
    cache.set("doc", {"$gt": ""})
    assert raw.find_one({"_id": ":1:doc"})["format"] == "json"
    cache.set("$inc", 1)
    assert cache.incr("$inc", 2) == 3


def test_a_key_function_must_make_strings(make_cache):
    cache = make_cache()
    cache.key_func = lambda key, prefix, version: {"$gt": ""}
    with pytest.raises(TypeError, match="keys must be strings"):
        cache.get("anything")


# -- commands per operation ------------------------------------------------------------------------


def test_each_operation_sends_the_commands_it_needs(cache):
    cache.set("warm", 1)  # the TTL index is made once per cache instance, before its first write
    expected = {
        "get": (lambda: cache.get("a"), 1),
        "get_many": (lambda: cache.get_many(["a", "b", "c"]), 1),
        "has_key": (lambda: cache.has_key("a"), 1),
        "set (count for culling, upsert)": (lambda: cache.set("a", 1), 2),
        "add": (lambda: cache.add("b", 1), 2),
        "set_many (count, one bulk write)": (lambda: cache.set_many({"c": 1, "d": 2, "e": 3}), 2),
        "touch": (lambda: cache.touch("a", 10), 1),
        "incr": (lambda: cache.incr("a"), 1),
        "delete": (lambda: cache.delete("a"), 1),
        "delete_many": (lambda: cache.delete_many(["b", "c", "d"]), 1),
        "clear": (cache.clear, 1),
    }
    for name, (operation, count) in expected.items():
        with CaptureQueriesContext(connection) as captured:
            operation()
        assert len(captured) == count, (name, commands(captured))


def test_culling_removes_expired_entries_then_the_first_keys(make_cache, raw):
    cache = make_cache(MAX_ENTRIES=5, CULL_FREQUENCY=2)
    cache.set_many({key: key for key in "abcde"})
    cache.set("f", "f")  # 5 entries reached: 5 // 2 = 2 go, the first in key order
    assert sorted(doc["_id"] for doc in raw.find()) == [":1:c", ":1:d", ":1:e", ":1:f"]
    cache.set("g", "g")
    past = datetime.datetime.now(UTC) - datetime.timedelta(seconds=1)
    raw.update_one({"_id": ":1:e"}, {"$set": {"expires": past}})
    cache.set("h", "h")  # the expired entry is enough
    assert sorted(doc["_id"] for doc in raw.find()) == [":1:c", ":1:d", ":1:f", ":1:g", ":1:h"]


def test_cull_frequency_zero_empties_the_cache(make_cache, raw):
    cache = make_cache(MAX_ENTRIES=3, CULL_FREQUENCY=0)
    cache.set_many({"a": 1, "b": 2, "c": 3})
    cache.set("d", 4)
    assert [doc["_id"] for doc in raw.find()] == [":1:d"]


# -- transactions --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_cache_writes_are_not_part_of_the_callers_transaction(cache):
    with pytest.raises(RuntimeError), transaction.atomic():
        Author.objects.create(name="rolled back")
        cache.set("written", "kept")
        raise RuntimeError
    assert not Author.objects.exists()
    assert cache.get("written") == "kept"


@pytest.mark.django_db(transaction=True)
def test_a_cache_write_inside_atomic_is_visible_to_other_connections_at_once(cache):
    seen = []

    def read_elsewhere():
        seen.append(cache.get("key"))
        connections.close_all()

    with transaction.atomic():
        cache.set("key", "now")
        reader = threading.Thread(target=read_elsewhere)
        reader.start()
        reader.join()
    assert seen == ["now"]


@pytest.mark.django_db(transaction=True)
def test_the_cache_works_in_a_transaction_a_failed_statement_broke(cache):
    Author.objects.create(name="Ada", id=1)
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            Author.objects.create(name="Ada again", id=1)
        # The ORM cannot run a statement here any more; the cache, outside it, can.
        cache.set("key", "value")
        cache.set("n", 0)
        assert cache.incr("n") == 1
        assert cache.get("key") == "value"
        transaction.set_rollback(True)


# -- async ---------------------------------------------------------------------------------------


def test_the_async_methods_run_on_the_event_loops_async_client(cache, raw):
    async def scenario():
        assert await cache.aadd("a", 1) is True
        await cache.aset("b", (2, 3))
        await cache.aset_many({"c": 4, "d": 5})
        assert await cache.aincr("a", 10) == 11
        assert await cache.adecr("a") == 10
        assert await cache.aget("b") == (2, 3)
        assert await cache.aget_many(["a", "c", "zz"]) == {"a": 10, "c": 4}
        assert await cache.ahas_key("d") is True
        assert await cache.atouch("d", None) is True
        assert await cache.adelete("d") is True
        await cache.adelete_many(["c"])
        assert await cache.aget_or_set("e", lambda: "made") == "made"
        assert await cache.aincr_version("e") == 2
        clients = async_execution.loop_clients()
        await cache.aclear()
        await cache.aclose()
        return clients

    clients = asyncio.run(scenario())
    assert len(clients) == 1  # the commands went through the loop's AsyncMongoClient
    assert raw.count_documents({}) == 0


# -- createcachetable ------------------------------------------------------------------------------


def run_createcachetable(**options):
    out = io.StringIO()
    call_command(CreateCacheTable(), stdout=out, **options)
    return out.getvalue()


def test_createcachetable_creates_the_collection_and_its_ttl_index(location, raw):
    with override_settings(
        CACHES={
            "default": {"BACKEND": BACKEND, "LOCATION": location},
            "other_db": {"BACKEND": BACKEND, "LOCATION": "never", "OPTIONS": {"DATABASE": "other"}},
            "memory": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        }
    ):
        dry_run = run_createcachetable(dry_run=True)
        index = '[["expires", 1]], expireAfterSeconds=0, name="expires_ttl"'
        assert dry_run == f"db.{location}.create_index({index})\n"
        assert location not in raw_database().list_collection_names()
        assert run_createcachetable(verbosity=2) == f"Cache collection '{location}' created.\n"
        assert raw.index_information()["expires_ttl"]["expireAfterSeconds"] == 0
        assert run_createcachetable() == f"Cache collection '{location}' already exists.\n"
        assert "never" not in raw_database().list_collection_names()  # on --database other


def test_createcachetable_refuses_djangos_sql_cache_on_mongodb():
    from django.core.management import CommandError

    with (
        override_settings(
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                    "LOCATION": "t",
                }
            }
        ),
        pytest.raises(CommandError, match="MongoDBCache"),
    ):
        run_createcachetable()


# -- cache_page without pickle --------------------------------------------------------------------


def test_cache_page_works_with_the_default_serializer(location, raw):
    calls = []

    @cache_page(60)
    def view(request):
        calls.append(1)
        response = HttpResponse(f"computed {len(calls)}")
        response.set_cookie("seen", "yes")
        return response

    with override_settings(CACHES={"default": {"BACKEND": BACKEND, "LOCATION": location}}):
        first = view(RequestFactory().get("/page/"))
        second = view(RequestFactory().get("/page/"))
    assert calls == [1]
    assert second.content == first.content == b"computed 1"
    assert second.cookies["seen"].value == "yes"
    formats = {doc.get("format") for doc in raw.find()}
    assert formats == {None, "json"}  # the header list as BSON, the response as JSON


# -- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "params", "message"),
    [
        ("", {}, "LOCATION must name"),
        ("a$b", {}, "not a collection name"),
        ("system.cache", {}, "not a collection name"),
        ("c", {"OPTIONS": {"SERIALIZER": "yaml"}}, "SERIALIZER"),
        ("c", {"OPTIONS": {"DATABSE": "other"}}, "unknown OPTIONS 'DATABSE'"),
    ],
)
def test_bad_settings_are_named(location, params, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        MongoDBCache(location, params)


def test_the_database_must_be_a_mongodb_one():
    with pytest.raises(ImproperlyConfigured, match="not a django_mongo_backend database"):
        MongoDBCache("c", {"OPTIONS": {"DATABASE": "sqlite"}}).get("key")
    with pytest.raises(ImproperlyConfigured, match="not in DATABASES"):
        MongoDBCache("c", {"OPTIONS": {"DATABASE": "nowhere"}}).get("key")


@pytest.mark.django_db(databases=["default", "other"])
def test_a_cache_on_another_database(location):
    cache = MongoDBCache(location, {"OPTIONS": {"DATABASE": "other"}})
    cache.set("key", "value")
    other = connections["other"]
    other.ensure_connection()
    try:
        assert other.connection.database[location].count_documents({}) == 1
        assert raw_database()[location].count_documents({}) == 0
    finally:
        other.connection.database.drop_collection(location)
