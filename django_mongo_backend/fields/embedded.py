"""EmbeddedModelField: a subdocument described by another model's fields.

The embedded model is a model whose fields describe the subdocument: an **abstract** model,
or an **unmanaged** one (``managed = False``; it gets no collection). Its values are instances
of that model (for an abstract model, of a concrete subclass made for this purpose, outside
the app registry, so no migration sees it: ``field.embedded_model``); a dict of field names is
accepted wherever an instance is and converted on assignment. Stored as a subdocument keyed
by the embedded fields' columns, each value stored as its own field stores it; an auto-created
primary key of the embedded model is not stored.

Validation is the embedded model's own: ``full_clean()`` of the outer instance runs the
embedded instance's ``full_clean()`` (without unique checks), and reports its errors as
``"<field>: <message>"``.
"""

from __future__ import annotations

import json

from django.apps.registry import Apps
from django.core import checks, exceptions
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .keys import KeyColumn
from .natural import natural_from_object

#: Concrete stand-ins for abstract embedded models live here, not in the project's registry.
embedded_apps = Apps(installed_apps=())
_concrete_models = {}


def concrete_model(model):
    """The class instances of ``model`` are made from (a concrete subclass for an abstract one)."""
    if not model._meta.abstract:
        return model
    concrete = _concrete_models.get(model)
    if concrete is None:
        meta = type(
            "Meta",
            (),
            {"apps": embedded_apps, "app_label": model._meta.app_label, "managed": False},
        )
        concrete = type(model.__name__, (model,), {"__module__": model.__module__, "Meta": meta})
        _concrete_models[model] = concrete
    return concrete


def stored_fields(model):
    """The embedded model's fields that make up the subdocument (not an auto primary key)."""
    return [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and (field.auto_created or isinstance(field, models.AutoField)))
    ]


class _Converted:
    """What database converters are handed as the ``expression`` of a nested value."""

    def __init__(self, field):
        self.output_field = field
        self.target = field


def from_document(model, fields, document, connection):
    """A model instance from a stored subdocument (missing keys take the field's default)."""
    values = {}
    ops = connection.ops
    for field in fields:
        if field.column in document:
            value = document[field.column]
            expression = _Converted(field)
            for converter in ops.get_db_converters(expression) + field.get_db_converters(
                connection
            ):
                value = converter(value, expression, connection)
        else:
            value = field.get_default()
        values[field.attname] = value
    instance = model(**values)
    instance._state.adding = False
    return instance


class EmbeddedDescriptor(DeferredAttribute):
    """Converts what is assigned (a dict, JSON text) into an embedded model instance."""

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = self.field.to_python(value)


class EmbeddedModelField(models.Field):
    description = _("Embedded document")
    empty_strings_allowed = False
    descriptor_class = EmbeddedDescriptor
    default_error_messages = {
        "invalid": _("Value must be a %(model)s, a dict of its fields or JSON of one."),
    }

    def __init__(self, embedded_model, *args, **kwargs):
        self.embedded_model_argument = embedded_model
        super().__init__(*args, **kwargs)

    # -- the embedded model ---------------------------------------------------------------

    @cached_property
    def embedded_model(self):
        return concrete_model(self.embedded_model_argument)

    @cached_property
    def embedded_fields(self):
        return stored_fields(self.embedded_model)

    def subfield(self, name):
        """The embedded field called ``name`` (its name or its column), or None."""
        for field in self.embedded_fields:
            if name in (field.name, field.column, field.attname):
                return field
        return None

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        model = self.embedded_model_argument
        if not (isinstance(model, type) and issubclass(model, models.Model)):
            return [
                *errors,
                checks.Error(
                    "EmbeddedModelField's first argument must be a model class.",
                    obj=self,
                    id="django_mongo_backend.fields.E001",
                ),
            ]
        if not (model._meta.abstract or not model._meta.managed):
            errors.append(
                checks.Error(
                    f"{model._meta.label} is embedded, so it must be abstract or "
                    "unmanaged (managed = False): it has no collection of its own.",
                    obj=self,
                    id="django_mongo_backend.fields.E002",
                )
            )
        for field in stored_fields(concrete_model(model)):
            if field.is_relation and model._meta.abstract:
                errors.append(
                    checks.Error(
                        f"{model._meta.label}.{field.name}: relations are not supported in "
                        "abstract embedded models.",
                        obj=self,
                        id="django_mongo_backend.fields.E003",
                    )
                )
        return errors

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        path = "django_mongo_backend.fields." + type(self).__name__
        return name, path, [self.embedded_model_argument, *args], kwargs

    def get_internal_type(self):
        return "EmbeddedModelField"

    def db_type(self, connection):
        return "object"

    # -- values ---------------------------------------------------------------------------

    def to_python(self, value):
        if value is None or isinstance(value, self.embedded_model):
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise self._invalid() from None
            if value is None:
                return None
        if isinstance(value, dict):
            return self.from_dict(value)
        raise self._invalid()

    def _invalid(self):
        return exceptions.ValidationError(
            self.error_messages["invalid"],
            code="invalid",
            params={"model": self.embedded_model._meta.object_name},
        )

    def from_dict(self, data):
        """An instance from a dict of field names (or attnames) -> Python values."""
        values = {}
        unknown = set(data)
        errors = []
        for field in self.embedded_fields:
            for key in (field.name, field.attname):
                if key in data:
                    unknown.discard(key)
                    try:
                        values[field.attname] = field.to_python(data[key])
                    except exceptions.ValidationError as error:
                        # Name the key: a fixture's message shows the whole document.
                        errors.extend(_prefixed(field.name, error))
                    break
        if unknown:
            raise exceptions.ValidationError(
                _("Unknown keys for %(model)s: %(keys)s"),
                code="invalid",
                params={
                    "model": self.embedded_model._meta.object_name,
                    "keys": ", ".join(sorted(unknown)),
                },
            )
        if errors:
            raise exceptions.ValidationError(errors)
        return self.embedded_model(**values)

    def to_dict(self, instance):
        """Field name -> Python value (what ``pre_save()`` hands to an UPDATE)."""
        return {field.name: field.value_from_object(instance) for field in self.embedded_fields}

    def natural_dict(self, instance):
        """Field name -> natural value (natural.py): JSON-ready, nested documents as dicts."""
        return {field.name: natural_from_object(field, instance) for field in self.embedded_fields}

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or hasattr(value, "resolve_expression"):
            return value
        return self.to_python(value)

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "resolve_expression"):
            return value
        return {
            field.column: field.get_db_prep_save(getattr(value, field.attname), connection)
            for field in self.embedded_fields
        }

    def from_db_value(self, value, expression, connection):
        if not isinstance(value, dict):
            return value
        return from_document(self.embedded_model, self.embedded_fields, value, connection)

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value is None:
            return None
        for field in self.embedded_fields:
            setattr(value, field.attname, field.pre_save(value, add))
        # A dict, not the instance: Django's UPDATE refuses model instances as values of
        # fields that are not relations.
        return self.to_dict(value)

    #: Django's XML serializer writes the JSON text of ``value_to_string()`` (serializers.py).
    serializes_as_json = True

    def value_to_string(self, obj):
        """The subdocument as a dict (not JSON text), so a fixture shows it as an object."""
        # A value not read from the database may still be the dict it was given as (an
        # element of an EmbeddedModelArrayField has no descriptor converting it).
        value = self.to_python(self.value_from_object(obj))
        if value is None:
            return None
        return self.natural_dict(value)

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if value is None:
            return
        exclude = {
            field.name for field in value._meta.concrete_fields if field not in self.embedded_fields
        }
        try:
            value.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except exceptions.ValidationError as error:
            raise exceptions.ValidationError(_flatten(error)) from None

    # -- queries --------------------------------------------------------------------------

    def get_transform(self, name):
        transform = super().get_transform(name)
        if transform is not None:
            return transform
        subfield = self.subfield(name)
        if subfield is not None:
            return KeyColumn(subfield)
        return None

    # -- forms ----------------------------------------------------------------------------

    def formfield(self, **kwargs):
        from .forms import EmbeddedModelFormField

        return super().formfield(
            **{
                "form_class": EmbeddedModelFormField,
                "model": self.embedded_model,
                "fields": [field.name for field in self.embedded_fields if field.editable],
                **kwargs,
            }
        )


def _flatten(error):
    """A ValidationError of an embedded instance as a list of "<field>: <message>" errors."""
    if not hasattr(error, "error_dict"):
        return error.error_list
    flat = []
    for name, errors in error.error_dict.items():
        for item in errors:
            flat.extend(_prefixed(name, item))
    return flat


def _prefixed(name, error):
    """Each message of ``error`` as its own "<name>: <message>" error."""
    return [
        exceptions.ValidationError(
            "%(field)s: %(message)s",
            code=item.code or "invalid",
            params={"field": name, "message": message},
        )
        for item in error.error_list
        for message in item.messages
    ]
