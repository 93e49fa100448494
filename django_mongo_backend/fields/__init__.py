"""MongoDB-native model fields (documented in docs/fields.rst).

``ObjectIdField`` / ``ObjectIdAutoField``, ``EmbeddedModelField`` (a subdocument described by
an abstract or unmanaged model), ``ArrayField`` and ``EmbeddedModelArrayField``. Django's own
``models.JSONField`` needs nothing from here: its key, contains and has_key lookups compile in
``django_mongo_backend.compiler.json_fields``.

``dumpdata`` writes these fields' values in their natural JSON form (natural.py); importing
this package makes the ``"xml"`` serializer format able to write them (xml_serializer.py).
"""

from .array import ArrayField, EmbeddedModelArrayField
from .embedded import EmbeddedModelField
from .objectid import ObjectIdAutoField, ObjectIdField
from .xml_serializer import register as _register_xml_serializer

# Fixtures in XML write arrays and embedded documents as JSON text (xml_serializer.py).
_register_xml_serializer()

__all__ = [
    "ArrayField",
    "EmbeddedModelArrayField",
    "EmbeddedModelField",
    "ObjectIdAutoField",
    "ObjectIdField",
]
