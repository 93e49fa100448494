"""Introspection: collections as tables, indexes as constraints, sampled documents as columns.

MongoDB stores every primary key as ``_id``; introspection reports it under the model's pk
column (``id``) when a model of this project owns the collection, so Django's schema code can
match constraints by ``field.column`` as on SQL databases.
"""

from __future__ import annotations

from django.db.backends.base.introspection import (
    BaseDatabaseIntrospection,
    FieldInfo,
    TableInfo,
)

from .commands import MongoCommand
from .sequences import SCHEMA_COLLECTION

#: How many documents ``get_table_description`` samples for field names and types.
SAMPLE_SIZE = 100

#: Python types of decoded BSON values -> BSON type names (first match wins).
PYTHON_TO_BSON = (
    ("bool", "bool"),
    ("int", "int"),
    ("Int64", "long"),
    ("float", "double"),
    ("Decimal128", "decimal"),
    ("str", "string"),
    ("datetime", "date"),
    ("ObjectId", "objectId"),
    ("bytes", "binData"),
    ("Binary", "binData"),
    ("UUID", "binData"),
    ("dict", "object"),
    ("SON", "object"),
    ("list", "array"),
)
_BSON_BY_PYTHON = dict(PYTHON_TO_BSON)


class DatabaseIntrospection(BaseDatabaseIntrospection):
    #: BSON type -> Django field (inspectdb).
    data_types_reverse = {
        "int": "IntegerField",
        "long": "BigIntegerField",
        "double": "FloatField",
        "decimal": "DecimalField",
        "string": "TextField",
        "bool": "BooleanField",
        "date": "DateTimeField",
        "binData": "BinaryField",
        "objectId": "CharField",
        "object": "JSONField",
        "array": "JSONField",
        "null": "TextField",
    }

    def _run(self, collection, method, *args, **kwargs):
        """Introspection commands are not allowed inside transactions: run them outside."""
        return self.connection.execute_command(
            MongoCommand(collection, method, *args, **kwargs), transactional=False
        )

    def _documents(self, cursor):
        with self.connection.wrap_mongo_errors():
            return list(cursor)

    def get_table_list(self, cursor):
        collections = self._documents(self._run(None, "list_collections"))
        return [
            TableInfo(info["name"], "v" if info.get("type") == "view" else "t")
            for info in sorted(collections, key=lambda info: info["name"])
            if info["name"] != SCHEMA_COLLECTION and not info["name"].startswith("system.")
        ]

    def _pk_column(self, table_name):
        """The primary key column of the model stored in ``table_name``, else ``_id``."""
        from django.apps import apps

        for model in apps.get_models(include_auto_created=True):
            if model._meta.db_table == table_name:
                return model._meta.pk.column
        entry = self._documents(self._run(SCHEMA_COLLECTION, "find", {"name": table_name}))
        if entry and entry[0].get("auto", {}).get("field_names"):
            return entry[0]["auto"]["field_names"][0]
        return "_id"

    def _validator_schema(self, table_name):
        collections = self._documents(
            self._run(None, "list_collections", filter={"name": table_name})
        )
        validator = collections[0].get("options", {}).get("validator", {}) if collections else {}
        return validator.get("$jsonSchema") or {}

    def get_table_description(self, cursor, table_name):
        """Field names and BSON types from the validator and a sample of documents."""
        schema = self._validator_schema(table_name)
        required = set(schema.get("required", ()))
        declared = {}  # key -> BSON types the validator allows
        for key, rule in schema.get("properties", {}).items():
            bson_type = rule.get("bsonType")
            declared[key] = set([bson_type] if isinstance(bson_type, str) else bson_type or ())
        sampled = {key: set() for key in declared}  # key -> BSON types of stored values
        documents = self._documents(self._run(table_name, "find", {}, limit=SAMPLE_SIZE))
        for document in documents:
            for key, value in document.items():
                sampled.setdefault(key, set()).add(
                    "null" if value is None else _BSON_BY_PYTHON.get(type(value).__name__, "")
                )
        pk_column = self._pk_column(table_name)
        description = []
        for key, seen in sampled.items():
            allowed = declared.get(key, set())
            missing = any(key not in document for document in documents)
            null_ok = key != "_id" and (
                "null" in seen | allowed or missing or bool(schema and key not in required)
            )
            # Stored values say more than the validator, which allows int and long together.
            concrete = sorted(t for t in seen if t and t != "null") or sorted(
                t for t in allowed if t != "null"
            )
            type_code = "long" if set(concrete) == {"int", "long"} else next(iter(concrete), "null")
            name = pk_column if key == "_id" else key
            description.append(
                FieldInfo(name, type_code, None, None, None, None, null_ok, None, None)
            )
        description.sort(key=lambda info: info.name != pk_column)
        return description

    def get_sequences(self, cursor, table_name, table_fields=()):
        """The ``__schema__`` sequence of the collection, or its model's auto field."""
        entry = self._documents(self._run(SCHEMA_COLLECTION, "find", {"name": table_name}))
        if entry and entry[0].get("auto", {}).get("field_names"):
            return [{"table": table_name, "column": entry[0]["auto"]["field_names"][0]}]
        for field in table_fields:
            if getattr(field, "get_internal_type", None) and field.get_internal_type() in {
                "AutoField",
                "BigAutoField",
                "SmallAutoField",
            }:
                return [{"table": table_name, "column": field.column}]
        return []

    def get_relations(self, cursor, table_name):
        """MongoDB has no foreign keys."""
        return {}

    def get_primary_key_columns(self, cursor, table_name):
        return [self._pk_column(table_name)]

    def get_constraints(self, cursor, table_name):
        """Indexes from ``listIndexes``; the ``_id`` index is the primary key."""
        pk_column = self._pk_column(table_name)
        constraints = {}
        for index in self._documents(self._run(table_name, "list_indexes")):
            keys = list(index["key"].items())
            primary = index["name"] == "_id_"
            options = {
                key: value
                for key, value in index.items()
                if key in {"partialFilterExpression", "sparse", "expireAfterSeconds"}
            }
            constraints[index["name"]] = {
                "columns": [pk_column if key == "_id" else key for key, _ in keys],
                "orders": ["DESC" if direction == -1 else "ASC" for _, direction in keys],
                "primary_key": primary,
                "unique": primary or bool(index.get("unique")),
                "foreign_key": None,
                "check": False,
                "index": True,
                "type": "idx",
                "definition": None,
                "options": options,
            }
        return constraints
