"""The ``__schema__`` sequences against the data: shared by the system check and the
``mongo_sync_sequences`` command.

The check runs where Django runs database checks: ``manage.py check --database ALIAS``, and
``migrate`` (which checks the database it migrates). It is the backend's
``DatabaseValidation``, so no ``INSTALLED_APPS`` entry is needed. It costs one read of
``__schema__`` plus one indexed ``find_one`` (largest ``_id``) per collection that has a
sequence entry, and warns (``django_mongo_backend.W001``) when a sequence is behind the largest
``_id``: the next inserts would be handed ids that exist and fail with duplicate keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.core import checks
from django.db import router
from django.db.backends.base.validation import BaseDatabaseValidation

from .mongo_command import MongoCommand
from .sequences import SCHEMA_COLLECTION, id_ceiling

#: The command that repairs what the check reports.
SYNC_COMMAND = "mongo_sync_sequences"


@dataclass
class SequenceState:
    """One collection with an auto primary key, its ``__schema__`` entry and its data."""

    table: str
    model: type
    field_names: list
    entry: dict | None  # the entry's "auto" document, None when missing
    max_id: int | None  # the largest numeric _id, None when there is none

    @property
    def seq(self):
        return None if self.entry is None else self.entry.get("seq")

    @property
    def target(self):
        """The sequence value after a sync: never lower than it is."""
        values = [value for value in (self.seq, self.max_id) if isinstance(value, int)]
        return max(values, default=0)

    @property
    def behind(self):
        """The next reserved id would be one that exists."""
        return self.entry is not None and self.max_id is not None and (self.seq or 0) < self.max_id

    def changes(self):
        """What a sync changes, as readable phrases (empty: the entry is up to date)."""
        if self.entry is None:
            return ["missing entry"]
        found = []
        if not isinstance(self.seq, int) or self.seq < self.target:
            found.append(f"behind max _id {self.max_id}")
        if self.entry.get("field_names") != self.field_names:
            found.append(f"field_names {self.entry.get('field_names')} -> {self.field_names}")
        if self.entry.get("needs_sync"):
            found.append("flagged needs_sync")
        return found


def auto_models(alias):
    """Models stored on ``alias`` whose primary key comes from a sequence, one per collection.

    Unmanaged models count (``inspectdb`` writes ``managed = False``, and Django still inserts
    into them); proxies and swapped-out models do not.
    """
    seen = {}
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if opts.proxy or opts.swapped or opts.auto_field is None or opts.db_table in seen:
            continue
        if router.allow_migrate(alias, opts.app_label, model_name=opts.model_name, model=model):
            seen[opts.db_table] = model
    return seen


def _run(connection, command):
    return connection.execute_command(command, transactional=False)


def _entries(connection, tables):
    cursor = _run(
        connection,
        MongoCommand(SCHEMA_COLLECTION, "find", {"name": {"$in": sorted(tables)}}, {"_id": False}),
    )
    with connection.wrap_mongo_errors():
        return {entry["name"]: entry.get("auto") or {} for entry in cursor}


def _max_id(connection, table):
    top = _run(
        connection,
        MongoCommand(
            table, "find_one", {"_id": {"$type": "number"}}, {"_id": True}, sort=[("_id", -1)]
        ),
    )
    return None if top is None else id_ceiling(top["_id"])


def sequence_states(connection, *, existing_only=False):
    """The state of every sequence-backed collection of ``connection``.

    ``existing_only``: only collections that exist, including those without an entry (one more
    command, ``listCollections``). Otherwise only collections that have an entry (the check:
    a missing entry is created and synced by the first insert, so nothing can collide).
    """
    models = auto_models(connection.alias)
    if not models:
        return []
    entries = _entries(connection, models)
    if existing_only:
        names = set(_run(connection, MongoCommand(None, "list_collection_names")))
        tables = [table for table in models if table in names]
    else:
        tables = [table for table in models if table in entries]
    return [
        SequenceState(
            table=table,
            model=models[table],
            field_names=[models[table]._meta.auto_field.column],
            entry=entries.get(table),
            max_id=_max_id(connection, table),
        )
        for table in sorted(tables)
    ]


def check_sequences(connection):
    issues = []
    for state in sequence_states(connection):
        if state.behind:
            issues.append(
                checks.Warning(
                    f"The __schema__ sequence of collection {state.table!r} is at {state.seq}, "
                    f"behind its largest _id {state.max_id}: new objects would be given ids up "
                    f"to {state.max_id}, which may already exist (duplicate key errors).",
                    hint=(
                        f"Run 'manage.py {SYNC_COMMAND} --database {connection.alias}' to see "
                        "the change, then again with --apply to write it (the command needs "
                        "'django_mongo_backend' in INSTALLED_APPS)."
                    ),
                    obj=state.model,
                    id="django_mongo_backend.W001",
                )
            )
    return issues


class DatabaseValidation(BaseDatabaseValidation):
    """Database checks of this backend (Django runs them for the databases it checks)."""

    def check(self, **kwargs):
        issues = super().check(**kwargs)
        issues.extend(check_sequences(self.connection))
        return issues
