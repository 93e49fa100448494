"""The natural form of field values: what fixtures (``dumpdata``) show for them.

Django's python serializer (behind ``json``, ``jsonl`` and ``yaml``) keeps a value of a
"protected" type as it is (None, numbers, dates and times, Decimal: the JSON encoder writes
them) and asks the field's ``value_to_string()`` for anything else. Our fields answer
``value_to_string()`` with JSON-ready structures, as Django's own ``JSONField`` does: a dict
of field names per embedded document, a list per array, the 24 hex digits of an ObjectId.
Nested values go through the same rule, field by field, so a fixture shows a document as a
JSON object and loading it (``to_python()``) gives back the same types.
"""

from __future__ import annotations

from django.utils.encoding import is_protected_type


class _Holder:
    """A stand-in object for ``field.value_from_object()`` of a value outside any model."""

    def __init__(self, attname, value):
        self.__dict__[attname] = value


def natural_from_object(field, obj):
    """The natural form of ``field``'s value on ``obj`` (a model instance)."""
    value = field.value_from_object(obj)
    return value if is_protected_type(value) else field.value_to_string(obj)


def natural_value(field, value):
    """The natural form of ``value``, a Python value of ``field`` (e.g. an array element)."""
    if is_protected_type(value):
        return value
    return field.value_to_string(_Holder(field.attname, value))
