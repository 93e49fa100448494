"""What every scenario shares: settings per backend, raw pymongo beside the ORM, timing, counting.

Each backend runs in its own process (and, for the peers, its own virtualenv), so this module
imports nothing beyond the standard library at import time and keeps to Python 3.11 and to the
Django API of Django 3.1 (djongo's newest). ``configure()`` sets Django up for one backend;
``Bench`` then gives a scenario the raw pymongo database the backend writes to, the document
shape the backend stores, and ``compare()``, which times the ORM and raw pymongo doing the same
work, interleaved, and returns medians of wall time and of this process's CPU time.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent

OURS = "django_mongo_backend"
DMB = "django-mongodb-backend"
DJONGO = "djongo"
SQLITE = "sqlite"
BACKENDS = (OURS, DMB, DJONGO, SQLITE)
# The Python package whose version the results name, per backend.
DISTRIBUTIONS = {
    OURS: "django-mongo-compiler",
    DMB: "django-mongodb-backend",
    DJONGO: "djongo",
    SQLITE: None,
}

# Handshake, authentication and session bookkeeping are not the operation's commands.
NOT_COUNTED = {"hello", "ismaster", "isMaster", "saslStart", "saslContinue", "endSessions"}


class CommandCounter:
    """Counts commands sent over the wire (getMore included), through pymongo's monitoring."""

    def __init__(self):
        self.count = 0

    def listener(self):
        from pymongo import monitoring

        counter = self

        class Listener(monitoring.CommandListener):
            def started(self, event):
                if event.command_name not in NOT_COUNTED:
                    counter.count += 1

            def succeeded(self, event):
                pass

            def failed(self, event):
                pass

        return Listener()


WIRE = CommandCounter()


def database_settings(backend, uri, name, workdir):
    if backend == OURS:
        return {"ENGINE": "django_mongo_backend", "NAME": name, "CLIENT": {"host": uri}}
    if backend == DMB:
        return {"ENGINE": "django_mongodb_backend", "NAME": name, "HOST": uri}
    if backend == DJONGO:
        return {
            "ENGINE": "djongo",
            "NAME": name,
            "ENFORCE_SCHEMA": False,
            "CLIENT": {"host": uri},
        }
    if backend == SQLITE:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(Path(workdir) / "bench.db")}
    raise ValueError(f"unknown backend {backend!r}")


def configure(backend, uri, name, workdir):
    """Set Django up for ``backend`` (in this process, once) and create the tables."""
    import pymongo.monitoring

    pymongo.monitoring.register(WIRE.listener())  # before any client exists
    if backend == OURS and str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # a checkout without the package installed
    import django
    from django.conf import settings

    auto_field = "django.db.models.AutoField"
    if backend == DMB:
        auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    options = {
        "DEBUG": False,
        "DATABASES": {"default": database_settings(backend, uri, name, workdir)},
        "INSTALLED_APPS": ["bench_app"],
        "USE_TZ": True,
        "SECRET_KEY": "bench",
    }
    if django.VERSION >= (3, 2):
        options["DEFAULT_AUTO_FIELD"] = auto_field
    settings.configure(**options)
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def error_text(error):
    """A one-line reason: the exception and the causes chained behind it."""
    parts = []
    seen = set()
    while error is not None and id(error) not in seen and len(parts) < 3:
        seen.add(id(error))
        message = " ".join(str(error).split())
        if len(message) > 160:
            message = message[:157] + "..."
        parts.append(f"{type(error).__name__}: {message}" if message else type(error).__name__)
        error = error.__cause__ or error.__context__
    return " <- ".join(parts)


def median_of(samples):
    return statistics.median(samples) if samples else None


class Bench:
    """One backend, configured, plus the raw pymongo database it is compared with."""

    def __init__(self, backend, uri, name, scale=1.0, repeat=5, budget=60.0):
        self.backend = backend
        self.uri = uri
        self.name = name
        self.scale = scale
        self.repeat = repeat
        self.budget = budget  # seconds one comparison may take before it stops repeating
        import pymongo

        # For SQLite the raw side is still pymongo on the embedded server, reading the documents
        # this backend's run loaded (the same rows, shaped as this backend stores them) when
        # they are there: the question is what a user would pay instead of MongoDB.
        raw_name = name if backend != SQLITE else f"bench_{OURS}"
        self.client = pymongo.MongoClient(uri)
        self.raw_db = self.client[raw_name]
        self.shape = backend if backend in (DMB, DJONGO) else OURS
        self.notes = []  # what the run had to change for this backend, for the table

    def relax_unique_indexes(self, model):
        """Replace unique secondary indexes on ``model``'s collection by non-unique ones.

        The embedded server (mongoeco 4.11) checks a unique index other than ``_id`` by scanning
        the collection, so every insert costs O(n): 1,000 documents take about 25 s and
        building such an index over 20,000 documents does not finish in minutes. Djongo puts
        one on its ``id`` column; without this the peer could not be loaded at all. Lookups
        by ``id`` keep an index.
        """
        collection = self.raw_collection(model)
        for name, info in collection.index_information().items():
            if name == "_id_" or not info.get("unique"):
                continue
            collection.drop_index(name)
            collection.create_index(info["key"], name=f"{name}_nonunique")
            note = (
                "unique secondary indexes replaced by non-unique ones (the embedded server "
                "checks them in O(n) per inserted document)"
            )
            if note not in self.notes:
                self.notes.append(note)

    def size(self, full):
        return max(1, int(full * self.scale))

    # -- documents as each backend stores them ---------------------------------------------

    def doc_key(self, field):
        """The document key holding ``field``'s value in this backend's collections."""
        if field.primary_key and self.shape == OURS:
            return "_id"
        return field.column

    def fields_and_keys(self, model):
        fields = model._meta.concrete_fields
        return [field.attname for field in fields], [self.doc_key(field) for field in fields]

    def raw_collection(self, model):
        return self.raw_db[model._meta.db_table]

    def raw_document(self, values, pk=None):
        """A document for raw pymongo to insert, shaped like the backend's own."""
        document = dict(values)
        if self.shape == OURS:
            document["_id"] = pk
        elif self.shape == DJONGO:
            document["id"] = pk
        # django-mongodb-backend: the driver adds an ObjectId _id, as the backend does.
        return document

    def raw_load(self, model, rows, batch=10_000):
        """Fill ``model``'s collection with ``rows`` (dicts of column values) through pymongo.

        On SQLite the ORM fills the table and pymongo the raw side's collection.
        """
        collection = self.raw_collection(model)
        if self.backend == SQLITE:
            model.objects.all().delete()
            model.objects.bulk_create([model(**row) for row in rows], batch_size=500)
            if collection.estimated_document_count() == len(rows):
                return  # loaded by this backend's run, with the same values
        collection.delete_many({})
        if self.backend != SQLITE:
            self.relax_unique_indexes(model)
        documents = [self.raw_document(row, pk=i + 1) for i, row in enumerate(rows)]
        for start in range(0, len(documents), batch):
            collection.insert_many(documents[start : start + batch])

    def recreate(self, model):
        """Empty ``model``'s collection (or table) and the raw side's, outside any timing.

        Dropping and re-creating through the backend's own schema editor keeps its validators
        and indexes, and is far cheaper on the embedded server than ``delete_many``.
        """
        from django.db import connection

        if self.backend == SQLITE:
            model.objects.all().delete()
            self.raw_collection(model).drop()
            return
        try:
            with connection.schema_editor() as editor:
                editor.delete_model(model)
                editor.create_model(model)
        except Exception:
            self.raw_collection(model).delete_many({})
        self.relax_unique_indexes(model)

    def pk_values(self, model, count):
        return list(model.objects.order_by("pk").values_list("pk", flat=True)[:count])

    # -- measuring --------------------------------------------------------------------------

    def compare(self, orm, raw, setup=None, repeat=None):
        """Medians of ORM and raw runs (alternating, so load on the machine hits both)."""
        repeat = repeat or self.repeat
        results = {"orm": ([], []), "raw": ([], [])}
        started = time.perf_counter()
        for _ in range(repeat):
            for side, function in (("orm", orm), ("raw", raw)):
                if function is None:
                    continue
                if setup is not None:
                    setup()
                wall, cpu = time.perf_counter(), time.process_time()
                function()
                results[side][0].append(time.perf_counter() - wall)
                results[side][1].append(time.process_time() - cpu)
            if time.perf_counter() - started > self.budget:
                break
        out = {
            "orm_wall": median_of(results["orm"][0]),
            "orm_cpu": median_of(results["orm"][1]),
            "raw_wall": median_of(results["raw"][0]),
            "raw_cpu": median_of(results["raw"][1]),
            "runs": len(results["orm"][0]),
        }
        if out["raw_wall"]:
            out["wall_ratio"] = out["orm_wall"] / out["raw_wall"]
            out["cpu_ratio"] = out["orm_cpu"] / max(out["raw_cpu"], 1e-6)
        return out

    def commands(self, operation):
        """(entries in connection.queries, commands on the wire) for one ``operation()``."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        wire = WIRE.count
        with CaptureQueriesContext(connection) as queries:
            operation()
        return {"queries": len(queries), "wire": WIRE.count - wire}


def versions(backend):
    import django
    import pymongo

    found = {
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "pymongo": pymongo.version,
    }
    distribution = DISTRIBUTIONS.get(backend)
    if distribution:
        try:
            from importlib.metadata import version

            found[backend] = version(distribution)
        except Exception:
            if backend == OURS:
                import django_mongo_backend

                found[backend] = django_mongo_backend.__version__
    return found


def start_server():
    """An embedded server in a temporary directory: (uri, stop); stop() also removes it."""
    from django_mongo_backend.embedded import launcher

    dbpath = tempfile.mkdtemp(prefix="bench-server-")
    info = launcher.ensure_server(dbpath)

    def stop():
        import shutil

        launcher.stop_server(dbpath)
        shutil.rmtree(dbpath, ignore_errors=True)

    return launcher.uri_for(info), stop


def run_one_scenario(module_name):
    """``python bench/<scenario>.py [--backend B] [--uri URI] [--scale S]``: one scenario alone.

    Without ``--uri`` it starts (and stops) its own embedded server; the default backend is
    this one. Prints the result as the table row it would be in ``run_all.py``.
    """
    import argparse
    import importlib
    import json

    parser = argparse.ArgumentParser(description=f"bench scenario {module_name}")
    parser.add_argument("--backend", default=OURS, choices=BACKENDS)
    parser.add_argument("--uri", default=os.environ.get("MONGODB_URI"))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    stop = None
    uri = args.uri
    if not uri:
        sys.path.insert(0, str(REPO))
        uri, stop = start_server()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            configure(args.backend, uri, f"bench_{module_name}", workdir)
            bench = Bench(args.backend, uri, f"bench_{module_name}", args.scale, args.repeat)
            module = importlib.import_module(module_name)
            for key, row in module.run(bench).items():
                print(key, json.dumps(row, default=str, indent=1))
    finally:
        if stop:
            stop()
