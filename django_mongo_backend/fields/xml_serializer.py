"""Django's XML serializer, able to write fields whose ``value_to_string()`` is not text.

Our array and embedded fields answer ``value_to_string()`` with a list or a dict, so that the
JSON (and JSONL, YAML) fixtures show them as JSON arrays and objects (natural.py). Django's
XML serializer writes ``value_to_string()`` as an element's text, and only turns the value
of a field whose internal type is ``JSONField`` into JSON first. This one does the same for
fields that say ``serializes_as_json``; every other field is written as Django writes it,
and reading is Django's own (our ``to_python()`` accepts JSON text).

``register()`` puts it under the ``"xml"`` format when ``django_mongo_backend.fields`` is
imported, unless the project's ``SERIALIZATION_MODULES`` names an ``"xml"`` serializer.
"""

from __future__ import annotations

import json

from django.core.serializers import xml_serializer
from django.core.serializers.json import DjangoJSONEncoder


class _AsJSONText:
    """A field seen through its JSON text: what the XML serializer writes for it."""

    def __init__(self, field):
        self._field = field

    def __getattr__(self, name):
        return getattr(self._field, name)

    def value_to_string(self, obj):
        return json.dumps(self._field.value_to_string(obj), cls=DjangoJSONEncoder)


class Serializer(xml_serializer.Serializer):
    def handle_field(self, obj, field):
        if getattr(field, "serializes_as_json", False):
            field = _AsJSONText(field)
        super().handle_field(obj, field)


Deserializer = xml_serializer.Deserializer


def register():
    from django.conf import settings
    from django.core import serializers

    if not settings.configured or "xml" in getattr(settings, "SERIALIZATION_MODULES", {}):
        return
    serializers.register_serializer("xml", __name__)
