"""Keys inside documents as columns: ``address__city`` is the column ``address.city``.

A key of an embedded document is compiled exactly like a column whose name is the dotted path:
a ``Col`` whose target is a copy of the embedded model's field with ``column`` set to that
path. Every lookup of the field then compiles as it does on a top-level column (query
operators in ``$match``, so an index on ``address.city`` answers it; ``$expr`` otherwise), and
``order_by()``/``values()`` read the nested key. Keys inside an *array* of documents are not
columns (a path through an array names many values); ``array.py`` handles them.
"""

from __future__ import annotations

import copy

from django.db.models.expressions import Col, Expression

_key_classes = {}


class KeyFieldMixin:
    """A model field of an embedded model, seen from the outer model under a dotted column."""

    #: The outer model's field the path starts from (equality and pickling go through it).
    key_owner = None

    def __eq__(self, other):
        if isinstance(other, KeyFieldMixin):
            return (self.column, self.key_owner) == (other.column, other.key_owner)
        return NotImplemented

    def __hash__(self):
        return hash((self.column, self.key_owner))

    def __reduce__(self):
        owner = self.key_owner
        return (
            _rebuild_key_field,
            (owner.model._meta.label, owner.name, self.column),
        )

    def __repr__(self):
        return f"<{type(self).__name__}: {self.column}>"


def key_field_class(field_class):
    klass = _key_classes.get(field_class)
    if klass is None:
        klass = type(f"Key{field_class.__name__}", (KeyFieldMixin, field_class), {})
        _key_classes[field_class] = klass
    return klass


def key_field(field, column, owner):
    """A copy of ``field`` stored under the dotted ``column``; NULL-able (a parent may be)."""
    key = copy.copy(field)
    key.__class__ = key_field_class(type(field))
    key.column = column
    key.primary_key = False
    key.null = True
    key.key_owner = owner
    return key


def _rebuild_key_field(model_label, field_name, column):
    from django.apps import apps

    owner = apps.get_model(model_label)._meta.get_field(field_name)
    field = owner
    for part in column.split(".")[1:]:
        field = field.subfield(part)
    return key_field(field, column, owner)


class KeyColumn:
    """The transform ``<embedded field>__<key>``: a Col on the nested key when the embedded
    field is itself a column, else an expression reading the key (``$getField``)."""

    def __init__(self, subfield):
        self.subfield = subfield

    def __call__(self, lhs, *args, **kwargs):
        if isinstance(lhs, Col):
            target = lhs.target
            owner = target.key_owner if isinstance(target, KeyFieldMixin) else target
            column = f"{target.column}.{self.subfield.column}"
            field = key_field(self.subfield, column, owner)
            return Col(lhs.alias, field)
        return KeyValue(lhs, self.subfield)


class KeyValue(Expression):
    """A key of a computed subdocument (e.g. ``items__0__price``): ``$getField``."""

    def __init__(self, lhs, subfield):
        super().__init__(output_field=subfield)
        self.lhs = lhs
        self.subfield = subfield

    def get_source_expressions(self):
        return [self.lhs]

    def set_source_expressions(self, exprs):
        (self.lhs,) = exprs

    def as_sql(self, compiler, connection):  # pragma: no cover - never SQL
        raise NotImplementedError("MongoDB fields compile to MQL only")

    def as_mql(self, compiler):
        document = compiler.compile(self.lhs)
        return {"$getField": {"field": {"$literal": self.subfield.column}, "input": document}}


class ElementRef(Expression):
    """A value inside the array element being looked at (``$$item.price``)."""

    def __init__(self, reference, output_field):
        super().__init__(output_field=output_field)
        self.reference = reference

    def as_sql(self, compiler, connection):  # pragma: no cover - never SQL
        raise NotImplementedError("MongoDB fields compile to MQL only")

    def as_mql(self, compiler):
        return self.reference
