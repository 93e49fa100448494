"""ArrayField and EmbeddedModelArrayField: BSON arrays, and the lookups into them.

=====================  =========================================================  ==========
lookup                 MongoDB                                                    NULL array
=====================  =========================================================  ==========
``tags=[...]``         ``{"tags": {"$eq": [...]}}``                               UNKNOWN
``tags__contains``     ``{"tags": {"$all": [...]}}``                              UNKNOWN
``tags__contained_by`` ``{"tags": {"$not": {"$elemMatch": {"$nin": [...]}}}}``    UNKNOWN
``tags__overlap``      ``{"tags": {"$in": [...]}}``                               UNKNOWN
``tags__len``          ``{"$size": "$tags"}`` (null for a NULL array)             NULL
``tags__0``            ``{"$arrayElemAt": ["$tags", 0]}``                         NULL
``tags__0_2``          ``{"$slice": ["$tags", 0, 2]}``                            NULL
``tags__isnull``       ``{"tags": {"$not": {"$type": "array"}}}``                 TRUE
``items__price__gt``   ``{"items": {"$elemMatch": {"price": {"$gt": v}}}}``       UNKNOWN
=====================  =========================================================  ==========

(docs/fields.rst has the full table.) A lookup on a NULL array is UNKNOWN, so neither it nor
its negation matches; NULL elements never equal anything (``contains=[None]`` matches nothing).
"""

from __future__ import annotations

import copy
import json
import re

from django.core import checks, exceptions
from django.db import NotSupportedError, models
from django.db.models import IntegerField, Transform
from django.db.models.expressions import Col
from django.db.models.lookups import Exact, IsNull, Lookup
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .embedded import EmbeddedModelField
from .keys import ElementRef, key_field
from .natural import natural_value

INDEX = re.compile(r"-?[0-9]+")
SLICE = re.compile(r"[0-9]+_[0-9]+")
#: A $match condition no document satisfies (the ConditionCompiler's own spelling of it).
MATCH_NOTHING = {"_id": {"$exists": False}}


def _is_not_null(expression):
    from ..compiler.nulls import is_not_null

    return is_not_null(expression)


class ArrayField(models.Field):
    """A list of values of ``base_field``, stored as a BSON array (``size``: at most that many)."""

    description = _("Array of %(base_description)s")
    empty_strings_allowed = False
    default_error_messages = {
        "item_invalid": _("Item %(nth)s in the array did not validate:"),
        "nested_array_mismatch": _("Nested arrays must have the same length."),
        "too_long": _("List contains %(length)d items, it should contain no more than %(size)d."),
        "invalid": _("Enter a list of values."),
    }

    def __init__(self, base_field, size=None, **kwargs):
        self.base_field = base_field
        self.size = size
        super().__init__(**kwargs)

    @property
    def base_description(self):
        return self.base_field.description

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        self.base_field.model = cls
        self.base_field.set_attributes_from_name(name)

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if self.base_field.remote_field:
            errors.append(
                checks.Error(
                    "Base field for array cannot be a related field.",
                    obj=self,
                    id="django_mongo_backend.fields.E010",
                )
            )
        else:
            for error in self.base_field.check():
                errors.append(
                    checks.Error(
                        f"Base field for array has errors: {error.msg} ({error.id})",
                        obj=self,
                        id="django_mongo_backend.fields.E011",
                    )
                )
        return errors

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        path = "django_mongo_backend.fields." + type(self).__name__
        kwargs["base_field"] = self.base_field.clone()
        if self.size is not None:
            kwargs["size"] = self.size
        return name, path, args, kwargs

    def get_internal_type(self):
        return "ArrayField"

    def db_type(self, connection):
        return "array"

    # -- values ---------------------------------------------------------------------------

    def to_python(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise exceptions.ValidationError(
                    self.error_messages["invalid"], code="invalid"
                ) from None
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise exceptions.ValidationError(self.error_messages["invalid"], code="invalid")
        items = []
        for index, item in enumerate(value):
            try:
                items.append(self.base_field.to_python(item))
            except exceptions.ValidationError as error:
                # Which element is wrong, for a fixture or JSON text of a long array.
                raise self._item_invalid(index, error) from None
        return items

    def _item_invalid(self, index, error):
        return exceptions.ValidationError(
            [
                exceptions.ValidationError(
                    self.error_messages["item_invalid"],
                    code="item_invalid",
                    params={"nth": index + 1},
                ),
                *error.error_list,
            ]
        )

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if isinstance(value, list | tuple):
            return [self.base_field.get_prep_value(item) for item in value]
        return value

    def get_db_prep_value(self, value, connection, prepared=False):
        if isinstance(value, list | tuple):
            return [
                self.base_field.get_db_prep_value(item, connection, prepared=prepared)
                for item in value
            ]
        return value

    def get_db_prep_save(self, value, connection):
        if isinstance(value, list | tuple):
            return [self.base_field.get_db_prep_save(item, connection) for item in value]
        return value

    def from_db_value(self, value, expression, connection):
        if not isinstance(value, list):
            return value
        base = self.base_field
        from .embedded import _Converted

        item_expression = _Converted(base)
        converters = connection.ops.get_db_converters(item_expression) + base.get_db_converters(
            connection
        )
        if not converters:
            return value
        converted = []
        for item in value:
            for converter in converters:
                item = converter(item, item_expression, connection)
            converted.append(item)
        return converted

    def pre_save(self, model_instance, add):
        return getattr(model_instance, self.attname)

    #: Django's XML serializer writes the JSON text of ``value_to_string()`` (serializers.py).
    serializes_as_json = True

    def value_to_string(self, obj):
        """The array as a list (not JSON text), each element in its natural form (natural.py)."""
        value = self.value_from_object(obj)
        if value is None:
            return None
        return self._plain(value)

    def _plain(self, value):
        return [natural_value(self.base_field, item) for item in value]

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if value is None:
            return
        if self.size is not None and len(value) > self.size:
            raise exceptions.ValidationError(
                self.error_messages["too_long"],
                code="too_long",
                params={"length": len(value), "size": self.size},
            )
        for index, item in enumerate(value):
            try:
                self.base_field.clean(item, model_instance)
            except exceptions.ValidationError as error:
                raise self._item_invalid(index, error) from None

    # -- queries --------------------------------------------------------------------------

    def get_transform(self, name):
        transform = super().get_transform(name)
        if transform is not None:
            return transform
        if INDEX.fullmatch(name):
            return IndexTransformFactory(int(name), self.base_field)
        if SLICE.fullmatch(name):
            start, end = name.split("_")
            return SliceTransformFactory(int(start), int(end))
        return None

    # -- forms ----------------------------------------------------------------------------

    def formfield(self, **kwargs):
        from .forms import ArrayFormField

        return super().formfield(
            **{
                "form_class": ArrayFormField,
                "base_field": self.base_field.formfield(),
                "size": self.size,
                **kwargs,
            }
        )


class EmbeddedModelArrayField(ArrayField):
    """A list of subdocuments of one embedded model: ``ArrayField(EmbeddedModelField(model))``.

    ``items__price__gt=10`` matches documents where at least one element has a price above 10
    (``$elemMatch``); each lookup is its own "some element" test (see docs/fields.rst).
    """

    def __init__(self, embedded_model, size=None, **kwargs):
        kwargs.pop("base_field", None)
        self.embedded_model_argument = embedded_model
        super().__init__(EmbeddedModelField(embedded_model), size=size, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        del kwargs["base_field"]
        return name, path, [self.embedded_model_argument, *args], kwargs

    @property
    def embedded_model(self):
        return self.base_field.embedded_model

    def get_internal_type(self):
        return "EmbeddedModelArrayField"

    def get_transform(self, name):
        transform = super().get_transform(name)
        if transform is not None:
            return transform
        subfield = self.base_field.subfield(name)
        if subfield is not None:
            return ElementKeyFactory([subfield.column], subfield)
        return None

    def formfield(self, **kwargs):
        from .forms import EmbeddedModelArrayFormField

        return models.Field.formfield(
            self,
            **{
                "form_class": EmbeddedModelArrayFormField,
                "model_field": self,
                **kwargs,
            },
        )


# -- transforms -------------------------------------------------------------------------


class IndexTransform(Transform):
    """``tags__0``: the element at a 0-based index (negative counts from the end); NULL when
    the array is NULL or too short."""

    def __init__(self, index, base_field, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.index = index
        self.base_field = base_field
        self.lookup_name = str(index)

    @property
    def output_field(self):
        return self.base_field

    def as_mql(self, compiler):
        return {"$arrayElemAt": [compiler.compile(self.lhs), self.index]}


class IndexTransformFactory:
    def __init__(self, index, base_field):
        self.index = index
        self.base_field = base_field

    def __call__(self, *args, **kwargs):
        return IndexTransform(self.index, self.base_field, *args, **kwargs)


class SliceTransform(Transform):
    """``tags__1_3``: elements 1 and 2 (Python's ``tags[1:3]``); NULL for a NULL array."""

    def __init__(self, start, end, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start = start
        self.end = end
        self.lookup_name = f"{start}_{end}"

    def as_mql(self, compiler):
        array = compiler.compile(self.lhs)
        count = self.end - self.start
        sliced = {"$slice": [array, self.start, count]} if count > 0 else []
        return {"$cond": [{"$isArray": array}, sliced, None]}


class SliceTransformFactory:
    def __init__(self, start, end):
        self.start = start
        self.end = end

    def __call__(self, *args, **kwargs):
        return SliceTransform(self.start, self.end, *args, **kwargs)


@ArrayField.register_lookup
class ArrayLength(Transform):
    """``tags__len``: the number of elements; NULL for a NULL array."""

    lookup_name = "len"
    output_field = IntegerField()

    def as_mql(self, compiler):
        array = compiler.compile(self.lhs)
        return {"$cond": [{"$isArray": array}, {"$size": array}, None]}


# -- lookups ----------------------------------------------------------------------------


def _array_path(conditions, lhs):
    """The document path of the array when it is a column of the documents, else None."""
    scope = conditions.expression_compiler.scope
    if isinstance(lhs, Col) and scope.is_local(lhs.alias):
        return scope.path(lhs.alias, lhs.target)
    return None


def _is_array(path):
    return {path: {"$type": "array"}}


def _negatable(condition, path, positive):
    """TRUE: ``condition``. FALSE: an array (NULL is UNKNOWN) that does not satisfy it."""
    if positive:
        return condition
    if condition is MATCH_NOTHING:
        return _is_array(path)
    return {"$and": [{"$nor": [condition]}, _is_array(path)]}


class ArrayRhsMixin:
    """The right-hand side as stored values (each element prepared by the base field)."""

    def mql_values(self, connection):
        if hasattr(self.rhs, "resolve_expression"):
            return None
        field = self.lhs.output_field
        return field.get_db_prep_value(list(self.rhs), connection, prepared=True)

    def mql_rhs(self, compiler, *, drop_nulls=False):
        """An expression for the right-hand side; ``drop_nulls`` leaves NULL elements out of a
        constant list (a NULL element is never equal to anything)."""
        values = self.mql_values(compiler.connection)
        if values is None:
            return compiler.compile(self.rhs)
        if drop_nulls:
            values = [value for value in values if value is not None]
        return {"$literal": values}

    def array_match(self, conditions, positive, build):
        path = _array_path(conditions, self.lhs)
        values = self.mql_values(conditions.connection)
        if path is None or values is None or _nested(self.lhs.output_field):
            return None
        return _negatable(build(path, values), path, positive)


def _nested(field):
    """Arrays of arrays: query operators look into inner arrays, so these use $expr."""
    return isinstance(getattr(field, "base_field", None), ArrayField)


@ArrayField.register_lookup
class ArrayContains(ArrayRhsMixin, Lookup):
    """``tags__contains=[...]``: every given value is an element (``$all``)."""

    lookup_name = "contains"

    def as_mql(self, compiler):
        array = compiler.compile(self.lhs)
        values = self.mql_values(compiler.connection)
        if values is not None and None in values:
            return False, [_is_not_null(array)]
        return {"$setIsSubset": [self.mql_rhs(compiler), array]}, [_is_not_null(array)]

    def as_mql_match(self, conditions, positive):
        def build(path, values):
            if None in values:
                return MATCH_NOTHING
            if not values:
                return _is_array(path)
            return {path: {"$all": values}}

        return self.array_match(conditions, positive, build)


@ArrayField.register_lookup
class ArrayContainedBy(ArrayRhsMixin, Lookup):
    """``tags__contained_by=[...]``: every element is one of the given values."""

    lookup_name = "contained_by"

    def as_mql(self, compiler):
        array = compiler.compile(self.lhs)
        rhs = self.mql_rhs(compiler, drop_nulls=True)
        return {"$setIsSubset": [array, rhs]}, [_is_not_null(array)]

    def as_mql_match(self, conditions, positive):
        def build(path, values):
            values = [value for value in values if value is not None]
            return {
                "$and": [
                    _is_array(path),
                    {path: {"$not": {"$elemMatch": {"$nin": values}}}},
                ]
            }

        return self.array_match(conditions, positive, build)


@ArrayField.register_lookup
class ArrayOverlap(ArrayRhsMixin, Lookup):
    """``tags__overlap=[...]``: some element is one of the given values."""

    lookup_name = "overlap"

    def as_mql(self, compiler):
        array = compiler.compile(self.lhs)
        rhs = self.mql_rhs(compiler, drop_nulls=True)
        test = {"$gt": [{"$size": {"$setIntersection": [array, rhs]}}, 0]}
        return test, [_is_not_null(array)]

    def as_mql_match(self, conditions, positive):
        def build(path, values):
            values = [value for value in values if value is not None]
            if not values:
                return MATCH_NOTHING
            return {path: {"$in": values}}

        return self.array_match(conditions, positive, build)


@ArrayField.register_lookup
class ArrayExact(ArrayRhsMixin, Exact):
    """``tags=[...]``: the same elements in the same order."""

    def as_mql(self, compiler):
        array = compiler.compile(self.lhs)
        return {"$eq": [array, self.mql_rhs(compiler)]}, [_is_not_null(array)]

    def as_mql_match(self, conditions, positive):
        return self.array_match(conditions, positive, lambda path, values: {path: {"$eq": values}})


@ArrayField.register_lookup
class ArrayIsNull(IsNull):
    """``tags__isnull``: the value is not an array (NULL or missing). Query operators would
    also call an array holding a null element "null"; ``$type`` does not."""

    def as_mql(self, compiler):
        is_array = {"$isArray": compiler.compile(self.lhs)}
        return ({"$not": [is_array]} if self.rhs else is_array), []

    def as_mql_match(self, conditions, positive):
        path = _array_path(conditions, self.lhs)
        if path is None:
            return None
        wants_null = bool(self.rhs) == positive
        return {path: {"$not": {"$type": "array"}}} if wants_null else _is_array(path)


# -- keys of array elements -------------------------------------------------------------

_element_field_classes = {}
_element_lookup_classes = {}


class ElementKeyTransform(Transform):
    """``items__price``: the key ``price`` of each element of ``items``. A lookup on it is TRUE
    when some element satisfies it (``$elemMatch``), FALSE when the array has none that does
    (an empty array included), UNKNOWN when the array is NULL."""

    def __init__(self, keys, subfield, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.keys = keys
        self.subfield = subfield
        self.lookup_name = ".".join(keys)

    @cached_property
    def output_field(self):
        return element_field(self.subfield, self.keys)

    def as_mql(self, compiler):
        raise NotSupportedError(
            f"{self.lookup_name!r} of an array of embedded documents names a value per "
            "element: use it in a filter (some element matches), or index the array "
            "(items__0__price) for one value."
        )


class ElementKeyFactory:
    def __init__(self, keys, subfield):
        self.keys = keys
        self.subfield = subfield

    def __call__(self, lhs, *args, **kwargs):
        if isinstance(lhs, ElementKeyTransform):  # a key of a key: items__address__city
            return ElementKeyTransform(self.keys, self.subfield, lhs.lhs, *args, **kwargs)
        return ElementKeyTransform(self.keys, self.subfield, lhs, *args, **kwargs)


class ElementFieldMixin:
    """The field of a key inside array elements: its lookups test "some element"."""

    element_keys = ()

    def get_lookup(self, name):
        found = super().get_lookup(name)
        if found is None:
            return None
        return any_element_lookup(found)

    def get_transform(self, name):
        if isinstance(self, EmbeddedModelField):
            subfield = self.subfield(name)
            if subfield is not None:
                return ElementKeyFactory([*self.element_keys, subfield.column], subfield)
        return None


def element_field(subfield, keys):
    klass = _element_field_classes.get(type(subfield))
    if klass is None:
        klass = type(f"Element{type(subfield).__name__}", (ElementFieldMixin, type(subfield)), {})
        _element_field_classes[type(subfield)] = klass
    field = copy.copy(subfield)
    field.__class__ = klass
    field.element_keys = tuple(keys)
    return field


def any_element_lookup(lookup_class):
    if issubclass(lookup_class, AnyElementLookup):
        return lookup_class
    klass = _element_lookup_classes.get(lookup_class)
    if klass is None:
        klass = type(
            f"AnyElement{lookup_class.__name__}",
            (AnyElementLookup, lookup_class),
            {"element_lookup": lookup_class},
        )
        _element_lookup_classes[lookup_class] = klass
    return klass


class AnyElementLookup:
    """A lookup on ``items__<key>``: the lookup of the key's field, applied to each element."""

    element_lookup = None
    element_variable = "item"

    def _on_element(self, lhs):
        inner = copy.copy(self)
        inner.__class__ = self.element_lookup
        inner.lhs = lhs
        return inner

    def as_mql(self, compiler):
        transform = self.lhs
        array = compiler.compile(transform.lhs)
        reference = "$$" + ".".join([self.element_variable, *transform.keys])
        inner = self._on_element(ElementRef(reference, transform.subfield))
        test = compiler.conditions.expression(inner)
        any_element = {
            "$anyElementTrue": [
                {
                    "$map": {
                        "input": {"$ifNull": [array, []]},
                        "as": self.element_variable,
                        "in": test,
                    }
                }
            ]
        }
        return any_element, [_is_not_null(array)]

    def as_mql_match(self, conditions, positive):
        from ..compiler.conditions import MATCH_NOTHING as NOTHING

        transform = self.lhs
        path = _array_path(conditions, transform.lhs)
        if path is None or hasattr(self.rhs, "resolve_expression"):
            return None
        owner = getattr(transform.lhs.target, "key_owner", None) or transform.lhs.target
        inner = self._on_element(
            Col(None, key_field(transform.subfield, ".".join(transform.keys), owner))
        )
        condition = conditions.match(inner)
        if not condition or condition == NOTHING:
            return None  # the $expr form handles the degenerate cases
        element = {path: {"$elemMatch": condition}}
        return _negatable(element, path, positive)
