"""Updates that change only a value's BSON type are changes.

MongoDB stores documents as BSON, so an update that turns ``5`` (int) into ``5.0`` (double) or
``Decimal128("5")`` modifies the document: it is written and counted in ``nModified``. mongoeco
decides whether an update did anything with Python equality, where ``5 == 5.0``, so such an
update was dropped — and ``AlterField`` from an integer to a float field left ints behind.

Its update paths ask ``document_id_bson_type_changed(original, updated)`` (only the ``_id``'s
numeric type) before comparing values; we answer for the whole document instead. The check of
an update trying to modify ``_id`` (``core.identity``) keeps the original.

The converse: an operator update that leaves every value and type as it was (``$set`` of the
current value) is not a modification — MongoDB neither writes it nor counts it in
``nModified``; mongoeco counted every applied operator.
"""

from __future__ import annotations

import decimal
from copy import deepcopy

from bson import Decimal128 as BsonDecimal128
from mongoeco.core import identity
from mongoeco.core import operators as update_operators
from mongoeco.engines import _sqlite_modify_ops, memory
from mongoeco.types import Decimal128

from .. import registry

INT32 = range(-(2**31), 2**31)
#: Modules whose update paths use the _id-only check to decide whether a document changed.
UPDATE_MODULES = (update_operators, _sqlite_modify_ops, memory)


def bson_number_type(value):
    """The BSON type a number is stored as (None for other values, compared elsewhere)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if value in INT32 else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, Decimal128 | BsonDecimal128 | decimal.Decimal):
        return "decimal"
    return None


def number_types_differ(original, updated):
    """True when some value at the same place is of another numeric BSON type."""
    if isinstance(original, dict) and isinstance(updated, dict):
        return any(
            number_types_differ(value, updated[key])
            for key, value in original.items()
            if key in updated
        )
    if isinstance(original, list) and isinstance(updated, list):
        return any(number_types_differ(a, b) for a, b in zip(original, updated, strict=False))
    return bson_number_type(original) != bson_number_type(updated)


def document_bson_types_changed(original, updated):
    return identity.document_id_bson_type_changed(original, updated) or number_types_differ(
        original, updated
    )


def _unless_unchanged(apply):
    def run(self, doc, *, variables=None):
        before = deepcopy(doc)
        if not apply(self, doc, variables=variables):
            return False
        unchanged = self.context.dialect.values_equal(before, doc) and not (
            number_types_differ(before, doc)
        )
        return not unchanged

    run.__wrapped__ = apply
    return run


_TESTS = "tests/embedded/test_update_types.py"


def install():
    """Point mongoeco's update paths at the whole-document checks; calling it again is a no-op."""
    for module in UPDATE_MODULES:
        registry.replace(
            module,
            "document_id_bson_type_changed",
            document_bson_types_changed,
            rule="an update that changes only a value's BSON numeric type modifies the document",
            test=f"{_TESTS}::test_set_operator_changing_the_type_counts_as_modified",
        )
    registry.replace(
        update_operators.CompiledUpdatePlan,
        "apply",
        wrap=_unless_unchanged,
        rule="an update leaving every value and type as it was is no modification (nModified)",
        test=f"{_TESTS}::test_same_value_same_type_is_not_modified",
    )
