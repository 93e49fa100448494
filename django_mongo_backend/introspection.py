"""Introspection: collections as tables, indexes as constraints, sampled documents as columns.

MongoDB stores every primary key as ``_id``; introspection reports it under the model's pk
column (``id``) when a model of this project owns the collection, so Django's schema code can
match constraints by ``field.column`` as on SQL databases. A collection Django did not create
reports its ``_id`` as ``id`` too (the key a model's primary key is stored under is always
``_id``, whatever its name), unless its documents also have a key ``id``.

``inspectdb`` reads a sample of each collection: the first and the last documents by ``_id``
(half each, so old and recently added keys both show), ``SAMPLE_SIZE`` in all unless the
database settings say ``"INSPECTDB_SAMPLE_SIZE": N`` (or the backend's ``inspectdb --sample-size``
does). A key missing or null in some sampled documents is nullable; where sampled values have
different types, the most common one picks the field and ``FieldInfo.notes`` lists them all
(the backend's ``inspectdb`` prints the notes as comments).
"""

from __future__ import annotations

from collections import Counter, namedtuple

from bson import Decimal128
from django.db.backends.base.introspection import BaseDatabaseIntrospection, TableInfo
from django.db.backends.base.introspection import FieldInfo as BaseFieldInfo

from .mongo_command import MongoCommand
from .sequences import SCHEMA_COLLECTION

#: How many documents ``get_table_description`` samples for field names and types.
SAMPLE_SIZE = 100

#: Significant digits of a BSON Decimal128 (``max_digits`` of sampled decimal fields).
DECIMAL128_DIGITS = 34

#: Django's column description, plus: the primary key holds integers (an auto field), and
#: remarks for ``inspectdb`` (types that disagree, keys missing from some documents).
FieldInfo = namedtuple("FieldInfo", [*BaseFieldInfo._fields, "is_autofield", "notes"])

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
    ("UUID", "uuid"),
    ("dict", "object"),
    ("SON", "object"),
    ("list", "array"),
)
_BSON_BY_PYTHON = dict(PYTHON_TO_BSON)
#: Sampled types stored in one field that a wider field holds without loss.
_NUMBERS = {"int", "long", "double"}


def _bson_type(value):
    """The BSON type name of a decoded value (its Python type name for rare BSON types)."""
    if value is None:
        return "null"
    name = type(value).__name__
    return _BSON_BY_PYTHON.get(name, name)


def _field_type(counts, allowed):
    """The type code for a key from the types of its sampled values (a ``Counter``) and the
    validator's; plus notes when the sampled types disagree."""
    concrete = {name: count for name, count in counts.items() if name != "null"}
    if not concrete:
        declared = sorted(t for t in allowed if t != "null")
        if set(declared) == {"int", "long"}:  # the validator allows both for any integer field
            return "int", []
        return (declared[0] if declared else "null"), (
            [] if declared else ["Only null values sampled: the type is a guess."]
        )
    kinds = set(concrete)
    if kinds <= {"int", "long"}:
        return ("long" if "long" in kinds else "int"), []
    notes = []
    if len(kinds) > 1:
        listed = ", ".join(
            f"{name} x{count}"
            for name, count in sorted(concrete.items(), key=lambda item: (-item[1], item[0]))
        )
        notes.append(f"Sampled values have different types ({listed}).")
    if kinds <= _NUMBERS:
        return "double", notes
    # The most common type (ties: by name, so the output is stable).
    return min(concrete, key=lambda name: (-concrete[name], name)), notes


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
        "uuid": "UUIDField",
        "objectId": "django_mongo_backend.fields.ObjectIdField",
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

    #: Documents ``get_table_description`` samples; None: the database's
    #: ``INSPECTDB_SAMPLE_SIZE`` setting, else ``SAMPLE_SIZE``.
    sample_size = None

    def get_sample_size(self):
        size = self.sample_size or self.connection.settings_dict.get("INSPECTDB_SAMPLE_SIZE")
        return int(size or SAMPLE_SIZE)

    def _pk_columns(self, table_name):
        """The primary key columns: a composite key's (whose ``_id`` is a copy of its
        top-level columns, compiler/composite_keys.py), else the one of ``_pk_column``."""
        model = self._model(table_name)
        if model is not None and model._meta.is_composite_pk:
            return [field.column for field in model._meta.pk_fields]
        return [self._pk_column(table_name)]

    @staticmethod
    def _model(table_name):
        from django.apps import apps

        for model in apps.get_models(include_auto_created=True):
            if model._meta.db_table == table_name:
                return model
        return None

    def _pk_column(self, table_name):
        """The primary key column of the model stored in ``table_name`` (None for a composite
        key: ``_pk_columns``); for a collection no model owns, the auto field of its
        ``__schema__`` entry, else ``id`` (``_id`` when the documents have a key ``id`` of
        their own)."""
        model = self._model(table_name)
        if model is not None:
            return model._meta.pk.column
        entry = self._documents(self._run(SCHEMA_COLLECTION, "find", {"name": table_name}))
        if entry and entry[0].get("auto", {}).get("field_names"):
            return entry[0]["auto"]["field_names"][0]
        clash = self._run(table_name, "find_one", {"id": {"$exists": True}}, {"_id": True})
        return "_id" if clash is not None else "id"

    def _validator_schema(self, table_name):
        collections = self._documents(
            self._run(None, "list_collections", filter={"name": table_name})
        )
        validator = collections[0].get("options", {}).get("validator", {}) if collections else {}
        return validator.get("$jsonSchema") or {}

    def _sample(self, table_name):
        """Up to ``get_sample_size()`` documents: the first half and the last half by ``_id``."""
        size = max(self.get_sample_size(), 1)
        head = (size + 1) // 2
        documents = self._documents(
            self._run(table_name, "find", {}, sort=[("_id", 1)], limit=head)
        )
        if len(documents) < head or size - head == 0:
            return documents
        seen = {repr(document.get("_id")) for document in documents}
        tail = self._documents(
            self._run(table_name, "find", {}, sort=[("_id", -1)], limit=size - head)
        )
        documents.extend(
            document for document in reversed(tail) if repr(document.get("_id")) not in seen
        )
        return documents

    def get_table_description(self, cursor, table_name):
        """Field names and BSON types from the validator and a sample of documents."""
        schema = self._validator_schema(table_name)
        required = set(schema.get("required", ()))
        declared = {}  # key -> BSON types the validator allows
        for key, rule in schema.get("properties", {}).items():
            bson_type = rule.get("bsonType")
            declared[key] = set([bson_type] if isinstance(bson_type, str) else bson_type or ())
        sampled = {key: Counter() for key in declared}  # key -> BSON types of stored values
        documents = self._sample(table_name)
        longest = {}  # key -> longest string value (for a string primary key)
        places = {}  # key -> most decimal places of a Decimal128 value
        for document in documents:
            for key, value in document.items():
                sampled.setdefault(key, Counter())[_bson_type(value)] += 1
                if isinstance(value, str):
                    longest[key] = max(longest.get(key, 0), len(value))
                elif isinstance(value, Decimal128) and value.to_decimal().is_finite():
                    exponent = value.to_decimal().as_tuple().exponent
                    places[key] = max(places.get(key, 0), -exponent)
        pk_column = self._pk_column(table_name)
        description = []
        for key, counts in sampled.items():
            if key == "_id" and pk_column is None:
                continue  # a composite key: its columns are described top-level
            allowed = declared.get(key, set())
            missing = sum(key not in document for document in documents)
            null_ok = key != "_id" and (
                "null" in counts.keys() | allowed
                or bool(missing)
                or bool(schema and key not in required)
            )
            type_code, notes = _field_type(counts, allowed)
            if missing:
                notes.append(f"Missing from {missing} of {len(documents)} sampled documents.")
            display_size = None
            is_autofield = False
            if key == "_id":
                is_autofield = type_code in {"int", "long"} and set(counts) <= {"int", "long"}
                if type_code == "string":
                    display_size = max(255, longest.get(key, 0))
            if type_code == "objectId" and key == "_id":
                is_autofield = True  # ObjectIdAutoField: new documents get new ObjectIds
            precision = scale = None
            if type_code == "decimal" and key in places:
                # Decimal128 keeps 34 digits; the places are the most any sampled value has.
                precision, scale = DECIMAL128_DIGITS, places[key]
            name = pk_column if key == "_id" else key
            description.append(
                FieldInfo(
                    name,
                    type_code,
                    display_size,
                    None,
                    precision,
                    scale,
                    null_ok,
                    None,
                    None,
                    is_autofield,
                    tuple(notes),
                )
            )
        description.sort(key=lambda info: info.name != pk_column)
        return description

    def get_field_type(self, data_type, description):
        """The Django field for a column: integer primary keys are auto fields (their ids come
        from ``__schema__``), and a string primary key is a ``CharField``."""
        field_type = super().get_field_type(data_type, description)
        if getattr(description, "is_autofield", False):
            return {
                "IntegerField": "AutoField",
                "BigIntegerField": "BigAutoField",
                "django_mongo_backend.fields.ObjectIdField": (
                    "django_mongo_backend.fields.ObjectIdAutoField"
                ),
            }.get(field_type, field_type)
        if field_type == "TextField" and description.display_size:
            return "CharField"
        return field_type

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
        return self._pk_columns(table_name)

    def get_constraints(self, cursor, table_name):
        """Indexes from ``listIndexes``; the ``_id`` index is the primary key."""
        pk_columns = self._pk_columns(table_name)
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
                "columns": [
                    column for key, _ in keys for column in (pk_columns if key == "_id" else [key])
                ],
                "orders": [
                    "DESC" if direction == -1 else "ASC"
                    for key, direction in keys
                    for _ in (pk_columns if key == "_id" else [key])
                ],
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
