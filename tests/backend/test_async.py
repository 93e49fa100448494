"""Native async querysets (MongoManager): they run on an AsyncMongoClient, not the thread pool.

Each test runs its coroutine with ``asyncio.run`` (no pytest plugin needed). The native path is
proven, not assumed: asgiref's ``SyncToAsync`` is made to fail (so Django's thread-pool
fallback cannot run unnoticed), and the ``ASYNC_CLIENT`` setting hands in an AsyncMongoClient
with a command listener that records which commands it received, on which thread.

The native path runs in autocommit, outside pytest-django's per-test transaction, so these
tests use committed data and delete it afterwards.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

import pymongo
import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.db.models import Count, F, Sum

from django_mongo_backend import async_execution
from tests.backend.mongo_models import MongoAuthor, MongoBook, MongoIndexed, MongoUUIDKeyed
from tests.testapp.models import Author, Book, Indexed, UUIDKeyed


@pytest.fixture
def authors(committed):
    ann = Author.objects.create(name="Ann", age=30)
    bob = Author.objects.create(name="Bob", age=None)
    cy = Author.objects.create(name="Cy", age=45)
    Book.objects.create(title="Alpha", author=ann, pages=100)
    Book.objects.create(title="Beta", author=ann, pages=50)
    Book.objects.create(title="Gamma", author=bob, pages=10)
    return {"ann": ann, "bob": bob, "cy": cy}


def run(coroutine):
    """asyncio.run, returning the result and the loop thread's id."""

    async def main():
        return await coroutine, threading.get_ident()

    return asyncio.run(main())


def assert_on_loop(listener, thread, *names):
    assert listener.names == list(names)
    assert {t for _name, t in listener.events} <= {thread}


# -- reads --------------------------------------------------------------------------------


def test_afirst_acount_aexists(authors, native):
    async def go():
        first = await MongoAuthor.objects.filter(age__gte=30).afirst()
        count = await MongoAuthor.objects.filter(age__gte=30).acount()
        exists = await MongoAuthor.objects.filter(name="Nobody").aexists()
        return first, count, exists

    (first, count, exists), thread = run(go())
    assert (first.name, count, exists) == ("Ann", 2, False)
    assert type(first) is MongoAuthor
    # A plain read is sent as find; count() groups and exists() computes a column.
    assert_on_loop(native, thread, "find", "aggregate", "aggregate")


def test_aget_and_its_errors(authors, native):
    async def go():
        bob = await MongoAuthor.objects.aget(name="Bob")
        with pytest.raises(MongoAuthor.DoesNotExist):
            await MongoAuthor.objects.aget(name="Nobody")
        with pytest.raises(MongoAuthor.MultipleObjectsReturned):
            await MongoAuthor.objects.aget(age__gte=30)
        return bob

    bob, thread = run(go())
    assert bob.pk == authors["bob"].pk and bob.age is None
    assert_on_loop(native, thread, "find", "find", "find")


def test_async_for_fills_the_result_cache(authors, native):
    queryset = MongoBook.objects.select_related("author").order_by("-pages")

    async def go():
        return [(book.title, book.author.name) async for book in queryset]

    rows, thread = run(go())
    assert rows == [("Alpha", "Ann"), ("Beta", "Ann"), ("Gamma", "Bob")]
    assert queryset._result_cache is not None  # a second iteration sends nothing
    assert_on_loop(native, thread, "aggregate")


def test_prefetch_related_runs_natively_too(authors, native):
    async def go():
        return [
            (author.name, sorted(book.title for book in author.books.all()))
            async for author in MongoAuthor.objects.prefetch_related("books")
        ]

    rows, thread = run(go())
    assert rows == [("Ann", ["Alpha", "Beta"]), ("Bob", ["Gamma"]), ("Cy", [])]
    assert_on_loop(native, thread, "find", "find")


def test_other_reads(authors, native):
    ann = authors["ann"]
    instance = MongoAuthor.objects.get(pk=ann.pk)

    async def go():
        objects = MongoAuthor.objects
        return (
            await objects.order_by("name").alast(),
            await objects.aaggregate(total=Sum("age"), n=Count("id")),
            await objects.ain_bulk([ann.pk]),
            await objects.acontains(instance),
            await objects.aearliest("name"),
            await objects.alatest("name"),
            await objects.filter(name="Ann").values_list("age", flat=True).afirst(),
        )

    (last, totals, bulk, contained, earliest, latest, age), thread = run(go())
    assert last.name == "Cy"
    assert totals == {"total": 75, "n": 3}
    assert list(bulk) == [ann.pk] and bulk[ann.pk].name == "Ann"
    assert contained is True
    assert earliest.name == "Ann" and latest.name == "Cy"
    assert age == 30
    assert_on_loop(native, thread, "find", "aggregate", "find", "aggregate", "find", "find", "find")


def test_aiterator_streams_batches_on_the_loop(authors, native):
    """aiterator() opens one cursor and reads chunk_size documents at a time: a find and
    its getMores, each batch made into instances as it arrives."""

    async def go():
        queryset = MongoAuthor.objects.order_by("name")
        return [author.name async for author in queryset.aiterator(chunk_size=2)]

    names, thread = run(go())
    assert names == ["Ann", "Bob", "Cy"]
    assert_on_loop(native, thread, "find", "getMore")


def test_aiterator_of_joins_values_and_empty_reads(authors, native):
    async def go():
        books = MongoBook.objects.select_related("author").order_by("title")
        joined = [(b.title, b.author.name) async for b in books.aiterator(chunk_size=2)]
        ages = MongoAuthor.objects.order_by("name").values_list("age", flat=True)
        values = [age async for age in ages.aiterator(chunk_size=5)]
        nothing = [a async for a in MongoAuthor.objects.filter(pk__in=[]).aiterator()]
        return joined, values, nothing

    (joined, values, nothing), thread = run(go())
    assert joined == [("Alpha", "Ann"), ("Beta", "Ann"), ("Gamma", "Bob")]
    assert values == [30, None, 45]
    assert nothing == []
    # The join is an aggregate; values() a find of one batch; an empty IN sends nothing.
    assert_on_loop(native, thread, "aggregate", "getMore", "find")


def test_aiterator_of_a_filter_with_a_subquery(authors, native):
    async def go():
        inner = Author.objects.filter(age__gte=30).values("pk")
        books = MongoBook.objects.filter(author__in=inner).order_by("title")
        return [book.title async for book in books.aiterator(chunk_size=1)]

    titles, thread = run(go())
    assert titles == ["Alpha", "Beta"]
    # The subquery's values are read once, then answered again for every batch.
    assert_on_loop(native, thread, "find", "find", "getMore")


def test_aiterator_of_a_union_streams_its_unionwith_pipeline(authors, native):
    async def go():
        ages = MongoAuthor.objects.values_list("age", flat=True)
        union = ages.filter(age=30).union(ages.filter(age=45)).order_by()
        return sorted([age async for age in union.aiterator(chunk_size=1)])

    ages, thread = run(go())
    assert ages == [30, 45]
    assert_on_loop(native, thread, "aggregate", "getMore")


def test_aiterator_with_prefetch_related_keeps_djangos_path(authors, listener):
    async def go():
        queryset = MongoAuthor.objects.prefetch_related("books").order_by("name")
        return [(a.name, len(a.books.all())) async for a in queryset.aiterator(chunk_size=2)]

    rows, _ = run(go())
    assert rows == [("Ann", 2), ("Bob", 1), ("Cy", 0)]
    assert listener.names == []  # the thread pool's synchronous client ran it


def test_aiterator_refuses_a_chunk_size_below_one(authors):
    async def go():
        return [a async for a in MongoAuthor.objects.aiterator(chunk_size=0)]

    with pytest.raises(ValueError, match="strictly positive"):
        run(go())


def test_aexplain_is_mongodb_explain_output(authors, native):
    import json

    async def go():
        return await MongoAuthor.objects.filter(name="Ann").aexplain()

    output, thread = run(go())
    assert isinstance(json.loads(output), dict)
    assert_on_loop(native, thread, "explain")


def test_filter_with_a_subquery_sends_both_commands_natively(authors, native):
    async def go():
        inner = Author.objects.filter(age__gte=40).values("pk")
        return [book.title async for book in MongoBook.objects.filter(author__in=inner)]

    titles, thread = run(go())
    assert titles == []
    names = native.names
    assert names and set(names) == {"find"}
    assert {t for _n, t in native.events} == {thread}


def test_native_commands_show_in_connection_queries(authors, native):
    async def go():
        connection = connections["default"]
        connection.force_debug_cursor = True
        try:
            await MongoAuthor.objects.filter(name="Ann").afirst()
            return list(connection.queries)
        finally:
            connection.force_debug_cursor = False

    queries, _ = run(go())
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("db.testapp_author.find(")


def test_errors_are_djangos(committed, native):
    from django.db import IntegrityError

    existing = UUIDKeyed.objects.create(name="a")

    async def go():
        await MongoUUIDKeyed.objects.acreate(id=existing.pk, name="b")

    with pytest.raises(IntegrityError):
        run(go())
    assert native.names == ["insert"]


# -- writes -------------------------------------------------------------------------------


def test_acreate_reserves_an_id_and_inserts(committed, native):
    async def go():
        first = await MongoAuthor.objects.acreate(name="Dee", age=20)
        second = await MongoAuthor.objects.acreate(name="Eve")
        return first, second

    (first, second), thread = run(go())
    assert second.pk == first.pk + 1
    assert not first._state.adding and first._state.db == "default"
    assert Author.objects.get(pk=first.pk).age == 20
    assert_on_loop(native, thread, "findAndModify", "insert", "findAndModify", "insert")


def test_acreate_with_a_default_primary_key(committed, native):
    async def go():
        return await MongoUUIDKeyed.objects.acreate(name="u")

    obj, thread = run(go())
    assert isinstance(obj.pk, uuid.UUID)
    assert UUIDKeyed.objects.get(pk=obj.pk).name == "u"
    assert_on_loop(native, thread, "insert")


def test_acreate_falls_back_when_signals_listen(committed, listener):
    from django.db.models.signals import pre_save

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.name)

    pre_save.connect(receiver, sender=MongoAuthor)
    try:

        async def go():
            return await MongoAuthor.objects.acreate(name="Sig")

        obj, _ = run(go())
    finally:
        pre_save.disconnect(receiver, sender=MongoAuthor)
    assert seen == ["Sig"]  # exactly once
    assert listener.names == []  # the thread pool's synchronous client ran it
    assert Author.objects.filter(pk=obj.pk).exists()


def test_abulk_create_is_two_commands(committed, native):
    async def go():
        return await MongoAuthor.objects.abulk_create(
            [MongoAuthor(name=f"n{i}", age=i) for i in range(5)]
        )

    created, thread = run(go())
    ids = [obj.pk for obj in created]
    assert ids == list(range(ids[0], ids[0] + 5))
    assert all(not obj._state.adding for obj in created)
    assert sorted(Author.objects.values_list("age", flat=True)) == [0, 1, 2, 3, 4]
    assert_on_loop(native, thread, "findAndModify", "insert")


def test_aupdate(authors, native):
    async def go():
        return await MongoAuthor.objects.filter(age__isnull=False).aupdate(age=F("age") + 1)

    count, thread = run(go())
    assert count == 2
    assert sorted(Author.objects.exclude(age=None).values_list("age", flat=True)) == [31, 46]
    assert_on_loop(native, thread, "update")


def test_adelete_without_relations_is_one_native_command(committed, native):
    for i in range(3):
        Indexed.objects.create(name=f"i{i}", slug=f"s{i}", group=i)

    async def go():
        return await MongoIndexed.objects.filter(group__gte=1).adelete()

    result, thread = run(go())
    assert result == (2, {"testapp.MongoIndexed": 2})
    assert list(Indexed.objects.values_list("name", flat=True)) == ["i0"]
    assert_on_loop(native, thread, "delete")


def test_adelete_with_cascades_uses_the_collector_in_the_thread_pool(authors, listener):
    async def go():
        return await MongoAuthor.objects.filter(name="Ann").adelete()

    (count, per_model), _ = run(go())
    assert per_model == {"testapp.MongoAuthor": 1, "testapp.Book": 2}
    assert count == 3
    assert listener.names == []
    assert not Book.objects.filter(author__name="Ann").exists()


# -- where the native path is not taken ---------------------------------------------------


def test_called_from_sync_code_joins_the_callers_transaction(committed, listener):
    """async_to_sync (Django's async tests, sync code calling async code): Django's
    thread-sensitive path, on the caller's connection and inside its atomic() block."""

    async def count():
        return await MongoAuthor.objects.filter(name="Tx").acount()

    with transaction.atomic():
        Author.objects.create(name="Tx")
        assert async_to_sync(count)() == 1
        transaction.set_rollback(True)
    assert listener.names == []
    assert not Author.objects.filter(name="Tx").exists()


def test_a_synchronous_only_step_falls_back_before_any_write(committed):
    async def go():
        return await async_execution.run_natively(lambda: connections["default"].cursor())

    with pytest.raises(async_execution.NativeUnavailable):
        asyncio.run(go())


# -- clients ------------------------------------------------------------------------------


def test_a_client_per_loop_closed_when_the_loop_ends(authors, no_thread_pool, monkeypatch):
    created, closed = [], []

    class Recording(pymongo.AsyncMongoClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            created.append(self)

        async def close(self):
            closed.append(self)
            await super().close()

    monkeypatch.setattr(pymongo, "AsyncMongoClient", Recording)

    async def go():
        await MongoAuthor.objects.afirst()
        await MongoAuthor.objects.acount()
        return async_execution.loop_clients()

    for _ in range(2):
        clients, _ = run(go())
        assert clients == [created[-1]]
    assert len(created) == 2 and closed == created  # one per loop, each closed at its end


def test_close_async_clients(authors, no_thread_pool):
    async def go():
        await MongoAuthor.objects.afirst()
        before = async_execution.loop_clients()
        await async_execution.close_async_clients()
        after = async_execution.loop_clients()
        await MongoAuthor.objects.afirst()  # a new client opens
        return before, after, async_execution.loop_clients()

    (before, after, again), _ = run(go())
    assert len(before) == 1 and after == [] and len(again) == 1
    assert again[0] is not before[0]


def test_motor_and_sync_clients_are_refused_with_a_clear_error(committed):
    motor_client = type("AsyncIOMotorClient", (), {"__module__": "motor.motor_asyncio"})()
    settings = connections["default"].settings_dict
    for given, message in [
        (motor_client, "Motor is end-of-life"),
        (lambda: motor_client, "Motor is end-of-life"),
        (pymongo.MongoClient(connect=False), "synchronous pymongo.MongoClient"),
        ("mongodb://x", "must be a pymongo.AsyncMongoClient"),
    ]:
        settings["ASYNC_CLIENT"] = given
        try:
            with pytest.raises(ImproperlyConfigured, match=message):
                asyncio.run(MongoAuthor.objects.afirst())
        finally:
            del settings["ASYNC_CLIENT"]
