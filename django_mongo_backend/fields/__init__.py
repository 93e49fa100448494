"""MongoDB-native model fields (documented in docs/fields.rst).

``ObjectIdField`` / ``ObjectIdAutoField``, ``EmbeddedModelField`` (a subdocument described by
an abstract or unmanaged model), ``ArrayField`` and ``EmbeddedModelArrayField``. Django's own
``models.JSONField`` needs nothing from here: its key, contains and has_key lookups compile in
``django_mongo_backend.compiler.json_fields``.
"""

from .array import ArrayField, EmbeddedModelArrayField
from .embedded import EmbeddedModelField
from .objectid import ObjectIdAutoField, ObjectIdField

__all__ = [
    "ArrayField",
    "EmbeddedModelArrayField",
    "EmbeddedModelField",
    "ObjectIdAutoField",
    "ObjectIdField",
]
