"""Values written as they are: which value types skip a field's write preparation.

Django prepares each inserted value with ``field.pre_save()`` then ``field.get_db_prep_save()``
(``SQLInsertCompiler.pre_save_val`` / ``prepare_value``), five or six calls per value: for a
``bulk_create`` of 10,000 rows of three columns that costs more than the insert itself. For
Django's plain field classes the whole chain returns the value unchanged when it is of a type
BSON stores natively (a ``str`` in a ``CharField``, an ``int`` in an ``IntegerField``, ``None``
in any of them). ``as_is_types`` says which exact value types those are; the insert and update
compilers copy such values and run the chain for every other value (a lazy string, an
expression, a ``DatabaseDefault``, an ``int`` given to a ``FloatField``...), so what is stored
never differs.

A field qualifies by the classes that implement its write chain (``CHAIN``), in MRO order, not
by ``isinstance``: a subclass that overrides one of those methods, or a mixin that Django's
methods would reach through ``super()``, gives another signature, and the field keeps the whole
chain (as do ``auto_now`` dates, decimals, UUIDs, JSON and every custom field). The answer for
a class is kept after its first write (a chain method patched onto a field class at run time
after that is not seen; one set on a field instance is).
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models

from ..operations import DatabaseOperations

#: The methods between an instance's attribute and the stored value, when Django inserts it.
CHAIN = ("pre_save", "get_db_prep_save", "get_db_prep_value", "get_prep_value", "to_python")
CHAIN_NAMES = frozenset(CHAIN)

NONE = type(None)
NOTHING: frozenset[type] = frozenset()


def chain_owners(field_class: type) -> tuple[type, ...]:
    """The classes of ``field_class``'s MRO that define a method of the chain, in order."""
    return tuple(
        klass for klass in field_class.__mro__ if any(name in vars(klass) for name in CHAIN)
    )


#: Django's field class -> (value types its chain returns unchanged, operations it calls that
#: must be the base identities). Why each type is returned as it is:
#: - ``Field.pre_save`` is ``getattr``; ``Field.get_db_prep_save`` passes anything without
#:   ``as_sql`` to ``get_db_prep_value``, ``Field``'s calls ``get_prep_value``;
#:   ``Field.get_prep_value`` only evaluates lazy strings (``Promise``, another type).
#: - ``CharField`` / ``TextField``: ``to_python`` keeps a ``str`` and ``None``.
#: - ``IntegerField``: ``int()`` of an ``int`` is itself (a ``bool`` would become an ``int``:
#:   it takes the chain), then ``ops.adapt_integerfield_value``; ``AutoField`` adds
#:   ``ops.validate_autopk_value``.
#: - ``FloatField``: ``float()`` of a ``float``; ``BooleanField``: ``bool()`` of a ``bool``
#:   (``False`` is not among the empty values a nullable one turns into ``None``).
_AS_IS = {
    models.CharField: ((str, NONE), ()),
    models.TextField: ((str, NONE), ()),
    models.IntegerField: ((int, NONE), ("adapt_integerfield_value",)),
    models.AutoField: ((int, NONE), ("adapt_integerfield_value", "validate_autopk_value")),
    models.FloatField: ((float, NONE), ()),
    models.BooleanField: ((bool, NONE), ()),
}
AS_IS = {chain_owners(klass): (frozenset(types), ops) for klass, (types, ops) in _AS_IS.items()}

#: ``ForeignKey.get_db_prep_save``: ``None`` stays ``None``, an empty string becomes ``None``
#: where the target cannot store one, anything else is the target field's to prepare.
FOREIGN_KEY = chain_owners(models.ForeignKey)


def as_is_types(field: Any, connection: Any) -> frozenset[type]:
    """The exact types of the values ``field`` stores unchanged on ``connection`` (maybe
    none). Decided per class once (``class_types``); per call only what an instance can
    change: a chain method replaced on it, a foreign key's target."""
    if not vars(field).keys().isdisjoint(CHAIN_NAMES):
        return NOTHING  # a method replaced on the instance
    field_class: type = type(field)  # (Django's classes are Any to mypy, not hashable)
    operations_class: type = type(connection.ops)
    types = class_types(field_class, operations_class)
    if types is not None:
        return types
    target = field.target_field
    types = as_is_types(target, connection)
    if str in types and (
        not target.empty_strings_allowed or connection.features.interprets_empty_strings_as_nulls
    ):
        types -= {str}
    return types


@functools.cache
def class_types(field_class: type, operations_class: type) -> frozenset[type] | None:
    """The exact types a field of ``field_class`` stores unchanged, with the backend's
    operations of ``operations_class`` (a subclass could replace an identity of
    ``DatabaseOperations``, such as ``adapt_integerfield_value``); None for a foreign key,
    whose target field decides."""
    owners = chain_owners(field_class)
    if owners == FOREIGN_KEY:
        return None
    types, operations = AS_IS.get(owners, (NOTHING, ()))
    if any(
        getattr(operations_class, name) is not getattr(DatabaseOperations, name)
        for name in operations
    ):
        return NOTHING
    return types
