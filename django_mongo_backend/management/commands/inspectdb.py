"""``manage.py inspectdb`` with the MongoDB backend's additions (installed with
``"django_mongo_backend"`` in ``INSTALLED_APPS``; other databases get Django's command as is).

- ``--sample-size N``: how many documents of each collection are read to find its keys and
  types (default: the database's ``INSPECTDB_SAMPLE_SIZE`` setting, else 100).
- Each field's comment says where the sample disagrees: values of different types, keys
  missing from some documents.
- ObjectId values become ``ObjectIdField`` (``ObjectIdAutoField`` for ``_id``), with the import
  of ``django_mongo_backend.fields`` the module then needs.

Django's own ``inspectdb`` works on MongoDB too (types, nullability, primary keys), without the
comments.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.core.management.commands import inspectdb
from django.db import connections

from ...introspection import SAMPLE_SIZE


class Command(inspectdb.Command):
    help = (
        "Introspects the database tables (MongoDB: collections, from a sample of documents) "
        "in the given database and outputs a Django model module."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--sample-size",
            type=int,
            default=None,
            help=(
                "MongoDB: documents read per collection to infer fields (default: the "
                f"database's INSPECTDB_SAMPLE_SIZE setting, else {SAMPLE_SIZE})."
            ),
        )

    def handle(self, **options):
        connection = connections[options["database"]]
        size = options.get("sample_size")
        if size is not None and size < 1:
            raise CommandError("--sample-size must be at least 1.")
        if connection.vendor != "mongodb" or size is None:
            return super().handle(**options)
        introspection = connection.introspection
        previous = introspection.sample_size
        introspection.sample_size = size
        try:
            return super().handle(**options)
        finally:
            introspection.sample_size = previous

    def handle_inspection(self, options):
        lines = list(super().handle_inspection(options))
        uses_fields = any("django_mongo_backend.fields." in line for line in lines)
        for line in lines:
            yield line
            if uses_fields and line == "from django.db import models":
                yield "import django_mongo_backend.fields"

    def get_field_type(self, connection, table_name, row):
        field_type, field_params, field_notes = super().get_field_type(connection, table_name, row)
        field_notes.extend(getattr(row, "notes", ()) or ())
        return field_type, field_params, field_notes
