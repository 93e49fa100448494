"""``manage.py createcachetable`` that also prepares ``MongoDBCache`` collections (installed with
``"django_mongo_backend"`` in ``INSTALLED_APPS``; Django's own command ignores them).

For each ``MongoDBCache`` in ``CACHES`` whose ``OPTIONS["DATABASE"]`` is ``--database``, it
creates the collection and its TTL index on ``expires``; ``--dry-run`` prints the command
instead. Named collections (``createcachetable NAME``) are created the same way when
``--database`` is a MongoDB database. Everything else (``DatabaseCache`` tables on SQL
databases) is Django's command unchanged. Django's test runner calls this command for each test
database, so a MongoDB cache is ready in tests too. Without it the cache creates its index
before its first write in each process, so the command is a convenience, not a requirement.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.core.management.base import CommandError
from django.core.management.commands import createcachetable
from django.db import connections

from ...cache import MongoDBCache


class Command(createcachetable.Command):
    help = (
        "Creates the tables needed to use the SQL cache backend, and the collections and TTL "
        "indexes of django_mongo_backend's MongoDBCache."
    )

    def handle(self, *tablenames, **options):
        database = options["database"]
        self.verbosity = options["verbosity"]
        if connections[database].vendor != "mongodb":
            return super().handle(*tablenames, **options)
        if tablenames:
            targets = [
                MongoDBCache(name, {"OPTIONS": {"DATABASE": database}}) for name in tablenames
            ]
        else:
            targets = []
            for alias in settings.CACHES:
                cache = caches[alias]
                if isinstance(cache, BaseDatabaseCache):
                    raise CommandError(
                        f"CACHES[{alias!r}] is Django's DatabaseCache, which runs SQL; on the "
                        f"MongoDB database {database!r} use "
                        "django_mongo_backend.cache.MongoDBCache (docs/cache.rst)."
                    )
                if isinstance(cache, MongoDBCache) and cache.database_alias == database:
                    targets.append(cache)
        done = set()
        for cache in targets:
            if cache.collection not in done:
                done.add(cache.collection)
                self.create_collection(cache, options["dry_run"])
        return None

    def create_collection(self, cache, dry_run):
        name = cache.collection
        command = cache.store.index_command()
        if dry_run:
            self.stdout.write(str(command))
            return
        connection = connections[cache.database_alias]
        existed = name in connection.introspection.table_names()
        cache.run(cache.store.create_indexes())
        if existed:
            if self.verbosity > 0:
                self.stdout.write(f"Cache collection '{name}' already exists.")
        elif self.verbosity > 1:
            self.stdout.write(f"Cache collection '{name}' created.")
