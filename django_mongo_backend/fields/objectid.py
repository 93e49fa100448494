"""ObjectIdField: a BSON ObjectId, and ObjectIdAutoField, an ObjectId primary key.

An ObjectId primary key is made by the client (``default=ObjectId``) when the model instance
is created, so a model with one never touches the ``__schema__`` integer sequences: the
field is not an ``AutoField`` (``Meta.auto_field`` stays None, which is what the insert
compiler and the schema editor key the sequences on), and ``save()`` of a new object is one
``insert``.
"""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId
from django import forms
from django.core import exceptions
from django.db import models
from django.utils.translation import gettext_lazy as _


def to_object_id(value):
    """``value`` as an ObjectId (from an ObjectId or its 24 hex digits); ValueError if not."""
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str | bytes):
        try:
            return ObjectId(value)
        except (InvalidId, TypeError) as error:
            raise ValueError(str(error)) from None
    raise ValueError(f"{value!r} is not an ObjectId")


class ObjectIdFormField(forms.CharField):
    default_error_messages = {"invalid": _("Enter a valid ObjectId (24 hexadecimal digits).")}

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "maxlength": "24"}

    def prepare_value(self, value):
        return str(value) if isinstance(value, ObjectId) else value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return to_object_id(value)
        except ValueError:
            raise exceptions.ValidationError(
                self.error_messages["invalid"], code="invalid"
            ) from None


class ObjectIdField(models.Field):
    """A BSON ObjectId. Strings of 24 hex digits are accepted wherever a value is."""

    description = _("ObjectId")
    empty_strings_allowed = False
    default_error_messages = {"invalid": _("“%(value)s” is not a valid ObjectId.")}

    def get_internal_type(self):
        return "ObjectIdField"

    def db_type(self, connection):
        return "objectId"

    def rel_db_type(self, connection):
        return "objectId"

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if path.startswith("django_mongo_backend.fields."):
            path = "django_mongo_backend.fields." + type(self).__name__
        return name, path, args, kwargs

    def to_python(self, value):
        if value is None or value == "":
            return None
        try:
            return to_object_id(value)
        except ValueError:
            raise exceptions.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": value}
            ) from None

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or hasattr(value, "resolve_expression"):
            return value
        return self.to_python(value)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return "" if value is None else str(value)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": ObjectIdFormField, **kwargs})


class ObjectIdAutoField(ObjectIdField):
    """An ObjectId primary key made on the client: ``id = ObjectIdAutoField(primary_key=True)``.

    Equivalent to ``ObjectIdField(primary_key=True, default=ObjectId, editable=False)``. It
    cannot be ``DEFAULT_AUTO_FIELD`` (Django requires an ``AutoField`` subclass there, which
    would bring in the integer sequences); declare it on the models that want it.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("default", ObjectId)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key, value in (
            ("primary_key", True),
            ("default", ObjectId),
            ("editable", False),
            ("blank", True),
        ):
            if kwargs.get(key, models.NOT_PROVIDED) == value:
                del kwargs[key]
        # Field.deconstruct leaves out the defaults of Field itself; put back the ones that
        # differ from ours.
        if not self.primary_key:
            kwargs["primary_key"] = False
        if self.editable:
            kwargs["editable"] = True
        if not self.blank:
            kwargs["blank"] = False
        return name, path, args, kwargs
