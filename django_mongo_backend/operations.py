"""DatabaseOperations: Python values <-> BSON, flushes and sequence resets.

How values are stored (each reads back as the Python value Django gave):

=================  ===============================================================
Decimal            Decimal128 (34 significant digits)
date               datetime at midnight UTC
datetime           datetime in UTC, **millisecond precision** (BSON keeps no more)
time               string ``"HH:MM:SS.ffffff"`` (fixed width, so it sorts and compares)
timedelta          int64 microseconds
UUID               binary subtype 4
JSON               the value itself, as a BSON document/array/scalar; a JSON ``null`` (not
                   SQL NULL) of the whole column as ``MaxKey`` (``JSON_NULL``, docs/fields.rst)
bytes              binary subtype 0
=================  ===============================================================

The primary key of every model is stored as the document's ``_id``.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import json
import uuid
from decimal import Decimal

from bson import Decimal128
from bson.max_key import MaxKey
from django.conf import settings
from django.db import DataError, NotSupportedError
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.expressions import Col
from django.utils import timezone

from .mongo_command import MongoCommand

TIME_FORMAT = "%H:%M:%S.%f"

#: How a JSONField stores the JSON scalar ``null`` as its whole value, apart from SQL NULL
#: (BSON null). No JSON value is ever stored as MaxKey (JSON has no such value), so nothing
#: needs escaping; it is not null to any of MongoDB's null tests (``$ifNull``, ``{k: null}``,
#: ``$gt: [k, null]``), as a JSON null is NOT NULL in SQL. A null nested in a document or an
#: array is plain BSON null: there is no SQL NULL inside a JSON value.
JSON_NULL = MaxKey()


def document_key(field):
    """The key a model field is stored under: ``_id`` for the primary key, else its column.

    A column MongoDB would read as an operator (``$where``) or a path (``a.b``) is refused
    here, for unmanaged models too (the schema editor refuses it for managed ones); keys of
    embedded documents (fields.keys) are dotted paths on purpose.
    """
    if field.primary_key:
        return "_id"
    column = field.column
    if column and (
        column[0] == "$" or "\0" in column or ("." in column and not hasattr(field, "key_owner"))
    ):
        raise NotSupportedError(
            f"{field.model._meta.label}.{field.name} is stored under the key {column!r}, which "
            "MongoDB reads as an operator or a path: give the field another db_column (a key "
            "holding '$' or '.' can only be read with a raw pipeline, mongo_aggregate())."
        )
    return column


def to_decimal128(value, max_digits=None, decimal_places=None):
    """``value`` as BSON Decimal128, exactly, or a DataError saying why it does not fit.

    Decimal128 keeps 34 significant digits and exponents from -6176 to 6111; a value beyond
    that would otherwise surface as a bare ``decimal.Inexact``/``Overflow``. Values are never
    rounded silently.
    """
    try:
        return Decimal128(Decimal(value))
    except (decimal.DecimalException, ValueError, TypeError) as error:
        field = (
            f" (the field allows max_digits={max_digits}, decimal_places={decimal_places})"
            if max_digits is not None
            else ""
        )
        raise DataError(
            f"{value!r} cannot be stored as a MongoDB Decimal128, which holds 34 significant "
            f"digits and exponents from -6176 to 6111{field}."
        ) from error


class DatabaseOperations(BaseDatabaseOperations):
    compiler_module = "django_mongo_backend.compiler"

    document_key = staticmethod(document_key)
    #: What an integer field can hold: any BSON int64 (int32 when the value fits), whatever
    #: the field's SQL width; the positive fields from 0. Lookups beyond it match nothing.
    integer_field_ranges = {
        name: (0 if name.startswith("Positive") else -(2**63), 2**63 - 1)
        for name in BaseDatabaseOperations.integer_field_ranges
    }
    #: How an explained query reads in connection.queries (the explain command's shell form).
    explain_prefix = 'db.command("explain"'
    #: explain() options: MongoDB's verbosity modes.
    explain_verbosities = ("queryPlanner", "executionStats", "allPlansExecution")

    def explain_query_prefix(self, format=None, **options):
        """Validate explain()'s format and options as Django does; ``verbosity`` is MongoDB's."""
        verbosity = options.pop("verbosity", None)
        if verbosity is not None and verbosity not in self.explain_verbosities:
            raise ValueError(
                f"verbosity must be one of {', '.join(self.explain_verbosities)}, not "
                f"{verbosity!r}."
            )
        return super().explain_query_prefix(format, **options)

    def quote_name(self, name):
        return name

    def max_name_length(self):
        return None

    def no_limit_value(self):
        return None

    def max_in_list_size(self):
        return None

    def bulk_batch_size(self, fields, objs):
        # One insert_many per call: pymongo splits it into batches the server accepts.
        return len(objs) or 1

    def pk_default_value(self):
        return None

    # -- Python -> BSON -------------------------------------------------------------------

    def adapt_datefield_value(self, value):
        if value is None:
            return None
        return datetime.datetime(value.year, value.month, value.day)

    def check_database_time_zone(self):
        """BSON dates are UTC instants: a database TIME_ZONE other than UTC (Django's setting
        for databases that store local wall-clock times) has no meaning here, and ignoring it
        would read and write shifted datetimes."""
        name = self.connection.settings_dict.get("TIME_ZONE")
        if name not in (None, "UTC"):
            raise NotSupportedError(
                f"settings.DATABASES[{self.connection.alias!r}]['TIME_ZONE'] = {name!r}: MongoDB "
                "stores datetimes as UTC instants; remove the setting (or set it to 'UTC')."
            )

    def adapt_datetimefield_value(self, value):
        if value is None or hasattr(value, "resolve_expression"):
            return value
        self.check_database_time_zone()
        if timezone.is_aware(value):
            if not settings.USE_TZ:
                raise ValueError(
                    "MongoDB backend does not support timezone-aware datetimes when USE_TZ "
                    "is False."
                )
            value = timezone.make_naive(value, datetime.UTC)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    def adapt_timefield_value(self, value):
        if value is None or hasattr(value, "resolve_expression"):
            return value
        if isinstance(value, str):
            value = datetime.time.fromisoformat(value)
        if timezone.is_aware(value):
            raise ValueError("Django does not support timezone-aware times.")
        return value.strftime(TIME_FORMAT)

    def adapt_decimalfield_value(self, value, max_digits=None, decimal_places=None):
        if value is None or hasattr(value, "resolve_expression"):
            return value
        return to_decimal128(value, max_digits, decimal_places)

    def adapt_json_value(self, value, encoder):
        # The round trip applies the field's encoder and keeps JSON semantics (string keys,
        # tuples as lists) for what MongoDB stores as a native document. Keys are sorted:
        # MongoDB compares documents key order included, JSON objects compare without it.
        # Django hands None here only for the JSON null (its get_db_prep_save returns SQL NULL
        # before adapting), as SQL backends get the text "null".
        text = json.dumps(value, cls=encoder, sort_keys=True)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            # An encoder that writes no JSON: a SQL database's JSON column refuses the text.
            raise DataError(f"the JSONField's encoder wrote invalid JSON: {error}") from error
        return JSON_NULL if value is None else value

    def adapt_integerfield_value(self, value, internal_type):
        return value

    def adapt_unknown_value(self, value):
        if isinstance(value, Decimal):
            return to_decimal128(value)
        if isinstance(value, datetime.datetime):
            return self.adapt_datetimefield_value(value)
        if isinstance(value, datetime.date):
            return self.adapt_datefield_value(value)
        if isinstance(value, datetime.time):
            return self.adapt_timefield_value(value)
        if isinstance(value, datetime.timedelta):
            return self.adapt_durationfield_value(value)
        return value

    # -- BSON -> Python -------------------------------------------------------------------

    def get_db_converters(self, expression):
        converters = super().get_db_converters(expression)
        internal_type = expression.output_field.get_internal_type()
        if internal_type == "DateTimeField":
            self.check_database_time_zone()
        if (
            internal_type in self._validated_types
            and isinstance(expression, Col)
            and self.connection.enforce_schema
        ):
            return converters  # the validator already holds the column to the Python type
        converter = self._converters.get(internal_type)
        if converter is not None:
            converters.append(getattr(self, converter))
        elif internal_type in self._computed_number_types and not isinstance(expression, Col):
            # A computed integer can come back as a Decimal128 (arithmetic with a decimal
            # column, output_field=IntegerField()): Django's own int() conversion after this
            # one takes a Decimal, not a Decimal128. A column holds its own type.
            converters.append(self.convert_computed_number_value)
        return converters

    _computed_number_types = frozenset(
        {
            "IntegerField",
            "BigIntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveBigIntegerField",
            "PositiveSmallIntegerField",
        }
    )

    def convert_computed_number_value(self, value, expression, connection):
        return value.to_decimal() if isinstance(value, Decimal128) else value

    #: Column types whose stored BSON type the ENFORCE_SCHEMA validator fixes (double, bool),
    #: so reading them needs no per-row conversion (computed values still get one).
    _validated_types = frozenset({"FloatField", "BooleanField"})

    _converters = {
        "DateTimeField": "convert_datetimefield_value",
        "DateField": "convert_datefield_value",
        "TimeField": "convert_timefield_value",
        "DecimalField": "convert_decimalfield_value",
        "JSONField": "convert_jsonfield_value",
        "BooleanField": "convert_booleanfield_value",
        "UUIDField": "convert_uuidfield_value",
        "FloatField": "convert_floatfield_value",
    }

    def convert_datetimefield_value(self, value, expression, connection):
        if isinstance(value, datetime.datetime):
            if settings.USE_TZ and timezone.is_naive(value):
                return value.replace(tzinfo=datetime.UTC)
            if not settings.USE_TZ and timezone.is_aware(value):
                return timezone.make_naive(value, datetime.UTC)
        return value

    def convert_datefield_value(self, value, expression, connection):
        if isinstance(value, datetime.datetime):
            return value.date()
        return value

    def convert_timefield_value(self, value, expression, connection):
        if isinstance(value, str):
            return datetime.time.fromisoformat(value)
        return value

    def convert_decimalfield_value(self, value, expression, connection):
        if isinstance(value, Decimal128):
            value = value.to_decimal()
        elif isinstance(value, float | int) and not isinstance(value, bool):
            value = Decimal(str(value))
        field = getattr(expression, "target", None)
        places = getattr(field, "decimal_places", None)
        if isinstance(value, Decimal) and places is not None and value.is_finite():
            # A column reads back with its decimal places, as from a NUMERIC(p, s) column
            # (Decimal128 keeps the digits it was given: 8 stays 8, not 8.000).
            with contextlib.suppress(decimal.InvalidOperation):
                value = value.quantize(Decimal(1).scaleb(-places), context=field.context)
        return value

    def convert_jsonfield_value(self, value, expression, connection):
        # JSONField.from_db_value parses text with the field's decoder; give it text. A JSON
        # null reads as None, as from SQL backends' "null".
        if value is None:
            return None
        if isinstance(value, MaxKey):
            return "null"
        return json.dumps(value)

    def convert_booleanfield_value(self, value, expression, connection):
        if isinstance(value, int):
            return bool(value)
        return value

    def convert_uuidfield_value(self, value, expression, connection):
        if isinstance(value, str):
            return uuid.UUID(value)
        return value

    def convert_floatfield_value(self, value, expression, connection):
        if isinstance(value, Decimal128):
            return float(value.to_decimal())
        return value

    # -- flush and sequences --------------------------------------------------------------

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        commands = [MongoCommand(table, "delete_many", {}) for table in tables]
        if reset_sequences:
            commands.extend(
                self.sequence_reset_by_name_sql(style, [{"table": table} for table in tables])
            )
        return commands

    def execute_sql_flush(self, sql_list):
        for command in sql_list:
            self.connection.execute_command(command, transactional=False)

    def sequence_reset_by_name_sql(self, style, sequences):
        from .sequences import reset_command

        return [reset_command(sequence["table"]) for sequence in sequences]

    def sequence_reset_sql(self, style, model_list):
        from .sequences import sync_command

        return [
            sync_command(model._meta.db_table, [model._meta.auto_field.column])
            for model in model_list
            if model._meta.auto_field is not None
        ]
