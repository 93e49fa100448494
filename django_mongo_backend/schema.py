"""DatabaseSchemaEditor: collections, indexes and ``$jsonSchema`` validators instead of DDL.

Every change is a ``MongoCommand``: ``migrate`` runs it, ``sqlmigrate`` prints it (one shell-form
line per command). Documents always carry every model field: adding a field back-fills existing
documents (its default, or null), removing one ``$unset``s it, renaming one ``$rename``s it.

Indexes on nullable fields get a partial filter (only documents where every nullable key holds
a value are indexed), so unique constraints treat NULLs as distinct, as SQL does; MongoDB would
otherwise count null (and missing) as one value.
"""

from __future__ import annotations

import logging

from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import CheckConstraint, F, JSONField, Model, Q, UniqueConstraint
from django.db.models.constants import LOOKUP_SEP
from django.db.models.expressions import Value
from django.db.models.fields import AutoFieldMixin, PositiveIntegerRelDbTypeMixin
from django.db.transaction import TransactionManagementError

from . import sequences
from .compiler import generated
from .compiler.constraints import check_clause
from .compiler.float_text import double_text
from .mongo_command import MongoCommand, to_json
from .operations import document_key

logger = logging.getLogger("django_mongo_backend")

#: ``connection.data_types`` value -> the BSON types a stored value may have (None: any).
#: Python ints are sent as int32 when they fit and int64 otherwise, so integer fields take both.
STORED_TYPES = {
    "int": ("int", "long"),
    "long": ("int", "long"),
    "double": ("double",),
    "decimal": ("decimal",),
    "string": ("string",),
    "bool": ("bool",),
    "date": ("date",),
    "binData": ("binData",),
    "objectId": ("objectId",),
    "array": ("array",),
    "object": None,  # JSONField: any JSON value, scalars and arrays included
}

#: Every BSON type but null: what "holds a value" means for a field of unknown type.
NON_NULL_TYPES = (
    "double",
    "string",
    "object",
    "array",
    "binData",
    "objectId",
    "bool",
    "date",
    "int",
    "timestamp",
    "long",
    "decimal",
    "regex",
    "javascript",
    "minKey",
    "maxKey",
)

#: Stored BSON types -> the aggregation operator converting existing values (alter_field).
CONVERSIONS = {
    ("int", "long"): "$toLong",
    ("double",): "$toDouble",
    ("decimal",): "$toDecimal",
    ("string",): "$toString",
    ("bool",): "$toBool",
}

#: Lookups a partial index filter can express -> query operator.
FILTER_OPERATORS = {
    "exact": "$eq",
    "gt": "$gt",
    "gte": "$gte",
    "lt": "$lt",
    "lte": "$lte",
    "in": "$in",
}


def _label(model, field=None):
    label = model._meta.label
    return f"{label}.{field.name}" if field is not None else label


def _rename_keys(document, old, new):
    """A filter document with every field key ``old`` renamed to ``new``."""
    if isinstance(document, dict):
        return {new if k == old else k: _rename_keys(v, old, new) for k, v in document.items()}
    if isinstance(document, list):
        return [_rename_keys(item, old, new) for item in document]
    return document


class DatabaseSchemaEditor(BaseDatabaseSchemaEditor):
    _sequence_index_created = False  # create_index on __schema__ once per editor

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Renames under sqlmigrate, so later commands read the old name (Django 6.0+ sets it).
        if not hasattr(self, "collected_table_renames"):
            self.collected_table_renames = {}
        # (collection, keys) of unique indexes without a condition this editor created.
        self._unconditionally_unique = set()

    # -- running commands -----------------------------------------------------------------

    def execute(self, sql, params=()):
        """Run one ``MongoCommand`` (or, for ``sqlmigrate``, collect its shell form)."""
        if not isinstance(sql, MongoCommand):
            raise NotSupportedError(
                f"MongoDB runs no SQL; a migration tried to execute: {str(sql)[:200]!r}. "
                "Use RunPython (with the ORM or pymongo) instead of RunSQL."
            )
        if self.collect_sql:
            self.collected_sql.append(str(sql))
            return None
        if self.connection.in_atomic_block and not self.connection.features.can_rollback_ddl:
            raise TransactionManagementError(
                "Executing DDL statements while in a transaction on databases that can't "
                "perform a rollback is prohibited."
            )
        return self.connection.execute_command(sql, transactional=False)

    def quote_value(self, value):
        return to_json(value)

    def _update(self, model, filter, update):
        """Rewrite stored documents for a schema change. Between the old and the new validator
        a document matches neither, so the rewrite bypasses validation."""
        self.execute(
            MongoCommand(
                model._meta.db_table,
                "update_many",
                filter,
                update,
                bypass_document_validation=True,
            )
        )

    def _read(self, command):
        """Run a read-only command even while collecting (introspection, as Django does)."""
        return self.connection.execute_command(command, transactional=False)

    def _table(self, model):
        """The collection to read from: under sqlmigrate, renames were not executed."""
        table = model._meta.db_table
        if self.collect_sql:
            table = self.collected_table_renames.get(table, table)
        return table

    # -- validators -----------------------------------------------------------------------

    def _stored_types(self, field):
        """The BSON types ``field``'s values are stored as, or None for any."""
        db_type = field.db_type(self.connection)
        return STORED_TYPES.get(db_type)

    def _field_rule(self, field):
        """The ``$jsonSchema`` property of one field: its BSON types and value bounds."""
        rule = {}
        types = self._stored_types(field)
        if types is not None:
            if types == ("string",) and getattr(field, "max_length", None) is not None:
                rule["maxLength"] = field.max_length  # code points, as Django counts them
            if isinstance(field, PositiveIntegerRelDbTypeMixin):
                rule["minimum"] = 0
            types = [*types, "null"] if field.null else list(types)
            rule["bsonType"] = types[0] if len(types) == 1 else types
        return rule

    def _validator(self, model, fields, checks=None):
        """A ``$jsonSchema`` (non-null fields required, each with its BSON type(s) and
        bounds) and, for the model's CheckConstraints, an ``$expr`` of their clauses."""
        properties = {}
        required = []
        for field in fields:
            if field.column is None or (field.generated and not field.db_persist):
                continue  # a virtual generated field is never stored
            key = document_key(field)
            properties[key] = self._field_rule(field)
            if not field.null:
                required.append(key)
        schema = {"bsonType": "object", "properties": properties}
        if required:
            schema["required"] = required
        validator = {"$jsonSchema": schema}
        clauses = [
            self._check_clause(model, constraint)
            for constraint in (self._checks(model) if checks is None else checks)
        ]
        if clauses:
            validator["$expr"] = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        return validator

    @staticmethod
    def _checks(model):
        return [c for c in model._meta.constraints if isinstance(c, CheckConstraint)]

    def _check_clause(self, model, constraint):
        try:
            return check_clause(self.connection, model, constraint.condition)
        except (NotSupportedError, ValueError, FieldError) as error:
            raise NotSupportedError(
                f"CheckConstraint {constraint.name!r} on {_label(model)}: its condition cannot "
                f"be a MongoDB validator clause ({error})."
            ) from None

    def _set_validator(self, model, old_fields, new_fields, *, old_checks=None, new_checks=None):
        """``collMod`` the validator when the change of fields or checks changes it."""
        if not self.connection.enforce_schema:
            return
        new = self._validator(model, new_fields, new_checks)
        if new != self._validator(model, old_fields, old_checks):
            self.execute(
                MongoCommand(
                    None,
                    "command",
                    "collMod",
                    model._meta.db_table,
                    validator=new,
                    validationLevel="strict",
                )
            )

    @staticmethod
    def _other_fields(model, field):
        """The model's stored fields but ``field`` (callers pass the model before or after)."""
        return [f for f in model._meta.local_concrete_fields if f.name != field.name]

    def _check_key(self, model, field):
        """Field names must be usable as MongoDB document keys."""
        if field.column is None or field.primary_key:
            return
        column = field.column
        if column.startswith("$") or "." in column or "\0" in column or column == "_id":
            raise NotSupportedError(
                f"{_label(model, field)} is stored under the key {column!r}, which MongoDB "
                "cannot use for a model field (keys may not start with '$' or contain '.' or "
                "NUL, and '_id' holds the primary key). Set db_column to another name."
            )

    # -- models ---------------------------------------------------------------------------

    def create_model(self, model):
        """Create the collection (with its validator), then its indexes and M2M tables."""
        fields = model._meta.local_concrete_fields
        for field in fields:
            self._check_key(model, field)
        options = {"check_exists": False}
        if self.connection.enforce_schema:
            options["validator"] = self._validator(model, fields)
        self.execute(MongoCommand(None, "create_collection", model._meta.db_table, **options))
        auto_field = model._meta.auto_field
        if auto_field is not None:
            if not self._sequence_index_created:
                self.execute(sequences.index_command())
                self._sequence_index_created = True
            # One __schema__ entry per collection with an auto field, from the start.
            self.execute(sequences.create_command(model._meta.db_table, [auto_field.column]))
        for field in model._meta.local_fields:
            self._create_field_indexes(model, field)
        for field_names in model._meta.unique_together:
            self._create_unique(model, [model._meta.get_field(name) for name in field_names])
        for index in model._meta.indexes:
            self.add_index(model, index)
        for constraint in model._meta.constraints:
            if not isinstance(constraint, CheckConstraint):  # already in the validator
                self.add_constraint(model, constraint)
        for field in model._meta.local_many_to_many:
            if field.remote_field.through._meta.auto_created:
                self.create_model(field.remote_field.through)

    def delete_model(self, model):
        """Drop the collection, its auto-created M2M collections and its sequence."""
        for field in model._meta.local_many_to_many:
            if field.remote_field.through._meta.auto_created:
                self.delete_model(field.remote_field.through)
        self.execute(MongoCommand(model._meta.db_table, "drop"))
        self.execute(sequences.drop_command(model._meta.db_table))

    def alter_db_table(self, model, old_db_table, new_db_table):
        """Rename the collection and its ``__schema__`` sequence entry."""
        if old_db_table == new_db_table:
            return
        self.execute(MongoCommand(old_db_table, "rename", new_db_table))
        self.execute(sequences.rename_command(old_db_table, new_db_table))
        if self.collect_sql:
            existing = self.collected_table_renames.pop(old_db_table, old_db_table)
            self.collected_table_renames[new_db_table] = existing

    def alter_db_table_comment(self, model, old_db_table_comment, new_db_table_comment):
        """MongoDB collections have no comments."""

    def alter_db_tablespace(self, model, old_db_tablespace, new_db_tablespace):
        """MongoDB has no tablespaces."""

    # -- fields ---------------------------------------------------------------------------

    def add_field(self, model, field):
        """Back-fill existing documents (default or null) in one update, then index."""
        if field.many_to_many:
            if field.remote_field.through._meta.auto_created:
                self.create_model(field.remote_field.through)
            return
        if field.column is None or field.db_type(self.connection) is None:
            return
        self._check_key(model, field)
        if field.generated and not field.db_persist:
            return  # virtual: computed on every read, nothing stored
        key = document_key(field)
        if field.generated:
            # Stored: computed in every existing document, as every write computes it.
            self._update(model, {}, [{"$set": self._generated_value(field)}])
        else:
            self._update(
                model,
                {key: {"$exists": False}},
                {"$set": {key: self._backfill_value(model, field)}},
            )
        others = self._other_fields(model, field)
        self._set_validator(model, others, [*others, field])
        self._create_field_indexes(model, field)

    def alter_field(self, model, old_field, new_field, strict=False):
        """Django refuses to change a generated field's expression (remove and re-add it): it
        compares the SQL of both, which this backend renders as nothing, so their compiled
        expressions are compared here. A stored one is computed again, in its new type."""
        if (
            old_field.generated
            and new_field.generated
            and old_field.db_persist == new_field.db_persist
        ):
            query_compiler = self._generated_compiler(new_field)
            try:
                old = generated.field_expression(query_compiler, old_field, converted=False)
            except FieldError:  # a field it reads was renamed
                old = None
            if old != generated.field_expression(query_compiler, new_field, converted=False):
                raise ValueError(
                    f"Modifying GeneratedFields is not supported - the field {new_field} "
                    "must be removed and re-added with the new definition."
                )
        super().alter_field(model, old_field, new_field, strict)
        if new_field.generated and new_field.db_persist:
            self._update(model, {}, [{"$set": self._generated_value(new_field)}])

    def _generated_compiler(self, field):
        return self.connection.ops.compiler("SQLCompiler")(field._query, self.connection, None)

    def _generated_value(self, field):
        """``{key: expression}`` of a stored GeneratedField (compiler/generated.py)."""
        return generated.expressions_of(self._generated_compiler(field), [field])

    def _backfill_value(self, model, field):
        if field.has_db_default():
            default = field.db_default
            if not isinstance(default, Value):
                raise NotSupportedError(
                    f"{_label(model, field)}: MongoDB cannot compute the database default "
                    f"{default!r} for existing documents; use a constant or Field.default."
                )
            if default.value is None and isinstance(default._output_field_or_none, JSONField):
                # JSONNull() / Value(None, JSONField()): the JSON null, which the field's
                # get_db_prep_save makes of the Value itself (its None is SQL NULL).
                return field.get_db_prep_save(default, self.connection)
            return field.get_db_prep_save(default.value, self.connection)
        return self.effective_default(field)

    def remove_field(self, model, field):
        """Drop the indexes on the field (they would index a missing key), then $unset it."""
        if field.many_to_many:
            if field.remote_field.through._meta.auto_created:
                self.delete_model(field.remote_field.through)
            return
        if field.column is None or field.db_type(self.connection) is None:
            return
        key = document_key(field)
        for index in self._indexes(model):
            if key in index["key"] and index["name"] != "_id_":
                self.execute(MongoCommand(model._meta.db_table, "drop_index", index["name"]))
        self._update(model, {}, {"$unset": {key: ""}})
        others = self._other_fields(model, field)
        self._set_validator(model, [*others, field], others)

    def _alter_field(
        self,
        model,
        old_field,
        new_field,
        old_type,
        new_type,
        old_db_params,
        new_db_params,
        strict=False,
    ):
        """Rename, convert, back-fill, re-validate and re-index one field's stored values."""
        if old_field.primary_key != new_field.primary_key:
            raise NotSupportedError(
                f"{_label(model, new_field)}: MongoDB stores the primary key as _id; changing "
                "which field is the primary key needs a data migration that rewrites _id."
            )
        self._check_key(model, new_field)
        if isinstance(new_field, AutoFieldMixin) and old_field.column != new_field.column:
            # The stored key stays _id; the sequence's field_names follow the column name.
            self.execute(sequences.field_names_command(model._meta.db_table, [new_field.column]))
        old_key, new_key = document_key(old_field), document_key(new_field)
        if old_field.unique and not new_field.unique and not old_field.primary_key:
            self._drop_field_index(model, old_field, unique=True, strict=strict)
        if self._field_should_be_indexed(model, old_field) and not (
            self._field_should_be_indexed(model, new_field)
        ):
            self._drop_field_index(model, old_field, unique=False, strict=strict)
        if old_key != new_key:
            self._update(model, {old_key: {"$exists": True}}, {"$rename": {old_key: new_key}})
            self._rekey_indexes(model, old_key, new_key)
        self._convert_values(model, old_field, new_field)
        if old_field.null and not new_field.null:
            default = self._backfill_value(model, new_field)
            if default is not None:
                self._update(model, {new_key: None}, {"$set": {new_key: default}})
        others = self._other_fields(model, old_field)
        self._set_validator(model, [*others, old_field], [*others, new_field])
        if (
            new_field.unique
            and not new_field.primary_key
            and (not old_field.unique or old_field.primary_key)
        ):
            self._create_unique(model, [new_field])
        if self._field_should_be_indexed(model, new_field) and not (
            self._field_should_be_indexed(model, old_field)
        ):
            self._create_index(model, [new_field])

    def _convert_values(self, model, old_field, new_field):
        """Convert stored values when the field's BSON type changes (SQL's ALTER ... TYPE)."""
        old_types, new_types = self._stored_types(old_field), self._stored_types(new_field)
        if old_types == new_types or new_types is None:
            return
        operator = CONVERSIONS.get(new_types)
        if old_types is None or old_types not in CONVERSIONS or operator is None:
            raise NotSupportedError(
                f"{_label(model, new_field)}: cannot convert stored values from BSON "
                f"{old_types or 'any'} to {new_types}; remove and re-add the field with a "
                "data migration instead."
            )
        key = document_key(new_field)
        converted = {operator: f"${key}"}
        if operator == "$toString" and old_types == ("double",):
            # SQL's text of a double ($toString keeps six digits: "%g").
            converted = double_text(f"${key}")
        self._update(model, {key: {"$ne": None}}, [{"$set": {key: converted}}])

    def _rekey_indexes(self, model, old_key, new_key):
        """Rebuild, under the same names, the indexes that name a renamed key."""
        table = model._meta.db_table
        for index in self._indexes(model):
            keys = dict(index["key"])
            if old_key not in keys or index["name"] == "_id_":
                continue
            options = {
                option: value
                for option, value in index.items()
                if option not in {"key", "v", "ns", "name"}
            }
            if "partialFilterExpression" in options:
                options["partialFilterExpression"] = _rename_keys(
                    options["partialFilterExpression"], old_key, new_key
                )
            new_keys = [(new_key if k == old_key else k, d) for k, d in keys.items()]
            self.execute(MongoCommand(table, "drop_index", index["name"]))
            self.execute(
                MongoCommand(table, "create_index", new_keys, name=index["name"], **options)
            )

    def _indexes(self, model):
        """The collection's index documents (``listIndexes``), read even under sqlmigrate."""
        cursor = self._read(MongoCommand(self._table(model), "list_indexes"))
        with self.connection.wrap_mongo_errors():
            return [dict(index) for index in cursor]

    def _drop_field_index(self, model, field, *, unique, strict):
        meta_names = {c.name for c in model._meta.constraints} | {
            i.name for i in model._meta.indexes
        }
        names = self._constraint_names(
            model, [field.column], unique=unique, primary_key=False, exclude=meta_names
        )
        if strict and len(names) != 1:
            raise ValueError(
                f"Found wrong number ({len(names)}) of {'unique' if unique else ''} indexes "
                f"for {model._meta.db_table}.{field.column}"
            )
        for name in names:
            self.execute(MongoCommand(model._meta.db_table, "drop_index", name))

    # -- indexes and constraints ----------------------------------------------------------

    def _create_field_indexes(self, model, field):
        if field.unique and not field.primary_key:
            self._create_unique(model, [field])
        elif self._field_should_be_indexed(model, field):
            self._create_index(model, [field])

    def _create_index(self, model, fields, suffix=""):
        name = self._create_index_name(
            model._meta.db_table, [field.column for field in fields], suffix=suffix
        )
        self._create_mongo_index(model, [(field, 1) for field in fields], name)

    def _create_unique(self, model, fields, name=None, condition=None, nulls_distinct=None):
        name = name or self._create_index_name(
            model._meta.db_table, [field.column for field in fields], suffix="_uniq"
        )
        self._create_mongo_index(
            model,
            [(field, 1) for field in fields],
            name,
            unique=True,
            condition=condition,
            nulls_distinct=nulls_distinct,
        )

    def _create_mongo_index(
        self, model, keyed_fields, name, *, unique=False, condition=None, nulls_distinct=None
    ):
        """``create_index``; nullable keys of a unique index are filtered out (NULLs distinct)."""
        filters = []
        if condition is not None:
            filters.append(self._filter(model, condition, name))
        if unique and nulls_distinct is not False:
            filters.extend(
                {document_key(field): self._has_value(field)}
                for field, _ in keyed_fields
                if field.null
            )
        options = {"name": name}
        if unique:
            options["unique"] = True
        if filters:
            options["partialFilterExpression"] = self._and(filters)
        keys = [(document_key(field), direction) for field, direction in keyed_fields]
        covered = (model._meta.db_table, tuple(key for key, _ in keys))
        if unique and condition is None:
            self._unconditionally_unique.add(covered)
        elif unique and covered in self._unconditionally_unique:
            # Unique over every value already implies unique over the rows a condition
            # selects; a second index on the same keys would only differ in its filter.
            return
        self.execute(MongoCommand(model._meta.db_table, "create_index", keys, **options))

    def _has_value(self, field):
        return {"$exists": True, "$type": list(self._stored_types(field) or NON_NULL_TYPES)}

    @staticmethod
    def _and(filters):
        """One filter document: merged when the keys differ, else ``$and``."""
        unique = []
        for item in filters:
            if item not in unique:
                unique.append(item)
        merged = {}
        for item in unique:
            if merged.keys() & item.keys():
                return {"$and": unique}
            merged.update(item)
        return merged

    def _filter(self, model, condition, name):
        """A ``Q`` of simple lookups -> a ``partialFilterExpression``."""
        if isinstance(condition, Q) and condition.negated:
            return self._not_equal(model, condition, name)
        if not isinstance(condition, Q) or condition.connector == Q.XOR:
            raise self._unsupported_condition(name, condition)
        parts = []
        for child in condition.children:
            if isinstance(child, Q):
                parts.append(self._filter(model, child, name))
            elif isinstance(child, tuple) and len(child) == 2:
                parts.append(self._filter_lookup(model, *child, name=name))
            else:
                raise self._unsupported_condition(name, child)
        if len(parts) == 1:
            return parts[0]
        return {"$or": parts} if condition.connector == Q.OR else self._and(parts)

    def _not_equal(self, model, condition, name):
        """``~Q(field=value)``: MongoDB refuses ``$ne``/``$not`` in a partial filter, but SQL's
        ``field <> value`` is "below or above the value" (NULL: not in the index), which range
        operators say exactly: they compare values of one BSON type only (type bracketing) and
        never match null or a missing field. Nothing is below ``""``, so ``<> ''`` (the usual
        "not blank" condition) is one ``$gt``."""
        child = condition.children[0] if len(condition.children) == 1 else None
        if not (isinstance(child, tuple) and len(child) == 2):
            raise self._unsupported_condition(name, condition)
        lookup, value = child
        field_name, _, lookup_name = lookup.partition(LOOKUP_SEP)
        if lookup_name not in ("", "exact") or value is None:
            raise self._unsupported_condition(name, condition)
        equal = self._filter_lookup(model, field_name, value, name=name)
        ((key, test),) = equal.items()
        value = test["$eq"]
        if value == "":
            return {key: {"$gt": ""}}
        return {"$or": [{key: {"$lt": value}}, {key: {"$gt": value}}]}

    def _filter_lookup(self, model, lookup, value, *, name):
        field_name, _, lookup_name = lookup.partition(LOOKUP_SEP)
        lookup_name = lookup_name or "exact"
        try:
            field = model._meta.get_field(field_name)
        except Exception:
            raise self._unsupported_condition(name, (lookup, value)) from None
        if (
            not field.concrete
            or field.column is None
            or hasattr(value, "resolve_expression")
            or (lookup_name not in FILTER_OPERATORS and lookup_name != "isnull")
        ):
            raise self._unsupported_condition(name, (lookup, value))
        key = document_key(field)
        if lookup_name == "isnull" or value is None:
            is_null = value if lookup_name == "isnull" else True
            if lookup_name not in {"isnull", "exact"}:
                raise self._unsupported_condition(name, (lookup, value))
            return {key: {"$type": "null"} if is_null else self._has_value(field)}
        if lookup_name == "in":
            value = [self._prep(field, item) for item in value]
        else:
            value = self._prep(field, value)
        return {key: {FILTER_OPERATORS[lookup_name]: value}}

    def _prep(self, field, value):
        if isinstance(value, Model):
            value = value.pk
        return field.get_db_prep_value(value, self.connection, prepared=False)

    @staticmethod
    def _unsupported_condition(name, part):
        return NotSupportedError(
            f"Index/constraint {name!r}: MongoDB partial indexes cannot express the condition "
            f"{part!r} (supported: AND/OR of exact, gt, gte, lt, lte, in and isnull on fields "
            "of the model itself, with constant values)."
        )

    def add_index(self, model, index):
        if index.include or index.opclasses:
            raise NotSupportedError(
                f"Index {index.name!r} on {_label(model)}: MongoDB indexes take no include "
                "or opclasses."
            )
        keyed_fields = [
            (model._meta.get_field(field_name), -1 if order == "DESC" else 1)
            for field_name, order in index.fields_orders
        ]
        expression_keys = [self._expression_key(model, index, e) for e in index.expressions]
        if None in expression_keys:
            # Django's rule for a backend without expression indexes (BaseDatabaseSchemaEditor
            # .add_index; system check models.W043 says "An index won't be created").
            logger.warning(
                "Index %r on %s is not created: MongoDB indexes take stored keys (fields, or "
                "keys of embedded documents such as F('address__city')), not %s.",
                index.name,
                _label(model),
                ", ".join(repr(e) for e in index.expressions),
            )
            return
        options = {"name": index.name}
        if index.condition is not None:
            options["partialFilterExpression"] = self._filter(model, index.condition, index.name)
        keys = [(document_key(field), direction) for field, direction in keyed_fields]
        keys += expression_keys
        self.execute(MongoCommand(model._meta.db_table, "create_index", keys, **options))

    def _expression_key(self, model, index, expression):
        """An index expression naming a stored key (``F("address__city")``, optionally
        ``.desc()``) -> ``("address.city", direction)``; None for any other expression."""
        from django.db.models.expressions import OrderBy
        from django.db.models.sql import Query

        from .compiler.expressions import ExpressionCompiler
        from .compiler.scopes import Scope

        direction = 1
        if isinstance(expression, OrderBy):
            direction = -1 if expression.descending else 1
            expression = expression.expression
        query = Query(model, alias_cols=False)
        resolved = expression.resolve_expression(query, allow_joins=False)
        compiler = query.get_compiler(connection=self.connection)
        try:
            path = ExpressionCompiler(compiler, Scope(None)).compile(resolved)
        except NotSupportedError:
            return None
        if not isinstance(path, str) or not path.startswith("$") or path.startswith("$$"):
            return None
        return path[1:], direction

    def remove_index(self, model, index):
        if None in (self._expression_key(model, index, e) for e in index.expressions):
            return  # never created (add_index)
        self.execute(MongoCommand(model._meta.db_table, "drop_index", index.name))

    def add_constraint(self, model, constraint):
        self._check_constraint_supported(model, constraint)
        if isinstance(constraint, CheckConstraint):
            others = [c for c in self._checks(model) if c.name != constraint.name]
            self._set_check_constraints(model, others, [*others, constraint])
            return
        self._create_unique(
            model,
            self._unique_fields(model, constraint),
            name=constraint.name,
            condition=constraint.condition,
            nulls_distinct=constraint.nulls_distinct,
        )

    @staticmethod
    def _unique_fields(model, constraint):
        """The fields of a UniqueConstraint: ``fields=``, or expressions that only name fields
        (``UniqueConstraint("name", "category")`` / ``F("name")``)."""
        names = list(constraint.fields)
        for expression in constraint.expressions:
            if isinstance(expression, F) and LOOKUP_SEP not in expression.name:
                names.append(expression.name)
            else:
                raise NotSupportedError(
                    f"UniqueConstraint {constraint.name!r} on {_label(model)}: MongoDB unique "
                    f"indexes take stored fields, not the expression {expression!r}."
                )
        return [model._meta.get_field(name) for name in names]

    def remove_constraint(self, model, constraint):
        self._check_constraint_supported(model, constraint)
        if isinstance(constraint, CheckConstraint):
            others = [c for c in self._checks(model) if c.name != constraint.name]
            self._set_check_constraints(model, [*others, constraint], others)
            return
        self.execute(MongoCommand(model._meta.db_table, "drop_index", constraint.name))

    def _set_check_constraints(self, model, old_checks, new_checks):
        """Check constraints are clauses of the validator: without ENFORCE_SCHEMA there is
        none, and only model validation (``full_clean``) checks them."""
        if not self.connection.enforce_schema:
            return
        fields = model._meta.local_concrete_fields
        self._set_validator(model, fields, fields, old_checks=old_checks, new_checks=new_checks)

    @staticmethod
    def _check_constraint_supported(model, constraint):
        if isinstance(constraint, CheckConstraint):
            return
        if not isinstance(constraint, UniqueConstraint):
            raise NotSupportedError(
                f"{type(constraint).__name__} {constraint.name!r} on {_label(model)} is not "
                "supported by MongoDB."
            )
        if constraint.include or constraint.opclasses:
            raise NotSupportedError(
                f"UniqueConstraint {constraint.name!r} on {_label(model)}: MongoDB unique "
                "indexes take no include or opclasses."
            )
        # Expressions other than field names are refused (naming the constraint).
        DatabaseSchemaEditor._unique_fields(model, constraint)
        if constraint.deferrable is not None:
            raise NotSupportedError(
                f"UniqueConstraint {constraint.name!r} on {_label(model)}: MongoDB cannot "
                "defer unique checks."
            )

    def alter_unique_together(self, model, old_unique_together, new_unique_together):
        self._alter_together(model, old_unique_together, new_unique_together, unique=True)

    def alter_index_together(self, model, old_index_together, new_index_together):
        self._alter_together(model, old_index_together, new_index_together, unique=False)

    def _alter_together(self, model, olds, news, *, unique):
        olds = {tuple(fields) for fields in olds}
        news = {tuple(fields) for fields in news}
        meta_names = {c.name for c in model._meta.constraints} | {
            i.name for i in model._meta.indexes
        }
        for field_names in olds - news:
            columns = [model._meta.get_field(name).column for name in field_names]
            names = self._constraint_names(
                model, columns, unique=unique, primary_key=False, exclude=meta_names
            )
            if len(names) != 1:
                raise ValueError(
                    f"Found wrong number ({len(names)}) of indexes for "
                    f"{model._meta.db_table}({', '.join(columns)})"
                )
            self.execute(MongoCommand(model._meta.db_table, "drop_index", names[0]))
        for field_names in news - olds:
            fields = [model._meta.get_field(name) for name in field_names]
            if unique:
                self._create_unique(model, fields)
            else:
                self._create_index(model, fields, suffix="_idx")
