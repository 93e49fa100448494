"""``MongoManager`` / ``MongoQuerySet``: raw MongoDB access, the compiled pipeline, native async.

Opt in per model::

    from django_mongo_backend.managers import MongoManager

    class Post(models.Model):
        ...
        objects = MongoManager()

- ``mongo_aggregate(pipeline)`` / ``mongo_find(filter, projection)``: model instances from a
  raw pipeline or find on the model's collection (``amongo_aggregate`` / ``amongo_find``).
- ``mql()``: the command a queryset compiles to; ``explain()`` is MongoDB's explain output.
- The async methods (``afirst()``, ``acount()``, ``async for``...) run on PyMongo's
  ``AsyncMongoClient`` instead of Django's thread pool (see ``async_execution``).
"""

from __future__ import annotations

from functools import partial

from asgiref.sync import sync_to_async
from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import signals
from django.db.models.deletion import Collector
from django.db.models.fields import AutoFieldMixin

from . import async_execution
from .compiler.read_shapes import plan_for
from .mongo_command import MongoCommand
from .operations import document_key


def _computes_on_save(field):
    """Whether saving computes the field's value (so two runs of save() could differ)."""
    if type(field).pre_save is models.Field.pre_save:
        return False
    if isinstance(field, models.DateField | models.TimeField):  # DateTimeField included
        return field.auto_now or field.auto_now_add
    return True  # FileField commits files, custom fields may do anything


class MongoQuerySet(models.QuerySet):
    # -- the compiled command -------------------------------------------------------------

    def mql(self):
        """``{"aggregate": <collection>, "pipeline": [...]}``: the pipeline this queryset
        compiles to (a plain one is sent as the ``find`` that means the same; ``str(qs.query)``
        shows the command sent).

        None when Django knows no document can match (then no command is sent at all).
        """
        try:
            return self.query.get_compiler(self.db).mql()
        except EmptyResultSet:
            return None

    # -- raw access -----------------------------------------------------------------------

    def _raw_collection(self, method):
        if self.query.has_filters() or self.query.is_sliced or self.query.annotations:
            raise TypeError(
                f"{method}() runs on the whole collection: call it on the manager or on "
                "all(), not on a filtered, sliced or annotated queryset."
            )
        return self.model._meta.db_table

    def mongo_aggregate(self, pipeline):
        """Run ``pipeline`` on the model's collection; a list of model instances.

        ``_id`` is read as the primary key, keys named like a field's column as that field
        (converted as in any query), other keys become attributes. Fields a document lacks
        are deferred. Runs in the current transaction and shows in ``connection.queries``.
        """
        collection = self._raw_collection("mongo_aggregate")
        command = MongoCommand(collection, "aggregate", list(pipeline))
        return self._raw_instances(command)

    def mongo_find(self, filter=None, projection=None, **options):
        """``find(filter, projection, **options)`` on the model's collection, as instances.

        ``options`` are pymongo's ``find()`` keyword arguments (``sort``, ``limit``, ``skip``...).
        """
        collection = self._raw_collection("mongo_find")
        command = MongoCommand(collection, "find", filter or {}, projection, **options)
        return self._raw_instances(command)

    async def amongo_aggregate(self, pipeline):
        def run():
            return self.mongo_aggregate(pipeline)

        return await self._native(run, lambda: sync_to_async(run)())

    async def amongo_find(self, filter=None, projection=None, **options):
        def run():
            return self.mongo_find(filter, projection, **options)

        return await self._native(run, lambda: sync_to_async(run)())

    def _raw_instances(self, command):
        db = self.db
        connection = connections[db]
        opts = self.model._meta
        readers = []
        for field in opts.concrete_fields:
            column = field.get_col(opts.db_table)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(
                connection
            )
            readers.append((document_key(field), field.attname, column, converters))
        keys = {key for key, *_ in readers}
        cursor = connection.execute_command(command)
        with connection.wrap_mongo_errors():
            documents = list(cursor)
        instances = []
        for document in documents:
            names, values = [], []
            for key, attname, column, converters in readers:
                if key in document:
                    value = document[key]
                    for converter in converters:
                        value = converter(value, column, connection)
                    names.append(attname)
                    values.append(value)
            instance = self.model.from_db(db, names, values)
            for key, value in document.items():
                if key not in keys:
                    setattr(instance, key, value)
            instances.append(instance)
        return instances

    # -- native async ---------------------------------------------------------------------

    def _native_possible(self):
        return (
            connections[self.db].vendor == "mongodb" and not async_execution.called_from_sync_code()
        )

    async def _native(self, run, fallback):
        """``run()`` with the async client; ``await fallback()`` (Django's thread pool) where
        that cannot be done."""
        if self._native_possible():
            try:
                return await async_execution.run_natively(run)
            except async_execution.NativeUnavailable:
                pass
        return await fallback()

    def __aiter__(self):
        async def documents():
            await self._native(self._fetch_all, lambda: sync_to_async(self._fetch_all)())
            for item in self._result_cache:
                yield item

        return documents()

    async def aiterator(self, chunk_size=2000):
        """Streams on the async client: a cursor read ``chunk_size`` documents at a time, each
        batch turned into instances by Django's iterable (``async_execution.stream_natively``).
        Django's thread-pool implementation where that cannot be done (``prefetch_related``,
        ``DISABLE_SERVER_SIDE_CURSORS``, ``select_for_update``, inside ``async_to_sync``)."""
        if chunk_size <= 0:
            raise ValueError("Chunk size must be strictly positive.")
        native = (
            not self._prefetch_related_lookups
            and not self.query.select_for_update
            and not connections[self.db].settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
            and self._native_possible()
        )
        if native:
            started = False
            try:
                async for items in async_execution.stream_natively(
                    partial(self._streamed_read, chunk_size),
                    self._chunk_items(chunk_size),
                    chunk_size,
                ):
                    started = True
                    for item in items:
                        yield item
                return
            except async_execution.NativeUnavailable:
                if started:  # the same code ran natively for the batches before
                    raise
                # Compiling needed a synchronous connection: Django's way, from the start.
        async for item in super().aiterator(chunk_size=chunk_size):
            yield item

    def _streamed_read(self, chunk_size):
        """``(connection, the command the iterable sends)`` (see stream_natively)."""
        connection = connections[self.db]
        compiler = self.query.get_compiler(self.db)
        try:
            plan = plan_for(compiler)
        except EmptyResultSet:
            return None
        if plan.combination is not None:
            return connection, None
        return connection, plan.command(batchSize=chunk_size)

    def _chunk_items(self, chunk_size):
        def items():
            return list(self._iterable_class(self, chunked_fetch=True, chunk_size=chunk_size))

        return items

    async def aget(self, *args, **kwargs):
        return await self._native(
            lambda: self.get(*args, **kwargs), partial(super().aget, *args, **kwargs)
        )

    async def afirst(self):
        return await self._native(self.first, super().afirst)

    async def alast(self):
        return await self._native(self.last, super().alast)

    async def acount(self):
        return await self._native(self.count, super().acount)

    async def aexists(self):
        return await self._native(self.exists, super().aexists)

    async def acontains(self, obj):
        return await self._native(lambda: self.contains(obj), partial(super().acontains, obj))

    async def aaggregate(self, *args, **kwargs):
        return await self._native(
            lambda: self.aggregate(*args, **kwargs), partial(super().aaggregate, *args, **kwargs)
        )

    async def ain_bulk(self, id_list=None, *, field_name="pk"):
        return await self._native(
            lambda: self.in_bulk(id_list, field_name=field_name),
            partial(super().ain_bulk, id_list, field_name=field_name),
        )

    async def aearliest(self, *fields):
        return await self._native(
            lambda: self.earliest(*fields), partial(super().aearliest, *fields)
        )

    async def alatest(self, *fields):
        return await self._native(lambda: self.latest(*fields), partial(super().alatest, *fields))

    async def aexplain(self, *, format=None, **options):
        return await self._native(
            lambda: self.explain(format=format, **options),
            partial(super().aexplain, format=format, **options),
        )

    async def aupdate(self, **kwargs):
        # update() sends an optional read of the ids, then one update_many: no signals, and
        # the same command each time it is built.
        return await self._native(lambda: self.update(**kwargs), partial(super().aupdate, **kwargs))

    aupdate.alters_data = True

    async def adelete(self):
        """Natively when Django would delete without collecting (no cascades, no signal
        receivers): one delete_many. Otherwise Django's Collector, in the thread pool."""
        query = self.query
        if (
            self._fields is None
            and not query.is_sliced
            and not query.distinct_fields
            and not query.combinator
        ):
            doomed = self._chain()
            doomed._for_write = True
            doomed.query.select_for_update = False
            doomed.query.select_related = False
            doomed.query.clear_ordering(force=True)
            if Collector(using=doomed.db, origin=self).can_fast_delete(doomed):
                count = await self._native(lambda: doomed._raw_delete(doomed.db), _no_fallback)
                if count is not None:
                    self._result_cache = None
                    return count, {self.model._meta.label: count}
        return await super().adelete()

    adelete.alters_data = True
    adelete.queryset_only = True

    def _saves_natively(self):
        opts = self.model._meta
        return (
            not opts.concrete_model._meta.parents  # a proxy's parents are its concrete model
            and not signals.pre_save.has_listeners(self.model)
            and not signals.post_save.has_listeners(self.model)
            and not any(_computes_on_save(field) for field in opts.concrete_fields)
        )

    async def acreate(self, **kwargs):
        """Natively for models without multi-table inheritance, ``pre_save``/``post_save``
        receivers or values computed at save time (``auto_now``, files); otherwise Django's
        thread pool. Two commands: the id reservation and the insert."""
        reverse_one_to_one = getattr(self.model._meta, "_reverse_one_to_one_field_names", ())
        if not self._saves_natively() or set(kwargs).intersection(reverse_one_to_one):
            return await super().acreate(**kwargs)
        obj = self.model(**kwargs)  # once: defaults and post_init run a single time
        self._for_write = True
        done = await self._native(
            lambda: obj.save(force_insert=True, using=self.db) or True, _no_fallback
        )
        if done is None:  # could not run natively; nothing was written
            return await sync_to_async(self._save_created)(obj)
        return obj

    acreate.alters_data = True

    def _save_created(self, obj):
        obj.save(force_insert=True, using=self.db)
        return obj

    async def abulk_create(
        self,
        objs,
        batch_size=None,
        ignore_conflicts=False,
        update_conflicts=False,
        update_fields=None,
        unique_fields=None,
    ):
        """Natively when all objects get ids from the sequence in one insert, no conflict
        options are given and the model computes nothing at save time: two commands. Not
        wrapped in a transaction: like ``insert_many(ordered=True)``, a failing document leaves
        the ones before it inserted. Otherwise Django's ``bulk_create()`` in the thread pool."""
        objs = list(objs)
        opts = self.model._meta
        native = (
            objs
            and not (ignore_conflicts or update_conflicts or update_fields or unique_fields)
            and (batch_size is None or batch_size >= len(objs))
            and not opts.concrete_model._meta.parents
            and isinstance(opts.pk, AutoFieldMixin)
            and all(obj.pk is None for obj in objs)
            and not any(_computes_on_save(field) for field in opts.concrete_fields)
            and self._native_possible()
        )
        if not native:
            return await super().abulk_create(
                objs,
                batch_size=batch_size,
                ignore_conflicts=ignore_conflicts,
                update_conflicts=update_conflicts,
                update_fields=update_fields,
                unique_fields=unique_fields,
            )
        self._for_write = True
        self._prepare_for_bulk_create(objs)
        fields = [
            field
            for field in opts.concrete_fields
            if not field.generated and not isinstance(field, AutoFieldMixin)
        ]
        returning = opts.db_returning_fields
        rows = await self._native(
            lambda: self._insert(objs, fields=fields, using=self.db, returning_fields=returning),
            _no_fallback,
        )
        if rows is None:
            return await sync_to_async(self.bulk_create)(objs)
        for obj, row in zip(objs, rows, strict=True):
            for value, field in zip(row, returning, strict=True):
                setattr(obj, field.attname, value)
            obj._state.adding = False
            obj._state.db = self.db
        return objs

    abulk_create.alters_data = True


async def _no_fallback(*args, **kwargs):
    """The caller falls back itself (None: the native path was not taken)."""
    return


class MongoManager(models.Manager.from_queryset(MongoQuerySet)):
    """The default manager plus raw MongoDB access and native async (see the module doc)."""
