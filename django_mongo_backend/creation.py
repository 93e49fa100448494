"""Test databases: create, clone (for ``--parallel``) and destroy.

MongoDB creates databases on first write, so "creating" a test database means making sure no
stale one of that name is left. Cloning copies every collection (options such as the
``$jsonSchema`` validator, documents, indexes; views as views) and the ``__schema__``
sequences with ordinary reads and ``insert_many``: ``$out``/``$merge`` into another database
are neither portable to every deployment nor available on the embedded server.
"""

from __future__ import annotations

import sys

from django.db.backends.base.creation import BaseDatabaseCreation

from .mongo_command import MongoCommand

#: Documents per ``insert_many`` when cloning.
CLONE_BATCH_SIZE = 1000

#: ``listIndexes`` fields that describe the index rather than configure it.
INDEX_METADATA = {"key", "name", "ns", "v"}


class ServerCommand(MongoCommand):
    """A command on another database of the connected server (test databases and clones)."""

    __slots__ = ("database_name",)

    def __init__(self, database_name, collection, method, *args, **kwargs):
        super().__init__(collection, method, *args, **kwargs)
        self.database_name = database_name

    def run(self, database, session):
        return super().run(database.client[self.database_name], session)

    def __str__(self):
        command = super().__str__()
        return f"db.getSiblingDB({self.database_name!r}){command[2:]}"


class DropDatabase(ServerCommand):
    __slots__ = ()

    def __init__(self, database_name):
        super().__init__(database_name, None, "drop_database")

    def run(self, database, session):
        return database.client.drop_database(self.database_name, session=session)

    def __str__(self):
        return f"db.getSiblingDB({self.database_name!r}).dropDatabase()"


class DatabaseCreation(BaseDatabaseCreation):
    def _run(self, command):
        with self.connection.temporary_connection():
            return self.connection.execute_command(command, transactional=False)

    def _documents(self, cursor):
        with self.connection.wrap_mongo_errors():
            yield from cursor

    def _database_exists(self, name):
        listed = self._run(MongoCommand(None, "command", "listDatabases", nameOnly=True))
        return any(database["name"] == name for database in listed["databases"])

    def _create_test_db(self, verbosity, autoclobber, keepdb=False):
        test_database_name = self._get_test_db_name()
        if keepdb or not self._database_exists(test_database_name):
            return test_database_name
        if not autoclobber:
            confirm = input(
                "Type 'yes' if you would like to try deleting the test database "
                f"'{test_database_name}', or 'no' to cancel: "
            )
            if confirm != "yes":
                self.log("Tests cancelled.")
                sys.exit(1)
        if verbosity >= 1:
            self.log(
                "Destroying old test database for alias "
                f"{self._get_database_display_str(verbosity, test_database_name)}..."
            )
        self._run(DropDatabase(test_database_name))
        return test_database_name

    def _destroy_test_db(self, test_database_name, verbosity):
        self._run(DropDatabase(test_database_name))

    def _clone_test_db(self, suffix, verbosity, keepdb=False):
        source = self.connection.settings_dict["NAME"]
        target = self.get_test_db_clone_settings(suffix)["NAME"]
        if keepdb and self._database_exists(target):
            return
        if verbosity >= 1:
            self.log(
                "Destroying old test database for alias "
                f"{self._get_database_display_str(verbosity, target)}..."
            )
        self._run(DropDatabase(target))
        self.clone_database(source, target)

    def clone_database(self, source, target):
        """Copy every collection of ``source`` (and its indexes and options) to ``target``."""
        collections = list(
            self._documents(self._run(ServerCommand(source, None, "list_collections")))
        )
        # Views last: they may be defined on collections copied before them.
        collections.sort(key=lambda info: (info.get("type") == "view", info["name"]))
        for info in collections:
            name = info["name"]
            if name.startswith("system."):
                continue
            options = dict(info.get("options") or {})
            self._run(
                ServerCommand(
                    target, None, "create_collection", name, check_exists=False, **options
                )
            )
            if info.get("type") == "view":
                continue
            self._copy_documents(source, target, name)
            for index in self._documents(self._run(ServerCommand(source, name, "list_indexes"))):
                if index["name"] == "_id_":
                    continue
                index_options = {k: v for k, v in index.items() if k not in INDEX_METADATA}
                keys = list(index["key"].items())
                self._run(
                    ServerCommand(
                        target, name, "create_index", keys, name=index["name"], **index_options
                    )
                )

    def _copy_documents(self, source, target, name):
        batch = []
        for document in self._documents(self._run(ServerCommand(source, name, "find", {}))):
            batch.append(document)
            if len(batch) >= CLONE_BATCH_SIZE:
                self._insert(target, name, batch)
                batch = []
        if batch:
            self._insert(target, name, batch)

    def _insert(self, target, name, documents):
        # The copies were valid when written; a later validator change must not reject them.
        self._run(
            ServerCommand(
                target,
                name,
                "insert_many",
                documents,
                ordered=False,
                bypass_document_validation=True,
            )
        )

    def test_db_signature(self):
        """Also tell apart databases on different servers named only in ``CLIENT``."""
        settings_dict = self.connection.settings_dict
        client = settings_dict.get("CLIENT") or {}
        return (
            settings_dict["HOST"] or str(client.get("host", "")),
            settings_dict["PORT"] or str(client.get("port", "")),
            settings_dict["ENGINE"],
            self._get_test_db_name(),
        )
