"""``manage.py mongo_sync_sequences``: create or repair the ``__schema__`` sequences so that no
new object is given an id that exists.

For every model on the database whose primary key is an ``AutoField`` / ``BigAutoField`` /
``SmallAutoField`` and whose collection exists, the sequence must be at least the largest
numeric ``_id`` of the collection. A dry run (the default) prints each change as
``<collection>: <current seq or "missing"> -> <new seq>``; ``--apply`` writes them with
``$max`` (a sequence is never lowered). Run twice, the second run finds nothing to change.

Needs ``"django_mongo_backend"`` in ``INSTALLED_APPS`` (Django finds commands in apps).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.connection import ConnectionDoesNotExist

from ...checks import sequence_states
from ...sequences import NEEDS_SYNC, SequenceCommand


class Command(BaseCommand):
    help = (
        "Raise the __schema__ sequence of every collection with an auto primary key to at "
        "least its largest _id, creating missing entries. Prints the changes; --apply writes "
        "them."
    )
    requires_system_checks = []  # the database check points here: do not run it first

    def add_arguments(self, parser):
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help='The database to sync (default: "default").',
        )
        parser.add_argument(
            "--apply",
            action="store_true",
            help="Write the changes (without it, only print them).",
        )

    def handle(self, *args, database, apply, verbosity, **options):
        try:
            connection = connections[database]
        except ConnectionDoesNotExist:
            raise CommandError(f"Unknown database {database!r}.") from None
        if connection.vendor != "mongodb":
            raise CommandError(f"Database {database!r} is not a MongoDB database.")
        states = sequence_states(connection, existing_only=True)
        changed = [state for state in states if state.changes()]
        for state in states:
            reasons = state.changes()
            if not reasons and verbosity < 2:
                continue
            current = "missing" if state.entry is None else state.seq
            line = f"{state.table}: {current} -> {state.target}"
            if reasons:
                line += f"  ({'; '.join(reasons)})"
            else:
                line += "  (up to date)"
            self.stdout.write(line)
        if not changed:
            self.stdout.write(
                self.style.SUCCESS(
                    f"All {len(states)} sequences of database {database!r} are up to date."
                )
            )
            return
        if not apply:
            self.stdout.write(
                f"Dry run: {len(changed)} sequence(s) of database {database!r} would change; "
                "nothing was written. Run again with --apply to write them."
            )
            return
        for state in changed:
            connection.execute_command(
                SequenceCommand(
                    "update_one",
                    {"name": state.table},
                    {
                        "$max": {"auto.seq": state.target},
                        "$set": {"auto.field_names": state.field_names},
                        "$unset": {NEEDS_SYNC: ""},
                    },
                    upsert=True,
                ),
                transactional=False,
            )
        self.stdout.write(
            self.style.SUCCESS(f"Updated {len(changed)} sequence(s) of database {database!r}.")
        )
