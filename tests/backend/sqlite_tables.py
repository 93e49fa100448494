"""The tables of some testapp models in the ``sqlite`` alias, for tests comparing rows with
SQLite (its router migrates only the differential app there)."""

from __future__ import annotations

import contextlib

from django.db import connections


@contextlib.contextmanager
def sqlite_tables(models):
    """Create ``models``' tables in the SQLite alias, drop them (in reverse order) after."""
    with connections["sqlite"].schema_editor() as editor:
        for model in models:
            editor.create_model(model)
    try:
        yield
    finally:
        with connections["sqlite"].schema_editor() as editor:
            for model in reversed(models):
                editor.delete_model(model)
